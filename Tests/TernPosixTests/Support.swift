// Test support: an in-process Tern server with the echo listeners on port 0, a blocking socket client for
// byte-level tests, and an event-loop client that checks echoes byte for byte.

import Foundation
import Glibc
import Logging
import Synchronization
import TernCore
import TernDaemon
import TernPosix
import TernTLS
import TernTestSupport

enum TestFailure: Error, CustomStringConvertible {
    case timeout(String)
    case unexpected(String)
    var description: String {
        switch self {
        case .timeout(let what): return "timed out: \(what)"
        case .unexpected(let what): return what
        }
    }
}

func makeTemporaryDirectory() -> String {
    var template = Array("/tmp/tern-test-XXXXXX".utf8CString)
    let path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    return path
}

/// A real `Server` (the one ternd runs) with echo listeners on loopback port 0.
final class TestServer {
    let server: Server
    let directory: String
    let echo: ListenAddress
    let echoTLS: ListenAddress

    init(_ configure: (inout TernConfig) -> Void = { _ in }) throws {
        directory = makeTemporaryDirectory()
        var config = TernConfig()
        config.dataDirectory = directory + "/data"
        config.eventLoops = 2
        config.listeners = .init(imap: [], imaps: [], submission: [], submissions: [], smtp: [])
        config.echo = [try ListenAddress(parsing: "127.0.0.1:0")]
        config.echoTLS = [try ListenAddress(parsing: "127.0.0.1:0")]
        config.limits.maxConnections = 20_000
        config.limits.maxConnectionsPerIP = 20_000
        configure(&config)
        var logger = Logger(label: "test-server")
        logger.logLevel = .error
        server = Server(config: config, logger: logger, levelSwitch: LogLevelSwitch(.error))
        try server.start()
        echo = server.boundAddresses["echo"]!.first!
        echoTLS = server.boundAddresses["echo_tls"]!.first!
    }

    var group: EventLoopGroup { server.group! }

    func waitForConnections(_ count: Int, timeout: Duration = .seconds(10)) throws {
        let deadline = ContinuousClock.now + timeout
        while group.connectionCount != count {
            if ContinuousClock.now > deadline {
                throw TestFailure.timeout("server has \(group.connectionCount) connections, expected \(count)")
            }
            usleep(10_000)
        }
    }

    deinit {
        server.shutdown()
        _ = try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Counts finished probes and collects failures; shared between client loops and the test thread.
final class ProbeResults: Sendable {
    private let state = Mutex<(succeeded: Int, failures: [String])>((0, []))
    func succeed() { state.withLock { $0.succeeded += 1 } }
    func fail(_ why: String) { state.withLock { $0.failures.append(why) } }
    var succeeded: Int { state.withLock { $0.succeeded } }
    var failures: [String] { state.withLock { $0.failures } }

    func wait(for count: Int, timeout: Duration) throws {
        let deadline = ContinuousClock.now + timeout
        while succeeded + failures.count < count {
            if ContinuousClock.now > deadline {
                throw TestFailure.timeout("\(succeeded) succeeded, \(failures.count) failed of \(count)")
            }
            usleep(10_000)
        }
    }
}

/// Sends lines of random bytes (pipelined in one burst), checks each echo byte for byte, then QUITs.
final class EchoProbe: ConnectionHandler {
    private let lines: [[UInt8]]
    private var next = 0
    private var finished = false
    private let results: ProbeResults

    init(lineCount: Int, maxLength: Int, results: ProbeResults) {
        var generator = SystemRandomNumberGenerator()
        lines = (0..<lineCount).map { _ in
            (0..<Int.random(in: 0...maxLength, using: &generator)).map { _ in
                // Any byte but CR and LF: the echo protocol is line based.
                let byte = UInt8.random(in: 0...253, using: &generator)
                return byte >= 10 ? (byte >= 13 ? byte + 2 : byte + 1) : byte
            }
        }
        self.results = results
    }

    func connectionDidBecomeActive(_ connection: any ConnectionContext) {
        var burst: [UInt8] = []
        for line in lines { burst += line + [13, 10] }
        connection.write(burst + Array("QUIT\r\n".utf8))
    }

    func connection(_ connection: any ConnectionContext, didReceive frame: Frame) {
        guard case .line(let line) = frame else {
            finish(connection, failure: "unexpected frame \(frame)")
            return
        }
        if next < lines.count {
            if line != lines[next] {
                finish(connection, failure: "line \(next) differs: sent \(lines[next].count) bytes, got \(line.count)")
                return
            }
            next += 1
        } else if line == Array("BYE".utf8) {
            finish(connection, failure: nil)
        } else {
            finish(connection, failure: "expected BYE, got \(String(decoding: line, as: UTF8.self))")
        }
    }

    private func finish(_ connection: any ConnectionContext, failure: String?) {
        guard !finished else { return }
        finished = true
        if let failure { results.fail(failure) } else { results.succeed() }
        connection.close()
    }

    func connectionDidTimeOut(_ connection: any ConnectionContext) {}
    func connectionShouldShutDown(_ connection: any ConnectionContext) { connection.close() }
    func connectionDidClose(_ connection: any ConnectionContext, reason: CloseReason) {
        if !finished {
            finished = true
            results.fail("closed early (\(reason)) after \(next) of \(lines.count) lines")
        }
    }
}
