import Foundation
import Testing
import TernCore
import TernTestSupport

/// Migration at first login, end to end: a private Dovecot with the 1,000-message corpus is the old server; ternd has
/// `[migration] old_server` pointing at it and no account for the user. The user's first IMAP login with the old
/// password creates the account and the mail follows in the background (INBOX first, seen arriving by IDLE).
@Suite(.serialized, .enabled(if: DovecotServer.isAvailable)) struct FirstLoginTests {
    static func config(_ dovecot: DovecotServer, extra: String = "") -> String {
        TerndProcess.imapsOnlyConfig("""
            [auth]
            failure_delay_ms = 0
            [migration]
            old_server = "imaps://127.0.0.1:\(dovecot.imapsPort)"
            fingerprint = "\(dovecot.certificateSHA256Fingerprint)"
            \(extra)
            """)
    }

    /// Dovecot's names mapped onto Tern's: "Deleted Items" has no special-use attribute and becomes Trash.
    static func mapped(_ name: String) -> String { name == "Deleted Items" ? "Trash" : name }

    @Test func firstLoginCreatesTheAccountAndTheMailFollows() throws {
        let dovecot = try DovecotServer(users: [(login: "alice@example.com", password: "Oldpass2024"),
                                                (login: "bob@example.com", password: "weak")])
        let corpus = OldServerCorpus(for: dovecot)
        try corpus.populate(dovecot, login: "alice@example.com", password: "Oldpass2024")
        let old = try IMAPMailSnapshot.take(port: dovecot.imapsPort, security: .implicitTLS, login: "alice@example.com",
                                            password: "Oldpass2024")
        let server = try TerndProcess(config: Self.config(dovecot))
        try server.waitForLog("ternd ready")
        try server.ternctl(["domain", "add", "example.com"])
        let imaps = try server.address(of: "imaps")

        // A wrong password: refused, nothing created.
        let wrong = try IMAPTestClient(imaps, tls: true)
        #expect(try wrong.command("LOGIN alice@example.com Oldpass2025").status.hasPrefix("NO"))
        #expect(throws: (any Error).self) { try server.ternctl(["user", "show", "alice@example.com"]) }
        // Not our domain: the old server is not asked, nothing created.
        let foreign = try IMAPTestClient(imaps, tls: true)
        #expect(try foreign.command("LOGIN alice@example.org Oldpass2024").status.hasPrefix("NO"))

        // The right one: in at once, and INBOX fills while the client idles in it.
        let client = try IMAPTestClient(imaps, tls: true)
        let login = try client.command("LOGIN alice@example.com Oldpass2024")
        #expect(login.ok, "\(login.tagged)")
        _ = try client.command("SELECT INBOX")
        try client.client.send("I1 IDLE\r\n")
        var sawExists = false
        let deadline = ContinuousClock.now + .seconds(60)
        while !sawExists && ContinuousClock.now < deadline {
            guard let line = try client.readResponseLine() else { break }
            if line.hasPrefix("* "), line.hasSuffix(" EXISTS"), line != "* 0 EXISTS" { sawExists = true }
        }
        #expect(sawExists, "no EXISTS reached the idling client")
        try client.client.send("DONE\r\n")

        // Everything arrives: the same folders, bytes, flags, keywords and dates.
        let expected = Dictionary(uniqueKeysWithValues: old.mailboxes.filter(\.isSelectable).map { (Self.mapped($0.name), Set($0.messages)) })
        var copied: [String: Set<IMAPMailSnapshot.Message>] = [:]
        let end = ContinuousClock.now + .seconds(120)
        repeat {
            usleep(500_000)
            let now = try IMAPMailSnapshot.take(port: imaps.port, security: .implicitTLS, login: "alice@example.com",
                                                password: "Oldpass2024")
            copied = Dictionary(uniqueKeysWithValues: now.mailboxes.filter(\.isSelectable).map { ($0.name, Set($0.messages)) })
        } while expected.contains(where: { copied[$0.key] != $0.value }) && ContinuousClock.now < end
        for (name, messages) in expected {
            #expect(copied[name] == messages, "\(name): \(copied[name]?.count ?? -1) of \(messages.count) messages as expected")
        }
        _ = try server.waitForLog("first-login migration finished")
        #expect(server.log.contains { $0.contains("account created from the old server") && $0.contains("alice@example.com") })

        // A password that does not meet the policy here: in once, then it must be changed.
        let bob = try IMAPTestClient(imaps, tls: true)
        #expect(try bob.command("LOGIN bob@example.com weak").ok)
        let again = try IMAPTestClient(imaps, tls: true)
        #expect(try again.command("LOGIN bob@example.com weak").tagged.contains("[EXPIRED]"))
    }

    /// The old server is asked only about accounts that are not here: a local account with a wrong password fails
    /// without it, even when the old server would accept that password.
    @Test func existingAccountsNeverAskTheOldServer() throws {
        let dovecot = try DovecotServer(users: [(login: "carol@example.com", password: "Oldpass2024")])
        let server = try TerndProcess(config: Self.config(dovecot))
        try server.waitForLog("ternd ready")
        try server.ternctl(["domain", "add", "example.com"])
        try server.ternctl(["user", "add", "carol@example.com", "--password-stdin"], input: "Newpass2025\n")
        let client = try IMAPTestClient(try server.address(of: "imaps"), tls: true)
        #expect(try client.command("LOGIN carol@example.com Oldpass2024").status.hasPrefix("NO"))
        let good = try IMAPTestClient(try server.address(of: "imaps"), tls: true)
        #expect(try good.command("LOGIN carol@example.com Newpass2025").ok)
        #expect(!server.log.contains { $0.contains("first-login migration") || $0.contains("created from the old server") })
    }
}
