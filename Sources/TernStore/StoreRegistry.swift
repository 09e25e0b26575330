// One `AccountStore` per account per process, shared by every session and delivery of that account: the change bus
// lives on the store, so sessions only see each other's changes if they share it. Stores open on first use; one
// nobody has used for `idleLinger` is closed by a `checkExternalChanges` pass, on the daemon's watch thread — closing
// SQLite may checkpoint the WAL (disk I/O), which must not happen on the event loop whose session let go last. The
// linger keeps the store of an account that receives mail now and then open between deliveries: opening one costs
// three SQLite connections and a recovery pass over its folders (bench/smtp, one message per session to 50
// accounts: every delivery reopened its store).

import Glibc
import Synchronization

public final class StoreRegistry: Sendable {
    public let dataDirectory: String
    /// ternd's delivery journal, given to every store it opens (nil: appends wait for a syncfs).
    public let journal: DeliveryJournal?
    private let clock: @Sendable () -> Int64
    /// How long a store nobody uses stays open.
    private let idleLinger: Duration
    private let entries = Mutex<[String: (store: AccountStore, users: Int, idleSince: ContinuousClock.Instant)]>([:])
    /// Serialises opening, so two sessions logging in at once do not both run an account's recovery.
    private let opening = Mutex<Void>(())

    public init(dataDirectory: String, journal: DeliveryJournal? = nil, idleLinger: Duration = .seconds(60),
                clock: @escaping @Sendable () -> Int64 = AccountStore.systemClock) {
        self.dataDirectory = dataDirectory
        self.journal = journal
        self.idleLinger = idleLinger
        self.clock = clock
    }

    /// Opens the store at `root`, first putting back `records`, the journal's deliveries of that account (a power
    /// loss may have taken their files or rows); if it does not open, the journal keeps them for the next try.
    /// Call with `opening` held.
    private func open(root: String, replaying records: [JournalRecord]) throws(StoreError) -> AccountStore {
        do throws(StoreError) {
            return try AccountStore(root: root, clock: clock, journal: journal, replay: records)
        } catch {
            journal?.giveBack(records, for: root)
            throw error
        }
    }

    /// Replays what the delivery journal holds from the last run into every account it names (stores opened at
    /// first use replay their own share first), then empties it. ternd calls it once it runs as its own user, so
    /// the files it writes have the right owner. An account whose store does not open keeps its records (its next
    /// open retries them) and the journal is not emptied meanwhile; the others are replayed all the same. Records of
    /// an account folder gone since (removed by hand, the data folder moved) are dropped: there is nowhere to put
    /// them back, and making a new store there would only hide them. Returns the deliveries replayed, those
    /// dropped, and the accounts that failed.
    public func replayJournal() -> (replayed: Int, skipped: Int, failures: [(root: String, error: StoreError)]) {
        guard let journal else { return (0, 0, []) }
        var replayed = 0
        var skipped = 0
        var failures: [(root: String, error: StoreError)] = []
        for root in journal.pendingRoots {
            opening.withLock { _ in
                let records = journal.takeRecords(for: root)
                guard !records.isEmpty else { return }  // a session's open took them first
                guard access(root, F_OK) == 0 else {
                    skipped += records.count
                    return
                }
                do throws(StoreError) {
                    _ = try open(root: root, replaying: records)  // put back, then closed
                    replayed += records.count
                } catch {
                    failures.append((root, error))
                }
            }
        }
        if failures.isEmpty {
            do throws(StoreError) { try journal.checkpoint() } catch { failures.append((journal.path, error)) }
        }
        return (replayed, skipped, failures)
    }

    /// Commits by other processes (ternctl restoring mail, importing, changing flags) do not pass through this
    /// process's change bus. `checkExternalChanges` (run by the daemon twice a second) looks at every open store's data version and,
    /// when it moved, publishes `.changedElsewhere` so sessions ask the store what changed. It also moves for this
    /// process's own commits; those cause one redundant (cheap) catch-up query per session.
    private let versions = Mutex<[String: Int64]>([:])

    /// One pass of the watch. Returns how many stores announced changes.
    @discardableResult
    public func checkExternalChanges() -> Int {
        // Stores nobody uses go first; they are released here, on this thread, when `unused` goes out of scope.
        let now = ContinuousClock.now
        let unused: [AccountStore] = entries.withLock { entries in
            let idle = entries.filter { $0.value.users == 0 && now - $0.value.idleSince >= idleLinger }
            for account in idle.keys { entries[account] = nil }
            return idle.values.map(\.store)
        }
        _ = unused
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
        if let store = retainOpen(account) { return store }
        return try opening.withLock { _ throws(StoreError) -> AccountStore in
            if let store = retainOpen(account) { return store }
            let root = AccountLocation.root(dataDirectory: dataDirectory, account: account)
            let store = try open(root: root, replaying: journal?.takeRecords(for: root) ?? [])
            // Full-text entries a crash left unwritten (or an index older than them) are made in the background.
            store.indexMissingText()
            entries.withLock { $0[account] = (store, 1, .now) }
            // The watch compares against the version at opening, so a change right after it is not missed.
            if let version = store.dataVersion() { versions.withLock { $0[account] = version } }
            return store
        }
    }

    /// The store of `account` with one more user, if it is open.
    private func retainOpen(_ account: String) -> AccountStore? {
        entries.withLock { entries in
            guard let entry = entries[account] else { return nil }
            entries[account] = (entry.store, entry.users + 1, entry.idleSince)
            return entry.store
        }
    }

    /// One user fewer. The store stays open (a reconnecting phone, the next delivery find it) for `idleLinger`.
    public func release(_ account: String) {
        entries.withLock { entries in
            guard let entry = entries[account] else { return }
            let users = max(0, entry.users - 1)
            entries[account] = (entry.store, users, users == 0 ? .now : entry.idleSince)
        }
    }

    /// Accounts with an open store, for statistics.
    public var openCount: Int { entries.withLock { $0.count } }
}
