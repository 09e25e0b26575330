// IMAP against a real ternd over real sockets and TLS: login rules, mailboxes, messages, two sessions seeing each
// other's changes at the moments RFC 9051 allows, IDLE, QRESYNC, restarts.

import Foundation
import Glibc
import Testing
import TernCore
import TernTLS
import TernTestSupport

@Suite(.serialized) struct IMAPIntegrationTests {
    // MARK: Login

    @Test func plaintextPortRefusesLoginUntilSTARTTLS() throws {
        let server = try IMAPServer()
        try server.addUser()
        let client = try server.imap()
        #expect(client.greeting.hasPrefix("* OK [CAPABILITY "))
        #expect(client.greeting.contains("STARTTLS") && client.greeting.contains("LOGINDISABLED"))
        #expect(!client.greeting.contains("AUTH=PLAIN"))
        let refused = try client.command("LOGIN \"\(IMAPServer.user)\" \"\(IMAPServer.password)\"")
        #expect(refused.status.hasPrefix("NO [PRIVACYREQUIRED]"))
        let auth = try client.command("AUTHENTICATE PLAIN AGFsaWNlAHg=")
        #expect(auth.status.hasPrefix("NO [PRIVACYREQUIRED]"))
        // STARTTLS, then the capabilities change and login works.
        #expect(try client.command("STARTTLS").ok)
        try client.client.startTLS(TLSClientContext(verifyPeer: false), serverName: nil)
        let caps = try client.command("CAPABILITY")
        #expect(caps.untagged.first?.contains("AUTH=PLAIN") == true)
        #expect(caps.untagged.first?.contains("LOGINDISABLED") == false)
        try client.login(IMAPServer.user, IMAPServer.password)
    }

    @Test func wrongPasswordExpiredPasswordAndSASL() throws {
        let server = try IMAPServer()
        try server.addUser()
        let client = try server.imaps()
        let wrong = try client.command("LOGIN \"\(IMAPServer.user)\" \"wrong password 1\"")
        #expect(wrong.status.hasPrefix("NO [AUTHENTICATIONFAILED]"))
        // AUTHENTICATE PLAIN with SASL-IR, and in two steps.
        let plain = Base64.encode(Array("\0\(IMAPServer.user)\0\(IMAPServer.password)".utf8))
        #expect(try client.command("AUTHENTICATE PLAIN \(plain)").ok)
        let second = try server.imaps()
        let twoStep = try second.command("AUTHENTICATE PLAIN", continuations: [Array((plain + "\r\n").utf8)])
        #expect(twoStep.ok, "\(twoStep.tagged)")
        // Forced password change: NO [EXPIRED] with the right password, and the log says why.
        try server.ternctl(["user", "set", IMAPServer.user, "--must-change-password", "true"])
        let third = try server.imaps()
        let expired = try third.command("LOGIN \"\(IMAPServer.user)\" \"\(IMAPServer.password)\"")
        #expect(expired.status.hasPrefix("NO [EXPIRED]"))
        try server.process.waitForLog("password must be changed")
    }

    /// Accounts changed by ternctl while ternd runs: a new user logs in at once; after `user passwd` the old
    /// password (cached as verified) no longer works; an imported `$6$` hash made by openssl logs in unchanged.
    @Test func ternctlChangesApplyToLoginsAtOnce() throws {
        let server = try IMAPServer()
        try server.addUser()
        #expect(try server.session().command("NOOP").ok)  // verified once: the login cache holds it now
        try server.ternctl(["user", "passwd", IMAPServer.user, "--password-stdin"], input: "new secret 42\n")
        let old = try server.imaps()
        #expect(try old.command("LOGIN \"\(IMAPServer.user)\" \"\(IMAPServer.password)\"").status.hasPrefix("NO [AUTHENTICATIONFAILED]"))
        #expect(try server.session(IMAPServer.user, "new secret 42").command("NOOP").ok)
        // A hash made by another tool.
        let hash = try runCommand("/usr/bin/openssl", ["passwd", "-6", "-salt", "saltsalt", "imported pw 9"])
        #expect(hash.status == 0)
        try server.ternctl(["user", "add", "bob@example.com", "--hash", hash.output.trimmingCharacters(in: .whitespacesAndNewlines)])
        #expect(try server.session("bob@example.com", "imported pw 9").command("NOOP").ok)
    }

    /// Brute force shared throttle: 50 wrong passwords from one address are slowed, then blocked (one log line
    /// naming address and account), while the right password from another address still works.
    @Test func bruteForceIsSlowedThenBlockedWithoutLockingOutTheUser() throws {
        let server = try IMAPServer(extra: """
            [auth]
            failure_delay_ms = 20
            max_failure_delay_ms = 160
            block_after_ip_failures = 10
            block_after_account_failures = 30
            block_seconds = 60
            """)
        try server.addUser()
        // The user logged in from 127.0.0.2 before: a trusted address for this account.
        #expect(try server.imaps(from: "127.0.0.2").command("LOGIN \"\(IMAPServer.user)\" \"\(IMAPServer.password)\"").ok)
        let attacker = try server.imaps(from: "127.0.0.1")
        var replies: [String] = []
        var durations: [Duration] = []
        for n in 1...50 {
            let started = ContinuousClock.now
            replies.append(try attacker.command("LOGIN \"\(IMAPServer.user)\" \"guess number \(n)\"").status)
            durations.append(ContinuousClock.now - started)
        }
        #expect(replies.prefix(9).allSatisfy { $0.hasPrefix("NO [AUTHENTICATIONFAILED]") }, "\(replies.prefix(10))")
        #expect(replies.suffix(40).allSatisfy { $0.hasPrefix("NO [UNAVAILABLE]") }, "\(replies.suffix(40))")
        #expect(durations[5] >= .milliseconds(100), "failures are slowed down: \(durations.prefix(10))")
        // Even the right password is refused from the blocked address…
        #expect(try attacker.command("LOGIN \"\(IMAPServer.user)\" \"\(IMAPServer.password)\"").status.hasPrefix("NO [UNAVAILABLE]"))
        // …but the user, from their usual address, gets in.
        #expect(try server.imaps(from: "127.0.0.2").command("LOGIN \"\(IMAPServer.user)\" \"\(IMAPServer.password)\"").ok)
        let block = try server.process.waitForLog("login blocked")
        #expect(block.contains("client=127.0.0.1") && block.contains("account=\(IMAPServer.user)"), "\(block)")
    }

    // MARK: Mailboxes

    @Test func newAccountsHaveSpecialUseFoldersAndMailboxCommandsWork() throws {
        let server = try IMAPServer()
        try server.addUser()
        let client = try server.session()
        let list = try client.command("LIST \"\" \"*\"")
        #expect(list.ok)
        for (name, use) in [("Drafts", "\\Drafts"), ("Sent", "\\Sent"), ("Trash", "\\Trash"), ("Junk", "\\Junk"), ("Archive", "\\Archive")] {
            #expect(list.untagged.contains { $0.contains(use) && $0.hasSuffix("\"\(name)\"") }, "\(list.untagged)")
        }
        #expect(list.untagged.contains("* LIST (\\HasNoChildren) \"/\" \"INBOX\""))
        // Without UTF8=ACCEPT, 8-bit names are a syntax error; modified UTF-7 is the way (RFC 3501 §5.1.3).
        #expect(try client.command("CREATE \"Projekte/Café\"").status.hasPrefix("NO [CANNOT]"))
        #expect(try client.command("CREATE \"Projekte/Caf&AOk-\"").ok)
        // Non-ASCII names travel in modified UTF-7 (RFC 3501 §5.1.3) until UTF8=ACCEPT.
        let nested = try client.command("LIST \"\" \"Projekte/*\"")
        #expect(nested.untagged == ["* LIST (\\HasNoChildren) \"/\" \"Projekte/Caf&AOk-\""])
        let parent = try client.command("LIST \"\" \"%\"")
        #expect(parent.untagged.contains("* LIST (\\Noselect \\HasChildren) \"/\" \"Projekte\""))
        #expect(try client.command("CREATE \"Projekte/Caf&AOk-\"").status.hasPrefix("NO [ALREADYEXISTS]"))
        #expect(try client.command("RENAME \"Projekte\" \"Work\"").ok)
        #expect(try client.command("LIST \"\" \"Work/*\"").untagged == ["* LIST (\\HasNoChildren) \"/\" \"Work/Caf&AOk-\""])
        #expect(try client.command("SELECT \"Nope\"").status.hasPrefix("NO [NONEXISTENT]"))
        #expect(try client.command("DELETE INBOX").status.hasPrefix("NO"))
        #expect(try client.command("CREATE \"Sent2\" (USE (\\Sent))").ok)
        #expect(try client.command("CREATE \"X\" (USE (\\Bogus))").status.hasPrefix("NO [USEATTR]"))
        let status = try client.command("STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE HIGHESTMODSEQ)")
        #expect(status.untagged.first?.hasPrefix("* STATUS \"INBOX\" (MESSAGES 0 UIDNEXT 1 UIDVALIDITY ") == true)
        #expect(try client.command("SUBSCRIBE \"Work/Caf&AOk-\"").ok)
        #expect(try client.command("UNSUBSCRIBE \"Junk\"").ok)
        let lsub = try client.command("LIST (SUBSCRIBED) \"\" \"*\"")
        #expect(!lsub.untagged.contains { $0.hasSuffix("\"Junk\"") } && lsub.untagged.contains { $0.hasSuffix("\"Work/Caf&AOk-\"") })
        // Subscriptions are names (RFC 3501 §6.3.6): CREATE does not subscribe, DELETE does not unsubscribe.
        #expect(try client.command("CREATE \"Gone/Child\"").ok)
        #expect(try client.command("LSUB \"\" \"Gone*\"").untagged.isEmpty)
        #expect(try client.command("SUBSCRIBE \"Gone/Child\"").ok)
        #expect(try client.command("DELETE \"Gone/Child\"").ok)
        #expect(try client.command("LIST (SUBSCRIBED) \"\" \"Gone/*\"").untagged == ["* LIST (\\NonExistent \\Subscribed) \"/\" \"Gone/Child\""])
        // RECURSIVEMATCH: a parent with subscribed children, marked with CHILDINFO (RFC 5258 §3.5).
        #expect(try client.command("LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"Gone\"").untagged
                == ["* LIST (\\NonExistent) \"/\" \"Gone\" (CHILDINFO (\"SUBSCRIBED\"))"])
        #expect(try client.command("LSUB \"\" \"%\"").untagged.contains("* LSUB (\\Noselect) \"/\" \"Gone\""))
        // LIST-STATUS.
        let withStatus = try client.command("LIST \"\" \"INBOX\" RETURN (STATUS (MESSAGES UNSEEN))")
        #expect(withStatus.untagged.last == "* STATUS \"INBOX\" (MESSAGES 0 UNSEEN 0)")
        // RENAME INBOX moves its messages into the new mailbox and leaves INBOX empty (RFC 9051 §6.3.6).
        #expect(try client.append("INBOX", message(subject: "Old mail")).ok)
        #expect(try client.command("RENAME INBOX \"Old INBOX\"").ok)
        #expect(try client.command("STATUS INBOX (MESSAGES)").untagged == ["* STATUS \"INBOX\" (MESSAGES 0)"])
        #expect(try client.command("STATUS \"Old INBOX\" (MESSAGES)").untagged == ["* STATUS \"Old INBOX\" (MESSAGES 1)"])
        // After ENABLE UTF8=ACCEPT the names are UTF-8.
        #expect(try client.command("ENABLE UTF8=ACCEPT").untagged == ["* ENABLED UTF8=ACCEPT"])
        #expect(try client.command("LIST \"\" \"Work/*\"").untagged == ["* LIST (\\HasNoChildren) \"/\" \"Work/Café\""])
    }

    // MARK: Messages

    @Test func appendFetchStoreSearchCopyMoveExpunge() throws {
        let server = try IMAPServer()
        try server.addUser()
        let client = try server.session()
        let first = message(subject: "=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=", body: "Lunch tomorrow?\r\n")
        let appended = try client.append("INBOX", first, flags: "\\Flagged $Work")
        #expect(appended.status.hasPrefix("OK [APPENDUID "), "\(appended.tagged)")
        #expect(try client.append("Nope", first).status.hasPrefix("NO [TRYCREATE]"))
        #expect(try client.append("INBOX", message(subject: "Second", body: "Other text\r\n")).ok)
        let select = try client.command("SELECT INBOX")
        #expect(select.status.hasPrefix("OK [READ-WRITE]"))
        #expect(select.untagged.contains("* 2 EXISTS"))
        #expect(select.untagged.contains { $0.hasPrefix("* OK [UIDVALIDITY ") })
        #expect(select.untagged.contains("* OK [UIDNEXT 3] Predicted next UID"))
        // Exact bytes back, and the envelope decoded from the message.
        let body = try client.command("FETCH 1 (BODY.PEEK[] FLAGS)")
        #expect(body.untagged.first?.contains("\r\n" + first) == true, "\(body.untagged)")
        // IMAP4rev1: this session is the first to see the messages, so they are \Recent for it.
        #expect(body.untagged.first?.contains("FLAGS (\\Recent \\Flagged $Work)") == true)
        let envelope = try client.command("UID FETCH 1 (ENVELOPE RFC822.SIZE)")
        #expect(envelope.untagged.first?.contains("RFC822.SIZE \(first.utf8.count)") == true)
        #expect(envelope.untagged.first?.contains("((\"Bob\" NIL \"bob\" \"example.org\"))") == true)
        let header = try client.command("FETCH 2 (BODY.PEEK[HEADER.FIELDS (Subject)])")
        #expect(header.untagged.first?.contains("Subject: Second\r\n\r\n") == true)
        // RFC 8970 PREVIEW: the start of the text, whitespace collapsed.
        #expect(try client.command("FETCH 1 (PREVIEW)").untagged == ["* 1 FETCH (PREVIEW \"Lunch tomorrow?\")"])
        #expect(try client.command("FETCH 1 (PREVIEW (LAZY))").untagged == ["* 1 FETCH (PREVIEW \"Lunch tomorrow?\")"])
        // BODY[] without PEEK sets \Seen.
        let seen = try client.command("FETCH 2 BODY[TEXT]")
        #expect(seen.untagged.first?.contains("\\Seen") == true)
        // SEARCH on decoded text and flags; UID SEARCH; ESEARCH.
        #expect(try client.command("SEARCH CHARSET UTF-8 SUBJECT \"grüße\"").untagged == ["* SEARCH 1"])
        #expect(try client.command("SEARCH BODY lunch").untagged == ["* SEARCH 1"])
        #expect(try client.command("SEARCH UNSEEN").untagged == ["* SEARCH 1"])
        #expect(try client.command("UID SEARCH KEYWORD $Work").untagged == ["* SEARCH 1"])
        let esearch = try client.command("SEARCH RETURN (MIN MAX COUNT) ALL")
        #expect(esearch.untagged.first?.hasSuffix(" MIN 1 MAX 2 COUNT 2") == true, "\(esearch.untagged)")
        #expect(try client.command("SEARCH CHARSET BOGUS-9 TEXT x").status.hasPrefix("NO [BADCHARSET"))
        // A keyword the session has not seen yet is announced with * FLAGS before the FETCH that shows it.
        let labelled = try client.command("STORE 2 +FLAGS ($Important)")
        #expect(labelled.untagged.first?.hasPrefix("* FLAGS (") == true && labelled.untagged.first?.contains("$Important") == true,
                "\(labelled.untagged)")
        #expect(labelled.untagged.last == "* 2 FETCH (FLAGS (\\Recent \\Seen $Important))")
        #expect(try client.command("STORE 2 -FLAGS.SILENT ($Important)").ok)
        // STORE reports the new flags; .SILENT does not.
        let stored = try client.command("STORE 1 +FLAGS (\\Seen)")
        #expect(stored.untagged == ["* 1 FETCH (FLAGS (\\Recent \\Flagged \\Seen $Work))"])
        #expect(try client.command("STORE 1 -FLAGS.SILENT (\\Flagged)").untagged.isEmpty)
        // COPY with COPYUID; MOVE with COPYUID and the expunge.
        let copied = try client.command("COPY 1:2 Archive")
        #expect(copied.status.hasPrefix("OK [COPYUID "), "\(copied.tagged)")
        #expect(copied.status.contains(" 1:2 1:2]"))
        let moved = try client.command("UID MOVE 2 Trash")
        #expect(moved.untagged.first?.hasPrefix("* OK [COPYUID ") == true)
        #expect(moved.untagged.contains("* 2 EXPUNGE"))
        // EXPUNGE removes \Deleted messages and reports them.
        #expect(try client.command("STORE 1 +FLAGS.SILENT (\\Deleted)").ok)
        let expunged = try client.command("EXPUNGE")
        #expect(expunged.untagged == ["* 1 EXPUNGE"])
        #expect(try client.command("FETCH 1 FLAGS").status.hasPrefix("BAD"))
        // The expunged message is kept: ternctl lists it as deleted.
        let deleted = try server.ternctl(["deleted", "list", IMAPServer.user])
        #expect(deleted.output.contains("INBOX"))
    }

    /// RFC 3516: binary content appended with literal8 comes back raw through BINARY, and base64-encoded through
    /// BODY[part] (a literal may not carry NUL).
    /// RFC 8474: MAILBOXID survives RENAME; EMAILID is shared by copies (COPY, MOVE) and differs between messages;
    /// SEARCH EMAILID finds it; THREADID is NIL.
    @Test func objectIDs() throws {
        let server = try IMAPServer()
        try server.addUser()
        let client = try server.session()
        #expect(try client.command("CAPABILITY").untagged.first?.contains(" OBJECTID") == true)
        let created = try client.command("CREATE Projects")
        let id = try #require(created.status.split(separator: "(").dropFirst().first?.split(separator: ")").first.map(String.init))
        #expect(created.status.hasPrefix("OK [MAILBOXID (F") && id.hasPrefix("F"), "\(created.tagged)")
        #expect(try client.command("RENAME Projects Work").ok)
        let status = try client.command("STATUS Work (MAILBOXID MESSAGES)").untagged
        #expect(status == ["* STATUS \"Work\" (MAILBOXID (\(id)) MESSAGES 0)"], "\(status)")
        #expect(try client.command("STATUS INBOX (MAILBOXID)").untagged.first?.contains("(\(id))") == false)
        _ = try client.append("INBOX", message(subject: "one"))
        _ = try client.append("INBOX", message(subject: "two"))
        let selected = try client.command("SELECT INBOX")
        #expect(selected.untagged.contains { $0.hasPrefix("* OK [MAILBOXID (F") })
        #expect(try client.command("COPY 1 Work").ok)
        let inbox = try client.command("FETCH 1:2 (EMAILID THREADID)").untagged
        #expect(inbox.count == 2 && inbox.allSatisfy { $0.contains("THREADID NIL") }, "\(inbox)")
        let first = try #require(inbox.first?.components(separatedBy: "EMAILID (").last?.split(separator: ")").first.map(String.init))
        #expect(first.hasPrefix("M") && !inbox[1].contains(first))
        #expect(try client.command("SEARCH EMAILID \(first)").untagged == ["* SEARCH 1"])
        #expect(try client.command("SEARCH THREADID T1").untagged == ["* SEARCH"])
        #expect(try client.command("MOVE 1 Archive").ok)
        #expect(try client.command("SELECT Work").ok)
        #expect(try client.command("FETCH 1 (EMAILID)").untagged == ["* 1 FETCH (EMAILID (\(first)))"])
        #expect(try client.command("SELECT Archive").ok)
        #expect(try client.command("FETCH 1 (EMAILID)").untagged == ["* 1 FETCH (EMAILID (\(first)))"])
    }

    /// RFC 8508: a draft saved again replaces the old one in one command; APPENDUID comes before the expunge.
    @Test func replaceADraft() throws {
        let server = try IMAPServer()
        try server.addUser()
        let client = try server.session()
        #expect(try client.append("Drafts", message(subject: "draft one"), flags: "\\Draft").ok)
        #expect(try client.command("SELECT Drafts").ok)
        let new = message(subject: "draft two")
        let replaced = try client.command("REPLACE 1 Drafts (\\Draft \\Seen) {\(new.utf8.count)+}\r\n\(new)")
        #expect(replaced.ok, "\(replaced.tagged)")
        #expect(replaced.untagged.first?.hasPrefix("* OK [APPENDUID ") == true, "\(replaced.untagged)")
        #expect(replaced.untagged.contains("* 1 EXPUNGE"), "\(replaced.untagged)")
        let fetched = try client.command("UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        #expect(fetched.untagged.count == 1 && fetched.untagged[0].contains("Subject: draft two"), "\(fetched.untagged)")
        #expect(fetched.untagged[0].contains("\\Draft") && fetched.untagged[0].contains("\\Seen"))
        // UID REPLACE of a UID that is not there, and REPLACE in a read-only mailbox.
        #expect(try client.command("UID REPLACE 99 Drafts {1+}\r\nx").status.hasPrefix("NO [NONEXISTENT]"))
        #expect(try client.command("EXAMINE Drafts").ok)
        #expect(try client.command("REPLACE 1 Drafts {1+}\r\nx").status.hasPrefix("NO [READ-ONLY]"))
    }

    @Test func binaryContentWithNUL() throws {
        let server = try IMAPServer()
        try server.addUser()
        let client = try server.session()
        let part: [UInt8] = [0x00, 0x2d, 0xe4, 0x0a, 0x0d, 0x0a, 0x0a]
        let head = Array("From: a@example.org\r\nSubject: bin\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n".utf8)
        let message = head + part + Array("\r\n--b--\r\n".utf8)
        let appended = try client.command("APPEND INBOX ~{\(message.count)}", continuations: [message + [13, 10]])
        #expect(appended.status.hasPrefix("OK [APPENDUID "), "\(appended.tagged)")
        #expect(try client.command("SELECT INBOX").ok)
        let body = try client.command("FETCH 1 (BODY.PEEK[1])")
        #expect(body.untagged == ["* 1 FETCH (BODY[1] {12}\r\nAC3kCg0KCg==)"], "\(body.untagged)")
        let size = try client.command("FETCH 1 (BINARY.SIZE[1])")
        #expect(size.untagged == ["* 1 FETCH (BINARY.SIZE[1] 7)"])
        let tag = client.makeTag()
        try client.client.send("\(tag) FETCH 1 (BINARY.PEEK[1])\r\n")
        #expect(try client.client.readLine() == "* 1 FETCH (BINARY[1] ~{7}")
        #expect(try client.client.readExactly(7) == part)
        #expect(try client.readUntilTagged(tag).ok)
    }

    /// A FETCH bigger than the output budget streams in pieces and arrives complete, in order.
    @Test func bigFetchStreamsCompletely() throws {
        let server = try IMAPServer()
        try server.addUser()
        let client = try server.session()
        let line = String(repeating: "0123456789abcdef", count: 6) + "\r\n"
        let big = message(subject: "Big", body: String(repeating: line, count: 4000))  // ~400 KB
        for _ in 1...15 { #expect(try client.append("INBOX", big).ok) }
        #expect(try client.command("SELECT INBOX").ok)
        usleep(200_000)
        // A header sync reads only the headers of the files, and gets them exactly.
        let headers = try client.command("FETCH 1:3 (UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)] ENVELOPE)")
        #expect(headers.untagged.count == 3)
        #expect(headers.untagged.allSatisfy { $0.contains("BODY[HEADER.FIELDS (SUBJECT FROM)] {45}\r\nFrom: Bob <bob@example.org>\r\nSubject: Big\r\n\r\n") },
                "\(headers.untagged.first?.prefix(300) ?? "")")
        let header = try client.command("FETCH 1 (RFC822.HEADER)")
        #expect(header.untagged.first?.hasSuffix("Message-ID: <Big@example.org>\r\n\r\n)") == true)
        let fetched = try client.command("FETCH 1:* (BODY.PEEK[])")
        #expect(fetched.ok)
        #expect(fetched.untagged.count == 15)
        for (n, response) in fetched.untagged.enumerated() {
            #expect(response.hasPrefix("* \(n + 1) FETCH (BODY[] {\(big.utf8.count)}\r\n"))
            #expect(response.hasSuffix(big + ")"))
        }
    }

    @Test func badInputGetsBADAndTheSessionGoesOn() throws {
        let server = try IMAPServer()
        try server.addUser()
        let client = try server.session()
        #expect(try client.command("FROB").status.hasPrefix("BAD"))
        #expect(try client.command("FETCH 1 FLAGS").status.hasPrefix("BAD"))  // nothing selected
        #expect(try client.command("SELECT INBOX").ok)
        #expect(try client.command("FETCH 1:* (FLAGS").status.hasPrefix("BAD"))
        #expect(try client.command("FETCH 5 FLAGS").status.hasPrefix("BAD"))  // empty mailbox
        #expect(try client.command("STORE 1 +FLAGS (\\Recent)").status.hasPrefix("BAD"))
        // A synchronizing literal over the APPEND limit is refused before any byte is sent.
        let huge = try client.command("APPEND INBOX {999999999}")
        #expect(huge.status.hasPrefix("NO [TOOBIG]"), "\(huge.tagged)")
        #expect(try client.command("NOOP").ok)
    }

    // MARK: Two sessions

    @Test func twoSessionsSeeEachOthersChangesAtTheAllowedMoments() throws {
        let server = try IMAPServer()
        try server.addUser()
        let a = try server.session()
        let b = try server.session()
        for n in 1...3 { #expect(try a.append("INBOX", message(subject: "M\(n)")).ok) }
        #expect(try a.command("SELECT INBOX").untagged.contains("* 3 EXISTS"))
        #expect(try b.command("SELECT INBOX").ok)
        // B changes flags, expunges one, appends one.
        #expect(try b.command("STORE 1 +FLAGS (\\Flagged)").ok)
        #expect(try b.command("STORE 2 +FLAGS.SILENT (\\Deleted)").ok)
        #expect(try b.command("EXPUNGE").untagged == ["* 2 EXPUNGE"])
        #expect(try b.append("INBOX", message(subject: "M4")).ok)
        // A's FETCH: flag updates and EXISTS may come, EXPUNGE must not; sequence numbers stay A's.
        let fetch = try a.command("FETCH 1:3 (UID)")
        #expect(!fetch.untagged.contains { $0.hasSuffix("EXPUNGE") }, "\(fetch.untagged)")
        #expect(fetch.untagged.contains("* 1 FETCH (FLAGS (\\Recent \\Flagged))"))
        #expect(fetch.untagged.contains("* 4 EXISTS"))
        // A saw M4 first, so it is \Recent for A (with 1 and 3; 2 is expunged but not yet reported).
        #expect(fetch.untagged.contains("* 3 RECENT"))
        #expect(fetch.untagged.contains("* 1 FETCH (UID 1)") && fetch.untagged.contains("* 3 FETCH (UID 3)"))
        // SEARCH does not expunge either; NOOP does.
        #expect(try a.command("SEARCH ALL").untagged.allSatisfy { !$0.hasSuffix("EXPUNGE") })
        let noop = try a.command("NOOP")
        #expect(noop.untagged == ["* 2 EXPUNGE"], "\(noop.untagged)")
        #expect(try a.command("UID SEARCH ALL").untagged == ["* SEARCH 1 3 4"])
    }

    /// IMAP4rev1 \Recent: the first session to SELECT after delivery gets the new messages as recent, nobody else
    /// does; EXAMINE and STATUS only look; IMAP4rev2 sessions never see RECENT.
    @Test func recentBelongsToTheFirstSessionThatSelects() throws {
        let server = try IMAPServer()
        try server.addUser()
        let a = try server.session()
        let b = try server.session()
        for n in 1...2 { #expect(try a.append("INBOX", message(subject: "R\(n)")).ok) }
        #expect(try b.command("STATUS INBOX (RECENT)").untagged == ["* STATUS \"INBOX\" (RECENT 2)"])
        #expect(try b.command("EXAMINE INBOX").untagged.contains("* 2 RECENT"))
        #expect(try a.command("SELECT INBOX").untagged.contains("* 2 RECENT"))
        #expect(try a.command("SEARCH RECENT").untagged == ["* SEARCH 1 2"])
        #expect(try a.command("SEARCH NEW").untagged == ["* SEARCH 1 2"])
        #expect(try a.command("SEARCH OLD").untagged == ["* SEARCH"])
        #expect(try b.command("SELECT INBOX").untagged.contains("* 0 RECENT"))
        #expect(try b.command("SEARCH RECENT").untagged == ["* SEARCH"])
        let rev2 = try server.session()
        #expect(try rev2.command("ENABLE IMAP4rev2").ok)
        #expect(try !rev2.command("SELECT INBOX").untagged.contains { $0.hasSuffix("RECENT") })
    }

    /// A commit acknowledged to one session is reported by the very next command of another, however its loop
    /// orders the wake-up and the command (imaptest's append/copy/expunge tests caught this race).
    @Test func theNextCommandAfterAnotherSessionsCommitReportsIt() throws {
        let server = try IMAPServer()
        try server.addUser()
        let a = try server.session()
        let b = try server.session()
        #expect(try a.command("SELECT INBOX").ok)
        for n in 1...30 {
            #expect(try b.append("INBOX", message(subject: "Race \(n)")).ok)
            let noop = try a.command("NOOP")
            #expect(noop.untagged.contains("* \(n) EXISTS"), "round \(n): \(noop.untagged)")
        }
    }

    @Test func idleIsWokenByAnotherSessionsChanges() throws {
        let server = try IMAPServer()
        try server.addUser()
        let idler = try server.session()
        let writer = try server.session()
        #expect(try idler.command("SELECT INBOX").ok)
        let tag = idler.makeTag()
        try idler.client.send("\(tag) IDLE\r\n")
        #expect(try idler.readResponseLine()?.hasPrefix("+") == true)
        let started = ContinuousClock.now
        #expect(try writer.append("INBOX", message(subject: "Wake up")).ok)
        #expect(try idler.readResponseLine() == "* 1 EXISTS")
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(try idler.readResponseLine() == "* 1 RECENT")
        #expect(try writer.command("SELECT INBOX").ok)
        #expect(try writer.command("STORE 1 +FLAGS (\\Seen)").ok)
        #expect(try idler.readResponseLine() == "* 1 FETCH (FLAGS (\\Recent \\Seen))")
        #expect(try writer.command("STORE 1 +FLAGS.SILENT (\\Deleted)").ok)
        #expect(try writer.command("EXPUNGE").ok)
        var line = try idler.readResponseLine()
        if line?.contains("FETCH") == true { line = try idler.readResponseLine() }
        #expect(line == "* 1 EXPUNGE")
        try idler.client.send("DONE\r\n")
        #expect(try idler.readUntilTagged(tag).ok)
    }

    /// A change made by another process (ternctl restoring deleted mail) reaches an idling client without a new
    /// command: restored mail is back as a new UID.
    @Test func restoreByTernctlReachesAnIdlingClient() throws {
        let server = try IMAPServer()
        try server.addUser()
        let client = try server.session()
        #expect(try client.append("INBOX", message(subject: "Keep me")).ok)
        #expect(try client.command("SELECT INBOX").ok)
        #expect(try client.command("STORE 1 +FLAGS.SILENT (\\Deleted \\Flagged)").ok)
        #expect(try client.command("EXPUNGE").untagged == ["* 1 EXPUNGE"])
        let tag = client.makeTag()
        try client.client.send("\(tag) IDLE\r\n")
        #expect(try client.readResponseLine()?.hasPrefix("+") == true)
        try server.ternctl(["deleted", "restore", IMAPServer.user, "--all"])
        #expect(try client.readResponseLine() == "* 1 EXISTS")
        try client.client.send("DONE\r\n")
        #expect(try client.readUntilTagged(tag).ok)
        let fetched = try client.command("FETCH 1 (UID FLAGS)")
        #expect(fetched.untagged == ["* 1 FETCH (UID 2 FLAGS (\\Recent \\Flagged \\Deleted))"])
    }

    // MARK: CONDSTORE / QRESYNC and restarts

    @Test func qresyncResyncsAfterChangesAndUIDsSurviveARestart() throws {
        var server = try IMAPServer()
        try server.addUser()
        let client = try server.session()
        for n in 1...4 { #expect(try client.append("INBOX", message(subject: "Q\(n)")).ok) }
        #expect(try client.command("ENABLE QRESYNC").untagged == ["* ENABLED QRESYNC"])
        let select = try client.command("SELECT INBOX")
        let validity = select.untagged.first { $0.hasPrefix("* OK [UIDVALIDITY ") }!.split(separator: " ")[3].dropLast()
        let modseqLine = select.untagged.first { $0.hasPrefix("* OK [HIGHESTMODSEQ ") }!
        let modseq = modseqLine.split(separator: " ")[3].dropLast()
        // Changes while the client is "offline": a flag change and an expunge.
        let other = try server.session()
        #expect(try other.command("SELECT INBOX").ok)
        #expect(try other.command("UID STORE 1 +FLAGS (\\Answered)").ok)
        #expect(try other.command("UID STORE 3 +FLAGS.SILENT (\\Deleted)").ok)
        #expect(try other.command("UID EXPUNGE 3").ok)
        #expect(try client.command("UNSELECT").ok)
        let resync = try client.command("SELECT INBOX (QRESYNC (\(validity) \(modseq) 1:4))")
        #expect(resync.untagged.contains("* VANISHED (EARLIER) 3"), "\(resync.untagged)")
        #expect(resync.untagged.contains { $0.hasPrefix("* 1 FETCH (UID 1 FLAGS (\\Answered) MODSEQ (") })
        #expect(resync.untagged.contains { $0.hasPrefix("* 3 FETCH") } == false)
        // CHANGEDSINCE with VANISHED.
        let changed = try client.command("UID FETCH 1:* (FLAGS) (CHANGEDSINCE \(modseq) VANISHED)")
        #expect(changed.untagged.first == "* VANISHED (EARLIER) 3")
        // A restart keeps UIDVALIDITY and UIDs.
        let directory = server.process.directory
        server.process.removesDirectoryOnExit = false
        server.process.signal(SIGTERM)
        #expect(server.process.waitForExit(timeout: .seconds(10)) == 0)
        let config = try String(contentsOfFile: directory + "/tern.toml", encoding: .utf8)
        let restarted = try TerndProcess(config: config.replacingOccurrences(of: directory, with: "$DIR"), reuseDirectory: directory)
        server = try IMAPServer(existing: restarted)
        let again = try server.session()
        let reselect = try again.command("SELECT INBOX")
        #expect(reselect.untagged.contains("* OK [UIDVALIDITY \(validity)] UIDs valid"))
        #expect(try again.command("UID SEARCH ALL").untagged == ["* SEARCH 1 2 4"])
    }
}

@Suite struct IMAPInteropTests {
    /// COMPRESS=DEFLATE with Python's zlib as the peer: pipelined compressed input, sync-flushed output
    /// (Tests/Interop/imap_compress.py).
    @Test func compressDeflate() throws {
        let server = try IMAPServer()
        try server.addUser()
        let imaps = try server.process.address(of: "imaps")
        let result = try runCommand("/usr/bin/env", [
            "python3", repositoryPath("Tests/Interop/imap_compress.py"), "127.0.0.1", "\(imaps.port)", IMAPServer.user,
            IMAPServer.password,
        ])
        #expect(result.status == 0, "\(result.output)\n\(result.error)")
        #expect(result.output.contains("all checks passed"))
    }

    /// Python's imaplib, an independent client, drives every command it can send (Tests/Interop/imap_client.py).
    @Test func pythonImaplib() throws {
        let server = try IMAPServer()
        try server.addUser()
        let imaps = try server.process.address(of: "imaps")
        let imap = try server.process.address(of: "imap")
        let result = try runCommand("/usr/bin/env", [
            "python3", repositoryPath("Tests/Interop/imap_client.py"), "127.0.0.1", "\(imaps.port)", "\(imap.port)",
            IMAPServer.user, IMAPServer.password,
        ])
        #expect(result.status == 0, "\(result.output)\n\(result.error)\n\(server.process.log.suffix(30).joined(separator: "\n"))")
        #expect(result.output.contains("all checks passed"))
    }

    /// curl (imaps:// and imap:// with --ssl-reqd): list the mailboxes, fetch a message by UID, byte-identical.
    @Test func curlListsAndFetchesByUID() throws {
        let server = try IMAPServer()
        try server.addUser()
        let client = try server.session()
        let original = message(subject: "For curl", body: "Fetched by curl\r\n")
        #expect(try client.append("INBOX", original).status.hasPrefix("OK [APPENDUID "))
        let imaps = try server.process.address(of: "imaps")
        let imap = try server.process.address(of: "imap")
        let credentials = "\(IMAPServer.user):\(IMAPServer.password)"
        let list = try runCommand("/usr/bin/curl", ["-s", "-k", "--url", "imaps://127.0.0.1:\(imaps.port)/", "--user", credentials])
        #expect(list.status == 0 && list.output.contains("\\Sent) \"/\" \"Sent\""), "\(list.output) \(list.error)")
        let fetched = try runCommand("/usr/bin/curl", ["-s", "-k", "--url", "imaps://127.0.0.1:\(imaps.port)/INBOX;UID=1",
                                                       "--user", credentials])
        #expect(fetched.status == 0 && fetched.output == original, "\(fetched.output) \(fetched.error)")
        let starttls = try runCommand("/usr/bin/curl", ["-s", "-k", "--ssl-reqd", "--url", "imap://127.0.0.1:\(imap.port)/INBOX;UID=1",
                                                        "--user", credentials])
        #expect(starttls.status == 0 && starttls.output == original, "\(starttls.output) \(starttls.error)")
    }

    /// mbsync (isync): two-way sync of 300 messages, changes both ways, then a run that changes nothing
    /// (Tests/Interop/mbsync_sync.py).
    @Test func mbsyncTwoWaySync() throws {
        let server = try IMAPServer()
        try server.addUser()
        let imaps = try server.process.address(of: "imaps")
        let work = server.process.directory + "/mbsync"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let result = try runCommand("/usr/bin/env", [
            "python3", repositoryPath("Tests/Interop/mbsync_sync.py"), work, "\(imaps.port)", IMAPServer.user, IMAPServer.password,
            server.process.directory + "/data/tls/self-signed.pem",
        ], timeout: 300)
        #expect(result.status == 0, "\(result.output)\n\(result.error)")
        #expect(result.output.contains("all checks passed"))
    }
}
