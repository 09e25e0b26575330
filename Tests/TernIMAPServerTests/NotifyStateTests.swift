// The pure part of NOTIFY in sessions: which group a mailbox follows, and when a STATUS is news (RFC 5465 §5.2,
// §5.4, §6).

import Testing
@testable import TernIMAPCore
@testable import TernIMAPServer
@testable import TernStore

@Suite struct NotifyStateTests {
    let messages = NotifyEventGroup(.personal, [.messageNew([]), .messageExpunge])
    let withFlags = NotifyEventGroup(.personal, [.messageNew([]), .messageExpunge, .flagChange])
    let names = NotifyEventGroup(.personal, [.mailboxName])

    func state(_ groups: [(NotifyState.Group.Filter, NotifyEventGroup)]) -> NotifyState {
        NotifyState(selected: nil, groups: groups.map { NotifyState.Group(filter: $0.0, events: $0.1) })
    }

    @Test func theFirstMatchingGroupWins() {
        let state = state([(.inboxes, withFlags), (.subtree(["Lists"]), names), (.personal, messages)])
        #expect(state.group(for: "INBOX") == withFlags)
        #expect(state.group(for: "Lists") == names)
        #expect(state.group(for: "Lists/swift") == names)
        #expect(state.group(for: "Listserv") == messages, "a subtree is the name and what is under it, not a prefix")
        #expect(state.watchesMessages("Lists/swift", subscriptions: []) == false)
        #expect(state.watchesMessages("Work", subscriptions: []))
    }

    @Test func subscribedAndNamedMailboxes() {
        let state = state([(.subscribed, messages), (.mailboxes(["a b"]), names)])
        #expect(state.group(for: "Work", subscriptions: ["Work"]) == messages)
        #expect(state.group(for: "Work", subscriptions: []) == nil)
        #expect(state.group(for: "a b") == names)
        #expect(state.group(for: "a b/c") == nil)
    }

    @Test func statusIsNewsWhenWhatTheGroupWatchesMoved() {
        let before = NotifyState.Status(messages: 2, uidNext: UID(3), uidValidity: UIDValidity(7), unseen: 1, highestModSeq: ModSeq(5))
        var seen = before
        seen.unseen = 0
        seen.highestModSeq = ModSeq(6)
        #expect(!NotifyState.isNews(before, before, messages))
        #expect(!NotifyState.isNews(before, seen, messages), "a flag change is not news without FlagChange")
        #expect(NotifyState.isNews(before, seen, withFlags))
        var arrived = before
        arrived.messages = 3
        arrived.uidNext = UID(4)
        #expect(NotifyState.isNews(before, arrived, messages))
        // A mailbox the session did not know starts empty: a new empty one is not news, one with mail is.
        let empty = NotifyState.Status(messages: 0, uidNext: UID(1), uidValidity: UIDValidity(9), unseen: 0, highestModSeq: ModSeq(1))
        #expect(!NotifyState.isNews(nil, empty, messages))
        #expect(NotifyState.isNews(nil, before, messages))
    }
}
