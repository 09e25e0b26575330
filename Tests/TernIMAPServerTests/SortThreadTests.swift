// SORT and THREAD (RFC 5256) on hand-made message sets: orders, ties, reply chains, missing parents, loops.

import Testing
import TernIMAPCore
@testable import TernIMAPServer

@Suite struct SortThreadTests {
    @Test func sortByCriteriaWithReverseAndSequenceTies() {
        let messages = [
            SortFields(sequence: 1, date: 300, subject: "Re: beta", from: "carol", size: 10),
            SortFields(sequence: 2, date: 100, subject: "alpha", from: "alice", size: 30),
            SortFields(sequence: 3, date: 200, subject: "Fwd: Beta", from: "bob", size: 10),
        ]
        #expect(Sorter.sort(messages, by: [SortCriterion(.date)]).map(\.sequence) == [2, 3, 1])
        #expect(Sorter.sort(messages, by: [SortCriterion(.subject)]).map(\.sequence) == [2, 1, 3])  // base subjects
        #expect(Sorter.sort(messages, by: [SortCriterion(.size, reverse: true)]).map(\.sequence) == [2, 1, 3])
        #expect(Sorter.sort(messages, by: [SortCriterion(.size), SortCriterion(.from, reverse: true)]).map(\.sequence) == [1, 3, 2])
        #expect(Sorter.sort(messages, by: [SortCriterion(.displayFrom)]).map(\.sequence) == [2, 3, 1])
    }

    @Test func orderedSubjectGroupsBySubjectThenDate() {
        let messages = [
            SortFields(sequence: 1, date: 10, subject: "Lunch"),
            SortFields(sequence: 2, date: 5, subject: "Report"),
            SortFields(sequence: 3, date: 20, subject: "Re: Lunch"),
            SortFields(sequence: 4, date: 30, subject: "re: lunch"),
        ]
        // RFC 5256: the first of each subject is the parent of the others (siblings).
        #expect(Threader.render(Threader.orderedSubject(messages), uid: false) == "(2)(1 (3)(4))")
    }

    @Test func referencesBuildsTreesAndKeepsMissingParentsImplicit() {
        let messages = [
            SortFields(sequence: 1, date: 1, subject: "Plan", messageID: "a@x"),
            SortFields(sequence: 2, date: 2, subject: "Re: Plan", messageID: "b@x", references: ["a@x"], isReplyOrForward: true),
            SortFields(sequence: 3, date: 3, subject: "Re: Plan", messageID: "c@x", references: ["a@x", "b@x"], isReplyOrForward: true),
            SortFields(sequence: 4, date: 4, subject: "Re: Plan", messageID: "d@x", references: ["a@x"], isReplyOrForward: true),
            // Its parent is not in the mailbox: a dummy with one child is dropped.
            SortFields(sequence: 5, date: 5, subject: "Other", messageID: "e@x", references: ["gone@x"]),
            // Two replies to the same missing message: the dummy stays, holding both.
            SortFields(sequence: 6, date: 6, subject: "Re: Lost", messageID: "f@x", references: ["lost@x"], isReplyOrForward: true),
            SortFields(sequence: 7, date: 7, subject: "Re: Lost", messageID: "g@x", references: ["lost@x"], isReplyOrForward: true),
        ]
        #expect(Threader.render(Threader.references(messages), uid: false) == "(1 (2 3)(4))(5)((6)(7))")
        #expect(Threader.render(Threader.references(messages), uid: true) == "(10 (20 30)(40))(50)((60)(70))")
    }

    @Test func referencesSurvivesLoopsAndDuplicateIDs() {
        let messages = [
            SortFields(sequence: 1, date: 1, subject: "A", messageID: "a@x", references: ["b@x"]),
            SortFields(sequence: 2, date: 2, subject: "B", messageID: "b@x", references: ["a@x"]),
            SortFields(sequence: 3, date: 3, subject: "C", messageID: "a@x"),
            SortFields(sequence: 4, date: 4, subject: "D", messageID: "d@x", references: ["d@x"]),
        ]
        let text = Threader.render(Threader.references(messages), uid: false)
        for n in 1...4 { #expect(text.contains("\(n)"), "\(text)") }
    }

    @Test func subjectMergingJoinsThreadsWithTheSameBaseSubject() {
        let messages = [
            SortFields(sequence: 1, date: 1, subject: "Party", messageID: "p1@x"),
            SortFields(sequence: 2, date: 2, subject: "Re: Party", messageID: "p2@x", isReplyOrForward: true),
        ]
        // No References, but the reply's base subject matches: it becomes a child.
        #expect(Threader.render(Threader.references(messages), uid: false) == "(1 2)")
    }

    /// imaptest's thread 1: a later message breaks an earlier guessed link rather than closing a loop
    /// (RFC 5256 REFERENCES step 1C).
    @Test func aLaterParentBreaksAGuessedLinkInsteadOfMakingALoop() {
        let messages = [
            SortFields(sequence: 1, date: 3, subject: "x1", messageID: "a@b"),
            SortFields(sequence: 2, date: 2, subject: "x2", messageID: "b@b", references: ["a@b", "c@b"]),
            SortFields(sequence: 3, date: 1, subject: "x3", messageID: "c@b", references: ["b@b"]),
        ]
        #expect(Threader.render(Threader.references(messages), uid: false) == "(3 2)(1)")
    }

    @Test func esortKeepsOrderAndCompressesAscendingRuns() {
        #expect(IMAPSession.orderedSet([1, 2, 3, 4, 5]) == "1:5")
        #expect(IMAPSession.orderedSet([5, 1, 2, 3, 9, 8]) == "5,1:3,9,8")
    }

    @Test func sortFoldsToUpperCaseLikeAsciiCasemap() {
        // i;ascii-casemap folds to upper case, so "[" and "_" sort after the letters (imaptest sort-subject).
        let messages = [
            SortFields(sequence: 1, subject: "_under"),
            SortFields(sequence: 2, subject: "beta"),
            SortFields(sequence: 3, subject: "[tag] x"),
        ]
        #expect(Sorter.sort(messages, by: [SortCriterion(.subject)]).map(\.sequence) == [2, 3, 1])
    }
}
