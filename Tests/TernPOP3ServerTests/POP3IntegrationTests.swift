// POP3 against a real ternd over real sockets and TLS: each command and each refusal, what QUIT commits (and what
// a dropped connection does not), the maildrop lock, and what IMAP sees of it. Transcripts cite RFC 1939, RFC 2449
// (CAPA, RESP-CODES), RFC 2595 (STLS), RFC 3206 (AUTH, SYS/TEMP) and RFC 5034 (AUTH).

import Foundation
import Testing
import TernCore
import TernTLS
import TernTestSupport

@Suite(.serialized) struct POP3IntegrationTests {
    // MARK: AUTHORIZATION

    /// RFC 2595 §4 and RFC 8314: nothing secret before TLS; CAPA tells what is possible.
    @Test func loginOnlyAfterSTLS() throws {
        let server = try POP3Server()
        try server.addUsers()
        let client = try server.plain()
        #expect(client.greeting.hasPrefix("+OK mail.example.com"))
        let capa = try client.multiline("CAPA")
        #expect(capa.status == "+OK Capability list follows")
        #expect(capa.lines.contains("STLS") && capa.lines.contains("UIDL") && capa.lines.contains("TOP"))
        #expect(capa.lines.contains("RESP-CODES") && capa.lines.contains("AUTH-RESP-CODE") && capa.lines.contains("PIPELINING"))
        #expect(!capa.lines.contains("USER") && !capa.lines.contains { $0.hasPrefix("SASL") }, "\(capa.lines)")
        #expect(try client.command("USER \(POP3Server.alice)").hasPrefix("-ERR [AUTH] Plaintext authentication disallowed"))
        #expect(try client.command("PASS \(POP3Server.password)").hasPrefix("-ERR [AUTH] "))
        #expect(try client.authPlain(POP3Server.alice, POP3Server.password).hasPrefix("-ERR [AUTH] "))
        #expect(try client.command("STAT") == "-ERR Log in first")
        #expect(try client.command("RETR 1") == "-ERR Log in first")
        #expect(try client.startTLS() == "+OK Begin TLS negotiation")
        let secure = try client.multiline("CAPA")
        #expect(secure.lines.contains("USER") && secure.lines.contains("SASL PLAIN"))
        #expect(!secure.lines.contains("STLS"))
        #expect(try client.command("STLS") == "-ERR TLS is already active")
        #expect(try client.command("PASS \(POP3Server.password)") == "-ERR Send USER first")
        #expect(try client.login(POP3Server.alice, POP3Server.password) == "+OK Logged in; 0 messages (0 octets)")
        #expect(try client.command("STLS") == "-ERR STLS is only allowed before login")
        #expect(try client.command("USER x") == "-ERR Already logged in")
        let after = try client.multiline("CAPA")
        #expect(!after.lines.contains("USER") && !after.lines.contains("STLS"))
        #expect(try client.command("QUIT").hasPrefix("+OK"))
        try server.process.waitForLog("login account=\(POP3Server.alice)")
    }

    /// CVE-2011-0411: a command pipelined after STLS in the same packet does not run after the handshake.
    @Test func commandsInjectedBeforeTheHandshakeAreDropped() throws {
        let server = try POP3Server()
        try server.addUsers()
        let client = try server.plain()
        try client.client.send("STLS\r\nUSER \(POP3Server.alice)\r\n")
        #expect(try client.readLine() == "+OK Begin TLS negotiation")
        try client.client.startTLS(TLSClientContext(verifyPeer: false), serverName: nil)
        // Had USER survived, PASS would log in.
        #expect(try client.command("PASS \(POP3Server.password)") == "-ERR Send USER first")
        try server.process.waitForLog("discarded commands sent before the TLS handshake")
    }

    /// RFC 3206: [AUTH] for bad credentials, after the shared throttle's delay; AUTH PLAIN with a continuation,
    /// cancelled with "*" (RFC 5034 §4); unknown mechanisms and garbage refused.
    @Test func wrongPasswordsAndSASL() throws {
        let server = try POP3Server()
        try server.addUsers()
        let client = try server.secure()
        #expect(try client.login(POP3Server.alice, "not the password 1") == "-ERR [AUTH] Invalid user name or password")
        try server.process.waitForLog("login failed")
        #expect(try client.authPlain(POP3Server.alice, "still wrong 2") == "-ERR [AUTH] Invalid user name or password")
        #expect(try client.command("AUTH PLAIN") == "+ ")
        #expect(try client.command("*") == "-ERR Authentication cancelled")
        #expect(try client.command("AUTH PLAIN") == "+ ")
        #expect(try client.command("!!!").hasPrefix("-ERR Cannot decode the response"))
        #expect(try client.command("AUTH CRAM-MD5") == "-ERR Unsupported authentication mechanism; use PLAIN")
        let mechanisms = try client.multiline("AUTH")
        #expect(mechanisms.status.hasPrefix("+OK") && mechanisms.lines == ["PLAIN"])
        #expect(try client.command("FROB") == "-ERR Unknown command")
        #expect(try client.command("RETR x") == "-ERR Invalid message number")
        // The continuation form with the right password.
        #expect(try client.command("AUTH PLAIN") == "+ ")
        #expect(try client.command(Base64.encode(Array("\0\(POP3Server.alice)\0\(POP3Server.password)".utf8))).hasPrefix("+OK Logged in"))
        // Forced password change: [AUTH] with a clear text, for both ways of logging in.
        try server.ternctl(["user", "set", POP3Server.bob, "--must-change-password", "true"])
        let other = try server.secure()
        #expect(try other.login(POP3Server.bob, POP3Server.password).hasPrefix("-ERR [AUTH] Your password has expired"))
    }

    // MARK: TRANSACTION

    /// RFC 1939 §5 and §7, each command with its refusals.
    @Test func everyTransactionCommand() throws {
        let server = try POP3Server()
        try server.addUsers()
        let messages = [mail("First"), mail("Second", body: ".starts with a dot\r\n.\r\nline 2\r\nline 3\r\n"), mail("Third")]
        try server.deliver(messages)
        let sizes = messages.map { $0.utf8.count }
        let client = try server.secure()
        #expect(try client.authPlain(POP3Server.alice, POP3Server.password)
                == "+OK Logged in; 3 messages (\(sizes.reduce(0, +)) octets)")
        #expect(try client.command("STAT") == "+OK 3 \(sizes.reduce(0, +))")
        let list = try client.multiline("LIST")
        #expect(list.lines == ["1 \(sizes[0])", "2 \(sizes[1])", "3 \(sizes[2])"])
        #expect(try client.command("LIST 2") == "+OK 2 \(sizes[1])")
        #expect(try client.command("LIST 4") == "-ERR There is no message 4")
        let uidl = try client.multiline("UIDL")
        #expect(uidl.lines.count == 3)
        let ids = uidl.lines.map { String($0.split(separator: " ")[1]) }
        #expect(Set(ids).count == 3 && ids.allSatisfy { $0.utf8.count <= 70 && $0.allSatisfy { $0.isASCII && $0 != " " } })
        #expect(try client.command("UIDL 3") == "+OK 3 \(ids[2])")
        // RETR: the bytes IMAP has, dot-stuffing undone.
        let retr = try client.message("RETR 2")
        #expect(retr.status == "+OK \(sizes[1]) octets")
        #expect(retr.bytes == Array(messages[1].utf8))
        #expect(try client.message("RETR 99").status == "-ERR There is no message 99")
        #expect(try client.command("RETR 0") == "-ERR No message 0; messages are numbered from 1")
        // TOP: the header, the blank line, n lines.
        let header = String(messages[1].prefix { _ in true }.components(separatedBy: "\r\n\r\n")[0]) + "\r\n\r\n"
        #expect(try client.message("TOP 2 0").bytes == Array(header.utf8))
        #expect(try client.message("TOP 2 2").bytes == Array((header + ".starts with a dot\r\n.\r\n").utf8))
        #expect(try client.message("TOP 2 100").bytes == Array(messages[1].utf8))
        #expect(try client.command("TOP 2") == "-ERR Syntax: TOP message-number lines")
        // DELE, and what it hides.
        #expect(try client.command("DELE 1") == "+OK Message 1 deleted")
        #expect(try client.command("DELE 1") == "-ERR Message 1 is deleted")
        #expect(try client.message("RETR 1").status == "-ERR Message 1 is deleted")
        #expect(try client.command("LIST 1") == "-ERR Message 1 is deleted")
        #expect(try client.command("UIDL 1") == "-ERR Message 1 is deleted")
        #expect(try client.command("STAT") == "+OK 2 \(sizes[1] + sizes[2])")
        #expect(try client.multiline("LIST").lines == ["2 \(sizes[1])", "3 \(sizes[2])"])
        #expect(try client.command("NOOP") == "+OK")
        // RSET undoes DELE.
        #expect(try client.command("RSET") == "+OK Maildrop has 3 messages (\(sizes.reduce(0, +)) octets)")
        #expect(try client.command("STAT") == "+OK 3 \(sizes.reduce(0, +))")
        #expect(try client.message("RETR 1").bytes == Array(messages[0].utf8))
        #expect(try client.command("QUIT") == "+OK mail.example.com Tern POP3 signing off (0 messages deleted)")
        #expect(client.client.waitForClose())
        // UPDATE: nothing deleted; the retrieved messages are \Seen (TOP does not count), like Dovecot.
        let inbox = try server.inbox()
        #expect(inbox.map(\.body) == messages)
        #expect(inbox.map(\.flags) == ["\\Seen", "\\Seen", ""])
    }

    /// RFC 1939 §6: DELE + QUIT removes through the store's soft delete: IMAP no longer sees the message,
    /// `ternctl deleted restore` brings it back, and a new UIDL never reuses the old one.
    @Test func deleteAndQuitIsASoftDeleteIMAPSees() throws {
        let server = try POP3Server()
        try server.addUsers()
        try server.deliver([mail("Keep"), mail("Remove")])
        let imap = try server.imap()
        #expect(try imap.command("SELECT INBOX").ok)
        let client = try server.loggedIn()
        let before = try client.multiline("UIDL").lines
        #expect(try client.command("DELE 2") == "+OK Message 2 deleted")
        #expect(try client.command("QUIT") == "+OK mail.example.com Tern POP3 signing off (1 messages deleted)")
        // The IMAP session learns of the expunge at its next command.
        #expect(try imap.command("NOOP").untagged.contains("* 2 EXPUNGE"))
        #expect(try server.inbox().map(\.body) == [mail("Keep")])
        try server.process.waitForLog("pop3 update")
        try server.ternctl(["deleted", "restore", POP3Server.alice, "--all"])
        #expect(try server.inbox().map(\.body) == [mail("Keep"), mail("Remove")])
        let after = try server.loggedIn().multiline("UIDL").lines
        #expect(after.count == 2 && after[0] == before[0])
        #expect(!before.map { $0.split(separator: " ")[1] }.contains(after[1].split(separator: " ")[1]), "restored = new UID")
    }

    /// RFC 1939 §6: a session that ends without QUIT does not enter UPDATE: nothing deleted, nothing marked.
    @Test func aDroppedConnectionChangesNothing() throws {
        let server = try POP3Server()
        try server.addUsers()
        try server.deliver([mail("One"), mail("Two")])
        let client = try server.loggedIn()
        #expect(try client.command("DELE 1") == "+OK Message 1 deleted")
        #expect(try client.message("RETR 2").bytes == Array(mail("Two").utf8))
        client.client.reset()
        // The lock goes with the connection; the next session sees everything as it was.
        var again: POP3TestClient?
        for _ in 0..<50 {
            let attempt = try server.secure()
            if try attempt.login(POP3Server.alice, POP3Server.password).hasPrefix("+OK") { again = attempt; break }
            usleep(50_000)
        }
        #expect(try again?.command("STAT") == "+OK 2 \(mail("One").utf8.count + mail("Two").utf8.count)")
        #expect(try server.inbox().map(\.flags) == ["", ""])
    }

    /// RFC 1939 §8 and RFC 2449 §8.1.2: one session per maildrop; a second gets [IN-USE], and may log in once the
    /// first has quit. Other accounts are not affected.
    @Test func secondSessionGetsInUse() throws {
        let server = try POP3Server()
        try server.addUsers()
        let first = try server.loggedIn()
        let second = try server.plain()
        try second.startTLS()
        #expect(try second.login(POP3Server.alice, POP3Server.password) == "-ERR [IN-USE] Your mailbox is in use by another POP3 session; try again later")
        try server.process.waitForLog("login refused: maildrop in use")
        #expect(try server.loggedIn(POP3Server.bob).command("STAT") == "+OK 0 0")
        #expect(try second.command("STAT") == "-ERR Log in first")
        #expect(try first.command("QUIT").hasPrefix("+OK"))
        #expect(try second.login(POP3Server.alice, POP3Server.password).hasPrefix("+OK Logged in"))
    }

    /// RFC 2449 PIPELINING: several commands in one write, answered in order.
    @Test func pipelinedCommandsAreAnsweredInOrder() throws {
        let server = try POP3Server()
        try server.addUsers()
        try server.deliver([mail("Piped")])
        let size = mail("Piped").utf8.count
        let client = try server.secure()
        try client.client.send("USER \(POP3Server.alice)\r\nPASS \(POP3Server.password)\r\nSTAT\r\nLIST\r\nRETR 1\r\nDELE 1\r\nRSET\r\nNOOP\r\nQUIT\r\n")
        #expect(try client.readLine() == "+OK Send your password")
        #expect(try client.readLine() == "+OK Logged in; 1 messages (\(size) octets)")
        #expect(try client.readLine() == "+OK 1 \(size)")
        #expect(try client.readLine().hasPrefix("+OK 1 messages"))
        #expect(try client.readMultiline() == ["1 \(size)"])
        #expect(try client.readLine() == "+OK \(size) octets")
        #expect(try client.readMultiline().map { $0 + "\r\n" }.joined() == mail("Piped"))
        #expect(try client.readLine() == "+OK Message 1 deleted")
        #expect(try client.readLine().hasPrefix("+OK Maildrop has 1 messages"))
        #expect(try client.readLine() == "+OK")
        #expect(try client.readLine().hasPrefix("+OK mail.example.com Tern POP3 signing off (0 messages deleted)"))
        #expect(try server.inbox().count == 1)
    }

    /// UIDL is derived from UIDVALIDITY and UID: the same after a restart, and never reused.
    @Test func uidlIsStableAcrossARestart() throws {
        var server = try POP3Server()
        try server.addUsers()
        try server.deliver([mail("A"), mail("B"), mail("C")])
        let client = try server.loggedIn()
        let before = try client.multiline("UIDL").lines
        #expect(try client.command("DELE 3") == "+OK Message 3 deleted")
        #expect(try client.command("QUIT").hasPrefix("+OK"))
        let directory = server.process.directory
        server.process.removesDirectoryOnExit = false
        server.process.signal(SIGTERM)
        #expect(server.process.waitForExit(timeout: .seconds(10)) == 0)
        let config = try String(contentsOfFile: directory + "/tern.toml", encoding: .utf8)
        let restarted = try TerndProcess(config: config.replacingOccurrences(of: directory, with: "$DIR"), reuseDirectory: directory)
        server = try POP3Server(existing: restarted)
        try server.deliver([mail("D")])
        let after = try server.loggedIn().multiline("UIDL").lines
        #expect(Array(after.prefix(2)) == Array(before.prefix(2)))
        #expect(after.count == 3 && after[2] != before[2] && after[2].hasPrefix("3 "))
    }

    /// Limits: a command line over 255 octets, and too many bad commands in a row.
    @Test func longLinesAndTooManyErrors() throws {
        let server = try POP3Server()
        let client = try server.secure()
        #expect(try client.command("USER " + String(repeating: "a", count: 300)).hasPrefix("-ERR Command line too long"))
        for _ in 0..<19 { #expect(try client.command("XYZZY") == "-ERR Unknown command") }
        #expect(try client.command("XYZZY") == "-ERR Too many bad commands, closing the connection")
        #expect(client.client.waitForClose())
    }
}

/// Independent clients from Debian packages: Python's poplib (POP3_SSL and POP3 + STLS) against imaplib's bytes,
/// and fetchmail over POP3S fetching and deleting.
@Suite struct POP3InteropTests {
    @Test func poplibReadsWhatIMAPReturnsAndFetchmailFetchesAndDeletes() throws {
        let server = try POP3Server()
        try server.addUsers()
        let result = try runCommand("/usr/bin/env", [
            "python3", repositoryPath("Tests/Interop/pop3_client.py"), "127.0.0.1",
            "\(try server.address("pop3").port)", "\(try server.address("pop3s").port)", "\(try server.address("imaps").port)",
            POP3Server.alice, POP3Server.bob, POP3Server.password, server.process.configPath, Products.path(of: "ternctl"),
        ], timeout: 120)
        #expect(result.status == 0, "\(result.output)\(result.error)")
        #expect(result.output.contains("ok poplib"), "\(result.output)")
        #expect(result.output.contains("ok fetchmail"), "\(result.output)")
        #expect(result.output.contains("ok restore"), "\(result.output)")
    }
}
