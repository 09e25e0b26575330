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

    /// Under concurrent appends, each event carries the MODSEQ its message was stored with (not a later one).
    @Test func appendedEventsCarryTheStoredModSeq() throws {
        let (store, _) = try makeStore()
        let published = Mutex<[UID: ModSeq]>([:])
        let subscription = store.changes.subscribe { change in
            if case .appended(_, let uids, let modSeq) = change {
                published.withLock { for uid in uids { $0[uid] = modSeq } }
            }
        }
        let group = DispatchGroup()
        for thread in 0..<8 {
            group.enter()
            Thread.detachNewThread {
                for index in 0..<25 { _ = try? store.append(to: "INBOX", message("\(thread)-\(index)")) }
                group.leave()
            }
        }
        group.wait()
        let stored = Dictionary(uniqueKeysWithValues: try store.messages(in: "INBOX").map { ($0.uid, $0.modSeq) })
        #expect(stored.count == 200)
        #expect(published.withLock { $0 } == stored)
        _ = subscription
    }

    /// Restoring many messages is one commit: one event per mailbox, all UIDs in it.
    @Test func restoreIsOneCommit() throws {
        let (store, _) = try makeStore()
        for index in 0..<20 { try store.append(to: "INBOX", message("r\(index)")) }
        try store.expunge("INBOX", uids: (1...20).map { UID($0) })
        let events = Mutex<[StoreChange]>([])
        let subscription = store.changes.subscribe { change in events.withLock { $0.append(change) } }
        let restored = try store.restore(try store.deletedMessages().map(\.id))
        #expect(restored.count == 20)
        let appended = events.withLock { $0 }.compactMap { change -> [UID]? in
            if case .appended(_, let uids, _) = change { return uids } else { return nil }
        }
        #expect(appended.count == 1 && appended.first?.count == 20)
        #expect(Set(try store.messages(in: "INBOX").map(\.modSeq)).count == 1, "one commit, one MODSEQ")
        _ = subscription
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
