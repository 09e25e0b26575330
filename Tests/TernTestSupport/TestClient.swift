// A blocking loopback client for tests: plain TCP, optionally upgraded to TLS through TernTLS's client transport,
// with receive/send timeouts so a test can never hang.

import Glibc
public import TernCore
public import TernTLS

public enum TestClientError: Error, CustomStringConvertible {
    case connectFailed(String, errno: Int32)
    case timeout(String)
    case closedDuringHandshake

    public var description: String {
        switch self {
        case .connectFailed(let address, let code): return "connect to \(address) failed: errno \(code)"
        case .timeout(let what): return "timed out \(what)"
        case .closedDuringHandshake: return "connection closed during the TLS handshake"
        }
    }
}

public final class TestClient {
    public let fd: Int32
    private var transport: (any SecureTransport)?
    private var plaintext: [UInt8] = []

    /// `sourceHost`: bind the client side to this IPv4 address first (e.g. 127.0.0.2, to look like another client).
    public init(_ address: ListenAddress, receiveBufferSize: Int32? = nil, timeoutSeconds: Int = 10,
                sourceHost: String? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if let sourceHost {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            inet_pton(AF_INET, sourceHost, &local.sin_addr)
            _ = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        if let receiveBufferSize {
            var size = receiveBufferSize
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = address.port.bigEndian
        inet_pton(AF_INET, address.host, &sin.sin_addr)
        let result = withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let code = errno
            close(fd)
            throw TestClientError.connectFailed("\(address)", errno: code)
        }
    }

    deinit { close(fd) }

    /// Runs a TLS handshake over this connection; later sends and reads go through TLS.
    public func startTLS(_ context: TLSClientContext, serverName: String?) throws {
        let transport = try context.makeTransport(serverName: serverName)
        self.transport = transport
        var output: [UInt8] = []
        _ = try transport.receive(UnsafeRawBufferPointer(start: nil, count: 0), plaintext: &plaintext, ciphertext: &output)
        rawSend(output)
        while !transport.isHandshakeComplete {
            guard let chunk = rawReceive(limit: 65536), !chunk.isEmpty else { throw TestClientError.closedDuringHandshake }
            output = []
            _ = try chunk.withUnsafeBytes { try transport.receive($0, plaintext: &plaintext, ciphertext: &output) }
            rawSend(output)
        }
    }

    /// Sends everything; returns the bytes sent before a send timeout or error (used to detect backpressure).
    @discardableResult
    public func send(_ bytes: [UInt8]) throws -> Int {
        guard let transport else { return rawSend(bytes) }
        var output: [UInt8] = []
        try transport.send(bytes, ciphertext: &output)
        return rawSend(output) == output.count ? bytes.count : 0
    }

    public func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// One line without its CRLF; nil on EOF. Throws on timeout.
    public func readLine() throws -> String? {
        while true {
            if let newline = plaintext.firstIndex(of: 10) {
                var line = Array(plaintext[..<newline])
                plaintext.removeFirst(newline + 1)
                if line.last == 13 { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            guard let chunk = try receiveSome(limit: 65536) else { throw TestClientError.timeout("reading a line") }
            if chunk.isEmpty { return nil }
            plaintext += chunk
        }
    }

    /// Exactly `count` bytes (after what `readLine` buffered); throws on timeout or EOF.
    public func readExactly(_ count: Int) throws -> [UInt8] {
        var result: [UInt8] = []
        while result.count < count {
            guard let chunk = try receiveSome(limit: count - result.count), !chunk.isEmpty else {
                throw TestClientError.timeout("reading \(count) bytes")
            }
            // A TLS record may decrypt to more than was asked for: keep the rest for the next read.
            let needed = count - result.count
            if chunk.count > needed {
                result += chunk[..<needed]
                plaintext = Array(chunk[needed...]) + plaintext
            } else {
                result += chunk
            }
        }
        return result
    }

    /// Up to `limit` decrypted bytes; empty on EOF, nil on timeout or reset.
    public func receiveSome(limit: Int) throws -> [UInt8]? {
        if !plaintext.isEmpty {
            let taken = Array(plaintext.prefix(limit))
            plaintext.removeFirst(taken.count)
            return taken
        }
        while true {
            guard let chunk = rawReceive(limit: limit) else { return nil }
            guard let transport, !chunk.isEmpty else { return chunk }
            var decrypted: [UInt8] = []
            var output: [UInt8] = []
            _ = try chunk.withUnsafeBytes { try transport.receive($0, plaintext: &decrypted, ciphertext: &output) }
            rawSend(output)
            // Records without application data (TLS 1.3 session tickets) decrypt to nothing: that is not EOF.
            if !decrypted.isEmpty { return decrypted }
        }
    }

    /// True if the server closed the connection (EOF or reset) before the receive timeout.
    public func waitForClose() -> Bool {
        while true {
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 65536, 0) }
            if count == 0 { return true }
            if count < 0 { return errno == ECONNRESET }
        }
    }

    /// Closes with a TCP reset (SO_LINGER 0): an abrupt disconnect.
    public func reset() {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        shutdown(fd, Int32(SHUT_RDWR))
    }

    @discardableResult
    private func rawSend(_ bytes: [UInt8]) -> Int {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { return offset }
            offset += sent
        }
        return offset
    }

    private func rawReceive(limit: Int) -> [UInt8]? {
        var chunk = [UInt8](repeating: 0, count: limit)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, limit, 0) }
        return count < 0 ? nil : Array(chunk[0..<count])
    }
}

/// The repository folder, found from a source file's path (`#filePath` of the caller).
public func repositoryPath(_ relative: String, file: StaticString = #filePath) -> String {
    let parts = "\(file)".split(separator: "/", omittingEmptySubsequences: false)
    return parts.prefix { $0 != "Tests" }.joined(separator: "/") + "/" + relative
}
