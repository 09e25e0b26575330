// Pure pieces of the IMAP server: LIST patterns (RFC 9051 §6.3.9), mailbox name encodings, sequence-set
// resolution against a session's view.

import Testing
@testable import TernIMAPCore
@testable import TernIMAPServer
@testable import TernStore

@Suite struct MailboxPatternTests {
    @Test(arguments: [
        // (reference, pattern, name, matches)
        ("", "*", "INBOX", true),
        ("", "*", "a/b/c", true),
        ("", "%", "a", true),
        ("", "%", "a/b", false),            // % does not cross the delimiter
        ("", "a/%", "a/b", true),
        ("", "a/%", "a/b/c", false),
        ("", "a/*", "a/b/c", true),
        ("a", "%", "a/b", true),            // reference + delimiter + pattern
        ("a/", "%", "a/b", true),
        ("", "inbox", "INBOX", true),        // INBOX is case-insensitive (RFC 9051 §5.1)
        ("", "Inbox/%", "INBOX/x", true),
        ("", "inboxes", "INBOX", false),
        ("", "*b*", "abc", true),
        ("", "%c", "a/c", false),
        ("", "Caf&AOk-", "Café", false),     // patterns are decoded before matching; raw mUTF-7 is not the name
    ])
    func matches(_ reference: String, _ pattern: String, _ name: String, _ expected: Bool) {
        #expect(MailboxPattern(reference: reference, pattern: pattern).matches(name) == expected)
    }

    @Test func manyWildcardsStayLinear() {
        // `*%*%…` against a long name: backtracking matchers take exponential time here.
        let pattern = MailboxPattern(reference: "", pattern: String(repeating: "*%", count: 200) + "x")
        #expect(!pattern.matches(String(repeating: "a", count: 2000)))
    }

    @Test func namesDecodeAndEncode() {
        #expect(MailboxNames.decode(Array("Caf&AOk-".utf8), utf8: false) == "Café")
        #expect(MailboxNames.decode(Array("Café".utf8), utf8: false) == nil)     // 8-bit without UTF8=ACCEPT
        #expect(MailboxNames.decode(Array("Café".utf8), utf8: true) == "Café")
        #expect(MailboxNames.decode(Array("inbox".utf8), utf8: false) == "INBOX")
        #expect(MailboxNames.decode(Array("a/b/".utf8), utf8: false) == "a/b")
        #expect(MailboxNames.encode("日本語", utf8: false) == Array("&ZeVnLIqe-".utf8))
        #expect(MailboxNames.parents(of: "a/b/c") == ["a", "a/b"])
    }
}

@Suite struct MailboxViewTests {
    func view(_ uids: [UInt32]) -> MailboxView {
        let info = MailboxInfo(id: MailboxID(1), name: "INBOX", uidValidity: UIDValidity(7), uidNext: UID((uids.last ?? 0) + 1),
                               highestModSeq: ModSeq(1))
        let messages = uids.map { MessageInfo(uid: UID($0), size: 1, internalDate: 0, flags: [], keywords: [], modSeq: ModSeq(1)) }
        return MailboxView(snapshot: MailboxSnapshot(info: info, messages: messages), readOnly: false)
    }

    @Test func sequenceNumbersAndUIDSets() throws {
        let v = view([3, 5, 9, 12])
        #expect(try v.resolve(.ranges([SequenceRange(.number(2), .last)]), uid: false) == [5, 9, 12])
        #expect(try v.resolve(.ranges([SequenceRange(.number(4), .number(2))]), uid: false) == [5, 9, 12])
        #expect(try v.resolve(.ranges([SequenceRange(.number(4), .number(10))]), uid: true) == [5, 9])
        // n:* with n above every UID still means the highest (RFC 9051 §6.4.8).
        #expect(try v.resolve(.ranges([SequenceRange(.number(100), .last)]), uid: true) == [12])
        #expect(try v.resolve(.ranges([SequenceRange(.number(1)), SequenceRange(.number(1))]), uid: false) == [3])
        #expect(throws: MailboxView.ResolveError.self) { try v.resolve(.ranges([SequenceRange(.number(5))]), uid: false) }
        #expect(throws: MailboxView.ResolveError.self) { try v.resolve(.ranges([SequenceRange(.number(0))]), uid: false) }
        #expect(try view([]).resolve(.ranges([SequenceRange(.number(1), .last)]), uid: true) == [])
    }

    @Test func removingKeepsOrderAndReportsSequenceNumbers() {
        var v = view([3, 5, 9, 12])
        #expect(v.remove(9) == 3)
        #expect(v.remove(3) == 1)
        #expect(v.remove(4) == nil)
        #expect(v.uids == [5, 12])
        v.appendNew([13, 14, 2])
        #expect(v.uids == [5, 12, 13, 14])
        #expect(v.sequenceNumber(of: 13) == 3)
    }
}
