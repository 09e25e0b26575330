// The delivery journal: its byte layout (torn and stale records end the valid prefix), the file (reopen, lock,
// checkpoint, filling up) and the replay into a store. A power loss cannot be made in a test: these tests make the
// states it can leave (a delivery's file gone or empty, its row gone, its UID given to another message) and replay.

import Foundation
import Testing
@testable import TernStore
import TernSQLite

@Suite struct DeliveryJournalTests {
    private func record(_ n: Int, root: String = "/r", size: Int = 100) -> JournalRecord {
        JournalRecord(root: root, mailbox: MailboxID(Int64(n % 3 + 1)), uid: UID(UInt32(n + 1)), file: "f\(n):2,S",
                      flags: [.seen], keywords: n % 2 == 0 ? ["$Forwarded", "work"] : [], internalDate: 1_700_000_000 + Int64(n),
                      bytes: message("journal \(n)", bodyBytes: size))
    }

    private func encoded(_ records: [JournalRecord], epoch: UInt64) -> [UInt8] {
        records.flatMap { record -> [UInt8] in
            let payload = record.encoded()
            return JournalCoding.record(payload: payload, crc: JournalCoding.crc(payload[...]), epoch: epoch)
        }
    }

    private func temporary(_ name: String) -> String {
        NSTemporaryDirectory() + "tern-journal-\(name)-\(UUID().uuidString)"
    }

    /// A store folder and a journal path, both new.
    private func scratch(_ name: String) -> (root: String, path: String) {
        let root = temporary(name)
        return (root, root + ".journal")
    }

    private func removeScratch(_ paths: String...) {
        for path in paths { try? FileManager.default.removeItem(atPath: path) }
    }

    @Test func recordsRoundTrip() {
        let records = (0..<5).map { record($0) }
        let bytes = encoded(records, epoch: 7)
        let (decoded, end) = JournalCoding.records(in: bytes[...], epoch: 7)
        #expect(decoded == records)
        #expect(end == bytes.count)
    }

    @Test func aTornOrForeignRecordEndsTheValidPrefix() {
        let records = (0..<4).map { record($0) }
        let bytes = encoded(records, epoch: 3)
        let lastStart = encoded(Array(records.prefix(3)), epoch: 3).count
        // The last record cut short (a write the power loss interrupted).
        #expect(JournalCoding.records(in: bytes.dropLast(1), epoch: 3).records == Array(records.prefix(3)))
        // A byte of its payload changed (a sector never written): the CRC no longer matches.
        var damaged = bytes
        damaged[lastStart + JournalCoding.recordHeaderSize + 10] ^= 0x40
        #expect(JournalCoding.records(in: damaged[...], epoch: 3).records == Array(records.prefix(3)))
        // Records of an earlier epoch (before the last checkpoint) are not replayed.
        #expect(JournalCoding.records(in: bytes[...], epoch: 4).records.isEmpty)
        // Zeros (the preallocated rest of the file) end it too.
        let padded = bytes + [UInt8](repeating: 0, count: 4096)
        #expect(JournalCoding.records(in: padded[...], epoch: 3) == (records, bytes.count))
    }

    @Test func headersCarryTheirEpoch() {
        let header = JournalCoding.header(epoch: 42)
        #expect(header.count == JournalCoding.headerSize)
        #expect(JournalCoding.epoch(ofHeader: header[...]) == 42)
        var damaged = header
        damaged[9] ^= 1
        #expect(JournalCoding.epoch(ofHeader: damaged[...]) == nil)
        #expect(JournalCoding.epoch(ofHeader: [UInt8](repeating: 0, count: 4096)[...]) == nil)
    }

    @Test func appendedRecordsAreThereAfterReopeningUntilACheckpoint() throws {
        let path = temporary("file")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let records = (0..<20).map { record($0, root: "/r\($0 % 2)") }
        do {
            let journal = try DeliveryJournal.open(path: path, capacityMB: 1)
            #expect(journal.pendingRoots.isEmpty)
            for record in records { #expect(try journal.append(record, roots: [NSTemporaryDirectory()])) }
            // A second writer of the same file is refused while this one holds it.
            #expect(throws: StoreError.self) { _ = try DeliveryJournal.open(path: path, capacityMB: 1) }
        }
        do {
            let journal = try DeliveryJournal.open(path: path, capacityMB: 1)
            #expect(journal.pendingRoots == ["/r0", "/r1"])
            #expect(throws: StoreError.self, "not emptied before the replay") { try journal.checkpoint() }
            #expect(journal.takeRecords(for: "/r0") == records.filter { $0.root == "/r0" })
            #expect(journal.takeRecords(for: "/r1") == records.filter { $0.root == "/r1" })
            #expect(journal.takeRecords(for: "/r1").isEmpty, "handed out once")
            try journal.checkpoint()
            #expect(journal.pendingBytes == 0)
        }
        let journal = try DeliveryJournal.open(path: path, capacityMB: 1)
        #expect(journal.pendingRoots.isEmpty, "a checkpoint empties it for good")
    }

    /// Records appended after a reopen go after the ones already there (direct writes rewrite the partial block they
    /// end in), and every one of them reads back, through several reopenings.
    @Test func appendsAfterReopeningKeepEarlierRecords() throws {
        let path = temporary("reopen")
        defer { try? FileManager.default.removeItem(atPath: path) }
        var all: [JournalRecord] = []
        for round in 0..<4 {
            let journal = try DeliveryJournal.open(path: path, capacityMB: 1)
            #expect(journal.takeRecords(for: "/r") == all, "round \(round)")
            for n in 0..<(round + 2) {
                let next = record(round * 10 + n, root: "/r", size: 700 + round * 1000 + n * 333)
                #expect(try journal.append(next, roots: []))
                all.append(next)
            }
        }
        #expect(try DeliveryJournal.open(path: path, capacityMB: 1).takeRecords(for: "/r") == all)
    }

    @Test func aFullJournalIsCheckpointedAndLargeMessagesAreNotJournaled() throws {
        let (root, path) = scratch("store")
        defer { removeScratch(root, path) }
        let journal = try DeliveryJournal.open(path: path, capacityMB: 1)
        let store = try AccountStore(root: root, journal: journal)
        var uids: [UID] = []
        for n in 0..<300 { uids.append(try store.append(to: "INBOX", message("m\(n)", bodyBytes: 10_000)).1) }
        #expect(journal.checkpoints >= 2, "3 MB of deliveries through a 1 MB journal")
        #expect(journal.pendingBytes > 0 && journal.pendingBytes <= 1 << 20)
        let pendingBefore = journal.pendingBytes
        let large = message("large", bodyBytes: 400_000)
        let (_, largeUID) = try store.append(to: "INBOX", large)
        #expect(journal.pendingBytes == pendingBefore, "over a quarter of the journal: synced in the store instead")
        #expect(try store.read("INBOX", uid: largeUID) == large)
        for (n, uid) in uids.enumerated() where n % 50 == 0 {
            #expect(try store.read("INBOX", uid: uid) == message("m\(n)", bodyBytes: 10_000))
        }
    }

    /// Opens a store with a journal, appends `count` messages, and returns the journal's records (read back from
    /// the file, as at the next start) with the store's folder.
    private func journaledDeliveries(_ count: Int, root: String, path: String,
                                     before: (AccountStore) throws -> Void = { _ in }) throws -> [JournalRecord] {
        do {
            let journal = try DeliveryJournal.open(path: path, capacityMB: 4)
            let store = try AccountStore(root: root, journal: journal)
            try before(store)
            for n in 1...count { try store.append(to: "INBOX", message("j\(n)"), flags: n == 2 ? [.flagged] : [], keywords: ["k\(n)"]) }
            AccountStore.waitForTextIndex()
        }
        return try DeliveryJournal.open(path: path, capacityMB: 4).takeRecords(for: root)
    }

    private func cur(_ root: String) -> String { root + "/mail/1/cur" }

    @Test func lostFilesAndRowsComeBackWithTheirUIDs() throws {
        let (root, path) = scratch("replay")
        defer { removeScratch(root, path) }
        let records = try journaledDeliveries(4, root: root, path: path)
        #expect(records.map(\.uid) == [UID(1), UID(2), UID(3), UID(4)])
        // What a power loss can leave (the index is a prefix of its commits): the commits of messages 3 and 4 lost
        // (rows gone, UIDNEXT back to 3), message 2's file gone though its row is there, message 3's file empty
        // (its data never written), message 4's file intact.
        let two = try fileName(of: "j2", in: cur(root))
        let three = try fileName(of: "j3", in: cur(root))
        try FileManager.default.removeItem(atPath: cur(root) + "/" + two)
        try Data().write(to: URL(fileURLWithPath: cur(root) + "/" + three))
        do {
            let db = try Database(path: root + "/index.sqlite")
            // Their full-text entries (another file) stay: entries of rows the index does not mark are ignored.
            try db.query("DELETE FROM messages WHERE uid IN (3, 4)")
            try db.query("UPDATE mailboxes SET uidnext = 3 WHERE id = 1")
            try db.query("UPDATE state SET value = value - ? WHERE key = 'used_bytes'", [message("j3").count + message("j4").count])
            try db.query("UPDATE state SET value = value - 2 WHERE key = 'used_messages'")
        }

        let store = try AccountStore(root: root, replay: records)
        let messages = try store.messages(in: "INBOX")
        #expect(messages.map(\.uid) == [UID(1), UID(2), UID(3), UID(4)], "every acknowledged UID is back")
        for n in 1...4 { #expect(try store.read("INBOX", uid: UID(UInt32(n))) == message("j\(n)")) }
        #expect(messages[1].flags == [.flagged] && messages[1].keywords == ["k2"])
        #expect(try store.usage().messages == 4)
        AccountStore.waitForTextIndex()
        #expect(try store.textSearch(MailboxID(1), column: "subject", needle: "j3").matches.contains(UID(3)),
                "indexed for SEARCH too")
        #expect(try store.textSearch(MailboxID(1), column: "subject", needle: "j4").matches.contains(UID(4)))
        let (_, next) = try store.append(to: "INBOX", message("j5"))
        #expect(next == UID(5))
        #expect(try store.replay(records) == 0, "a second replay finds everything in place")
        #expect(try FileManager.default.contentsOfDirectory(atPath: cur(root)).count == 5)
    }

    @Test func aReplayedDeliveryWhoseUIDWasGivenAgainGetsANewOne() throws {
        let (root, path) = scratch("renumber")
        defer { removeScratch(root, path) }
        let records = try journaledDeliveries(2, root: root, path: path)
        let two = try fileName(of: "j2", in: cur(root))
        try FileManager.default.removeItem(atPath: cur(root) + "/" + two)
        do {
            // ternctl opened the store before ternd's restart: recovery dropped the row without a file, and an
            // import took UID 2 (the row's removal moved UIDNEXT on: simulate an index that lost it instead).
            let store = try AccountStore(root: root)
            #expect(try store.messages(in: "INBOX").map(\.uid) == [UID(1)])
            let db = try Database(path: root + "/index.sqlite")
            try db.query("UPDATE mailboxes SET uidnext = 2 WHERE id = 1")
            _ = try store.append(to: "INBOX", message("other"))
            #expect(try store.read("INBOX", uid: UID(2)) == message("other"))
        }
        let store = try AccountStore(root: root, replay: records)
        let uids = try store.messages(in: "INBOX").map(\.uid)
        #expect(uids == [UID(1), UID(2), UID(3)])
        #expect(try store.read("INBOX", uid: UID(2)) == message("other"))
        #expect(try store.read("INBOX", uid: UID(3)) == message("j2"), "kept, under the next UID")
    }

    @Test func aDeliveryIntoAMailboxDeletedSinceComesBackDeleted() throws {
        let (root, path) = scratch("deleted")
        defer { removeScratch(root, path) }
        var records: [JournalRecord] = []
        do {
            let journal = try DeliveryJournal.open(path: path, capacityMB: 4)
            let store = try AccountStore(root: root, journal: journal)
            _ = try store.createMailbox("Lists")
            try store.append(to: "Lists", message("list mail"))
            try store.deleteMailbox("Lists")
            AccountStore.waitForTextIndex()
        }
        records = try DeliveryJournal.open(path: path, capacityMB: 4).takeRecords(for: root)
        #expect(records.count == 1)
        let folder = root + "/mail/\(records[0].mailbox.rawValue)/cur"
        try FileManager.default.removeItem(atPath: folder + "/" + fileName(of: "list mail", in: folder))
        let db = try Database(path: root + "/index.sqlite")
        try db.query("DELETE FROM messages")

        let store = try AccountStore(root: root, replay: records)
        let deleted = try store.deletedMessages()
        #expect(deleted.map(\.mailboxName) == ["Lists"], "restorable with the mailbox it was delivered to")
        #expect(try store.usage().messages == 0)
        _ = try store.restore(deleted.map(\.id))
        #expect(try store.read("Lists", uid: store.messages(in: "Lists")[0].uid) == message("list mail"))
    }

    @Test func purgesEmptyTheJournalFirst() throws {
        let (root, path) = scratch("purge")
        defer { removeScratch(root, path) }
        let journal = try DeliveryJournal.open(path: path, capacityMB: 4)
        let store = try AccountStore(root: root, journal: journal)
        let (_, uid) = try store.append(to: "INBOX", message("gone"))
        #expect(journal.pendingBytes > 0)
        _ = try store.expunge("INBOX", uids: [uid])
        #expect(try store.purge(retentionDays: 0) == 1)
        #expect(journal.pendingBytes == 0, "no record left to bring the purged message back")
    }

    /// Delivers one message to each of `accounts` through a registry with a journal in `data`, as ternd does, closes
    /// the stores, and returns the journal's path (its records are still there: no checkpoint was needed).
    private func deliverThroughRegistry(data: String, to accounts: [String]) throws -> String {
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let path = data + "/delivery.journal"
        let registry = StoreRegistry(dataDirectory: data, journal: try DeliveryJournal.open(path: path, capacityMB: 4), idleLinger: .zero)
        for account in accounts {
            try registry.acquire(account).append(to: "INBOX", message("for \(account)"))
            registry.release(account)
        }
        AccountStore.waitForTextIndex()
        registry.checkExternalChanges()  // closes the unused stores
        return path
    }

    @Test func theRegistryReplaysEveryAccountThenEmptiesTheJournal() throws {
        let data = temporary("registry")
        defer { try? FileManager.default.removeItem(atPath: data) }
        let path = try deliverThroughRegistry(data: data, to: ["a@example.com", "b@example.com", "gone@example.com"])
        let roots = ["a@example.com", "b@example.com"].map { AccountLocation.root(dataDirectory: data, account: $0) }
        for root in roots {
            try FileManager.default.removeItem(atPath: cur(root) + "/" + fileName(of: "for \(root.split(separator: "/").last!)", in: cur(root)))
        }
        let gone = AccountLocation.root(dataDirectory: data, account: "gone@example.com")
        try FileManager.default.removeItem(atPath: gone)
        let journal = try DeliveryJournal.open(path: path, capacityMB: 4)
        #expect(journal.pendingRoots == (roots + [gone]).sorted())
        let registry = StoreRegistry(dataDirectory: data, journal: journal)
        // A store opened before the replay pass replays its own share.
        let store = try registry.acquire("a@example.com")
        #expect(try store.read("INBOX", uid: UID(1)) == message("for a@example.com"))
        registry.release("a@example.com")
        #expect(journal.pendingRoots == [roots[1], gone])
        let (replayed, skipped, failures) = registry.replayJournal()
        #expect(replayed == 1 && failures.isEmpty)
        #expect(skipped == 1, "a folder removed since is not made again")
        #expect(!FileManager.default.fileExists(atPath: gone))
        #expect(journal.pendingRoots.isEmpty && journal.pendingBytes == 0)
        let other = try registry.acquire("b@example.com")
        #expect(try other.read("INBOX", uid: UID(1)) == message("for b@example.com"))
        registry.release("b@example.com")
    }

    /// An account whose store cannot be opened keeps its records and the journal is not emptied; the other accounts
    /// are replayed all the same (ternd starts, and the account retries at its next open).
    @Test func anAccountThatDoesNotOpenKeepsItsRecords() throws {
        let data = temporary("broken")
        defer { try? FileManager.default.removeItem(atPath: data) }
        let path = try deliverThroughRegistry(data: data, to: ["ok@example.com", "broken@example.com"])
        let broken = AccountLocation.root(dataDirectory: data, account: "broken@example.com")
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: broken + "/index.sqlite" + suffix) }
        try Data("not a database, not at all".utf8 + [UInt8](repeating: 7, count: 5000)).write(to: URL(fileURLWithPath: broken + "/index.sqlite"))
        let journal = try DeliveryJournal.open(path: path, capacityMB: 4)
        let registry = StoreRegistry(dataDirectory: data, journal: journal, idleLinger: .zero)
        let (replayed, _, failures) = registry.replayJournal()
        #expect(replayed == 1)
        #expect(failures.map(\.root) == [broken])
        #expect(journal.pendingRoots == [broken], "kept for the next open")
        #expect(journal.pendingBytes > 0, "not emptied while a record waits")
    }
}
