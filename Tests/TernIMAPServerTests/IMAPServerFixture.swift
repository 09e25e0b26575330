// A real ternd with IMAP on loopback (143-style STARTTLS and 993-style implicit TLS, port 0) and an account
// created with ternctl, for the integration tests.

import Foundation
import TernCore
import TernTestSupport

func imapConfig(extra: String = "") -> String {
    """
    data_dir = "$DIR/data"
    user = "nobody"
    log_level = "debug"
    local_domains = ["example.com"]
    [server]
    event_loops = 2
    [listeners]
    imap = ["127.0.0.1:0"]
    imaps = ["127.0.0.1:0"]
    submission = []
    submissions = []
    smtp = []
    pop3 = []
    pop3s = []
    [limits]
    shutdown_grace_seconds = 2
    \(extra)
    """
}

final class IMAPServer {
    let process: TerndProcess
    static let user = "alice@example.com"
    static let password = "correct horse 7"

    init(extra: String = "", existing: TerndProcess? = nil) throws {
        process = try existing ?? TerndProcess(config: imapConfig(extra: extra))
        try process.waitForLog("ternd ready")
    }

    /// Runs ternctl against this server's config; throws with its output on failure.
    @discardableResult
    func ternctl(_ arguments: [String], input: String? = nil) throws -> CommandResult {
        try process.ternctl(arguments, input: input)
    }

    func addUser(_ address: String = IMAPServer.user, password: String = IMAPServer.password) throws {
        let domain = String(address.split(separator: "@").last!)
        if (try? ternctl(["domain", "list"]))?.output.contains(domain) != true {
            try ternctl(["domain", "add", domain])
        }
        try ternctl(["user", "add", address, "--password-stdin"], input: password + "\n")
    }

    func imaps(from sourceHost: String? = nil) throws -> IMAPTestClient {
        try IMAPTestClient(try process.address(of: "imaps"), tls: true, sourceHost: sourceHost)
    }

    func imap() throws -> IMAPTestClient { try IMAPTestClient(try process.address(of: "imap"), tls: false) }

    /// A logged-in session over implicit TLS.
    func session(_ user: String = IMAPServer.user, _ password: String = IMAPServer.password) throws -> IMAPTestClient {
        let client = try imaps()
        try client.login(user, password)
        return client
    }
}

func message(subject: String, body: String = "Hello\r\n", from: String = "Bob <bob@example.org>") -> String {
    "From: \(from)\r\nTo: alice@example.com\r\nSubject: \(subject)\r\nDate: Sat, 21 Nov 2026 10:00:00 +0100\r\n"
        + "Message-ID: <\(subject.filter { $0.isLetter || $0.isNumber })@example.org>\r\n\r\n\(body)"
}
