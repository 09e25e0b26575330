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
    /// Bytes received (and decrypted) but not yet returned by a read.
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
        try readLineBytes().map { String(decoding: $0, as: UTF8.self) }
    }

    /// One line without its CRLF, as the bytes that were sent (no decoding); nil on EOF. Throws on timeout.
    public func readLineBytes() throws -> [UInt8]? {
        var scanned = 0
        while true {
            if let newline = plaintext[scanned...].firstIndex(of: 10) {
                var line = Array(plaintext[..<newline])
                plaintext.removeFirst(newline + 1)
                if line.last == 13 { line.removeLast() }
                return line
            }
            scanned = plaintext.count
            guard let received = try fill(limit: 65536) else { throw TestClientError.timeout("reading a line") }
            if !received { return nil }
        }
    }

    /// Exactly `count` bytes (after what `readLine` buffered); throws on timeout or EOF.
    public func readExactly(_ count: Int) throws -> [UInt8] {
        while plaintext.count < count {
            // Plaintext: never read past what was asked for (a caller may start TLS right after). TLS: whole records.
            let needed = count - plaintext.count
            guard let received = try fill(limit: transport == nil ? needed : max(needed, 65536)), received else {
                throw TestClientError.timeout("reading \(count) bytes")
            }
        }
        let result = Array(plaintext[..<count])
        plaintext.removeFirst(count)
        return result
    }

    /// Up to `limit` decrypted bytes; empty on EOF, nil on timeout or reset.
    public func receiveSome(limit: Int) throws -> [UInt8]? {
        if plaintext.isEmpty {
            guard let received = try fill(limit: transport == nil ? limit : max(limit, 65536)) else { return nil }
            if !received { return [] }
        }
        let taken = Array(plaintext.prefix(limit))
        plaintext.removeFirst(taken.count)
        return taken
    }

    /// Reads from the socket (at most `limit` bytes of it) and appends what it decrypts to `plaintext`, until
    /// there is at least one new byte: true; false on EOF, nil on timeout or reset. TLS records without application
    /// data (TLS 1.3 session tickets) decrypt to nothing: that is not EOF, so reading goes on.
    private func fill(limit: Int) throws -> Bool? {
        while true {
            guard let chunk = rawReceive(limit: limit) else { return nil }
            if chunk.isEmpty { return false }
            guard let transport else {
                plaintext += chunk
                return true
            }
            let before = plaintext.count
            var output: [UInt8] = []
            _ = try chunk.withUnsafeBytes { try transport.receive($0, plaintext: &plaintext, ciphertext: &output) }
            rawSend(output)
            if plaintext.count > before { return true }
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
