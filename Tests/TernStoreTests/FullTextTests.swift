import Foundation
import Testing
@testable import TernStore
import TernSQLite

@Suite struct FullTextTests {
    /// The index's lower-casing (ASCII fast path, non-ASCII runs through `lowercased()`) gives what `lowercased()`
    /// gives, so the index and the needles of SEARCH agree for any text.
    @Test(arguments: [
        "", "Hello World", "ALL CAPS 123 []{}@^_`~", "Grüße aus MÜNCHEN", "ΟΔΟΣ ΟΔΟΣ", "İstanbul DİYARBAKIR",
        "Straße STRASSE", "日本語 Text ÄÖÜ\tx", "mixed🙂EMOJI🙂End", "\u{0041}\u{030A}ngström",
    ])
    func lowerCasingMatchesTheStandardLibrary(_ text: String) {
        #expect(lowercasedForSearch(text) == text.lowercased())
        #expect(Array(lowercasedForSearch(text).utf8) == Array(text.lowercased().utf8))
    }

    /// A message's indexed text is lower-cased in every column, non-ASCII included.
    @Test func searchableTextIsLowerCased() {
        let bytes = Array("From: Jörg <JOERG@Example.NET>\r\nSubject: =?utf-8?q?Gr=C3=9CSSE?= FROM Berlin\r\n\r\nBODY Text ÄÖÜ\r\n".utf8)
        let text = SearchableText(parsing: bytes)
        #expect(text.values[0] == "grüsse from berlin")
        #expect(text.values[1].contains("joerg@example.net") && text.values[1].contains("jörg"))
        #expect(text.values[5].contains("subject: grüsse from berlin"))
        #expect(text.values[6].contains("body text äöü"))
    }
}

@Suite struct TextIndexerTests {
    /// A row expunged before the indexer reaches it gets no entry; restored, the new row is indexed and found.
    @Test func expungedRowsAreNotIndexedAndRestoredOnesAre() throws {
        let (store, root) = try makeStore()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try store.append(to: "INBOX", message("quarterly figures"))
        AccountStore.waitForTextIndex()
        let inbox = try #require(try store.mailbox(named: "INBOX")).id
        // Back to the state of a row the indexer has not reached yet, then expunged.
        let row: Int64 = try store.run { db in
            let id = try db.query("SELECT id FROM messages WHERE uid = 1").first!.int(0)!
            try db.query("UPDATE messages SET text_indexed = 0 WHERE id = ?", [id])
            return id
        }
        try store.textDatabase.withDatabase { db in try FullText.delete(db, row: row) }
        try store.expunge("INBOX", uids: [UID(1)])
        store.writeTextEntries([row])
        let indexed: Bool = try store.run { db in
            try db.query("SELECT text_indexed FROM messages WHERE id = ?", [row]).first!.int(0)! == 1
        } || !(try store.textDatabase.withDatabase { db in try db.query("SELECT 1 FROM header_text WHERE rowid = ?", [row]) }).isEmpty
        #expect(!indexed, "an expunged row got a full-text entry")

        let restored = try store.restore(try store.deletedMessages().map(\.id))
        #expect(restored.map(\.uid) == [UID(2)])
        AccountStore.waitForTextIndex()
        let found = try store.textSearch(inbox, column: "subject", needle: "quarterly")
        #expect(found.matches == [UID(2)] && found.unindexed.isEmpty)
    }
}


/// The full-text tables live in `fulltext.sqlite`, apart from the index deliveries commit to.
@Suite struct SeparateTextDatabaseTests {
    /// An entry the index does not mark as complete is never used, and is replaced when its row is indexed: what a
    /// crash or a reused row id can leave, since the two files commit apart.
    @Test func entriesWithoutTheIndexMarkAreIgnoredThenReplaced() throws {
        let (store, root) = try makeStore()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try store.append(to: "INBOX", message("quarterly figures"))
        AccountStore.waitForTextIndex()
        let inbox = try #require(try store.mailbox(named: "INBOX")).id
        #expect(try store.textSearch(inbox, column: "subject", needle: "quarterly").matches == [UID(1)])
        #expect(FileManager.default.fileExists(atPath: root + "/fulltext.sqlite"))
        // A stale entry under the row's id (another message's text), and the row not marked.
        let row: Int64 = try store.run { db in
            let id = try db.query("SELECT id FROM messages WHERE uid = 1").first!.int(0)!
            try db.query("UPDATE messages SET text_indexed = 0 WHERE id = ?", [id])
            return id
        }
        try store.textDatabase.withDatabase { db in
            try FullText.insert(db, row: row, SearchableText(parsing: message("stale subject")))
        }
        let before = try store.textSearch(inbox, column: "subject", needle: "stale")
        #expect(before.matches.isEmpty && before.unindexed == [UID(1)], "an unmarked entry is not a match")
        store.writeTextEntries([row])
        #expect(try store.textSearch(inbox, column: "subject", needle: "stale").matches.isEmpty)
        #expect(try store.textSearch(inbox, column: "subject", needle: "quarterly").matches == [UID(1)])
    }

    /// A copy takes its original's entry (same EMAILID) instead of decoding the file again; a purge removes the
    /// entries of what it deletes.
    @Test func copiesShareTheEntryAndPurgesRemoveIt() throws {
        let (store, root) = try makeStore()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try store.append(to: "INBOX", message("quarterly figures"))
        _ = try store.createMailbox("Archive")
        AccountStore.waitForTextIndex()
        let inbox = try #require(try store.mailbox(named: "INBOX")).id
        let archive = try #require(try store.mailbox(named: "Archive")).id
        // The original's entry says something its file does not: a copy indexed from the entry shows it.
        let original: Int64 = try store.run { db in try db.query("SELECT id FROM messages WHERE uid = 1").first!.int(0)! }
        try store.textDatabase.withDatabase { db in
            try FullText.insert(db, row: original, SearchableText(parsing: message("quarterly figures marker")))
        }
        _ = try store.copy(from: inbox, uids: [UID(1)], to: "Archive")
        AccountStore.waitForTextIndex()
        #expect(try store.textSearch(archive, column: "subject", needle: "marker").matches == [UID(1)], "copied, not re-decoded")
        try store.expunge("INBOX", uids: [UID(1)])
        #expect(try store.purge(retentionDays: 0) == 1)
        let left = try store.textDatabase.withDatabase { db in try db.query("SELECT count(*) FROM header_text").first!.int(0)! }
        #expect(left == 1, "only the copy's entry is left")
    }
}
