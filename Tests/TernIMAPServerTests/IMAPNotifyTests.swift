// RFC 5465 NOTIFY against a real ternd over TLS: two sessions of one account; what one does reaches the other as
// unsolicited STATUS, LIST, EXISTS/FETCH and EXPUNGE, between commands and during IDLE, and stops after NOTIFY NONE.

import Glibc
import Testing
import TernTestSupport

@Suite(.serialized) struct IMAPNotifyTests {
    static let set = "NOTIFY SET (SELECTED (MessageNew (UID) MessageExpunge))"
        + " (PERSONAL (MessageNew MessageExpunge MailboxName SubscriptionChange))"

    /// Reads what the server sends without being asked: the first line must come by itself (no command sent);
    /// a NOOP then collects whatever else belongs to the same change.
    func unsolicited(_ client: IMAPTestClient) throws -> [String] {
        guard let first = try client.readResponseLine() else { return [] }
        let rest = try client.command("NOOP")
        #expect(rest.ok)
        return [first] + rest.untagged
    }

    @Test func changesReachASessionWaitingBetweenCommands() throws {
        let server = try IMAPServer()
        try server.addUser()
        let a = try server.session()
        let b = try server.session()
        #expect(try a.command("CAPABILITY").untagged.first?.split(separator: " ").contains("NOTIFY") == true)
        #expect(try b.command("CREATE Work").ok)
        #expect(try a.command("SELECT INBOX").ok)

        // RFC 5465 §3: STATUS asks for the state of every watched mailbox at once; never the selected one.
        let setStatus = try a.command("NOTIFY SET STATUS (SELECTED (MessageNew (UID) MessageExpunge))"
            + " (PERSONAL (MessageNew MessageExpunge MailboxName SubscriptionChange))")
        #expect(setStatus.ok, "\(setStatus.tagged)")
        #expect(setStatus.untagged.contains { $0.hasPrefix("* STATUS \"Work\" (MESSAGES 0 UIDNEXT 1 UNSEEN 0 UIDVALIDITY ") },
                "\(setStatus.untagged)")
        #expect(setStatus.untagged.contains { $0.hasPrefix("* STATUS \"Sent\" (") }, "\(setStatus.untagged)")
        #expect(!setStatus.untagged.contains { $0.hasPrefix("* STATUS \"INBOX\"") }, "\(setStatus.untagged)")

        // RFC 5465 §5.2: a new message in another mailbox → STATUS, with no command from A.
        #expect(try b.append("Work", message(subject: "Report")).ok)
        let status = try #require(try a.readResponseLine())
        #expect(status.hasPrefix("* STATUS \"Work\" (MESSAGES 1 UIDNEXT 2 UNSEEN 1 UIDVALIDITY "), "\(status)")

        // RFC 5465 §5.4 MailboxName: created, renamed (OLDNAME), deleted (\NonExistent).
        #expect(try b.command("CREATE Projects").ok)
        #expect(try unsolicited(a) == ["* LIST () \"/\" \"Projects\""])
        #expect(try b.command("RENAME Projects Archive/2026").ok)
        #expect(try unsolicited(a) == ["* LIST () \"/\" \"Archive/2026\" (\"OLDNAME\" (\"Projects\"))"])
        #expect(try b.command("DELETE Archive/2026").ok)
        #expect(try unsolicited(a) == ["* LIST (\\NonExistent) \"/\" \"Archive/2026\""])

        // RFC 5465 §5.5 SubscriptionChange.
        #expect(try b.command("SUBSCRIBE Work").ok)
        #expect(try unsolicited(a) == ["* LIST (\\Subscribed) \"/\" \"Work\""])
        #expect(try b.command("UNSUBSCRIBE Work").ok)
        #expect(try unsolicited(a) == ["* LIST () \"/\" \"Work\""])

        // SELECTED (MessageNew (UID)): EXISTS and the requested FETCH data for the new message.
        #expect(try b.append("INBOX", message(subject: "For the selected mailbox")).ok)
        let exists = try unsolicited(a)
        #expect(exists.first == "* 1 EXISTS", "\(exists)")
        #expect(exists.contains("* 1 FETCH (UID 1)"), "\(exists)")
        #expect(!exists.contains { $0.hasPrefix("* STATUS") }, "\(exists)")

        // SELECTED MessageExpunge: EXPUNGE as soon as it happens (no command in progress).
        #expect(try b.command("SELECT INBOX").ok)
        #expect(try b.command("STORE 1 +FLAGS.SILENT (\\Deleted)").ok)
        #expect(try b.command("EXPUNGE").ok)
        var line = try a.readResponseLine()
        if line?.contains("FETCH") == true { line = try a.readResponseLine() }  // the \Deleted flag, reported first
        #expect(line == "* 1 EXPUNGE")

        // NOTIFY NONE: no more news between commands, only what RFC 9051 itself requires.
        #expect(try a.command("NOTIFY NONE").ok)
        #expect(try b.append("Work", message(subject: "Unannounced")).ok)
        #expect(try b.command("CREATE Quiet").ok)
        for _ in 0..<2 {
            let noop = try a.command("NOOP")
            #expect(noop.ok)
            #expect(!noop.untagged.contains { $0.hasPrefix("* STATUS") || $0.hasPrefix("* LIST") }, "\(noop.untagged)")
        }
    }

    @Test func statusReachesAnIdlingSession() throws {
        let server = try IMAPServer()
        try server.addUser()
        let a = try server.session()
        let b = try server.session()
        #expect(try a.command(Self.set).ok)
        let tag = a.makeTag()
        try a.client.send("\(tag) IDLE\r\n")
        #expect(try a.readResponseLine()?.hasPrefix("+") == true)
        let started = ContinuousClock.now
        #expect(try b.append("Archive", message(subject: "Old stuff")).ok)
        let line = try a.readResponseLine()
        #expect(line?.hasPrefix("* STATUS \"Archive\" (MESSAGES 1 UIDNEXT 2 UNSEEN 1 ") == true, "\(line ?? "EOF")")
        #expect(ContinuousClock.now - started < .seconds(2))
        // A flag change in a group without FlagChange is not news; with it, it is.
        #expect(try b.command("SELECT Archive").ok)
        #expect(try b.command("STORE 1 +FLAGS (\\Seen)").ok)
        try a.client.send("DONE\r\n")
        let done = try a.readUntilTagged(tag)
        #expect(done.ok)
        #expect(!done.untagged.contains { $0.hasPrefix("* STATUS") }, "\(done.untagged)")
        #expect(try a.command("NOTIFY SET (INBOXES (MessageNew MessageExpunge)) (PERSONAL (MessageNew MessageExpunge FlagChange))").ok)
        #expect(try b.command("STORE 1 -FLAGS (\\Seen)").ok)
        let flagged = try a.readResponseLine()
        #expect(flagged?.hasPrefix("* STATUS \"Archive\" (MESSAGES 1 UIDNEXT 2 UNSEEN 1 ") == true, "\(flagged ?? "EOF")")
    }

    @Test func selectedDelayedKeepsExpungesForAnAllowedMoment() throws {
        let server = try IMAPServer()
        try server.addUser()
        let a = try server.session()
        let b = try server.session()
        for n in 1...2 { #expect(try b.append("INBOX", message(subject: "D\(n)")).ok) }
        #expect(try a.command("SELECT INBOX").ok)
        #expect(try a.command("NOTIFY SET (SELECTED-DELAYED (MessageNew MessageExpunge))").ok)
        #expect(try b.command("SELECT INBOX").ok)
        #expect(try b.command("STORE 1 +FLAGS.SILENT (\\Deleted)").ok)
        #expect(try b.command("EXPUNGE").ok)
        #expect(try b.append("INBOX", message(subject: "D3")).ok)
        // The new message is announced by itself; the expunge waits for a command that allows it.
        #expect(try a.readResponseLine() == "* 3 EXISTS")
        let fetch = try a.command("FETCH 1:3 (UID)")
        #expect(!fetch.untagged.contains { $0.hasSuffix("EXPUNGE") }, "\(fetch.untagged)")
        let noop = try a.command("NOOP")
        #expect(noop.untagged.contains("* 1 EXPUNGE"), "\(noop.untagged)")
    }

    /// SELECTED with FlagChange and fetch attributes, for an IMAP4rev2 client with QRESYNC: new mail comes with the
    /// requested data, flag changes as FETCH, expunges as VANISHED, all between commands.
    @Test func selectedWithFlagChangeAndQResync() throws {
        let server = try IMAPServer()
        try server.addUser()
        let a = try server.session()
        let b = try server.session()
        #expect(try a.command("ENABLE IMAP4rev2 QRESYNC").ok)
        #expect(try a.command("SELECT INBOX").ok)
        #expect(try a.command("NOTIFY SET (SELECTED (MessageNew (UID FLAGS) MessageExpunge FlagChange))").ok)
        #expect(try b.append("INBOX", message(subject: "Q1")).ok)
        #expect(try a.readResponseLine() == "* 1 EXISTS")
        let fetched = try #require(try a.readResponseLine())
        #expect(fetched.hasPrefix("* 1 FETCH (") && fetched.contains("UID 1") && fetched.contains("FLAGS ()"), "\(fetched)")
        #expect(try b.command("SELECT INBOX").ok)
        #expect(try b.command("STORE 1 +FLAGS (\\Flagged)").ok)
        let flagged = try a.readResponseLine()
        #expect(flagged?.hasPrefix("* 1 FETCH (UID 1 FLAGS (\\Flagged) MODSEQ (") == true, "\(flagged ?? "EOF")")
        #expect(try b.command("STORE 1 +FLAGS.SILENT (\\Deleted)").ok)
        #expect(try a.readResponseLine()?.hasPrefix("* 1 FETCH (UID 1 FLAGS (\\Flagged \\Deleted) MODSEQ (") == true)
        #expect(try b.command("EXPUNGE").ok)
        #expect(try a.readResponseLine() == "* VANISHED 1")
        #expect(try a.command("NOOP").untagged == [])
    }

    /// A client still reading a big FETCH gets its notifications once it has caught up, not lost and not piled up.
    @Test func notificationsWaitForASlowReader() throws {
        let server = try IMAPServer()
        try server.addUser()
        let a = try IMAPTestClient(try server.process.address(of: "imaps"), tls: true, receiveBufferSize: 4096)
        try a.login(IMAPServer.user, IMAPServer.password)
        let b = try server.session()
        let line = String(repeating: "0123456789abcdef", count: 6) + "\r\n"
        let big = message(subject: "Big", body: String(repeating: line, count: 30_000))  // ~3 MB
        for _ in 1...2 { #expect(try b.append("INBOX", big).ok) }
        #expect(try a.command("SELECT INBOX").ok)
        #expect(try a.command("NOTIFY SET (PERSONAL (MessageNew MessageExpunge))").ok)
        let tag = a.makeTag()
        try a.client.send("\(tag) FETCH 1:2 (BODY.PEEK[])\r\n")
        usleep(300_000)  // the server renders both and queues what the socket does not take
        #expect(try b.append("Archive", message(subject: "While you were reading")).ok)
        usleep(300_000)
        let fetched = try a.readUntilTagged(tag)
        #expect(fetched.ok)
        #expect(fetched.untagged.count == 2)
        let status = try a.readResponseLine()
        #expect(status?.hasPrefix("* STATUS \"Archive\" (MESSAGES 1 UIDNEXT 2 UNSEEN 1 ") == true, "\(status ?? "EOF")")
    }

    /// RFC 5465 §5: the rules beyond the grammar, as the client sees them.
    @Test func refusals() throws {
        let server = try IMAPServer()
        try server.addUser()
        let a = try server.session()
        #expect(try a.command("NOTIFY SET (PERSONAL (MessageNew))").status.hasPrefix("BAD "))
        #expect(try a.command("NOTIFY SET (PERSONAL (MessageNew (UID) MessageExpunge))").status.hasPrefix("BAD [CLIENTBUG] "))
        #expect(try a.command("NOTIFY SET (PERSONAL (MessageNew MessageExpunge AnnotationChange))").status
            .hasPrefix("NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)] "))
        #expect(try a.command("NOTIFY SET (PERSONAL (MailboxMetadataChange))").status.hasPrefix("NO [BADEVENT ("))
        #expect(try a.command("NOTIFY SET (PERSONAL NONE) (NOWHERE NONE)").status.hasPrefix("BAD "))
        #expect(try a.command("NOTIFY NONE").ok)
    }
}
