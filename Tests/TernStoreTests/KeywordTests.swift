import Foundation
import Synchronization
import Testing
import TernStore

@Suite struct KeywordTests {
    @Test func keywordsAreSetCaseInsensitivelyAndPublished() throws {
        let (store, _) = try makeStore()
        let seen = Mutex<[StoreChange]>([])
        let subscription = store.changes.subscribe { change in seen.withLock { $0.append(change) } }
        let (_, uid) = try store.append(to: "INBOX", message("k"), keywords: ["$Forwarded", "Work"])
        #expect(try store.messages(in: "INBOX").first?.keywords == ["$Forwarded", "Work"])
        try store.setKeywords("INBOX", uids: [uid], ["work", "$Junk"], .add) // "work" is already there as "Work"
        #expect(try store.messages(in: "INBOX").first?.keywords == ["$Forwarded", "$Junk", "Work"])
        try store.setKeywords("INBOX", uids: [uid], ["WORK"], .remove)
        #expect(try store.messages(in: "INBOX").first?.keywords == ["$Forwarded", "$Junk"])
        #expect(try store.setKeywords("INBOX", uids: [uid], ["$junk"], .add).isEmpty) // no change, nothing published
        try store.setKeywords("INBOX", uids: [uid], [], .replace)
        #expect(try store.messages(in: "INBOX").first?.keywords == [])
        let published = seen.withLock { $0 }.filter { if case .keywordsChanged = $0 { return true } else { return false } }
        #expect(published.count == 3)
        _ = subscription
    }

    @Test(arguments: ["two words", "back\\slash", "paren(", "", "\u{e9}t\u{e9}", String(repeating: "k", count: 101)])
    func invalidKeywordsAreRefused(_ keyword: String) throws {
        let (store, _) = try makeStore()
        let (_, uid) = try store.append(to: "INBOX", message("k"))
        #expect(throws: StoreError.invalidKeyword(keyword)) { try store.setKeywords("INBOX", uids: [uid], [keyword], .add) }
        #expect(throws: StoreError.invalidKeyword(keyword)) { try store.append(to: "INBOX", message("x"), keywords: [keyword]) }
    }

    /// Keywords survive restore and an index rebuilt from the files.
    @Test func keywordsSurviveRestoreAndRebuild() throws {
        let (store, root) = try makeStore()
        let (_, first) = try store.append(to: "INBOX", message("a"), keywords: ["$MDNSent"])
        let (_, second) = try store.append(to: "INBOX", message("b"))
        try store.setKeywords("INBOX", uids: [second], ["Project-X", "$Forwarded"], .add)
        try store.expunge("INBOX", uids: [first])
        _ = try store.restore(try store.deletedMessages().map(\.id))
        let before = try store.messages(in: "INBOX").map(\.keywords)
        #expect(before == [["$Forwarded", "Project-X"], ["$MDNSent"]])
        try removeIndex(root)
        let rebuilt = try AccountStore(root: root)
        #expect(try rebuilt.messages(in: "INBOX").map(\.keywords) == before)
    }
}
