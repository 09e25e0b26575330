// A small SMTP client for integration tests: reads whole (multi-line) replies and sends commands, so a test can
// assert on exact server replies. It parses replies itself, independently of the server's own SMTP code.

public import TernCore
import TernTLS

public struct SMTPTestReply: CustomStringConvertible {
    public let code: Int
    /// Every line without its `250-` / `250 ` prefix.
    public let lines: [String]
    public var text: String { lines.joined(separator: "\n") }
    public var description: String { "\(code) \(text)" }
    /// The enhanced status code at the start of the first line (`5.7.1`), if any.
    public var status: String? {
        let first = lines.first?.split(separator: " ").first.map(String.init) ?? ""
        return first.split(separator: ".").count == 3 && first.first?.isNumber == true ? first : nil
    }
}

public enum SMTPTestError: Error, CustomStringConvertible {
    case closed
    case malformed(String)
    public var description: String {
        switch self {
        case .closed: return "connection closed"
        case .malformed(let line): return "not an SMTP reply: \(line)"
        }
    }
}

public final class SMTPTestClient {
    public let client: TestClient
    public private(set) var greeting: SMTPTestReply!

    /// Connects and reads the greeting; with `tls`, the handshake comes first (465 style).
    public init(_ address: ListenAddress, tls: Bool, sourceHost: String? = nil) throws {
        client = try TestClient(address, sourceHost: sourceHost)
        if tls { try client.startTLS(TLSClientContext(verifyPeer: false), serverName: nil) }
        greeting = try readReply()
    }

    public func readReply() throws -> SMTPTestReply {
        var lines: [String] = []
        while true {
            guard let line = try client.readLine() else { throw SMTPTestError.closed }
            guard line.count >= 3, let code = Int(line.prefix(3)) else { throw SMTPTestError.malformed(line) }
            let separator = line.dropFirst(3).first
            lines.append(String(line.dropFirst(4)))
            if separator != "-" { return SMTPTestReply(code: code, lines: lines) }
        }
    }

    /// Sends one command line and reads its reply.
    @discardableResult
    public func command(_ text: String) throws -> SMTPTestReply {
        try client.send(text + "\r\n")
        return try readReply()
    }

    /// EHLO, then STARTTLS and EHLO again when `startTLS`.
    @discardableResult
    public func hello(startTLS: Bool = false) throws -> SMTPTestReply {
        let first = try command("EHLO client.test")
        guard startTLS else { return first }
        let ready = try command("STARTTLS")
        guard ready.code == 220 else { return ready }
        try client.startTLS(TLSClientContext(verifyPeer: false), serverName: nil)
        return try command("EHLO client.test")
    }

    /// AUTH PLAIN with an initial response.
    @discardableResult
    public func login(_ user: String, _ password: String) throws -> SMTPTestReply {
        try command("AUTH PLAIN " + Base64.encode(Array("\0\(user)\0\(password)".utf8)))
    }

    /// DATA with dot-stuffing; returns the reply to the final dot (or to DATA if it was refused).
    @discardableResult
    public func data(_ message: String) throws -> SMTPTestReply {
        let go = try command("DATA")
        guard go.code == 354 else { return go }
        var stuffed = ""
        for line in message.split(separator: "\r\n", omittingEmptySubsequences: false).dropLast(message.hasSuffix("\r\n") ? 1 : 0) {
            stuffed += (line.hasPrefix(".") ? "." : "") + line + "\r\n"
        }
        try client.send(stuffed + ".\r\n")
        return try readReply()
    }

    /// MAIL, RCPT for each recipient, DATA; returns every reply in order.
    public func send(from: String, to recipients: [String], _ message: String) throws -> [SMTPTestReply] {
        var replies = [try command("MAIL FROM:<\(from)>")]
        for recipient in recipients { replies.append(try command("RCPT TO:<\(recipient)>")) }
        replies.append(try data(message))
        return replies
    }
}
