// Migration at first login: with an old server configured ([migration] in the config), a user of one of our
// domains who has no account here yet logs in with the password the old server knows; the old server checks it,
// the account is created with it (must-change-password if it does not meet the policy here: accepted this once),
// and the mail is copied in the background while the user already works — INBOX first, newest first, so an IDLE
// client sees recent mail arrive at once.
//
// The old server is only asked about accounts that are not here, and about accounts whose migration it started and
// did not finish (resumed at the next login with the password just verified; passwords are never stored in clear).
// At most `concurrency` accounts copy at the same time; a failed copy is tried again at the user's next login.

public import Logging
import Synchronization
public import TernAuth
import TernCore
import TernPosix
public import TernStore

public struct FirstLoginSettings: Sendable {
    public var server: OldServer
    public var caFile: String?
    public var pinnedSHA256: [UInt8]?
    /// The old login name: the whole address, or only its local part.
    public var loginIsLocalPart = false
    public var concurrency = 4

    public init(server: OldServer) {
        self.server = server
    }
}

public final class FirstLoginMigration: AccountProvisioner {
    private let settings: FirstLoginSettings
    private let trust: CertificateTrust
    private let directory: Directory
    private let stores: StoreRegistry
    private let policy: PasswordPolicy
    private let logger: Logger

    private struct State {
        /// Accounts copying or waiting to.
        var active: Set<String> = []
        /// Accounts with nothing pending (never migrated here, or finished): no store lookup at their logins.
        var settled: Set<String> = []
        var waiting: [(EmailAddress, String)] = []
        var workers = 0
    }
    private let state = Mutex(State())

    public init(settings: FirstLoginSettings, directory: Directory, stores: StoreRegistry, policy: PasswordPolicy,
                logger: Logger) throws(MigrationError) {
        self.settings = settings
        trust = try CertificateTrust(caFile: settings.caFile, pinnedSHA256: settings.pinnedSHA256)
        self.directory = directory
        self.stores = stores
        self.policy = policy
        self.logger = logger
    }

    func login(for address: EmailAddress) -> String {
        settings.loginIsLocalPart ? address.localPart : address.description
    }

    /// The key the Migrator records the run under (see `Migrator.sourceKey`).
    func sourceKey(_ address: EmailAddress) -> String { Migrator.sourceKey(login: login(for: address)) }

    /// Old-server checks in flight. They run on the login threads ternd shares with every protocol, and an old
    /// server that hangs must not take them all: beyond `maxChecks` a first login fails at once (try again later).
    private let checks = Atomic<Int>(0)
    static let maxChecks = 2

    public func provision(_ address: EmailAddress, password: String) -> ProvisionOutcome {
        guard checks.add(1, ordering: .relaxed).newValue <= Self.maxChecks else {
            checks.subtract(1, ordering: .relaxed)
            logger.warning("first-login migration: too many old-server checks at once", metadata: ["account": "\(address)"])
            return .unavailable("too many first logins at once")
        }
        defer { checks.subtract(1, ordering: .relaxed) }
        do {
            try Migrator.checkLogin(server: settings.server, trust: trust, login: login(for: address), password: password,
                                    timeout: .seconds(15))
        } catch {
            if case .loginFailed = error { return .refused }
            logger.warning("first-login migration: old server unavailable",
                           metadata: ["account": "\(address)", "error": "\(error)"])
            return .unavailable(error.description)
        }
        let mustChange = policy.violation(of: password) != nil
        do {
            let hash = try PasswordHash.make(password)
            do {
                try directory.addAccount(address, passwordHash: hash, mustChangePassword: mustChange)
            } catch {
                // Two first logins at once: the other one created it.
                guard case .accountExists = error else { throw error }
            }
            // Pending before anything else can fail: a restart resumes it at the next login.
            let store = try stores.acquire(address.description)
            defer { stores.release(address.description) }
            try store.ensureStandardMailboxes()
            if try store.migrationRun(sourceKey(address)) == nil {
                try store.recordMigrationRun(sourceKey(address), completed: false)
            }
        } catch {
            logger.error("first-login migration: cannot create the account", metadata: ["account": "\(address)", "error": "\(error)"])
            return .unavailable("\(error)")
        }
        logger.notice("account created from the old server", metadata: [
            "account": "\(address)", "server": "\(settings.server)", "must_change_password": "\(mustChange)",
        ])
        return .created(mustChangePassword: mustChange)
    }

    public func loggedIn(_ address: EmailAddress, password: String) {
        let key = address.description
        let known = state.withLock { $0.settled.contains(key) || $0.active.contains(key) }
        guard !known else { return }
        let pending: Bool
        do {
            let store = try stores.acquire(key)
            defer { stores.release(key) }
            guard let run = try store.migrationRun(sourceKey(address)) else {
                pending = false
                return settle(key)
            }
            pending = run.completedAt == nil
        } catch {
            return
        }
        guard pending else { return settle(key) }
        let startWorker: Bool = state.withLock { state in
            guard state.active.insert(key).inserted else { return false }
            state.waiting.append((address, password))
            guard state.workers < settings.concurrency else { return false }
            state.workers += 1
            return true
        }
        if startWorker { startThread(name: "tern-migrate") { [self] in work() } }
    }

    private func settle(_ key: String) {
        state.withLock { _ = $0.settled.insert(key) }
    }

    private func work() {
        while let (address, password) = state.withLock({ state -> (EmailAddress, String)? in
            guard !state.waiting.isEmpty else {
                state.workers -= 1
                return nil
            }
            return state.waiting.removeFirst()
        }) {
            let key = address.description
            var finished = false
            do {
                let store = try stores.acquire(key)
                defer { stores.release(key) }
                var options = MigrationOptions()
                options.newestFirst = true
                if let record = try directory.account(address) {
                    options.quota = Quota(maxBytes: record.quotaBytes, maxMessages: record.quotaMessages)
                }
                logger.info("first-login migration started", metadata: ["account": "\(key)", "server": "\(settings.server)"])
                let summary = try Migrator(store: store, server: settings.server, trust: trust, login: login(for: address),
                                           password: password, options: options).run()
                finished = summary.complete
                logger.notice("first-login migration \(summary.complete ? "finished" : "incomplete")", metadata: [
                    "account": "\(key)", "messages": "\(summary.messagesCopied)", "bytes": "\(summary.bytesCopied)",
                    "skipped": "\(summary.skipped.count)", "seconds": "\(Int(summary.seconds))",
                ])
            } catch {
                logger.warning("first-login migration failed; it goes on at the next login",
                               metadata: ["account": "\(key)", "error": "\(error)"])
            }
            state.withLock { state in
                state.active.remove(key)
                if finished { state.settled.insert(key) }
            }
        }
    }
}
