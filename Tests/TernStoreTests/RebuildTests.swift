import Foundation
import Testing
import TernStore

/// Removes the index files. The background text indexer may still hold the closed store's connection for a moment
/// (removing its files under it makes the next open fail with a WAL I/O error): it finishes first.
func removeIndex(_ root: String) throws {
    AccountStore.waitForTextIndex()
    for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: root + "/index.sqlite" + suffix) {
        try FileManager.default.removeItem(atPath: root + "/index.sqlite" + suffix)
    }
}

@Suite struct RebuildTests {
    /// Delete the index, reopen: the same mailboxes (names, UIDVALIDITY), messages (UIDs, flags, sizes), expunges.
    @Test func lostIndexIsRebuiltFromTheFiles() throws {
        let clock = TestClock()
        let root = NSTemporaryDirectory() + "tern-rebuild-\(UUID().uuidString)"
        var before: [String: (UIDValidity, [MessageInfo])] = [:]
        var deletedBefore = 0
        var uidNextBefore: [String: UID] = [:]
        do {
            let store = try AccountStore(root: root, clock: { clock.now })
            _ = try store.createMailbox("Projekte/Übersicht")
            _ = try store.createMailbox("Temp")
            _ = try store.createMailbox("Gone")
            for index in 0..<5 { try store.append(to: "INBOX", message("in \(index)"), flags: index % 2 == 0 ? [.seen] : []) }
            try store.append(to: "Projekte/Übersicht", message("p"), flags: [.flagged, .answered])
            try store.append(to: "Gone", message("g"))
            try store.setFlags("INBOX", uids: [UID(2)], [.deleted, .seen], .add)
            try store.expunge("INBOX", uids: [UID(3)])
            try store.renameMailbox("Temp", to: "Archive 2026")
            try store.append(to: "Archive 2026", message("a"))
            // A purged message's UID must not come back.
            try store.append(to: "INBOX", message("last"))
            try store.expunge("INBOX", uids: [UID(6)])
            clock.advance(days: 40)
            try store.purge(retentionDays: 30)
            try store.deleteMailbox("Gone")
            for mailbox in try store.mailboxes() {
                before[mailbox.name] = (mailbox.uidValidity, try store.messages(in: mailbox.name))
                uidNextBefore[mailbox.name] = mailbox.uidNext
            }
            deletedBefore = try store.deletedMessages().count
        }
        try removeIndex(root)
        let rebuilt = try AccountStore(root: root, clock: { clock.now })
        #expect(Set(try rebuilt.mailboxes().map(\.name)) == Set(before.keys))
        for (name, (validity, messages)) in before {
            let mailbox = try #require(try rebuilt.mailbox(named: name))
            #expect(mailbox.uidValidity == validity, "\(name)")
            #expect(mailbox.uidNext.rawValue >= uidNextBefore[name]!.rawValue, "\(name): UIDs could be reused")
            let after = try rebuilt.messages(in: name)
            #expect(after.map(\.uid) == messages.map(\.uid), "\(name)")
            #expect(after.map(\.flags) == messages.map(\.flags), "\(name)")
            #expect(after.map(\.size) == messages.map(\.size), "\(name)")
        }
        #expect(try rebuilt.deletedMessages().count == deletedBefore)
        #expect(try rebuilt.read("Projekte/Übersicht", uid: UID(1)) == message("p"))
        // The rebuild parses each file like a delivery: cached envelope; the full-text entry follows in the background.
        let box = try #require(try rebuilt.mailbox(named: "Projekte/Übersicht"))
        #expect(try rebuilt.records(box.id, uids: [UID(1)]).first?.metadata != nil)
        AccountStore.waitForTextIndex()
        let found = try rebuilt.textSearch(box.id, column: "subject", needle: "p")
        #expect(found.matches.contains(UID(1)) && found.unindexed.isEmpty)
        // The deleted mailbox's messages are still restorable.
        let gone = try rebuilt.deletedMessages().filter { $0.mailboxName == "Gone" }
        #expect(gone.count == 1)
        _ = try rebuilt.restore(gone.map(\.id))
        #expect(try rebuilt.read("Gone", uid: UID(1)) == message("g"))
    }

    /// Without the UID log, UIDs cannot be promised: the mailbox gets a new UIDVALIDITY and keeps every message.
    @Test func missingLogChangesUIDValidity() throws {
        let root = NSTemporaryDirectory() + "tern-rebuild-\(UUID().uuidString)"
        let old: UIDValidity
        do {
            let store = try AccountStore(root: root)
            try store.append(to: "INBOX", message("one"))
            try store.append(to: "INBOX", message("two"))
            old = try #require(try store.mailbox(named: "INBOX")).uidValidity
        }
        try removeIndex(root)
        try FileManager.default.removeItem(atPath: root + "/mail/1/tern-uids")
        let rebuilt = try AccountStore(root: root)
        #expect(try rebuilt.mailbox(named: "INBOX")!.uidValidity != old)
        #expect(try rebuilt.messages(in: "INBOX").count == 2)
    }

    /// Files dropped into new/ by outside tools are picked up.
    @Test func filesDroppedIntoNewArePickedUp() throws {
        let (store, root) = try makeStore()
        try store.append(to: "INBOX", message("ours"))
        try Data(message("dropped")).write(to: URL(fileURLWithPath: root + "/mail/1/new/1800000000.M5P9.outside"))
        let reopened = try AccountStore(root: root)
        #expect(try reopened.messages(in: "INBOX").count == 2)
        #expect(try reopened.read("INBOX", uid: UID(2)) == message("dropped"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/mail/1/new").isEmpty)
    }
}
