import Foundation
import Testing
import TernStore

/// The migration's bookkeeping commits with the messages (AccountStore+Migration.swift), and files of a migration
/// killed before its commit are discarded at the next open rather than adopted as new mail.
@Suite struct MigrationBookkeepingTests {
    @Test func originsCommitWithTheMessagesAndFollowExpunges() throws {
        let (store, _) = try makeStore()
        var messages: [AccountStore.NewMessage] = []
        for index in 1...3 {
            let flags: SystemFlags = index == 2 ? [.seen] : []
            let keywords: [String] = index == 3 ? ["$Forwarded"] : []
            let origin = MessageOrigin(folder: "old:INBOX", uidValidity: 77, uid: UInt32(index * 10), flags: "\\Seen")
            messages.append(AccountStore.NewMessage(bytes: message("m\(index)"), flags: flags, keywords: keywords, origin: origin))
        }
        let uids = try store.appendBatch(to: "INBOX", messages)
        var recorded = try store.migratedMessages(folder: "old:INBOX", uidValidity: 77)
        #expect(recorded.keys.sorted() == [10, 20, 30])
        #expect(recorded[20]?.uid == uids[1] && recorded[20]?.mailbox == "INBOX" && recorded[20]?.flags == [.seen])
        #expect(recorded[30]?.keywords == ["$Forwarded"])
        #expect(try store.migratedMessages(folder: "old:INBOX", uidValidity: 78).isEmpty, "another UIDVALIDITY is another folder generation")
        #expect(try store.migratedMessages(folder: "old:Sent", uidValidity: 77).isEmpty)

        // Expunged here: still recorded (not copied again), but with no live copy.
        try store.expunge("INBOX", uids: [uids[0]])
        recorded = try store.migratedMessages(folder: "old:INBOX", uidValidity: 77)
        #expect(recorded[10]?.mailbox == nil && recorded[10]?.uid == nil)

        try store.recordMigratedFlags(folder: "old:INBOX", uidValidity: 77, uids: [20: "\\Flagged \\Seen"])
        #expect(try store.migratedMessages(folder: "old:INBOX", uidValidity: 77)[20]?.oldFlags == "\\Flagged \\Seen")
    }

    /// Two copies of one account at once (ternd at first login and ternctl migrate) fetch the same old message: the
    /// commit keeps the first and drops the second with its file.
    @Test func aMessageCopiedTwiceAtOnceIsStoredOnce() throws {
        let (store, root) = try makeStore()
        let origin = MessageOrigin(folder: "old:INBOX", uidValidity: 1, uid: 5, flags: "")
        let other = MessageOrigin(folder: "old:INBOX", uidValidity: 1, uid: 6, flags: "")
        #expect(try store.appendBatch(to: "INBOX", [AccountStore.NewMessage(bytes: message("five"), origin: origin)]).count == 1)
        let second = try AccountStore(root: root)
        let uids = try second.appendBatch(to: "INBOX", [AccountStore.NewMessage(bytes: message("five"), origin: origin),
                                                       AccountStore.NewMessage(bytes: message("six"), origin: other)])
        #expect(uids.count == 1)
        #expect(try store.messages(in: "INBOX").count == 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/mail/1/cur").count == 2)
    }

    @Test func foldersAndRuns() throws {
        let (store, _) = try makeStore()
        #expect(try store.migratedFolder("old:Sent") == nil)
        try store.recordMigratedFolder("old:Sent", uidValidity: 5, target: "Sent", completed: false)
        let folder = try store.migratedFolder("old:Sent")
        #expect(folder?.uidValidity == 5 && folder?.target == "Sent" && folder?.completedAt == nil)
        try store.recordMigratedFolder("old:Sent", uidValidity: 5, target: "Sent", completed: true)
        #expect(try store.migratedFolder("old:Sent")?.completedAt != nil)
        #expect(try store.migrationRun("imaps://old/alice") == nil)
        try store.recordMigrationRun("imaps://old/alice", completed: false)
        #expect(try store.migrationRun("imaps://old/alice")?.completedAt == nil)
        try store.recordMigrationRun("imaps://old/alice", completed: true)
        #expect(try store.migrationRun("imaps://old/alice")?.completedAt != nil)
    }

    /// A migrated message written but not committed (the process was killed between the two) is removed at the
    /// next open; an ordinary message file in the same state is adopted, as before.
    /// While another process has the store open, unindexed files may be its deliveries in flight: an open then
    /// leaves them alone (the crash test's helper process holds the store here).
    @Test func noRecoveryWhileAnotherProcessHasTheStoreOpen() throws {
        let (store, root) = try makeStore()
        try store.append(to: "INBOX", message("kept"))
        let cur = root + "/mail/1/cur/"
        let inFlight = cur + "1800000000.M1P1Q1.host,X=copy:2,S"
        try Data(message("in flight")).write(to: URL(fileURLWithPath: inFlight))
        // Another process holding the lock shared, as an open store does.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = ["--shared", root + "/tern.lock", "sleep", "30"]
        try holder.run()
        defer { holder.terminate(); holder.waitUntilExit() }
        usleep(300_000)
        _ = try AccountStore(root: root)
        #expect(FileManager.default.fileExists(atPath: inFlight), "recovery removed a file another process may be writing")
        holder.terminate()
        holder.waitUntilExit()
        _ = try AccountStore(root: root)
        #expect(!FileManager.default.fileExists(atPath: inFlight), "recovery did not run once alone")
    }

    @Test func recoveryRunsWhenAlone() throws {
        var (store, root): (AccountStore?, String) = try makeStore()
        try store!.append(to: "INBOX", message("kept"))
        store = nil
        let cur = root + "/mail/1/cur/"
        try Data(message("orphan copy")).write(to: URL(fileURLWithPath: cur + "1800000000.M1P1Q1.host,X=copy:2,S"))
        try Data(message("orphan delivery")).write(to: URL(fileURLWithPath: cur + "1800000000.M1P1Q2.host:2,"))
        let reopened = try AccountStore(root: root)
        let messages = try reopened.messages(in: "INBOX")
        #expect(messages.count == 2)
        #expect(try messages.map { try reopened.read("INBOX", uid: $0.uid) } == [message("kept"), message("orphan delivery")])
        #expect(!FileManager.default.fileExists(atPath: cur + "1800000000.M1P1Q1.host,X=copy:2,S"))
    }
}
