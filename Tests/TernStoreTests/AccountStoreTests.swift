import Foundation
import Synchronization
import Testing
import TernStore

final class TestClock: Sendable {
    private let seconds = Mutex<Int64>(1_800_000_000)
    var now: Int64 { seconds.withLock { $0 } }
    func advance(days: Int64) { seconds.withLock { $0 += days * 86400 } }
}

func makeStore(clock: TestClock = TestClock()) throws -> (AccountStore, String) {
    let root = NSTemporaryDirectory() + "tern-store-\(UUID().uuidString)"
    return (try AccountStore(root: root, clock: { clock.now }), root)
}

func message(_ subject: String, bodyBytes: Int = 100) -> [UInt8] {
    Array("From: a@example.net\r\nSubject: \(subject)\r\n\r\n\(String(repeating: "x", count: bodyBytes))\r\n".utf8)
}

/// The name of the file in `directory` holding the `message(subject)` (file names carry no UID or subject).
func fileName(of subject: String, in directory: String) throws -> String {
    let names = try FileManager.default.contentsOfDirectory(atPath: directory)
    return try #require(names.first { name in
        (try? Data(contentsOf: URL(fileURLWithPath: directory + "/" + name)))
            .map { String(decoding: $0, as: UTF8.self).contains("Subject: \(subject)\r\n") } ?? false
    })
}

@Suite struct AccountStoreTests {
    @Test func appendReadFlagAndExpunge() throws {
        let (store, root) = try makeStore()
        let (validity, first) = try store.append(to: "inbox", message("one"))
        let (_, second) = try store.append(to: "INBOX", message("two"), flags: [.seen])
        #expect(first == UID(1) && second == UID(2))
        #expect(try store.mailbox(named: "INBOX")?.uidValidity == validity)
        #expect(try store.read("INBOX", uid: first) == message("one"))
        try store.setFlags("INBOX", uids: [first], [.flagged, .seen], .add)
        let listed = try store.messages(in: "INBOX")
        #expect(listed.map(\.flags) == [[.flagged, .seen], [.seen]])
        // The file name carries the flags too (maildir info, letters in ASCII order).
        let files = try FileManager.default.contentsOfDirectory(atPath: root + "/mail/1/cur").sorted()
        #expect(files.contains { $0.hasSuffix(":2,FS") })
        #expect(try store.expunge("INBOX", uids: [first, UID(99)]) == [first])
        #expect(try store.messages(in: "INBOX").map(\.uid) == [second])
        #expect(throws: StoreError.messageNotFound) { try store.read("INBOX", uid: first) }
        #expect(throws: StoreError.mailboxNotFound("Nope")) { try store.append(to: "Nope", message("x")) }
    }

    @Test func everyChangeRaisesTheModSeq() throws {
        let (store, _) = try makeStore()
        let (_, uid) = try store.append(to: "INBOX", message("one"))
        let afterAppend = try #require(try store.mailbox(named: "INBOX")).highestModSeq
        let changed = try store.setFlags("INBOX", uids: [uid], [.seen], .add)
        #expect(changed.first!.2 > afterAppend)
        #expect(try store.mailbox(named: "INBOX")!.highestModSeq == changed.first!.2)
        try store.expunge("INBOX", uids: [uid])
        #expect(try store.mailbox(named: "INBOX")!.highestModSeq > changed.first!.2)
    }

    @Test func mailboxesByNameNeverByPath() throws {
        let (store, root) = try makeStore()
        let odd = try store.createMailbox("../../etc/Ü ber/Ordner")
        #expect(FileManager.default.fileExists(atPath: "\(root)/mail/\(odd.id)/cur"))
        #expect(throws: StoreError.mailboxExists("../../etc/Ü ber/Ordner")) { try store.createMailbox("../../etc/Ü ber/Ordner") }
        #expect(throws: StoreError.self) { try store.createMailbox("bad\nname") }
        try store.append(to: "../../etc/Ü ber/Ordner", message("kept"))
        try store.renameMailbox("../../etc/Ü ber/Ordner", to: "Archive")
        #expect(try store.messages(in: "Archive").count == 1)
        #expect(throws: StoreError.self) { try store.renameMailbox("INBOX", to: "Other") }
        #expect(throws: StoreError.self) { try store.deleteMailbox("INBOX") }
        #expect(try store.mailboxes().map(\.name) == ["Archive", "INBOX"])
    }

    @Test func recreatedMailboxGetsANewUIDValidity() throws {
        let (store, _) = try makeStore()
        let first = try store.createMailbox("Projects")
        try store.deleteMailbox("Projects")
        let second = try store.createMailbox("Projects")
        #expect(second.uidValidity.rawValue > first.uidValidity.rawValue)
        #expect(second.id != first.id)
    }

    /// Hidden after expunge, restorable before the deadline (flags and date kept, new UID), purged after it.
    @Test func retentionWithAnInjectedClock() throws {
        let clock = TestClock()
        let (store, root) = try makeStore(clock: clock)
        let (_, uid) = try store.append(to: "INBOX", message("keep me"), flags: [.seen, .answered], internalDate: 1_700_000_000)
        try store.append(to: "INBOX", message("other"))
        try store.expunge("INBOX", uids: [uid])
        #expect(!(try store.messages(in: "INBOX").contains { $0.uid == uid }))
        clock.advance(days: 29)
        #expect(try store.purge(retentionDays: 30) == 0)
        let deleted = try #require(try store.deletedMessages().first)
        #expect(deleted.mailboxName == "INBOX" && deleted.flags == [.seen, .answered])
        let restored = try store.restore([deleted.id])
        #expect(restored.map(\.uid) == [UID(3)])
        let back = try #require(try store.messages(in: "INBOX").first { $0.uid == UID(3) })
        #expect(back.flags == [.seen, .answered] && back.internalDate == 1_700_000_000)
        #expect(try store.read("INBOX", uid: UID(3)) == message("keep me"))
        #expect(try store.deletedMessages().isEmpty)
        // Expunged again, then past retention: gone for good, file included.
        try store.expunge("INBOX", uids: [UID(3)])
        clock.advance(days: 31)
        #expect(try store.purge(retentionDays: 30) == 1)
        #expect(try store.deletedMessages().isEmpty)
        let files = try FileManager.default.contentsOfDirectory(atPath: root + "/mail/1/cur")
        #expect(files.count == 1) // "other" only
    }

    @Test func restoreIntoADeletedMailboxRecreatesIt() throws {
        let (store, _) = try makeStore()
        _ = try store.createMailbox("Receipts")
        try store.append(to: "Receipts", message("invoice"), flags: [.flagged])
        try store.deleteMailbox("Receipts")
        #expect(try store.mailbox(named: "Receipts") == nil)
        let deleted = try store.deletedMessages()
        #expect(deleted.map(\.mailboxName) == ["Receipts"])
        _ = try store.restore(deleted.map(\.id))
        #expect(try store.messages(in: "Receipts").map(\.flags) == [[.flagged]])
        #expect(try store.read("Receipts", uid: UID(1)) == message("invoice"))
    }

    /// Concurrent appends share commits; UIDs stay unique and dense, every message readable.
    @Test func concurrentAppendsGetUniqueUIDs() throws {
        let (store, _) = try makeStore()
        let uids = Mutex<[UID: [UInt8]]>([:])
        let failures = Mutex<[String]>([])
        let group = DispatchGroup()
        for thread in 0..<16 {
            group.enter()
            Thread.detachNewThread {
                for index in 0..<20 {
                    let body = message("t\(thread) n\(index)", bodyBytes: 1000 + index)
                    do {
                        let (_, uid) = try store.append(to: "INBOX", body)
                        uids.withLock { $0[uid] = body }
                    } catch {
                        failures.withLock { $0.append("\(error)") }
                    }
                }
                group.leave()
            }
        }
        group.wait()
        #expect(failures.withLock { $0 }.isEmpty)
        let stored = uids.withLock { $0 }
        #expect(stored.count == 320)
        #expect(Set(stored.keys.map(\.rawValue)) == Set(1...320))
        for (uid, body) in stored { #expect(try store.read("INBOX", uid: uid) == body) }
    }

    /// Files the index does not know (a crash between rename and commit) are indexed on open; tmp/ is cleaned.
    @Test func openRecoversUnindexedFiles() throws {
        let clock = TestClock()
        let (store, root) = try makeStore(clock: clock)
        try store.append(to: "INBOX", message("indexed"))
        try Data(message("orphan")).write(to: URL(fileURLWithPath: root + "/mail/1/cur/1800000000.M1P1Q1.host:2,S"))
        try Data("half".utf8).write(to: URL(fileURLWithPath: root + "/mail/1/tmp/1800000000.M2P1Q2.host"))
        let reopened = try AccountStore(root: root, clock: { clock.now })
        let messages = try reopened.messages(in: "INBOX")
        #expect(messages.map(\.uid) == [UID(1), UID(2)])
        #expect(messages.last?.flags == [.seen])
        #expect(try reopened.read("INBOX", uid: UID(2)) == message("orphan"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/mail/1/tmp").isEmpty)
    }
}

@Suite struct TwoProcessTests {
    /// Two stores on one folder (separate connections and committers, like ternd and ternctl): concurrent
    /// appends never get the same UID and none fails.
    @Test func twoWritersOnOneIndexGetDistinctUIDs() throws {
        let (first, root) = try makeStore()
        let second = try AccountStore(root: root)
        let uids = Mutex<[UInt32]>([])
        let failures = Mutex<[String]>([])
        let group = DispatchGroup()
        for (index, store) in [first, second, first, second].enumerated() {
            group.enter()
            Thread.detachNewThread {
                for n in 0..<25 {
                    do {
                        let (_, uid) = try store.append(to: "INBOX", message("w\(index) \(n)"))
                        uids.withLock { $0.append(uid.rawValue) }
                    } catch {
                        failures.withLock { $0.append("\(error)") }
                    }
                }
                group.leave()
            }
        }
        group.wait()
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 }.prefix(3))")
        #expect(Set(uids.withLock { $0 }) == Set(1...100))
        #expect(try first.messages(in: "INBOX").count == 100)
    }
}

@Suite struct BatchAppendTests {
    @Test func batchKeepsOrderAndIsAllOrNothing() throws {
        let (store, root) = try makeStore()
        let seen = Mutex<[StoreChange]>([])
        let subscription = store.changes.subscribe { change in seen.withLock { $0.append(change) } }
        var messages: [AccountStore.NewMessage] = []
        for index in 0..<50 {
            let flags: SystemFlags = index % 2 == 0 ? [.seen] : []
            let keywords: [String] = index == 7 ? ["Work"] : []
            messages.append(AccountStore.NewMessage(bytes: message("b\(index)"), flags: flags, keywords: keywords,
                                                    internalDate: 1_600_000_000 + Int64(index)))
        }
        let uids = try store.appendBatch(to: "INBOX", messages)
        let expected: [UInt32] = Array(1...50)
        #expect(uids.map { $0.rawValue } == expected)
        for (index, uid) in uids.enumerated() { #expect(try store.read("INBOX", uid: uid) == message("b\(index)")) }
        #expect(try store.messages(in: "INBOX")[7].keywords == ["Work"])
        #expect(seen.withLock { $0.count } == 1, "one change event for the batch")
        // A bad keyword anywhere refuses the whole batch, leaving nothing behind.
        #expect(throws: StoreError.self) {
            try store.appendBatch(to: "INBOX", [AccountStore.NewMessage(bytes: message("ok")),
                                                AccountStore.NewMessage(bytes: message("bad"), keywords: ["no good"])])
        }
        #expect(try store.messages(in: "INBOX").count == 50)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/mail/1/cur").count == 50)
        _ = subscription
    }
}
