// The directory: domains, accounts, aliases and send-as identities in `directory.sqlite` (WAL), shared by ternd
// and ternctl. Each change is one transaction, so a concurrent writer (the other process) never sees half of it,
// and SQLite's busy timeout makes the two wait for each other instead of failing.
//
// Rules kept here (not in the CLI), so every caller gets them:
// - an account's address is its login name, lower-case, in a domain we serve;
// - an alias maps an address (or `@domain`, the domain's catch-all) to one or more accounts; it cannot be an
//   account's address and cannot point at another alias, so alias loops cannot exist;
// - an identity is an extra sender address of one account, in a domain we serve;
// - anything that invalidates a login (password, disabled, must-change) bumps the account's credential serial,
//   which is how a login cache in another process notices.

import Glibc
import TernSQLite

public struct Account: Sendable, Equatable {
    public var address: EmailAddress
    public var displayName: String
    public var passwordHash: String
    public var mustChangePassword: Bool
    public var isDisabled: Bool
    public var quotaBytes: Int64?
    public var quotaMessages: Int64?
    public var retentionDays: Int?
    public var credentialSerial: Int64
    public var createdAt: Int64
    public var lastLoginAt: Int64?
}

public struct DomainInfo: Sendable, Equatable {
    public let name: String
    public let accountCount: Int
    public let createdAt: Int64

    public init(name: String, accountCount: Int, createdAt: Int64) {
        self.name = name
        self.accountCount = accountCount
        self.createdAt = createdAt
    }
}

public struct Alias: Sendable, Equatable {
    /// `user@domain`, or `@domain` for a catch-all.
    public let address: String
    public let targets: [EmailAddress]
}

/// What to change on an account; nil leaves a field as it is. `.some(nil)` clears an optional limit.
public struct AccountChanges: Sendable {
    public var displayName: String?
    public var quotaBytes: Int64??
    public var quotaMessages: Int64??
    public var retentionDays: Int??
    public var isDisabled: Bool?
    public var mustChangePassword: Bool?
    public init() {}
}

/// Where an address stands for a new account.
public enum AccountPlacement: Sendable, Equatable {
    /// It can be created.
    case new
    /// An account has this address already.
    case exists
    /// Its domain is not served.
    case unknownDomain
    /// An alias has this address.
    case isAlias
}

/// One account for `Directory.importAccounts`: its password is already a crypt hash.
public struct ImportedAccount: Sendable, Equatable {
    public var address: EmailAddress
    public var passwordHash: String
    public var displayName: String
    public var quotaBytes: Int64?

    public init(address: EmailAddress, passwordHash: String, displayName: String = "", quotaBytes: Int64? = nil) {
        self.address = address
        self.passwordHash = passwordHash
        self.displayName = displayName
        self.quotaBytes = quotaBytes
    }
}

public struct AccountImportOptions: Sendable, Equatable {
    /// An existing account gets the imported hash (and its cached logins end) instead of being skipped.
    public var replacePasswords = false
    /// A domain not served yet is added instead of refusing its accounts.
    public var createDomains = false
    /// Created and re-hashed accounts must choose a new password at their next login.
    public var mustChangePassword = false

    public init(replacePasswords: Bool = false, createDomains: Bool = false, mustChangePassword: Bool = false) {
        self.replacePasswords = replacePasswords
        self.createDomains = createDomains
        self.mustChangePassword = mustChangePassword
    }
}

public enum AccountImportOutcome: Sendable, Equatable {
    case created
    case updated
    case skippedExisting
    case refused(DirectoryError)
}

public enum DirectoryError: Error, Equatable, CustomStringConvertible {
    case domainExists(String)
    case unknownDomain(String)
    case domainNotEmpty(String, accounts: Int, aliases: Int)
    case accountExists(String)
    case unknownAccount(String)
    case addressIsAlias(String)
    case aliasExists(String, target: String)
    case aliasIsAccount(String)
    case aliasTargetIsAlias(alias: String, target: String)
    case unknownAlias(String)
    case identityExists(String, account: String)
    case identityIsAnotherAccount(String)
    case unknownIdentity(String, account: String)
    case invalid(String)
    case storage(String)

    public var description: String {
        switch self {
        case .domainExists(let name): return "domain \(name) already exists"
        case .unknownDomain(let name): return "domain \(name) is not served here (add it with `ternctl domain add \(name)`)"
        case .domainNotEmpty(let name, let accounts, let aliases):
            return "domain \(name) still has \(accounts) account(s) and \(aliases) alias(es); remove them first"
        case .accountExists(let address): return "account \(address) already exists"
        case .unknownAccount(let address): return "no account \(address)"
        case .addressIsAlias(let address): return "\(address) is already an alias; remove the alias first"
        case .aliasExists(let address, let target): return "alias \(address) → \(target) already exists"
        case .aliasIsAccount(let address): return "\(address) is an account; an alias cannot have the same address"
        case .aliasTargetIsAlias(let alias, let target):
            return "alias \(alias) cannot point to \(target): it is an alias, not an account (alias chains and loops are not allowed)"
        case .unknownAlias(let address): return "no alias \(address)"
        case .identityExists(let address, let account): return "\(account) can already send as \(address)"
        case .identityIsAnotherAccount(let address): return "\(address) is another account's address"
        case .unknownIdentity(let address, let account): return "\(account) has no identity \(address)"
        case .invalid(let message): return message
        case .storage(let message): return "directory database error: \(message)"
        }
    }
}

public final class Directory: Sendable {
    private let database: SharedDatabase
    private let clock: @Sendable () -> Int64

    static let migrations = [
        """
        CREATE TABLE domains (
            name TEXT PRIMARY KEY,
            created_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE accounts (
            address TEXT PRIMARY KEY,
            domain TEXT NOT NULL REFERENCES domains(name),
            display_name TEXT NOT NULL DEFAULT '',
            password_hash TEXT NOT NULL,
            must_change_password INTEGER NOT NULL DEFAULT 0,
            disabled INTEGER NOT NULL DEFAULT 0,
            quota_bytes INTEGER,
            quota_messages INTEGER,
            retention_days INTEGER,
            credential_serial INTEGER NOT NULL DEFAULT 1,
            created_at INTEGER NOT NULL,
            last_login_at INTEGER
        ) WITHOUT ROWID;
        CREATE INDEX accounts_domain ON accounts(domain);
        CREATE TABLE aliases (
            address TEXT NOT NULL,
            domain TEXT NOT NULL REFERENCES domains(name),
            account TEXT NOT NULL REFERENCES accounts(address) ON DELETE CASCADE,
            PRIMARY KEY (address, account)
        ) WITHOUT ROWID;
        CREATE INDEX aliases_account ON aliases(account);
        CREATE TABLE identities (
            account TEXT NOT NULL REFERENCES accounts(address) ON DELETE CASCADE,
            address TEXT NOT NULL,
            PRIMARY KEY (account, address)
        ) WITHOUT ROWID;
        """,
    ]

    /// Opens (creating and migrating) the directory at `path`.
    public static let systemClock: @Sendable () -> Int64 = { Int64(time(nil)) }

    public init(path: String, clock: @escaping @Sendable () -> Int64 = Directory.systemClock) throws {
        let database = try Database(path: path)
        try database.migrate(Self.migrations)
        self.database = SharedDatabase(database)
        self.clock = clock
    }

    @discardableResult
    private func write<R>(_ body: (Database) throws -> R) throws(DirectoryError) -> R {
        do {
            return try database.withDatabase { database in try database.transaction { try body(database) } }
        } catch let error as DirectoryError {
            throw error
        } catch {
            throw .storage("\(error)")
        }
    }

    private func read<R>(_ body: (Database) throws -> R) throws(DirectoryError) -> R {
        do {
            return try database.withDatabase(body)
        } catch let error as DirectoryError {
            throw error
        } catch {
            throw .storage("\(error)")
        }
    }

    // MARK: Domains

    public func addDomain(_ name: String) throws(DirectoryError) {
        let domain = name.lowercased()
        guard EmailAddress.isDomain(domain) else { throw .invalid("'\(name)' is not a valid domain name") }
        try write { db in
            guard try db.query("SELECT 1 FROM domains WHERE name = ?", [domain]).isEmpty else {
                throw DirectoryError.domainExists(domain)
            }
            try insertDomain(db, domain)
        }
    }

    private func insertDomain(_ db: Database, _ domain: String) throws {
        try db.query("INSERT INTO domains (name, created_at) VALUES (?, ?)", [domain, clock()])
    }

    public func domains() throws(DirectoryError) -> [DomainInfo] {
        try read { db in
            try db.query("""
                SELECT d.name, d.created_at, (SELECT count(*) FROM accounts a WHERE a.domain = d.name)
                FROM domains d ORDER BY d.name
                """).map { DomainInfo(name: $0.string(0)!, accountCount: Int($0.int(2)!), createdAt: $0.int(1)!) }
        }
    }

    public func isLocalDomain(_ name: String) throws(DirectoryError) -> Bool {
        try read { db in try !db.query("SELECT 1 FROM domains WHERE name = ?", [name.lowercased()]).isEmpty }
    }

    public func removeDomain(_ name: String) throws(DirectoryError) {
        let domain = name.lowercased()
        try write { db in
            guard try !db.query("SELECT 1 FROM domains WHERE name = ?", [domain]).isEmpty else {
                throw DirectoryError.unknownDomain(domain)
            }
            let accounts = try db.query("SELECT count(*) FROM accounts WHERE domain = ?", [domain])[0].int(0)!
            let aliases = try db.query("SELECT count(DISTINCT address) FROM aliases WHERE domain = ?", [domain])[0].int(0)!
            guard accounts == 0 && aliases == 0 else {
                throw DirectoryError.domainNotEmpty(domain, accounts: Int(accounts), aliases: Int(aliases))
            }
            try db.query("DELETE FROM domains WHERE name = ?", [domain])
        }
    }

    // MARK: Accounts

    private static let accountColumns = """
        address, display_name, password_hash, must_change_password, disabled, quota_bytes, quota_messages,
        retention_days, credential_serial, created_at, last_login_at
        """

    private static func account(_ row: SQLiteRow) throws -> Account {
        Account(
            address: try EmailAddress(parsing: row.string(0)!), displayName: row.string(1) ?? "",
            passwordHash: row.string(2)!, mustChangePassword: row.bool(3), isDisabled: row.bool(4),
            quotaBytes: row.int(5), quotaMessages: row.int(6), retentionDays: row.int(7).map(Int.init),
            credentialSerial: row.int(8)!, createdAt: row.int(9)!, lastLoginAt: row.int(10))
    }

    /// Adds an account with an already computed hash (see `PasswordHash`).
    public func addAccount(
        _ address: EmailAddress, passwordHash: String, displayName: String = "", mustChangePassword: Bool = false
    ) throws(DirectoryError) {
        let hash: String
        do { hash = try PasswordHash.normalize(passwordHash) } catch { throw .invalid(error.description) }
        try write { db in
            switch try Self.placement(db, address) {
            case .new: break
            case .unknownDomain: throw DirectoryError.unknownDomain(address.domain)
            case .exists: throw DirectoryError.accountExists(address.description)
            case .isAlias: throw DirectoryError.addressIsAlias(address.description)
            }
            try insertAccount(db, address, hash: hash, displayName: displayName, mustChangePassword: mustChangePassword)
        }
    }

    /// Where a new account's address stands: the one set of checks `addAccount` and `importAccounts` share.
    private static func placement(_ db: Database, _ address: EmailAddress) throws -> AccountPlacement {
        if try !db.query("SELECT 1 FROM accounts WHERE address = ?", [address.description]).isEmpty { return .exists }
        if try db.query("SELECT 1 FROM domains WHERE name = ?", [address.domain]).isEmpty { return .unknownDomain }
        if try !db.query("SELECT 1 FROM aliases WHERE address = ?", [address.description]).isEmpty { return .isAlias }
        return .new
    }

    /// Inserts an account whose placement is `.new` and whose hash is normalized.
    private func insertAccount(
        _ db: Database, _ address: EmailAddress, hash: String, displayName: String, mustChangePassword: Bool,
        quotaBytes: Int64? = nil
    ) throws {
        try db.query("""
            INSERT INTO accounts (address, domain, display_name, password_hash, must_change_password, quota_bytes,
                                  created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """, [address.description, address.domain, displayName, hash, mustChangePassword, quotaBytes, clock()])
        // It may have been someone's send-as identity; an account's own address is its own.
        try db.query("DELETE FROM identities WHERE address = ?", [address.description])
    }

    public func account(_ address: EmailAddress) throws(DirectoryError) -> Account? {
        try read { db in
            try db.query("SELECT \(Self.accountColumns) FROM accounts WHERE address = ?", [address.description])
                .first.map(Self.account)
        }
    }

    public func accounts(inDomain domain: String? = nil) throws(DirectoryError) -> [Account] {
        try read { db in
            let rows = if let domain {
                try db.query("SELECT \(Self.accountColumns) FROM accounts WHERE domain = ? ORDER BY address",
                             [domain.lowercased()])
            } else {
                try db.query("SELECT \(Self.accountColumns) FROM accounts ORDER BY address")
            }
            return try rows.map(Self.account)
        }
    }

    public func removeAccount(_ address: EmailAddress) throws(DirectoryError) {
        try write { db in
            try db.query("DELETE FROM accounts WHERE address = ?", [address.description])
            guard db.changes == 1 else { throw DirectoryError.unknownAccount(address.description) }
        }
    }

    /// Sets a new hash; clears must-change-password unless told otherwise; invalidates cached logins.
    public func setPasswordHash(_ address: EmailAddress, _ hash: String, mustChange: Bool = false) throws(DirectoryError) {
        let normalized: String
        do { normalized = try PasswordHash.normalize(hash) } catch { throw .invalid(error.description) }
        try write { db in
            guard try Self.replaceHash(db, address, normalized, mustChange: mustChange) else {
                throw DirectoryError.unknownAccount(address.description)
            }
        }
    }

    /// Sets a normalized hash and bumps the credential serial; false if there is no such account.
    private static func replaceHash(_ db: Database, _ address: EmailAddress, _ hash: String, mustChange: Bool) throws -> Bool {
        try db.query("""
            UPDATE accounts SET password_hash = ?, must_change_password = ?,
            credential_serial = credential_serial + 1 WHERE address = ?
            """, [hash, mustChange, address.description])
        return db.changes == 1
    }

    /// Replaces an old-scheme hash after a successful login, only if it has not changed meanwhile. The password
    /// itself is unchanged, so cached logins stay valid (the serial is not bumped).
    public func upgradeHash(_ address: EmailAddress, from old: String, to new: String) throws(DirectoryError) {
        try write { db in
            try db.query("UPDATE accounts SET password_hash = ? WHERE address = ? AND password_hash = ?",
                         [new, address.description, old])
        }
    }

    public func updateAccount(_ address: EmailAddress, _ changes: AccountChanges) throws(DirectoryError) {
        if let quota = changes.quotaBytes, let value = quota, value < 0 { throw .invalid("quota must not be negative") }
        if let quota = changes.quotaMessages, let value = quota, value < 0 { throw .invalid("quota must not be negative") }
        if let days = changes.retentionDays, let value = days, !(0...3650).contains(value) {
            throw .invalid("retention must be 0...3650 days")
        }
        try write { db in
            guard try !db.query("SELECT 1 FROM accounts WHERE address = ?", [address.description]).isEmpty else {
                throw DirectoryError.unknownAccount(address.description)
            }
            let key = address.description
            if let name = changes.displayName {
                try db.query("UPDATE accounts SET display_name = ? WHERE address = ?", [name, key])
            }
            if let quota = changes.quotaBytes {
                try db.query("UPDATE accounts SET quota_bytes = ? WHERE address = ?", [quota, key])
            }
            if let quota = changes.quotaMessages {
                try db.query("UPDATE accounts SET quota_messages = ? WHERE address = ?", [quota, key])
            }
            if let days = changes.retentionDays {
                try db.query("UPDATE accounts SET retention_days = ? WHERE address = ?", [days, key])
            }
            if let disabled = changes.isDisabled {
                try db.query("""
                    UPDATE accounts SET disabled = ?, credential_serial = credential_serial + 1 WHERE address = ?
                    """, [disabled, key])
            }
            if let mustChange = changes.mustChangePassword {
                try db.query("""
                    UPDATE accounts SET must_change_password = ?, credential_serial = credential_serial + 1
                    WHERE address = ?
                    """, [mustChange, key])
            }
        }
    }

    public func recordLogin(_ address: EmailAddress) throws(DirectoryError) {
        try write { db in
            try db.query("UPDATE accounts SET last_login_at = ? WHERE address = ?", [clock(), address.description])
        }
    }

    /// The account's credential serial, for validating cached logins; nil if the account is gone.
    public func credentialSerial(_ address: EmailAddress) throws(DirectoryError) -> Int64? {
        try read { db in
            try db.query("SELECT credential_serial FROM accounts WHERE address = ?", [address.description]).first?.int(0)
        }
    }

    /// Changes when any process commits to the directory (cheap; no table is read).
    public func changeCounter() throws(DirectoryError) -> Int64 {
        try read { db in try db.dataVersion() }
    }

    // MARK: Importing many accounts (`ternctl user import`)

    /// Where each address stands, read in one snapshot: what an import would do before it is asked to.
    public func placements(_ addresses: [EmailAddress]) throws(DirectoryError) -> [AccountPlacement] {
        try read { db in try db.readTransaction { try addresses.map { try Self.placement(db, $0) } } }
    }

    /// Adds (or with `options.replacePasswords`, re-hashes) `accounts` in one transaction, with the same checks as
    /// `addAccount`; returns one outcome per account, in order, and the domains it created. The caller keeps
    /// batches small enough not to hold the write lock long (ternd's logins wait for it).
    public func importAccounts(
        _ accounts: [ImportedAccount], _ options: AccountImportOptions
    ) throws(DirectoryError) -> (outcomes: [AccountImportOutcome], createdDomains: [String]) {
        try write { db in
            var outcomes: [AccountImportOutcome] = []
            var createdDomains: [String] = []
            outcomes.reserveCapacity(accounts.count)
            for account in accounts {
                let address = account.address
                let hash: String
                do throws(PasswordHash.HashError) { hash = try PasswordHash.normalize(account.passwordHash) } catch {
                    outcomes.append(.refused(.invalid(error.description)))
                    continue
                }
                var placement = try Self.placement(db, address)
                if placement == .unknownDomain && options.createDomains {
                    try insertDomain(db, address.domain)
                    createdDomains.append(address.domain)
                    placement = try Self.placement(db, address)
                }
                switch placement {
                case .new:
                    try insertAccount(db, address, hash: hash, displayName: account.displayName,
                                      mustChangePassword: options.mustChangePassword, quotaBytes: account.quotaBytes)
                    outcomes.append(.created)
                case .exists where options.replacePasswords:
                    _ = try Self.replaceHash(db, address, hash, mustChange: options.mustChangePassword)
                    outcomes.append(.updated)
                case .exists:
                    outcomes.append(.skippedExisting)
                case .unknownDomain:
                    outcomes.append(.refused(.unknownDomain(address.domain)))
                case .isAlias:
                    outcomes.append(.refused(.addressIsAlias(address.description)))
                }
            }
            return (outcomes, createdDomains)
        }
    }

    // MARK: Aliases

    /// Adds `address → target`. `address` may be `@domain` for the domain's catch-all.
    public func addAlias(_ address: String, to target: EmailAddress) throws(DirectoryError) {
        let (key, domain) = try Self.aliasKey(address)
        try write { db in
            guard try !db.query("SELECT 1 FROM domains WHERE name = ?", [domain]).isEmpty else {
                throw DirectoryError.unknownDomain(domain)
            }
            guard try db.query("SELECT 1 FROM accounts WHERE address = ?", [key]).isEmpty else {
                throw DirectoryError.aliasIsAccount(key)
            }
            guard try !db.query("SELECT 1 FROM accounts WHERE address = ?", [target.description]).isEmpty else {
                if try !db.query("SELECT 1 FROM aliases WHERE address = ?", [target.description]).isEmpty {
                    throw DirectoryError.aliasTargetIsAlias(alias: key, target: target.description)
                }
                throw DirectoryError.unknownAccount(target.description)
            }
            guard try db.query("SELECT 1 FROM aliases WHERE address = ? AND account = ?",
                               [key, target.description]).isEmpty else {
                throw DirectoryError.aliasExists(key, target: target.description)
            }
            try db.query("INSERT INTO aliases (address, domain, account) VALUES (?, ?, ?)",
                         [key, domain, target.description])
        }
    }

    /// Removes one target of an alias, or the whole alias when `target` is nil.
    public func removeAlias(_ address: String, target: EmailAddress? = nil) throws(DirectoryError) {
        let (key, _) = try Self.aliasKey(address)
        try write { db in
            if let target {
                try db.query("DELETE FROM aliases WHERE address = ? AND account = ?", [key, target.description])
            } else {
                try db.query("DELETE FROM aliases WHERE address = ?", [key])
            }
            guard db.changes > 0 else { throw DirectoryError.unknownAlias(key) }
        }
    }

    public func aliases() throws(DirectoryError) -> [Alias] {
        try read { db in
            var result: [Alias] = []
            for row in try db.query("SELECT address, account FROM aliases ORDER BY address, account") {
                let target = try EmailAddress(parsing: row.string(1)!)
                if result.last?.address == row.string(0)! {
                    result[result.count - 1] = Alias(address: row.string(0)!, targets: result.last!.targets + [target])
                } else {
                    result.append(Alias(address: row.string(0)!, targets: [target]))
                }
            }
            return result
        }
    }

    /// The accounts mail for `recipient` goes to: the account itself, else its alias targets, else the domain's
    /// catch-all. Empty: unknown recipient.
    public func resolveRecipient(_ recipient: EmailAddress) throws(DirectoryError) -> [EmailAddress] {
        try read { db in
            let key = recipient.description
            if try !db.query("SELECT 1 FROM accounts WHERE address = ? AND disabled = 0", [key]).isEmpty {
                return [recipient]
            }
            for candidate in [key, "@" + recipient.domain] {
                let rows = try db.query("""
                    SELECT a.account FROM aliases a JOIN accounts c ON c.address = a.account
                    WHERE a.address = ? AND c.disabled = 0 ORDER BY a.account
                    """, [candidate])
                if !rows.isEmpty { return try rows.map { try EmailAddress(parsing: $0.string(0)!) } }
            }
            return []
        }
    }

    private static func aliasKey(_ address: String) throws(DirectoryError) -> (key: String, domain: String) {
        let lowered = address.lowercased()
        if lowered.hasPrefix("@") {
            let domain = String(lowered.dropFirst())
            guard EmailAddress.isDomain(domain) else { throw .invalid("'\(address)' is not @ followed by a domain") }
            return (lowered, domain)
        }
        do {
            let parsed = try EmailAddress(parsing: address)
            return (parsed.description, parsed.domain)
        } catch {
            throw .invalid(error.description)
        }
    }

    // MARK: Identities

    public func addIdentity(_ address: EmailAddress, for account: EmailAddress) throws(DirectoryError) {
        try write { db in
            guard try !db.query("SELECT 1 FROM accounts WHERE address = ?", [account.description]).isEmpty else {
                throw DirectoryError.unknownAccount(account.description)
            }
            guard try !db.query("SELECT 1 FROM domains WHERE name = ?", [address.domain]).isEmpty else {
                throw DirectoryError.unknownDomain(address.domain)
            }
            guard address != account else { throw DirectoryError.identityExists(address.description, account: account.description) }
            guard try db.query("SELECT 1 FROM accounts WHERE address = ?", [address.description]).isEmpty else {
                throw DirectoryError.identityIsAnotherAccount(address.description)
            }
            guard try db.query("SELECT 1 FROM identities WHERE account = ? AND address = ?",
                               [account.description, address.description]).isEmpty else {
                throw DirectoryError.identityExists(address.description, account: account.description)
            }
            try db.query("INSERT INTO identities (account, address) VALUES (?, ?)",
                         [account.description, address.description])
        }
    }

    public func removeIdentity(_ address: EmailAddress, for account: EmailAddress) throws(DirectoryError) {
        try write { db in
            try db.query("DELETE FROM identities WHERE account = ? AND address = ?",
                         [account.description, address.description])
            guard db.changes == 1 else {
                throw DirectoryError.unknownIdentity(address.description, account: account.description)
            }
        }
    }

    public func identities(of account: EmailAddress? = nil) throws(DirectoryError) -> [(account: EmailAddress, address: EmailAddress)] {
        try read { db in
            let rows = if let account {
                try db.query("SELECT account, address FROM identities WHERE account = ? ORDER BY address",
                             [account.description])
            } else {
                try db.query("SELECT account, address FROM identities ORDER BY account, address")
            }
            return try rows.map { (try EmailAddress(parsing: $0.string(0)!), try EmailAddress(parsing: $0.string(1)!)) }
        }
    }

    /// Every address `account` may use as envelope sender or From: its own, aliases that reach it (not
    /// catch-alls), and its identities.
    public func allowedSenders(_ account: EmailAddress) throws(DirectoryError) -> Set<EmailAddress> {
        try read { db in
            var result: Set<EmailAddress> = [account]
            for row in try db.query("SELECT address FROM aliases WHERE account = ? AND address NOT LIKE '@%'",
                                    [account.description]) {
                result.insert(try EmailAddress(parsing: row.string(0)!))
            }
            for row in try db.query("SELECT address FROM identities WHERE account = ?", [account.description]) {
                result.insert(try EmailAddress(parsing: row.string(0)!))
            }
            return result
        }
    }
}
