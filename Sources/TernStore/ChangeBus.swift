// The change bus: every session of an account learns at once what changed (for IDLE and untagged EXISTS,
// EXPUNGE, FETCH FLAGS and VANISHED), whichever loop it lives on. The store publishes after each commit; a
// subscriber's callback is called on the committing thread and must only hand the change to its own loop
// (e.g. `EventLoop.execute`), never block.
//
// Changes made by another process (ternctl) do not pass through this bus directly: `StoreRegistry.checkExternalChanges`
// (run by ternd twice a second) sees the index's data version move and publishes `.changedElsewhere`.

import Synchronization

public enum StoreChange: Sendable, Equatable {
    case appended(mailbox: MailboxID, uids: [UID], modSeq: ModSeq)
    case flagsChanged(mailbox: MailboxID, changes: [FlagUpdate], modSeq: ModSeq)
    case keywordsChanged(mailbox: MailboxID, changes: [KeywordUpdate], modSeq: ModSeq)
    case expunged(mailbox: MailboxID, uids: [UID], modSeq: ModSeq)
    /// Mailboxes were created, renamed or deleted.
    case mailboxesChanged
    /// Another process (ternctl) committed to this account's index: anything may have changed.
    case changedElsewhere
}

public struct FlagUpdate: Sendable, Equatable {
    public let uid: UID
    public let flags: SystemFlags
    public init(uid: UID, flags: SystemFlags) {
        self.uid = uid
        self.flags = flags
    }
}

public struct KeywordUpdate: Sendable, Equatable {
    public let uid: UID
    public let keywords: [String]
    public init(uid: UID, keywords: [String]) {
        self.uid = uid
        self.keywords = keywords
    }
}

/// A subscription; the subscriber keeps it, and `cancel()` (or dropping it) ends it.
public final class ChangeSubscription: Sendable {
    let id: UInt64
    private let bus: ChangeBus
    init(id: UInt64, bus: ChangeBus) {
        self.id = id
        self.bus = bus
    }
    public func cancel() { bus.remove(id) }
    deinit { bus.remove(id) }
}

public final class ChangeBus: Sendable {
    private let subscribers = Mutex<(next: UInt64, callbacks: [UInt64: @Sendable (StoreChange) -> Void])>((1, [:]))
    private let published = Atomic<UInt64>(0)

    /// How many changes were published so far. It moves before the committing thread returns to its caller, so a
    /// session that sees an unchanged count knows no commit acknowledged before now is unreported — whatever the
    /// order in which its loop handles the wake-up and the client's next command.
    public var sequence: UInt64 { published.load(ordering: .acquiring) }

    public init() {}

    public func subscribe(_ callback: @escaping @Sendable (StoreChange) -> Void) -> ChangeSubscription {
        let id = subscribers.withLock { state in
            defer { state.next += 1 }
            state.callbacks[state.next] = callback
            return state.next
        }
        return ChangeSubscription(id: id, bus: self)
    }

    func remove(_ id: UInt64) { _ = subscribers.withLock { $0.callbacks.removeValue(forKey: id) } }

    public var subscriberCount: Int { subscribers.withLock { $0.callbacks.count } }

    public func publish(_ change: StoreChange) {
        published.add(1, ordering: .releasing)
        // Call outside the lock: a callback may subscribe or cancel.
        let callbacks = subscribers.withLock { Array($0.callbacks.values) }
        for callback in callbacks { callback(change) }
    }
}
