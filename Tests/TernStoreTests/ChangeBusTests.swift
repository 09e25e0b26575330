import Foundation
import Synchronization
import Testing
import TernStore

@Suite struct ChangeBusTests {
    /// A session subscribed to the account sees appends, flag changes, expunges and mailbox changes, in order,
    /// with MODSEQs that only grow.
    @Test func subscribersSeeEveryCommittedChange() throws {
        let (store, _) = try makeStore()
        let seen = Mutex<[StoreChange]>([])
        let subscription = store.changes.subscribe { change in seen.withLock { $0.append(change) } }
        let inbox = try #require(try store.mailbox(named: "INBOX")).id
        let (_, uid) = try store.append(to: "INBOX", message("hello"))
        try store.setFlags("INBOX", uids: [uid], [.seen], .add)
        try store.setFlags("INBOX", uids: [uid], [.seen], .add) // no change: nothing published
        try store.expunge("INBOX", uids: [uid])
        _ = try store.createMailbox("Later")
        let changes = seen.withLock { $0 }
        #expect(changes.count == 4)
        guard changes.count == 4,
              case .appended(inbox, [uid], let m1) = changes[0],
              case .flagsChanged(inbox, [FlagUpdate(uid: uid, flags: [.seen])], let m2) = changes[1],
              case .expunged(inbox, [uid], let m3) = changes[2],
              case .mailboxesChanged = changes[3] else {
            Issue.record("unexpected changes: \(changes)")
            return
        }
        #expect(m1 < m2 && m2 < m3)
        subscription.cancel()
        try store.append(to: "INBOX", message("unseen by the cancelled subscriber"))
        #expect(seen.withLock { $0.count } == 4)
        #expect(store.changes.subscriberCount == 0)
    }

    @Test func droppingTheSubscriptionUnsubscribes() throws {
        let (store, _) = try makeStore()
        do {
            let subscription = store.changes.subscribe { _ in }
            #expect(store.changes.subscriberCount == 1)
            _ = subscription
        }
        #expect(store.changes.subscriberCount == 0)
    }
}
