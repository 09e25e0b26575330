// A small IMAP client for integration tests: sends tagged commands and collects the response lines, with literal
// payloads inlined, so a test can assert on exact server output.

public import TernCore
import TernTLS

public final class IMAPTestClient {
    public let client: TestClient
    private var nextTag = 1
    /// Untagged lines that arrived outside a command (IDLE), or were read ahead.
    public private(set) var greeting: String = ""

    /// Connects; with `tls`, runs the handshake first (implicit TLS, port 993 style).
    public init(_ address: ListenAddress, tls: Bool, sourceHost: String? = nil) throws {
        client = try TestClient(address, sourceHost: sourceHost)
        if tls { try client.startTLS(TLSClientContext(verifyPeer: false), serverName: nil) }
        greeting = try readResponseLine() ?? ""
    }

    /// One response line; a line ending in `{n}` is joined with its n-byte literal and the rest of the line.
    public func readResponseLine() throws -> String? {
        guard var line = try client.readLine() else { return nil }
        while line.hasSuffix("}"), let open = line.lastIndex(of: "{"), let count = Int(line[line.index(after: open)..<line.index(before: line.endIndex)].filter { $0 != "+" }) {
            let literal = try client.readExactly(count)
            line += "\r\n" + String(decoding: literal, as: UTF8.self)
            guard let rest = try client.readLine() else { break }
            line += rest
        }
        return line
    }

    public struct Response {
        public let untagged: [String]
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
        var untagged: [String] = []
        while let line = try readResponseLine() {
            if line.hasPrefix(tag + " ") { return Response(untagged: untagged, tagged: line) }
            if line.hasPrefix("+") {
                guard !pending.isEmpty else { return Response(untagged: untagged, tagged: line) }
                try client.send(pending.removeFirst())
                continue
            }
            untagged.append(line)
        }
        throw TestClientError.timeout("connection closed before the tagged reply to \(tag)")
    }

    /// LOGIN, expecting success.
    public func login(_ user: String, _ password: String) throws {
        let response = try command("LOGIN \"\(user)\" \"\(password)\"")
        guard response.ok else { throw TestClientError.timeout("login failed: \(response.tagged)") }
    }

    /// APPEND with a synchronizing literal.
    @discardableResult
    public func append(_ mailbox: String, _ message: String, flags: String = "") throws -> Response {
        let bytes = Array(message.utf8)
        let flagPart = flags.isEmpty ? "" : "(\(flags)) "
        return try command("APPEND \"\(mailbox)\" \(flagPart){\(bytes.count)}", continuations: [bytes + [13, 10]])
    }
}
