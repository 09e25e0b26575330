// A real ternd with submission (587-style STARTTLS, 465-style implicit TLS), inbound SMTP and IMAP on loopback
// (port 0), and accounts made with ternctl, for the SMTP integration and interop tests.

import Foundation
import TernCore
import TernTestSupport

func smtpConfig(extra: String = "", top: String = "") -> String {
    """
    data_dir = "$DIR/data"
    user = "nobody"
    log_level = "debug"
    hostname = "mail.example.com"
    local_domains = ["example.com"]
    \(top)
    [server]
    event_loops = 2
    [listeners]
    imap = []
    imaps = ["127.0.0.1:0"]
    submission = ["127.0.0.1:0"]
    submissions = ["127.0.0.1:0"]
    smtp = ["127.0.0.1:0"]
    pop3 = []
    pop3s = []
    [limits]
    shutdown_grace_seconds = 2
    \(extra)
    """
}

final class SMTPServer {
    let process: TerndProcess
    static let alice = "alice@example.com"
    static let bob = "bob@example.com"
    static let password = "correct horse 7"

    init(extra: String = "", top: String = "", existing: TerndProcess? = nil) throws {
        process = try existing ?? TerndProcess(config: smtpConfig(extra: extra, top: top))
        try process.waitForLog("ternd ready")
    }

    @discardableResult
    func ternctl(_ arguments: [String], input: String? = nil) throws -> CommandResult {
        try process.ternctl(arguments, input: input)
    }

    /// alice@ and bob@example.com with the same password.
    func addUsers(_ addresses: [String] = [SMTPServer.alice, SMTPServer.bob]) throws {
        try ternctl(["domain", "add", "example.com"])
        for address in addresses {
            try ternctl(["user", "add", address, "--password-stdin"], input: SMTPServer.password + "\n")
        }
    }

    /// Submission over STARTTLS (587 style), greeted but not logged in.
    func submission() throws -> SMTPTestClient { try SMTPTestClient(try process.address(of: "submission"), tls: false) }
    /// Submission over implicit TLS (465 style).
    func submissions() throws -> SMTPTestClient { try SMTPTestClient(try process.address(of: "submissions"), tls: true) }
    /// Inbound SMTP (25 style).
    func inbound(from sourceHost: String? = nil) throws -> SMTPTestClient {
        try SMTPTestClient(try process.address(of: "smtp"), tls: false, sourceHost: sourceHost)
    }

    /// A submission session over implicit TLS, logged in.
    func loggedIn(_ user: String = SMTPServer.alice) throws -> SMTPTestClient {
        let client = try submissions()
        try client.hello()
        let auth = try client.login(user, SMTPServer.password)
        guard auth.code == 235 else { throw SMTPTestError.malformed("login failed: \(auth)") }
        return client
    }

    /// An IMAP session over TLS, logged in, INBOX selected.
    func imap(_ user: String) throws -> IMAPTestClient {
        let client = try IMAPTestClient(try process.address(of: "imaps"), tls: true)
        try client.login(user, SMTPServer.password)
        _ = try client.command("SELECT INBOX")
        return client
    }

    /// Every message of `user`'s mailbox, as bytes in UID order.
    func messages(of user: String, mailbox: String = "INBOX") throws -> [String] {
        let client = try IMAPTestClient(try process.address(of: "imaps"), tls: true)
        try client.login(user, SMTPServer.password)
        let selected = try client.command("SELECT \"\(mailbox)\"")
        guard let exists = selected.untagged.first(where: { $0.hasSuffix(" EXISTS") }),
              let count = Int(exists.split(separator: " ")[1]), count > 0 else { return [] }
        let fetched = try client.command("FETCH 1:* (BODY.PEEK[])")
        return fetched.untagged.compactMap { line in
            guard let start = line.range(of: "}\r\n") else { return nil }
            var body = String(line[start.upperBound...])
            if body.hasSuffix(")") { body.removeLast() }
            return body
        }
    }
}

func mail(from: String = SMTPServer.alice, to: String = SMTPServer.bob, subject: String, body: String = "Hello\r\n") -> String {
    "From: <\(from)>\r\nTo: <\(to)>\r\nSubject: \(subject)\r\nDate: Sun, 22 Nov 2026 10:00:00 +0100\r\n"
        + "Message-ID: <\(subject.filter { $0.isLetter || $0.isNumber })@example.com>\r\n\r\n\(body)"
}

/// The message without the header fields Tern adds on the way (Return-Path, Delivered-To, Received and its
/// continuation lines).
func withoutTraceHeaders(_ message: String) -> String {
    var lines = message.components(separatedBy: "\r\n")
    var index = 0
    while index < lines.count, !lines[index].isEmpty {
        let line = lines[index]
        let traced = ["Return-Path:", "Delivered-To:", "Received:"].contains { line.hasPrefix($0) }
        if traced {
            lines.remove(at: index)
            while index < lines.count, lines[index].hasPrefix("\t") || lines[index].hasPrefix(" ") { lines.remove(at: index) }
        } else {
            index += 1
        }
    }
    return lines.joined(separator: "\r\n")
}
