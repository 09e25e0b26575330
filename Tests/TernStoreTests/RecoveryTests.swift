// Recovery when files and index rows disagree after a crash. A commit writes its rows and then makes them and the
// files durable with one syncfs, so a power loss between the two can keep rows whose files never reached the disk;
// a flag change renames the file and commits without fsync, so a crash can keep either name. Power loss cannot be
// made in a test: these tests make the states it leaves (a file removed, a file under its other name) and reopen.

import Foundation
import Testing
@testable import TernStore

@Suite struct RecoveryTests {
    private func cur(_ root: String, _ store: AccountStore, _ mailbox: String) throws -> String {
        let id = try #require(try store.mailbox(named: mailbox)).id
        return "\(root)/mail/\(id.rawValue)/cur"
    }

    private func file(of uid: UID, in directory: String) throws -> String {
        try fileName(of: "\(uid.rawValue)", in: directory)
    }

    /// A row whose file is gone is removed at open; its UID is not given again; usage and the migration record
    /// follow (the migration copies that message again).
    @Test func rowsWithoutFilesAreRemoved() throws {
        let root = NSTemporaryDirectory() + "tern-recovery-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let origin = MessageOrigin(folder: "old:INBOX", uidValidity: 7, uid: 42, flags: "")
        var directory = ""
        do {
            let store = try AccountStore(root: root)
            let syncsBefore = FileSystemSync.shared.calls(for: root)
            for uid in 1...3 { try store.append(to: "INBOX", message("\(uid)")) }
            #expect(FileSystemSync.shared.calls(for: root) - syncsBefore >= 3, "each append waits for a syncfs")
            try store.appendBatch(to: "INBOX", [.init(bytes: message("4"), origin: origin)])
            directory = try cur(root, store, "INBOX")
            #expect(try store.migratedMessages(folder: "old:INBOX", uidValidity: 7)[42] != nil)
            AccountStore.waitForTextIndex()
        }
        try FileManager.default.removeItem(atPath: directory + "/" + file(of: UID(2), in: directory))
        try FileManager.default.removeItem(atPath: directory + "/" + file(of: UID(4), in: directory))

        let store = try AccountStore(root: root)
        #expect(try store.messages(in: "INBOX").map(\.uid) == [UID(1), UID(3)])
        #expect(try store.usage().messages == 2)
        #expect(try store.migratedMessages(folder: "old:INBOX", uidValidity: 7)[42] == nil, "copied again next run")
        #expect(try store.read("INBOX", uid: UID(3)) == message("3"))
        let (_, next) = try store.append(to: "INBOX", message("5"))
        #expect(next == UID(5), "a removed row's UID is never given again")
    }

    /// A flag change renamed the file but its commit was lost (or the reverse): the file takes the row's name back,
    /// the index keeps its flags, and no second copy appears.
    @Test func aFileUnderItsOtherFlagNameIsMatchedToItsRow() throws {
        let root = NSTemporaryDirectory() + "tern-recovery-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        var directory = ""
        do {
            let store = try AccountStore(root: root)
            try store.append(to: "INBOX", message("1"))
            try store.append(to: "INBOX", message("2"), flags: [.seen])
            directory = try cur(root, store, "INBOX")
        }
        for uid in [UID(1), UID(2)] {
            let name = try file(of: uid, in: directory)
            let base = String(name.split(separator: ":", maxSplits: 1)[0])
            try FileManager.default.moveItem(atPath: directory + "/" + name,
                                             toPath: directory + "/" + base + (uid == UID(1) ? ":2,FS" : ":2,"))
        }

        let store = try AccountStore(root: root)
        let messages = try store.messages(in: "INBOX")
        #expect(messages.map(\.uid) == [UID(1), UID(2)])
        #expect(messages.map(\.flags) == [[], [.seen]])
        #expect(try store.read("INBOX", uid: UID(1)) == message("1"))
        #expect(try store.read("INBOX", uid: UID(2)) == message("2"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).count == 2)
    }
}
