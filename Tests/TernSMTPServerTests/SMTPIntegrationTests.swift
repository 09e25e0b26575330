// SMTP against a real ternd over real sockets and TLS: each rule of submission and inbound SMTP, with its refusal,
// and what reaches the mailboxes (read back over IMAP).

import Foundation
import Testing
import TernCore
import TernTLS
import TernTestSupport

@Suite(.serialized) struct SMTPIntegrationTests {
    // MARK: Submission rules

    @Test func submissionNeedsTLSBeforeAuthAndAuthBeforeMail() throws {
        let server = try SMTPServer()
        try server.addUsers()
        let client = try server.submission()
        #expect(client.greeting.code == 220)
        let plain = try client.hello()
        #expect(plain.lines.contains("STARTTLS"))
        #expect(!plain.lines.contains { $0.hasPrefix("AUTH") }, "no AUTH offered before TLS")
        let early = try client.login(SMTPServer.alice, SMTPServer.password)
        #expect(early.code == 538 && early.status == "5.7.11", "\(early)")
        let unauthenticated = try client.command("MAIL FROM:<\(SMTPServer.alice)>")
        #expect(unauthenticated.code == 530 && unauthenticated.status == "5.7.0", "\(unauthenticated)")
        // After STARTTLS: AUTH is offered, MAIL still needs it.
        let secure = try client.hello(startTLS: true)
        #expect(secure.lines.contains("AUTH PLAIN LOGIN"))
        #expect(!secure.lines.contains("STARTTLS"))
        #expect(try client.command("MAIL FROM:<\(SMTPServer.alice)>").code == 530)
        #expect(try client.login(SMTPServer.alice, SMTPServer.password).code == 235)
        #expect(try client.command("AUTH PLAIN AAAA").code == 503)  // once is enough
        let replies = try client.send(from: SMTPServer.alice, to: [SMTPServer.bob], mail(subject: "over starttls"))
        #expect(replies.map(\.code) == [250, 250, 250], "\(replies)")
        #expect(try client.command("QUIT").code == 221)
        #expect(try server.messages(of: SMTPServer.bob).count == 1)
    }

    /// RFC 3207 §4.2 / CVE-2011-0411: commands pipelined after STARTTLS in the same packet are not run after it.
    @Test func commandsInjectedBeforeTheHandshakeAreDropped() throws {
        let server = try SMTPServer()
        try server.addUsers()
        let client = try server.submission()
        try client.hello()
        try client.client.send("STARTTLS\r\nMAIL FROM:<\(SMTPServer.alice)>\r\n")
        #expect(try client.readReply().code == 220)
        try client.client.startTLS(TLSClientContext(verifyPeer: false), serverName: nil)
        // The injected MAIL would be answered first if it had survived; EHLO's reply comes instead.
        let hello = try client.command("EHLO again.test")
        #expect(hello.code == 250 && hello.lines.first?.contains("Hello again.test") == true, "\(hello)")
        try server.process.waitForLog("discarded commands sent before the TLS handshake")
    }

    @Test func wrongAndExpiredPasswordsGet535() throws {
        let server = try SMTPServer()
        try server.addUsers()
        let client = try server.submissions()
        try client.hello()
        let wrong = try client.login(SMTPServer.alice, "not the password 1")
        #expect(wrong.code == 535 && wrong.status == "5.7.8", "\(wrong)")
        // AUTH LOGIN in steps, cancelled.
        #expect(try client.command("AUTH LOGIN").code == 334)
        #expect(try client.command("*").code == 501)
        try server.ternctl(["user", "set", SMTPServer.alice, "--must-change-password", "true"])
        let expired = try client.login(SMTPServer.alice, SMTPServer.password)
        #expect(expired.code == 535 && expired.status == "5.7.8" && expired.text.contains("expired"), "\(expired)")
        try server.process.waitForLog("password must be changed")
        // A new password clears the flag; AUTH LOGIN in steps works.
        try server.ternctl(["user", "passwd", SMTPServer.alice, "--password-stdin"], input: "brand new 42\n")
        #expect(try client.command("AUTH LOGIN").code == 334)
        #expect(try client.command(Base64.encode(Array(SMTPServer.alice.utf8))).code == 334)
        #expect(try client.command(Base64.encode(Array("brand new 42".utf8))).code == 235)
    }

    /// Accounts made by ternctl while ternd runs can send at once (issue 3).
    @Test func newUserLogsInAtOnce() throws {
        let server = try SMTPServer()
        try server.addUsers([SMTPServer.alice])
        try server.ternctl(["user", "add", "carol@example.com", "--password-stdin"], input: SMTPServer.password + "\n")
        let client = try server.loggedIn("carol@example.com")
        let replies = try client.send(from: "carol@example.com", to: [SMTPServer.alice], mail(from: "carol@example.com", to: SMTPServer.alice, subject: "hi"))
        #expect(replies.map(\.code) == [250, 250, 250])
    }

    @Test func spoofedSendersAreRefusedAndIdentitiesAllowed() throws {
        let server = try SMTPServer()
        try server.addUsers()
        let client = try server.loggedIn()
        let envelope = try client.command("MAIL FROM:<\(SMTPServer.bob)>")
        #expect(envelope.code == 553 && envelope.status == "5.7.1", "\(envelope)")
        #expect(try client.command("MAIL FROM:<>").code == 553)
        // Envelope fine, From: header someone else's.
        let forged = try client.send(from: SMTPServer.alice, to: [SMTPServer.bob], mail(from: SMTPServer.bob, subject: "forged"))
        #expect(forged.last?.code == 553 && forged.last?.status == "5.7.1", "\(forged)")
        // A send-as identity added with ternctl is allowed, in the envelope and in From:.
        try server.ternctl(["identity", "add", SMTPServer.alice, "sales@example.com"])
        let other = try server.loggedIn()
        let allowed = try other.send(from: "sales@example.com", to: [SMTPServer.bob], mail(from: "sales@example.com", subject: "as sales"))
        #expect(allowed.map(\.code) == [250, 250, 250], "\(allowed)")
        #expect(try server.messages(of: SMTPServer.bob).count == 1)
    }

    @Test func missingDateAndMessageIDAreAddedOnSubmission() throws {
        let server = try SMTPServer(extra: "[smtp]\nhide_client_address = true\n")
        try server.addUsers()
        let client = try server.loggedIn()
        let bare = "From: <\(SMTPServer.alice)>\r\nTo: <\(SMTPServer.bob)>\r\nSubject: bare\r\n\r\nbody\r\n"
        #expect(try client.send(from: SMTPServer.alice, to: [SMTPServer.bob], bare).last?.code == 250)
        let stored = try #require(try server.messages(of: SMTPServer.bob).first)
        #expect(stored.contains("\r\nDate: ") && stored.contains("\r\nMessage-ID: <"), "\(stored)")
        #expect(stored.contains("Received: by mail.example.com (Tern) with ESMTPSA"), "\(stored)")
        #expect(!stored.contains("127.0.0.1"), "hide_client_address keeps the client's address out")
        #expect(stored.hasSuffix("\r\n\r\nbody\r\n"))
    }

    /// `[smtp] save_sent_copy`: the sender's Sent mailbox gets the message as it was delivered (off by default).
    @Test func sentCopyOnlyWhenConfigured() throws {
        for enabled in [false, true] {
            let server = try SMTPServer(extra: "[smtp]\nsave_sent_copy = \(enabled)\n")
            try server.addUsers()
            let client = try server.loggedIn()
            #expect(try client.send(from: SMTPServer.alice, to: [SMTPServer.bob], mail(subject: "copy")).last?.code == 250)
            let sent = try server.messages(of: SMTPServer.alice, mailbox: "Sent")
            #expect(sent.count == (enabled ? 1 : 0))
            if enabled { #expect(sent.first.map(withoutTraceHeaders) == mail(subject: "copy")) }
        }
    }

    // MARK: Inbound rules

    @Test func inboundOffersNoAuthAndRefusesRelayAndUnknownUsers() throws {
        let server = try SMTPServer()
        try server.addUsers()
        let client = try server.inbound()
        let hello = try client.hello()
        #expect(hello.lines.contains("STARTTLS") && !hello.lines.contains { $0.hasPrefix("AUTH") })
        let secure = try client.hello(startTLS: true)
        #expect(!secure.lines.contains { $0.hasPrefix("AUTH") }, "no AUTH on the inbound port")
        #expect(try client.command("AUTH PLAIN AGFsaWNl").code == 502)
        #expect(try client.command("MAIL FROM:<someone@remote.test>").code == 250)
        let relay = try client.command("RCPT TO:<victim@elsewhere.test>")
        #expect(relay.code == 554 && relay.status == "5.7.1", "\(relay)")
        let unknown = try client.command("RCPT TO:<nobody@example.com>")
        #expect(unknown.code == 550 && unknown.status == "5.1.1", "\(unknown)")
        #expect(try client.command("DATA").code == 554)  // no valid recipient
        #expect(try client.command("RCPT TO:<\(SMTPServer.alice)>").code == 250)
        #expect(try client.data(mail(from: "someone@remote.test", to: SMTPServer.alice, subject: "inbound")).code == 250)
        let stored = try #require(try server.messages(of: SMTPServer.alice).first)
        #expect(stored.hasPrefix("Return-Path: <someone@remote.test>\r\nDelivered-To: alice@example.com\r\nReceived: from client.test ([127.0.0.1])"), "\(stored)")
        #expect(withoutTraceHeaders(stored) == mail(from: "someone@remote.test", to: SMTPServer.alice, subject: "inbound"))
    }

    @Test func aliasesAndCatchAllsExpand() throws {
        let server = try SMTPServer()
        try server.addUsers()
        try server.ternctl(["alias", "add", "team@example.com", SMTPServer.alice])
        try server.ternctl(["alias", "add", "team@example.com", SMTPServer.bob])
        try server.ternctl(["alias", "add", "@example.com", SMTPServer.bob])
        let client = try server.inbound()
        try client.hello()
        // team@ reaches both; anything@ reaches bob through the catch-all; bob gets one copy although two
        // recipients lead to him.
        let replies = try client.send(from: "x@remote.test", to: ["team@example.com", "whatever@example.com"],
                                      mail(from: "x@remote.test", to: "team@example.com", subject: "to the team"))
        #expect(replies.map(\.code) == [250, 250, 250, 250], "\(replies)")
        #expect(try server.messages(of: SMTPServer.alice).count == 1)
        #expect(try server.messages(of: SMTPServer.bob).count == 1)
        // Postmaster without a domain is accepted when it resolves (RFC 5321 §4.5.1).
        try server.ternctl(["alias", "add", "postmaster@example.com", SMTPServer.alice])
    }

    // MARK: Limits

    @Test func oversizeMessagesAreRefusedAndNothingIsStored() throws {
        let server = try SMTPServer(top: "max_message_size = 4096")
        try server.addUsers()
        let client = try server.inbound()
        let hello = try client.hello()
        #expect(hello.lines.contains("SIZE 4096"))
        let declared = try client.command("MAIL FROM:<x@remote.test> SIZE=5000")
        #expect(declared.code == 552 && declared.status == "5.3.4", "\(declared)")
        // Undeclared, found while streaming: read to the end, then 552, then the session goes on.
        let big = mail(from: "x@remote.test", to: SMTPServer.alice, subject: "big", body: String(repeating: "0123456789abcdef\r\n", count: 400))
        let replies = try client.send(from: "x@remote.test", to: [SMTPServer.alice], big)
        #expect(replies.last?.code == 552 && replies.last?.status == "5.3.4", "\(replies)")
        // BDAT over the limit too.
        #expect(try client.command("MAIL FROM:<x@remote.test>").code == 250)
        #expect(try client.command("RCPT TO:<\(SMTPServer.alice)>").code == 250)
        try client.client.send("BDAT 5000 LAST\r\n" + String(repeating: "x", count: 5000))
        #expect(try client.readReply().code == 552)
        #expect(try client.command("NOOP").code == 250)
        #expect(try server.messages(of: SMTPServer.alice).isEmpty)
    }

    /// One recipient over quota does not fail the others.
    @Test func overQuotaRecipientAmongOthers() throws {
        let server = try SMTPServer()
        try server.addUsers([SMTPServer.alice, SMTPServer.bob, "carol@example.com"])
        try server.ternctl(["user", "set", SMTPServer.bob, "--quota", "2K"])
        let client = try server.inbound()
        try client.hello()
        // A first message fills most of bob's quota.
        let filler = mail(from: "x@remote.test", to: SMTPServer.bob, subject: "filler", body: String(repeating: "y", count: 1500) + "\r\n")
        #expect(try client.send(from: "x@remote.test", to: [SMTPServer.bob], filler).last?.code == 250)
        #expect(try client.command("MAIL FROM:<x@remote.test> SIZE=1000").code == 250)
        #expect(try client.command("RCPT TO:<\(SMTPServer.alice)>").code == 250)
        let full = try client.command("RCPT TO:<\(SMTPServer.bob)>")
        #expect(full.code == 452 && full.status == "4.2.2", "\(full)")
        #expect(try client.command("RCPT TO:<carol@example.com>").code == 250)
        #expect(try client.data(mail(from: "x@remote.test", to: SMTPServer.alice, subject: "shared")).code == 250)
        // Larger than the whole quota: permanent.
        #expect(try client.command("MAIL FROM:<x@remote.test> SIZE=3000").code == 250)
        let never = try client.command("RCPT TO:<\(SMTPServer.bob)>")
        #expect(never.code == 552 && never.status == "5.2.2", "\(never)")
        #expect(try client.command("RSET").code == 250)
        #expect(try server.messages(of: SMTPServer.alice).count == 1)
        #expect(try server.messages(of: "carol@example.com").count == 1)
        #expect(try server.messages(of: SMTPServer.bob).count == 1)
    }

    @Test func tooManyRecipientsAndBadCommands() throws {
        let server = try SMTPServer(extra: "[smtp]\nmax_recipients = 100\n")
        try server.addUsers()
        let client = try server.inbound()
        #expect(try client.command("MAIL FROM:<x@remote.test>").code == 503)  // EHLO first
        try client.hello()
        #expect(try client.command("RCPT TO:<\(SMTPServer.alice)>").code == 503)  // MAIL first
        #expect(try client.command("FROB").code == 500)
        #expect(try client.command("MAIL FROM:<bad address>").code == 501)
        #expect(try client.command("MAIL FROM:<x@remote.test> FOO=1").code == 555)
        #expect(try client.command("MAIL FROM:<x@remote.test>").code == 250)
        #expect(try client.command("MAIL FROM:<x@remote.test>").code == 503)  // nested
        for _ in 0..<100 { #expect(try client.command("RCPT TO:<\(SMTPServer.alice)>").code == 250) }
        let over = try client.command("RCPT TO:<\(SMTPServer.alice)>")
        #expect(over.code == 452 && over.status == "4.5.3", "\(over)")
        #expect(try client.command("VRFY alice").code == 252)
        #expect(try client.command(String(repeating: "A", count: 20_000)).code == 500)
        #expect(try client.command("NOOP").code == 250)
    }

    // MARK: Content

    @Test func pipelinedTransactionsDotStuffingAndBDAT() throws {
        let server = try SMTPServer()
        try server.addUsers()
        let client = try server.inbound()
        try client.hello()
        // RFC 2920: the whole transaction in one write; replies come back in order.
        let body = "line one\r\n.leading dot\r\n..two dots\r\n.\r\n"  // the last line is a lone dot inside the content
        let message = mail(from: "x@remote.test", to: SMTPServer.alice, subject: "dots", body: body)
        var stuffed = ""
        for line in message.components(separatedBy: "\r\n").dropLast() { stuffed += (line.hasPrefix(".") ? "." : "") + line + "\r\n" }
        try client.client.send("MAIL FROM:<x@remote.test>\r\nRCPT TO:<\(SMTPServer.alice)>\r\nDATA\r\n\(stuffed).\r\nNOOP\r\n")
        #expect(try (0..<5).map { _ in try client.readReply().code } == [250, 250, 354, 250, 250])
        // BDAT in two chunks, the second LAST; binary-safe byte counts.
        let chunked = mail(from: "x@remote.test", to: SMTPServer.alice, subject: "chunks", body: ".no stuffing in BDAT\r\n")
        let bytes = Array(chunked.utf8)
        let split = bytes.count / 2
        try client.client.send("MAIL FROM:<x@remote.test>\r\nRCPT TO:<\(SMTPServer.alice)>\r\nBDAT \(split)\r\n")
        _ = try client.client.send(Array(bytes[..<split]))
        try client.client.send("BDAT \(bytes.count - split) LAST\r\n")
        _ = try client.client.send(Array(bytes[split...]))
        let chunkReplies = try (0..<4).map { _ in try client.readReply() }
        #expect(chunkReplies.map(\.code) == [250, 250, 250, 250], "\(chunkReplies)")
        #expect(try client.command("DATA").code == 503)  // no transaction any more
        let stored = try server.messages(of: SMTPServer.alice)
        #expect(stored.map(withoutTraceHeaders) == [message, chunked])
    }

    // MARK: With IMAP

    /// A delivery wakes an IDLE client at once (issue 5).
    @Test func deliveryWakesAnIdlingClient() throws {
        let server = try SMTPServer()
        try server.addUsers()
        let imap = try server.imap(SMTPServer.alice)
        try imap.client.send("i1 IDLE\r\n")
        #expect(try imap.readResponseLine()?.hasPrefix("+") == true)
        let smtp = try server.inbound()
        try smtp.hello()
        #expect(try smtp.send(from: "x@remote.test", to: [SMTPServer.alice], mail(from: "x@remote.test", to: SMTPServer.alice, subject: "wake")).last?.code == 250)
        #expect(try imap.readResponseLine() == "* 1 EXISTS")
        try imap.client.send("DONE\r\n")
        #expect(try imap.readUntilTagged("i1").ok)
    }

    /// Failed logins over SMTP and IMAP count together: enough failures over SMTP block IMAP logins from the
    /// same address, with one "login blocked" log line.
    @Test func failuresAreThrottledAcrossProtocols() throws {
        let server = try SMTPServer(extra: """
            [auth]
            failure_delay_ms = 10
            max_failure_delay_ms = 40
            block_after_ip_failures = 5
            block_after_account_failures = 50
            block_seconds = 60
            """)
        try server.addUsers()
        let client = try server.submissions()
        try client.hello()
        for attempt in 0..<5 {
            #expect(try client.login(SMTPServer.alice, "wrong \(attempt) pw").code == 535)
        }
        try server.process.waitForLog("login blocked")
        #expect(try client.login(SMTPServer.alice, SMTPServer.password).code == 454)
        let imap = try IMAPTestClient(try server.process.address(of: "imaps"), tls: true)
        #expect(try imap.command("LOGIN \"\(SMTPServer.alice)\" \"\(SMTPServer.password)\"").status.hasPrefix("NO [UNAVAILABLE]"))
        // Another address is not blocked.
        let other = try SMTPTestClient(try server.process.address(of: "submissions"), tls: true, sourceHost: "127.0.0.2")
        try other.hello()
        #expect(try other.login(SMTPServer.alice, SMTPServer.password).code == 235)
    }
}

/// Independent clients from Debian packages: Python's smtplib, swaks and curl submit, imaplib reads back.
@Suite struct SMTPInteropTests {
    @Test func smtplibSwaksAndCurlSubmitByteIdenticalMail() throws {
        let server = try SMTPServer()
        try server.addUsers()
        let result = try runCommand("/usr/bin/env", [
            "python3", repositoryPath("Tests/Interop/smtp_submit.py"), "127.0.0.1",
            "\(try server.process.address(of: "submission").port)", "\(try server.process.address(of: "submissions").port)",
            "\(try server.process.address(of: "imaps").port)", SMTPServer.alice, SMTPServer.bob, SMTPServer.password,
            server.process.directory,
        ], timeout: 120)
        #expect(result.status == 0, "\(result.output)\(result.error)")
        #expect(result.output.hasPrefix("ok 5"), "\(result.output)")
    }
}

/// The delivery journal end to end: ternd acknowledges deliveries once they are in its journal; after a crash that
/// lost a delivered file (what a power loss can do to a file written but not flushed) the next start puts it back.
/// kill -9 alone loses nothing (the page cache survives it), so the test removes and empties files by hand.
@Suite struct DeliveryJournalDaemonTests {
    @Test func aRestartPutsBackDeliveriesWhoseFilesWereLost() throws {
        let server = try SMTPServer()
        try server.addUsers()
        let client = try server.loggedIn()
        let sent = (1...3).map { mail(subject: "journal \($0)", body: "body \($0)\r\n") }
        for message in sent {
            #expect(try client.send(from: SMTPServer.alice, to: [SMTPServer.bob], message).last?.code == 250)
        }
        let directory = server.process.directory
        server.process.removesDirectoryOnExit = false
        server.process.signal(SIGKILL)
        _ = server.process.waitForExit(timeout: .seconds(10))
        defer { try? FileManager.default.removeItem(atPath: directory) }

        let cur = directory + "/data/accounts/\(SMTPServer.bob)/mail/1/cur"
        let files = try FileManager.default.contentsOfDirectory(atPath: cur)
        func file(_ subject: String) throws -> String {
            try #require(files.first { name in
                (try? String(contentsOfFile: cur + "/" + name, encoding: .utf8))?.contains("Subject: \(subject)\r\n") == true
            })
        }
        try FileManager.default.removeItem(atPath: cur + "/" + file("journal 2"))
        try Data().write(to: URL(fileURLWithPath: cur + "/" + file("journal 3")))

        let config = try String(contentsOfFile: directory + "/tern.toml", encoding: .utf8)
        let restarted = try TerndProcess(config: config.replacingOccurrences(of: directory, with: "$DIR"), reuseDirectory: directory)
        let again = try SMTPServer(existing: restarted)
        #expect(restarted.log.contains { $0.contains("delivery journal replayed") && $0.contains("deliveries=3") })
        let stored = try again.messages(of: SMTPServer.bob)
        #expect(stored.map(withoutTraceHeaders) == sent, "every acknowledged message is back, byte for byte")
        restarted.signal(SIGTERM)
        #expect(restarted.waitForExit(timeout: .seconds(10)) == 0)
        // A clean restart finds an empty journal.
        let third = try TerndProcess(config: config.replacingOccurrences(of: directory, with: "$DIR"), reuseDirectory: directory)
        _ = try SMTPServer(existing: third)
        #expect(!third.log.contains { $0.contains("delivery journal replayed") })
        #expect(try SMTPServer(existing: third).messages(of: SMTPServer.bob).count == 3)
    }
}
