// A small IMAP client for integration tests: sends tagged commands and collects the response lines, with literal
// payloads inlined, so a test can assert on exact server output.

public import TernCore
import TernTLS

public enum IMAPTestClientError: Error, CustomStringConvertible {
    /// The server answered a command with NO or BAD (the command's name, the tagged reply).
    case refused(String, String)
    /// A response that does not parse as the command's result (what was expected, the response).
    case unexpected(String, String)

    public var description: String {
        switch self {
        case .refused(let command, let reply): return "\(command) refused: \(reply)"
        case .unexpected(let what, let response): return "expected \(what), got: \(response.prefix(300))"
        }
    }
}

public final class IMAPTestClient {
    public let client: TestClient
    private var nextTag = 1
    /// Untagged lines that arrived outside a command (IDLE), or were read ahead.
    public private(set) var greeting: String = ""

    /// Connects; with `tls`, runs the handshake first (implicit TLS, port 993 style).
    public init(_ address: ListenAddress, tls: Bool, sourceHost: String? = nil, receiveBufferSize: Int32? = nil) throws {
        client = try TestClient(address, receiveBufferSize: receiveBufferSize, sourceHost: sourceHost)
        if tls { try client.startTLS(TLSClientContext(verifyPeer: false), serverName: nil) }
        greeting = try readResponseLine() ?? ""
    }

    /// One response line; a line ending in `{n}` is joined with its n-byte literal and the rest of the line.
    public func readResponseLine() throws -> String? {
        try readResponse().map { String(decoding: $0, as: UTF8.self) }
    }

    /// One whole response as the bytes that were sent, without its final CRLF: a line ending in a literal
    /// announcement (`{n}`, `{n+}`, `~{n}`) is followed by CRLF, the literal's n bytes (counted, never split into
    /// lines) and the rest of the response, so `IMAPResponseScanner` can parse it. Nil on EOF.
    public func readResponse() throws -> [UInt8]? {
        guard var response = try client.readLineBytes() else { return nil }
        var lineStart = 0
        while let count = Self.literalAnnouncement(at: response[lineStart...]) {
            response += [13, 10]
            response += try client.readExactly(count)
            guard let rest = try client.readLineBytes() else { break }
            lineStart = response.count
            response += rest
        }
        return response
    }

    /// The size announced at the end of `line` (`{n}` or `{n+}`), if it ends with one.
    static func literalAnnouncement(at line: ArraySlice<UInt8>) -> Int? {
        guard line.last == UInt8(ascii: "}"), let open = line.lastIndex(of: UInt8(ascii: "{")) else { return nil }
        var digits = line[(open + 1)..<(line.endIndex - 1)]
        if digits.last == UInt8(ascii: "+") { digits = digits.dropLast() }
        guard !digits.isEmpty, digits.count <= 12, digits.allSatisfy({ (48...57).contains($0) }) else { return nil }
        return digits.reduce(0) { $0 * 10 + Int($1 - 48) }
    }

    public struct Response {
        public let untagged: [String]
        /// The untagged responses as the bytes that were sent (literals inline: see `readResponse`).
        public let untaggedBytes: [[UInt8]]
        public let tagged: String
        /// The tagged line without the tag: `OK …`, `NO …`, `BAD …`.
        public var status: String { String(tagged.drop { $0 != " " }.dropFirst()) }
        public var ok: Bool { status.hasPrefix("OK") }
    }

    public func makeTag() -> String {
        defer { nextTag += 1 }
        return "t\(nextTag)"
    }

    /// Sends `tag command` and reads until the tagged reply. Continuation requests (`+`) are answered with
    /// `continuations` in order.
    @discardableResult
    public func command(_ text: String, continuations: [[UInt8]] = []) throws -> Response {
        let tag = makeTag()
        try client.send(tag + " " + text + "\r\n")
        return try readUntilTagged(tag, continuations: continuations)
    }

    public func readUntilTagged(_ tag: String, continuations: [[UInt8]] = []) throws -> Response {
        var pending = continuations
        var untagged: [[UInt8]] = []
        let tagPrefix = Array((tag + " ").utf8)
        func response(_ tagged: [UInt8]) -> Response {
            Response(untagged: untagged.map { String(decoding: $0, as: UTF8.self) }, untaggedBytes: untagged,
                     tagged: String(decoding: tagged, as: UTF8.self))
        }
        while let line = try readResponse() {
            if line.starts(with: tagPrefix) { return response(line) }
            if line.first == UInt8(ascii: "+") {
                guard !pending.isEmpty else { return response(line) }
                try client.send(pending.removeFirst())
                continue
            }
            untagged.append(line)
        }
        throw TestClientError.timeout("connection closed before the tagged reply to \(tag)")
    }

    /// STARTTLS (RFC 9051 §6.2.1), then the handshake; later commands go through TLS. Throws if refused.
    public func startTLS() throws {
        let response = try command("STARTTLS")
        guard response.ok else { throw IMAPTestClientError.refused("STARTTLS", response.tagged) }
        try client.startTLS(TLSClientContext(verifyPeer: false), serverName: nil)
    }

    /// LOGIN, expecting success.
    public func login(_ user: String, _ password: String) throws {
        let response = try command("LOGIN \"\(user)\" \"\(password)\"")
        guard response.ok else { throw IMAPTestClientError.refused("LOGIN", response.tagged) }
    }

    /// APPEND with a synchronizing literal.
    @discardableResult
    public func append(_ mailbox: String, _ message: String, flags: String = "") throws -> Response {
        let bytes = Array(message.utf8)
        let flagPart = flags.isEmpty ? "" : "(\(flags)) "
        return try command("APPEND \"\(mailbox)\" \(flagPart){\(bytes.count)}", continuations: [bytes + [13, 10]])
    }
}
