// The store's session API: delta by MODSEQ (what untagged updates and QRESYNC stand on), conditional flag updates,
// copies, the MIME metadata cached at delivery, standard folders.

import Foundation
import Testing
@testable import TernStore

@Suite struct SessionAPITests {
    let sample = Array("From: A <a@example.org>\r\nSubject: Hi\r\nDate: Sat, 21 Nov 2026 10:00:00 +0000\r\n\r\nBody\r\n".utf8)

    @Test func deltaReportsNewChangedAndExpungedAfterAModSeq() throws {
        let (store, root) = try makeStore()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let inbox = try store.mailbox(named: "INBOX")!
        for _ in 1...3 { try store.append(to: "INBOX", sample) }
        let before = try store.snapshot(inbox.id)
        #expect(before.messages.map(\.uid.rawValue) == [1, 2, 3])
        let since = before.info.highestModSeq
        #expect(try store.delta(inbox.id, since: since).changed.isEmpty)
        try store.updateFlags(inbox.id, uids: [UID(1)], flags: .seen, keywords: ["$Work"], .add)
        try store.expunge(inbox.id, uids: [UID(2)])
        try store.append(to: "INBOX", sample)
        let delta = try store.delta(inbox.id, since: since)
        #expect(delta.changed.map(\.uid.rawValue) == [1, 4])
        #expect(delta.changed[0].flags == .seen && delta.changed[0].keywords == ["$Work"])
        #expect(delta.expunged == [UID(2)])
        #expect(delta.expungedIsComplete)
        #expect(delta.highestModSeq > since)
        // After a purge, expunges before the purge horizon can no longer be listed exactly.
        #expect(try store.purge(retentionDays: 0) == 1)
        #expect(try store.delta(inbox.id, since: since).expungedIsComplete == false)
    }

    @Test func unchangedSinceLeavesNewerMessagesAlone() throws {
        let (store, root) = try makeStore()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let inbox = try store.mailbox(named: "INBOX")!
        for _ in 1...2 { try store.append(to: "INBOX", sample) }
        let base = try store.snapshot(inbox.id).info.highestModSeq
        try store.updateFlags(inbox.id, uids: [UID(2)], flags: .flagged, keywords: [], .add)
        let result = try store.updateFlags(inbox.id, uids: [UID(1), UID(2)], flags: .seen, keywords: [], .add,
                                           unchangedSince: base)
        #expect(result.changed.map(\.uid) == [UID(1)])
        #expect(result.modified == [UID(2)])
        #expect(try store.snapshot(inbox.id).messages[1].flags == .flagged)
    }

    @Test func metadataIsParsedAtDeliveryAndFollowsCopies() throws {
        let (store, root) = try makeStore()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let inbox = try store.mailbox(named: "INBOX")!
        try store.append(to: "INBOX", sample, flags: .seen, keywords: ["$Label"])
        let record = try #require(try store.records(inbox.id, uids: [UID(1)]).first)
        let metadata = try #require(record.metadata)
        #expect(String(decoding: metadata.envelope, as: UTF8.self)
            == "(\"Sat, 21 Nov 2026 10:00:00 +0000\" \"Hi\" ((\"A\" NIL \"a\" \"example.org\")) ((\"A\" NIL \"a\" \"example.org\")) ((\"A\" NIL \"a\" \"example.org\")) NIL NIL NIL NIL NIL)")
        #expect(metadata.sentDate == 1_795_255_200)
        _ = try store.createMailbox("Other")
        let (_, pairs) = try store.copy(from: inbox.id, uids: [UID(1), UID(9)], to: "Other")
        #expect(pairs.map(\.copy) == [UID(1)])
        let other = try store.mailbox(named: "Other")!
        let copy = try #require(try store.records(other.id, uids: [UID(1)]).first)
        #expect(copy.metadata == metadata)
        #expect(copy.info.flags == .seen && copy.info.keywords == ["$Label"])
        #expect(try store.read("Other", uid: UID(1)) == sample)
    }

    @Test func standardFoldersAreCreatedOnce() throws {
        let (store, root) = try makeStore()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try store.ensureStandardMailboxes()
        let uses = try store.mailboxes().compactMap(\.specialUse).sorted()
        #expect(uses == ["\\Archive", "\\Drafts", "\\Junk", "\\Sent", "\\Trash"])
        try store.deleteMailbox("Junk")
        try store.ensureStandardMailboxes()
        #expect(try store.mailbox(named: "Junk") == nil)
    }

    @Test func fullTextIndexFindsDecodedSubstringsAndFollowsCopies() throws {
        let (store, root) = try makeStore()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let inbox = try store.mailbox(named: "INBOX")!
        let encoded = Array("""
            From: =?ISO-8859-1?Q?J=F6rg?= <joerg@example.org>\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=\r\n\
            Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
            Das Treffen ist am Montag um 10 Uhr. Sch=C3=B6ne Gr=C3=BC=C3=9Fe\r\n
            """.utf8)
        try store.append(to: "INBOX", encoded)
        try store.append(to: "INBOX", sample)
        // Right after delivery the rows may still wait for their entries: SEARCH then parses them.
        let early = try store.textSearch(inbox.id, column: "body", needle: "schöne")
        #expect(early.matches.union(early.unindexed).contains(UID(1)))
        AccountStore.waitForTextIndex()
        #expect(try store.textSearch(inbox.id, column: "subject", needle: "GRÜSSE").matches.isEmpty)  // no ß→ss folding
        #expect(try store.textSearch(inbox.id, column: "subject", needle: "GRÜßE aus").matches == [UID(1)])
        #expect(try store.textSearch(inbox.id, column: "sender", needle: "jörg").matches == [UID(1)])
        #expect(try store.textSearch(inbox.id, column: "body", needle: "schöne").matches == [UID(1)])
        #expect(try store.textSearch(inbox.id, column: "body", needle: "100%").matches.isEmpty)      // % is literal
        #expect(try store.textSearch(inbox.id, column: nil, needle: "hi").matches == [UID(2)])       // short needles too
        #expect(try store.textSearch(inbox.id, column: "body", needle: "body").unindexed.isEmpty)
        _ = try store.createMailbox("Other")
        _ = try store.copy(from: inbox.id, uids: [UID(1)], to: "Other")
        AccountStore.waitForTextIndex()
        let other = try store.mailbox(named: "Other")!
        #expect(try store.textSearch(other.id, column: "body", needle: "montag").matches == [UID(1)])
        // Expunged messages are not found; purged ones leave the index.
        try store.expunge(inbox.id, uids: [UID(1)])
        #expect(try store.textSearch(inbox.id, column: "body", needle: "montag").matches.isEmpty)
    }

    /// Batches and copies are checked against the quota as a whole, before anything is written.
    @Test func batchesAndCopiesRespectTheQuotaAllOrNothing() throws {
        let (store, root) = try makeStore()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let inbox = try store.mailbox(named: "INBOX")!
        let quota = Quota(maxMessages: 3)
        try store.appendBatch(to: "INBOX", [.init(bytes: sample), .init(bytes: sample)], quota: quota)
        #expect(throws: StoreError.overQuota("4 messages would exceed the limit of 3")) {
            try store.appendBatch(to: "INBOX", [.init(bytes: sample), .init(bytes: sample)], quota: quota)
        }
        #expect(try store.snapshot(inbox.id).messages.count == 2)
        _ = try store.createMailbox("Other")
        #expect(throws: StoreError.overQuota("4 messages would exceed the limit of 3")) {
            try store.copy(from: inbox.id, uids: [UID(1), UID(2)], to: "Other", quota: quota)
        }
        #expect(try store.messages(in: "Other").isEmpty)
        #expect(try store.copy(from: inbox.id, uids: [UID(1)], to: "Other", quota: quota).1.count == 1)
    }
}

@Suite struct HeaderCacheTests {
    /// The top-level header is cached in the index at delivery and read with the rows only when asked for; copies
    /// carry it; a header over the cap stays in the file; `header()` gives the same bytes either way.
    @Test func headersComeFromTheIndexWhenCached() throws {
        let (store, root) = try makeStore()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let small = message("cached")
        let hugeHeader = "From: a@example.net\r\nX-Long: " + String(repeating: "y", count: MessageMetadata.maxCachedHeader) + "\r\n\r\nbody\r\n"
        try store.append(to: "INBOX", small)
        try store.append(to: "INBOX", Array(hugeHeader.utf8))
        let inbox = try #require(try store.mailbox(named: "INBOX")).id
        let expectedSmall = Array(small[..<(small.firstRange(of: Array("\r\n\r\n".utf8))!.upperBound)])

        let plain = try store.records(inbox, uids: [UID(1), UID(2)])
        #expect(plain.allSatisfy { $0.cachedHeader == nil }, "the header is read only when asked for")
        let withHeader = try store.records(inbox, uids: [UID(1), UID(2)], withHeader: true)
        #expect(withHeader[0].cachedHeader == expectedSmall)
        #expect(withHeader[1].cachedHeader == nil, "a header over the cap stays in the file")
        #expect(try withHeader[0].header() == expectedSmall)
        #expect(try withHeader[1].header() == Array(hugeHeader.utf8.prefix(hugeHeader.utf8.count - 6)))

        _ = try store.createMailbox("Copies")
        _ = try store.copy(from: inbox, uids: [UID(1)], to: "Copies", quota: nil)
        let copies = try #require(try store.mailbox(named: "Copies")).id
        #expect(try store.records(copies, uids: [UID(1)], withHeader: true).first?.cachedHeader == expectedSmall)
    }
}
