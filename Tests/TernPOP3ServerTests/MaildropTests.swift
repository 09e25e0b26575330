// The maildrop value without sockets: numbering fixed at login, DELE/RSET marks, and what QUIT commits (RFC 1939 §5-6).

import Foundation
import Testing
@testable import TernPOP3Server
import TernPOP3Core
import TernStore

@Suite struct MaildropTests {
    private func maildrop() throws -> (Maildrop, AccountStore, String) {
        let root = NSTemporaryDirectory() + "maildrop-\(UUID().uuidString)"
        let store = try AccountStore(root: root)
        for (index, flags) in [SystemFlags.seen, [], []].enumerated() {
            try store.append(to: "INBOX", Array("Subject: \(index)\r\n\r\nbody \(index)\r\n".utf8), flags: flags)
        }
        let inbox = try #require(try store.mailbox(named: "INBOX"))
        return (Maildrop(try store.snapshot(inbox.id)), store, root)
    }

    @Test func numbersMarksAndUpdate() throws {
        var (drop, _, root) = try maildrop()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let size = "Subject: 0\r\n\r\nbody 0\r\n".utf8.count
        #expect(drop.totals == (3, 3 * size))
        #expect(throws: Maildrop.Refusal.noSuchMessage(POP3MessageNumber(4))) { try drop.message(POP3MessageNumber(4)) }
        #expect(try drop.message(POP3MessageNumber(2)).uid == UID(2))
        #expect(drop.uniqueID(try drop.message(POP3MessageNumber(1))) == "\(drop.uidValidity.rawValue).1")
        try drop.markDeleted(POP3MessageNumber(2))
        #expect(throws: Maildrop.Refusal.deleted(POP3MessageNumber(2))) { try drop.markDeleted(POP3MessageNumber(2)) }
        #expect(drop.listing.map(\.number.rawValue) == [1, 3])
        #expect(drop.totals == (2, 2 * size))
        drop.markRetrieved(POP3MessageNumber(1))  // already \Seen: nothing to change
        drop.markRetrieved(POP3MessageNumber(2))  // deleted: expunged, not marked
        drop.markRetrieved(POP3MessageNumber(3))
        #expect(drop.update.expunge == [UID(2)] && drop.update.seen == [UID(3)])
        drop.reset()
        #expect(drop.update.expunge.isEmpty && drop.totals.count == 3)
        #expect(Maildrop.Refusal.deleted(POP3MessageNumber(7)).text == "Message 7 is deleted")
    }
}
