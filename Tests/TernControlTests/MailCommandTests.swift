import Foundation
import Testing
import TernStore
import TernTestSupport

@Suite struct MailCommandTests {
    func account() throws -> (Admin, AccountStore) {
        let admin = try Admin()
        try admin.ok("domain", "add", "example.net")
        try admin.ok("user", "add", "alice@example.net", "--password-stdin", input: "Summer2024x\n")
        // Nothing can deliver yet (no SMTP/IMAP): put mail into the account's store directly.
        let store = try AccountStore(root: AccountLocation.root(dataDirectory: admin.folder + "/data", account: "alice@example.net"))
        return (admin, store)
    }

    @Test func mailboxesListCreateRemove() throws {
        let (admin, store) = try account()
        try store.append(to: "INBOX", Array("Subject: hi\r\n\r\nbody\r\n".utf8))
        let listed = try #require(try admin.json("mailbox", "list", "alice@example.net") as? [[String: Any]])
        #expect(listed.map { $0["name"] as? String } == ["INBOX"])
        #expect(listed.first?["messages"] as? Int == 1 && listed.first?["unseen"] as? Int == 1)
        try admin.ok("mailbox", "create", "alice@example.net", "Projekte/2026")
        try admin.fails(["mailbox", "create", "alice@example.net", "Projekte/2026"], saying: "already exists")
        #expect(try admin.ok("mailbox", "list", "alice@example.net").contains("Projekte/2026\t0 message(s)"))
        try store.append(to: "Projekte/2026", Array("Subject: plan\r\n\r\nx\r\n".utf8))
        try admin.ok("mailbox", "remove", "alice@example.net", "Projekte/2026")
        try admin.fails(["mailbox", "remove", "alice@example.net", "INBOX"], saying: "INBOX cannot be deleted")
        try admin.fails(["mailbox", "list", "nobody@example.net"], saying: "no account nobody@example.net")
        // The removed mailbox's message is restorable, and restoring re-creates the mailbox.
        let deleted = try #require(try admin.json("deleted", "list", "alice@example.net") as? [[String: Any]])
        #expect(deleted.map { $0["mailbox"] as? String } == ["Projekte/2026"])
        try admin.ok("deleted", "restore", "alice@example.net", "--mailbox", "Projekte/2026")
        #expect(try admin.ok("mailbox", "list", "alice@example.net").contains("Projekte/2026\t1 message(s)"))
    }

    @Test func deletedListRestorePurge() throws {
        let (admin, store) = try account()
        for index in 0..<3 {
            try store.append(to: "INBOX", Array("Subject: m\(index)\r\n\r\n\(index)\r\n".utf8), flags: index == 0 ? [.seen, .flagged] : [])
        }
        try store.expunge("INBOX", uids: [UID(1), UID(2)])
        let deleted = try #require(try admin.json("deleted", "list", "alice@example.net") as? [[String: Any]])
        #expect(deleted.count == 2)
        try admin.fails(["deleted", "restore", "alice@example.net"], saying: "say what to restore")
        try admin.fails(["deleted", "restore", "alice@example.net", "--id", "999999"], saying: "no deleted message with id 999999")
        try admin.fails(["deleted", "list", "alice@example.net", "--since", "yesterday"], saying: "is not a date")
        let first = try #require(deleted.first { ($0["size"] as? Int) == ("Subject: m0\r\n\r\n0\r\n".utf8.count) }?["id"] as? Int)
        try admin.ok("deleted", "restore", "alice@example.net", "--id", String(first))
        let restored = try store.messages(in: "INBOX").last
        #expect(restored?.flags == [.seen, .flagged]) // flags kept, new UID
        #expect(restored?.uid == UID(4))
        #expect(try admin.ok("deleted", "purge", "alice@example.net").contains("purged 0 message(s)")) // within 30 days
        #expect(try admin.ok("deleted", "purge", "alice@example.net", "--older-than", "0").contains("purged 1 message(s)"))
        #expect((try admin.json("deleted", "list", "alice@example.net") as? [Any])?.isEmpty == true)
    }

    @Test func statsCountVisibleAndDeletedMail() throws {
        let (admin, store) = try account()
        try admin.ok("user", "add", "bob@example.net", "--password-stdin", input: "Summer2024x\n")
        let body = Array("Subject: s\r\n\r\nbody\r\n".utf8)
        for _ in 0..<3 { try store.append(to: "INBOX", body) }
        try store.expunge("INBOX", uids: [UID(1)])
        let stats = try #require(try admin.json("stats") as? [String: Any])
        let total = try #require(stats["total"] as? [String: Any])
        #expect(total["accounts"] as? Int == 2)
        #expect(total["messages"] as? Int == 2 && total["bytes"] as? Int == 2 * body.count)
        #expect(total["deleted"] as? Int == 1 && total["deleted_bytes"] as? Int == body.count)
        #expect(!FileManager.default.fileExists(atPath: admin.folder + "/data/accounts/bob@example.net"),
                "stats must not create stores")
        #expect(try admin.ok("stats").contains("total: 2 account(s), 2 message(s)"))
    }

    @Test func reindexRebuildsFromTheFilesAndKeepsTheOldIndex() throws {
        let (admin, store) = try account()
        _ = try store.createMailbox("Archiv/Ältere")
        try store.append(to: "Archiv/Ältere", Array("Subject: a\r\n\r\nx\r\n".utf8), flags: [.seen])
        try store.append(to: "INBOX", Array("Subject: b\r\n\r\ny\r\n".utf8))
        let before = try admin.ok("mailbox", "list", "alice@example.net")
        #expect(try admin.ok("reindex", "alice@example.net").contains("reindexed alice@example.net: 2 mailbox(es), 2 message(s)"))
        #expect(try admin.ok("mailbox", "list", "alice@example.net") == before)
        let root = AccountLocation.root(dataDirectory: admin.folder + "/data", account: "alice@example.net")
        #expect(try FileManager.default.contentsOfDirectory(atPath: root).contains { $0.hasPrefix("index.sqlite.before-reindex-") })
        try admin.fails(["reindex"], saying: "give one account, or --all")
        try admin.fails(["reindex", "nobody@example.net"], saying: "no account nobody@example.net")
        #expect((try admin.json("reindex", "--all") as? [Any])?.count == 1)
    }

    @Test func removingAUserKeepsTheMail() throws {
        let (admin, store) = try account()
        try store.append(to: "INBOX", Array("Subject: keep\r\n\r\nx\r\n".utf8))
        #expect(try admin.ok("user", "remove", "alice@example.net").contains("its mail stays in"))
    }
}
