// A small POP3 client for integration tests: status lines and multi-line responses (dot-stuffing undone here,
// independently of the server's own POP3 code), so a test can assert on exact server output.

public import TernCore
import TernTLS

public enum POP3TestError: Error, CustomStringConvertible {
    case closed
    case failed(String)
    public var description: String {
        switch self {
        case .closed: return "connection closed"
        case .failed(let line): return "unexpected reply: \(line)"
        }
    }
}

public final class POP3TestClient {
    public let client: TestClient
    public private(set) var greeting: String = ""

    /// Connects and reads the greeting; with `tls`, the handshake comes first (995 style).
    public init(_ address: ListenAddress, tls: Bool) throws {
        client = try TestClient(address)
        if tls { try client.startTLS(TLSClientContext(verifyPeer: false), serverName: nil) }
        greeting = try readLine()
    }

    public func readLine() throws -> String {
        guard let line = try client.readLine() else { throw POP3TestError.closed }
        return line
    }

    /// Sends one command line and reads its status line.
    @discardableResult
    public func command(_ text: String) throws -> String {
        try client.send(text + "\r\n")
        return try readLine()
    }

    /// The lines of a multi-line response after its status line, up to the final ".", unstuffed.
    public func readMultiline() throws -> [String] {
        var lines: [String] = []
        while true {
            let line = try readLine()
            if line == "." { return lines }
            lines.append(line.hasPrefix(".") ? String(line.dropFirst()) : line)
        }
    }

    /// A command with a multi-line answer: the status line and, after `+OK`, the lines.
    public func multiline(_ text: String) throws -> (status: String, lines: [String]) {
        let status = try command(text)
        guard status.hasPrefix("+OK") else { return (status, []) }
        return (status, try readMultiline())
    }

    /// RETR or TOP: the status line and the message bytes (unstuffed, CRLF line ends), nil after `-ERR`.
    public func message(_ text: String) throws -> (status: String, bytes: [UInt8]?) {
        let (status, lines) = try multiline(text)
        guard status.hasPrefix("+OK") else { return (status, nil) }
        return (status, Array(lines.map { $0 + "\r\n" }.joined().utf8))
    }

    /// STLS and the TLS handshake.
    @discardableResult
    public func startTLS() throws -> String {
        let reply = try command("STLS")
        guard reply.hasPrefix("+OK") else { return reply }
        try client.startTLS(TLSClientContext(verifyPeer: false), serverName: nil)
        return reply
    }

    /// USER and PASS; returns PASS's reply (or USER's, if it was refused).
    @discardableResult
    public func login(_ user: String, _ password: String) throws -> String {
        let first = try command("USER \(user)")
        guard first.hasPrefix("+OK") else { return first }
        return try command("PASS \(password)")
    }

    /// AUTH PLAIN with an initial response.
    @discardableResult
    public func authPlain(_ user: String, _ password: String) throws -> String {
        try command("AUTH PLAIN " + Base64.encode(Array("\0\(user)\0\(password)".utf8)))
    }
}
