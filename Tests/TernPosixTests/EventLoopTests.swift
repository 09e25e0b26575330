// The event-loop core driven through the test-only echo protocol (Sources/TernDaemon/EchoService.swift), over
// real loopback sockets, plain and TLS.

import Foundation
import Glibc
import Testing
import TernCore
import TernDaemon
import TernPosix
import TernTLS
import TernTestSupport

@Suite(.serialized) struct ConcurrencyTests {
    /// 2,000 connections at once, each pipelining random lines; every echo must match byte for byte.
    @Test(arguments: [false, true])
    func twoThousandConcurrentConnections(tls: Bool) throws {
        ProcessIdentity.raiseOpenFileLimit()
        let server = try TestServer()
        let clients = try EventLoopGroup(loopCount: 2, blockingThreads: 1,
                                         limiter: ConnectionLimiter(maxTotal: 10_000, maxPerHost: 10_000))
        defer { clients.shutdownNow() }
        let clientTLS = try TLSClientContext(verifyPeer: false)
        let results = ProbeResults()
        let count = 2000
        let makeTransport: (@Sendable () throws -> any SecureTransport)? =
            tls ? { @Sendable in try clientTLS.makeTransport(serverName: "localhost") } : nil
        for _ in 0..<count {
            clients.connect(
                to: tls ? server.echoTLS : server.echo,
                makeTransport: makeTransport,
                makeHandler: { EchoProbe(lineCount: 20, maxLength: 300, results: results) })
        }
        try results.wait(for: count, timeout: .seconds(120))
        #expect(results.failures.isEmpty, "\(results.failures.prefix(5))")
        #expect(results.succeeded == count)
        try server.waitForConnections(0)
    }
}

@Suite struct FramingOverSocketsTests {
    /// A line arriving one byte per segment is still one line (partial reads).
    @Test func lineSentByteByByte() throws {
        let server = try TestServer()
        let client = try TestClient(server.echo)
        for byte in Array("hello, partial world\r\n".utf8) {
            try client.send([byte])
            usleep(2000)
        }
        #expect(try client.readLine() == "hello, partial world")
    }

    /// A 4 MB reply read in 1 KB pieces arrives complete and in order (partial writes).
    @Test func bigReplyReadInSmallPieces() throws {
        let server = try TestServer()
        let client = try TestClient(server.echo, receiveBufferSize: 4096)
        let size = 4 << 20
        try client.send("BIG \(size)\r\n")
        var received: [UInt8] = []
        while received.count < size + 2 {
            guard let chunk = try client.receiveSome(limit: 1024), !chunk.isEmpty else { break }
            received += chunk
        }
        #expect(received.count == size + 2)
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz".utf8)
        #expect(received.prefix(size).enumerated().allSatisfy { $0.element == alphabet[$0.offset % 26] })
        #expect(received.suffix(2) == [13, 10])
    }

    /// Exact-length reads: a literal containing CRLF and split across writes, followed by a pipelined line.
    @Test func literalSplitAcrossWrites() throws {
        let server = try TestServer()
        let client = try TestClient(server.echo)
        let payload = Array("line one\r\nline two\r\n".utf8)
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in payload { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        try client.send("LITERAL \(payload.count)\r\n" + String(decoding: payload.prefix(7), as: UTF8.self))
        usleep(20_000)
        try client.send(Array(payload.dropFirst(7)) + Array("after\r\n".utf8))
        let hex = String(hash, radix: 16)
        #expect(try client.readLine() == "GOT \(payload.count) \(String(repeating: "0", count: 16 - hex.count))\(hex)")
        #expect(try client.readLine() == "after")
    }

    @Test func overlongLineIsRefusedAndTheConnectionGoesOn() throws {
        let server = try TestServer { $0.limits.maxLineLength = 1024 }
        let client = try TestClient(server.echo)
        try client.send(String(repeating: "x", count: 100_000) + "\r\nshort\r\n")
        #expect(try client.readLine() == "ERR line too long")
        #expect(try client.readLine() == "short")
    }

    /// Work on the blocking pool pauses input: the pipelined line is answered after the slow command.
    @Test func blockingPoolPausesInputAndKeepsOrder() throws {
        let server = try TestServer()
        let client = try TestClient(server.echo)
        try client.send("SLEEP 200\r\nafter\r\n")
        #expect(try client.readLine() == "SLEPT")
        #expect(try client.readLine() == "after")
    }
}

@Suite struct BackpressureTests {
    /// A client that sends but never reads: the server's queued output stops at the high-water mark because it
    /// stops reading; the client's sends then block. After the write timeout the server drops the connection.
    @Test func slowReaderIsBoundedThenDropped() throws {
        let server = try TestServer { $0.limits.writeTimeoutSeconds = 4 }
        let client = try TestClient(server.echo, receiveBufferSize: 4096, timeoutSeconds: 1)
        let line = Array((String(repeating: "0123456789", count: 100) + "\r\n").utf8)
        var chunk: [UInt8] = []
        for _ in 0..<100 { chunk += line }  // ~100 KB of pipelined lines
        var sent = 0
        let attempted = 200 * chunk.count // 20 MB
        for _ in 0..<200 {
            let count = try client.send(chunk)
            sent += count
            if count < chunk.count { break } // send timed out: the server stopped reading
        }
        #expect(sent < attempted, "the server kept reading although its output was stuck")
        let stats = server.group.statistics()
        // High water (256 KiB) plus what one batch of input can produce before the check.
        #expect(stats.maxQueuedOutputBytes <= 256 * 1024 + 128 * 1024, "\(stats)")
        #expect(stats.maxQueuedOutputBytes >= 64 * 1024, "output should have backed up: \(stats)")
        #expect(stats.connections == 1)
        // Write timeout 4 s without progress, checked once a second.
        try server.waitForConnections(0, timeout: .seconds(8))
        #expect(client.waitForClose())
    }
}

@Suite struct DisconnectTests {
    /// Resets in the middle of a line, of a literal, of a TLS handshake and of a slow command leave nothing behind.
    @Test func abruptDisconnectsAreCleanedUp() throws {
        let server = try TestServer()
        var clients: [TestClient] = []
        for index in 0..<200 {
            let client = try TestClient(index % 4 == 2 ? server.echoTLS : server.echo)
            switch index % 4 {
            case 0: try client.send("half a line")
            case 1: try client.send("LITERAL 1000\r\nonly part")
            case 2: try client.send([0x16, 0x03, 0x01, 0x00, 0x50]) // the start of a TLS record
            default: try client.send("SLEEP 300\r\n")
            }
            clients.append(client)
        }
        try server.waitForConnections(200)
        for client in clients { client.reset() }
        clients.removeAll()
        try server.waitForConnections(0, timeout: .seconds(10))
        let fresh = try TestClient(server.echo)
        try fresh.send("still alive\r\n")
        #expect(try fresh.readLine() == "still alive")
    }
}

@Suite struct TimeoutTests {
    @Test func idleConnectionGetsByeThenClose() throws {
        let server = try TestServer { $0.limits.idleTimeoutSeconds = 1 }
        let client = try TestClient(server.echo)
        try client.send("ping\r\n")
        #expect(try client.readLine() == "ping")
        let start = ContinuousClock.now
        #expect(try client.readLine() == "BYE idle timeout")
        #expect(client.waitForClose())
        let elapsed = ContinuousClock.now - start
        #expect(elapsed >= .milliseconds(900) && elapsed < .seconds(4), "closed after \(elapsed)")
    }

    /// A client that opens the TLS port and never starts the handshake is dropped too.
    @Test func stalledHandshakeIsDropped() throws {
        let server = try TestServer { $0.limits.idleTimeoutSeconds = 1 }
        let client = try TestClient(server.echoTLS)
        #expect(client.waitForClose())
        try server.waitForConnections(0)
    }
}

@Suite struct LimitTests {
    @Test func connectionsPerAddressAreLimited() throws {
        let server = try TestServer { $0.limits.maxConnectionsPerIP = 3 }
        let kept = try (0..<3).map { _ in try TestClient(server.echo) }
        try server.waitForConnections(3)
        let refused = try TestClient(server.echo)
        #expect(try refused.readLine() == "ERR too many connections")
        #expect(refused.waitForClose())
        try kept[0].send("QUIT\r\n")
        #expect(try kept[0].readLine() == "BYE")
        try server.waitForConnections(2)
        let admitted = try TestClient(server.echo)
        try admitted.send("again\r\n")
        #expect(try admitted.readLine() == "again")
    }

    @Test func totalConnectionsAreLimited() throws {
        let server = try TestServer { $0.limits.maxConnections = 2 }
        let kept = try (0..<2).map { _ in try TestClient(server.echo) }
        try server.waitForConnections(2)
        let refused = try TestClient(server.echo)
        #expect(try refused.readLine() == "ERR too many connections")
        _ = kept
    }
}
