// One `AccountStore` per account per process, shared by every session and delivery of that account: the change bus
// lives on the store, so sessions only see each other's changes if they share it. Stores open on first use and
// close when the last user lets go.

import Synchronization

public final class StoreRegistry: Sendable {
    public let dataDirectory: String
    private let clock: @Sendable () -> Int64
    private let entries = Mutex<[String: (store: AccountStore, users: Int)]>([:])
    /// Serialises opening, so two sessions logging in at once do not both run an account's recovery.
    private let opening = Mutex<Void>(())

    public init(dataDirectory: String, clock: @escaping @Sendable () -> Int64 = AccountStore.systemClock) {
        self.dataDirectory = dataDirectory
        self.clock = clock
    }

    /// Commits by other processes (ternctl restoring mail, importing, changing flags) do not pass through this
    /// process's change bus. `checkExternalChanges` (run by the daemon twice a second) looks at every open store's data version and,
    /// when it moved, publishes `.changedElsewhere` so sessions ask the store what changed. It also moves for this
    /// process's own commits; those cause one redundant (cheap) catch-up query per session.
    private let versions = Mutex<[String: Int64]>([:])

    /// One pass of the watch. Returns how many stores announced changes.
    @discardableResult
    public func checkExternalChanges() -> Int {
        let open = entries.withLock { $0.map { ($0.key, $0.value.store) } }
        var announced = 0
        for (account, store) in open {
            guard let version = store.dataVersion() else { continue }
            let previous = versions.withLock { versions -> Int64? in
                defer { versions[account] = version }
                return versions[account]
            }
            if let previous, previous != version {
                store.changes.publish(.changedElsewhere)
                announced += 1
            }
        }
        let live = entries.withLock { Set($0.keys) }
        versions.withLock { versions in
            versions = versions.filter { live.contains($0.key) }
        }
        return announced
    }


    /// The account's store, opened (and recovered) if needed. Blocking: call it off the event loops. Each call
    /// must be paired with `release`.
    public func acquire(_ account: String) throws(StoreError) -> AccountStore {
        if let store = entries.withLock({ entries -> AccountStore? in
            guard let entry = entries[account] else { return nil }
            entries[account] = (entry.store, entry.users + 1)
            return entry.store
        }) { return store }
        return try opening.withLock { _ throws(StoreError) -> AccountStore in
            if let store = entries.withLock({ entries -> AccountStore? in
                guard let entry = entries[account] else { return nil }
                entries[account] = (entry.store, entry.users + 1)
                return entry.store
            }) { return store }
            let store = try AccountStore(root: AccountLocation.root(dataDirectory: dataDirectory, account: account), clock: clock)
            entries.withLock { $0[account] = (store, 1) }
            // The watch compares against the version at opening, so a change right after it is not missed.
            if let version = store.dataVersion() { versions.withLock { $0[account] = version } }
            return store
        }
    }

    public func release(_ account: String) {
        entries.withLock { entries in
            guard let entry = entries[account] else { return }
            if entry.users <= 1 {
                entries[account] = nil
            } else {
                entries[account] = (entry.store, entry.users - 1)
            }
        }
    }

    /// Accounts with an open store, for statistics.
    public var openCount: Int { entries.withLock { $0.count } }
}
