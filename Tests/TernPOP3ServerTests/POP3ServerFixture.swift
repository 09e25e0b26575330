// A real ternd with POP3 (110-style STLS and 995-style implicit TLS) and IMAP on loopback (port 0), and accounts
// made with ternctl, for the POP3 integration and interop tests. Test mail goes in through IMAP APPEND, so the
// stored bytes are exactly the test's.

import Foundation
import TernCore
import TernTestSupport

func pop3Config() -> String {
    """
    data_dir = "$DIR/data"
    user = "nobody"
    log_level = "debug"
    hostname = "mail.example.com"
    local_domains = ["example.com"]
    [server]
    event_loops = 2
    [listeners]
    imap = []
    imaps = ["127.0.0.1:0"]
    submission = []
    submissions = []
    smtp = []
    pop3 = ["127.0.0.1:0"]
    pop3s = ["127.0.0.1:0"]
    [limits]
    shutdown_grace_seconds = 2
    """
}

final class POP3Server {
    let process: TerndProcess
    static let alice = "alice@example.com"
    static let bob = "bob@example.com"
    static let password = "correct horse 7"

    init(existing: TerndProcess? = nil) throws {
        process = try existing ?? TerndProcess(config: pop3Config())
        try process.waitForLog("ternd ready")
    }

    @discardableResult
    func ternctl(_ arguments: [String], input: String? = nil) throws -> CommandResult {
        try process.ternctl(arguments, input: input)
    }

    func addUsers(_ addresses: [String] = [POP3Server.alice, POP3Server.bob]) throws {
        try ternctl(["domain", "add", "example.com"])
        for address in addresses {
            try ternctl(["user", "add", address, "--password-stdin"], input: POP3Server.password + "\n")
        }
    }

    /// The address of a listener, from its `listening` line (metadata is sorted, so `service=` ends it; matching the
    /// end keeps `pop3` from finding `pop3s`).
    func address(_ service: String) throws -> ListenAddress {
        try process.waitForLog("ternd ready")
        guard let line = process.log.first(where: { $0.contains(" listening ") && $0.hasSuffix("service=\(service)") }) else {
            throw DaemonTestError.timeout("listener \(service)", log: process.log.joined(separator: "\n"))
        }
        let field = line.split(separator: " ").first { $0.hasPrefix("address=") }!
        return try ListenAddress(parsing: String(field.dropFirst("address=".count)))
    }

    /// POP3 with STLS (110 style), greeted, before TLS.
    func plain() throws -> POP3TestClient { try POP3TestClient(try address("pop3"), tls: false) }
    /// POP3 over implicit TLS (995 style).
    func secure() throws -> POP3TestClient { try POP3TestClient(try address("pop3s"), tls: true) }

    /// A POP3 session over implicit TLS, logged in with USER/PASS.
    func loggedIn(_ user: String = POP3Server.alice) throws -> POP3TestClient {
        let client = try secure()
        let reply = try client.login(user, POP3Server.password)
        guard reply.hasPrefix("+OK") else { throw POP3TestError.failed(reply) }
        return client
    }

    /// An IMAP session over TLS, logged in.
    func imap(_ user: String = POP3Server.alice) throws -> IMAPTestClient {
        let client = try IMAPTestClient(try address("imaps"), tls: true)
        try client.login(user, POP3Server.password)
        return client
    }

    /// Appends messages to `user`'s INBOX over IMAP.
    func deliver(_ messages: [String], to user: String = POP3Server.alice) throws {
        let client = try imap(user)
        for message in messages {
            let response = try client.append("INBOX", message)
            guard response.ok else { throw POP3TestError.failed(response.tagged) }
        }
    }

    /// Every message of `user`'s INBOX over IMAP (BODY.PEEK[], so nothing is marked), with its flags, by UID.
    func inbox(_ user: String = POP3Server.alice) throws -> [(flags: String, body: String)] {
        let client = try imap(user)
        let selected = try client.command("EXAMINE INBOX")
        guard let exists = selected.untagged.first(where: { $0.hasSuffix(" EXISTS") }),
              let count = Int(exists.split(separator: " ")[1]), count > 0 else { return [] }
        let fetched = try client.command("FETCH 1:* (FLAGS BODY.PEEK[])")
        return fetched.untagged.compactMap { line in
            guard let flagsStart = line.range(of: "FLAGS ("), let flagsEnd = line[flagsStart.upperBound...].firstIndex(of: ")"),
                  let start = line.range(of: "}\r\n") else { return nil }
            var body = String(line[start.upperBound...])
            if body.hasSuffix(")") { body.removeLast() }
            // IMAP4rev1's \Recent says nothing about POP3; left out.
            let flags = line[flagsStart.upperBound..<flagsEnd].split(separator: " ").filter { $0 != "\\Recent" }
            return (flags.joined(separator: " "), body)
        }
    }
}

func mail(_ subject: String, body: String = "Hello\r\n") -> String {
    "From: <\(POP3Server.bob)>\r\nTo: <\(POP3Server.alice)>\r\nSubject: \(subject)\r\nDate: Sun, 22 Nov 2026 10:00:00 +0100\r\n"
        + "Message-ID: <\(subject.filter { $0.isLetter || $0.isNumber })@example.com>\r\n\r\n\(body)"
}
