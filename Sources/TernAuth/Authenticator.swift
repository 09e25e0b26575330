// One login check for every protocol: throttle → verified-login cache → directory → crypt(3) → re-hash to
// yescrypt when the stored hash is an imported older scheme.
//
// `authenticate` blocks (a hash check costs ~19 ms): protocols call it through `ConnectionContext.offload`, never
// on an event loop. It never logs: it returns what happened (`AuthOutcome`) and the daemon writes the log line,
// never with the password.

import Synchronization
import TernTLS

public enum AuthOutcome: Sendable, Equatable {
    case success(EmailAddress, cached: Bool)
    /// The password is right but must be changed first: IMAP `NO [EXPIRED]`, SMTP `535 5.7.8`.
    case passwordExpired(EmailAddress)
    /// Wrong user name or password (the caller cannot tell which: neither can the client). Wait `delay` before
    /// replying. `reason` is for the log only.
    case failed(reason: FailureReason, delay: Duration, newBlock: BlockReason?)
    /// Refused without a check: the address or the account is blocked.
    case blocked(BlockReason)
}

public enum FailureReason: String, Sendable, Equatable {
    case unknownAccount = "unknown account"
    case wrongPassword = "wrong password"
    case disabled = "account disabled"
    case malformedUser = "malformed user name"
    case refusedByOldServer = "unknown account, refused by the old server"
    case oldServerUnavailable = "unknown account, old server unavailable"
}

/// Makes accounts at their first login from another server's verdict on the password (migration at first login,
/// TernMigration's FirstLoginMigration). Blocking: called from `authenticate`, off the event loops.
public protocol AccountProvisioner: Sendable {
    /// `address` has no account and its domain is ours: create it if the old server accepts `password`.
    func provision(_ address: EmailAddress, password: String) -> ProvisionOutcome
    /// A login succeeded with this verified password: go on with anything pending for the account (cheap when
    /// nothing is).
    func loggedIn(_ address: EmailAddress, password: String)
}

public enum ProvisionOutcome: Sendable, Equatable {
    /// The account exists now; the login is accepted (once, when `mustChangePassword`).
    case created(mustChangePassword: Bool)
    /// The old server refused the password: nothing was created.
    case refused
    /// The old server could not be asked: nothing was created.
    case unavailable(String)
}

/// Remembers verified logins for a short time so a phone reconnecting all day costs microseconds, not a hash.
/// Keys are HMAC-SHA-256(per-process secret, address NUL password): the cache never holds a password or a hash an
/// attacker could test guesses against offline. An entry is valid only while the account's credential serial is
/// unchanged (password, disabled and must-change bump it, from ternctl in another process too).
public final class LoginCache: Sendable {
    private struct Entry {
        let key: [UInt8]
        let serial: Int64
        let expires: ContinuousClock.Instant
    }
    private let secret = Crypto.randomBytes(count: 32)
    private let entries = Mutex<[EmailAddress: Entry]>([:])
    private let ttl: Duration
    private let capacity: Int

    public init(ttl: Duration = .seconds(300), capacity: Int = 100_000) {
        self.ttl = ttl
        self.capacity = capacity
    }

    private func key(_ address: EmailAddress, _ password: String) -> [UInt8] {
        Crypto.hmacSHA256(key: secret, message: Array(address.description.utf8) + [0] + Array(password.utf8))
    }

    /// The serial the entry was stored with, if `password` matches a live entry.
    func lookup(_ address: EmailAddress, password: String, now: ContinuousClock.Instant) -> Int64? {
        let computed = key(address, password)
        return entries.withLock { entries in
            guard let entry = entries[address] else { return nil }
            guard entry.expires > now else {
                entries[address] = nil
                return nil
            }
            return Crypto.constantTimeEqual(entry.key, computed) ? entry.serial : nil
        }
    }

    func store(_ address: EmailAddress, password: String, serial: Int64, now: ContinuousClock.Instant) {
        let entry = Entry(key: key(address, password), serial: serial, expires: now + ttl)
        entries.withLock { entries in
            if entries.count >= capacity {
                entries = entries.filter { $0.value.expires > now }
                if entries.count >= capacity { entries.removeAll() }
            }
            entries[address] = entry
        }
    }

    public func invalidate(_ address: EmailAddress) { _ = entries.withLock { $0.removeValue(forKey: address) } }

    public var count: Int { entries.withLock { $0.count } }
}

public final class Authenticator: Sendable {
    public let directory: Directory
    public let throttle: AuthThrottle
    public let cache: LoginCache?
    /// A hash to check against when the account does not exist, so timing does not reveal which accounts exist.
    private let decoyHash: String

    /// Creates unknown accounts of our domains from an old server (nil: unknown accounts just fail).
    public let provisioner: (any AccountProvisioner)?

    public init(directory: Directory, throttle: AuthThrottle = AuthThrottle(), cache: LoginCache? = LoginCache(),
                provisioner: (any AccountProvisioner)? = nil) throws {
        self.directory = directory
        self.throttle = throttle
        self.cache = cache
        self.provisioner = provisioner
        decoyHash = try PasswordHash.make(String(decoding: Crypto.randomBytes(count: 12).map { 97 + $0 % 26 }, as: UTF8.self))
    }

    /// Checks a login. Blocking: call it off the event loops.
    public func authenticate(username: String, password: String, clientAddress: String) -> AuthOutcome {
        guard let address = try? EmailAddress(parsing: username) else {
            if case .blocked(_, let reason) = throttle.check(address: clientAddress, account: nil) { return .blocked(reason) }
            return failure(.malformedUser, clientAddress: clientAddress, account: nil)
        }
        let account = address.description
        if case .blocked(_, let reason) = throttle.check(address: clientAddress, account: account) { return .blocked(reason) }

        let now = ContinuousClock.now
        if let cache, let serial = cache.lookup(address, password: password, now: now) {
            // Valid only if no credential change happened since; one indexed read, no hashing.
            if let current = try? directory.credentialSerial(address), current == serial {
                throttle.recordSuccess(address: clientAddress, account: account)
                provisioner?.loggedIn(address, password: password)
                return .success(address, cached: true)
            }
            cache.invalidate(address)
        }

        guard let record = try? directory.account(address) else {
            if let provisioner, (try? directory.isLocalDomain(address.domain)) == true {
                switch provisioner.provision(address, password: password) {
                case .created:
                    // Accepted once even when the password must change: the user gets in and the mail follows.
                    throttle.recordSuccess(address: clientAddress, account: account)
                    try? directory.recordLogin(address)
                    provisioner.loggedIn(address, password: password)
                    return .success(address, cached: false)
                case .refused:
                    return failure(.refusedByOldServer, clientAddress: clientAddress, account: account)
                case .unavailable:
                    return failure(.oldServerUnavailable, clientAddress: clientAddress, account: account)
                }
            }
            _ = PasswordHash.verify(password, against: decoyHash)
            return failure(.unknownAccount, clientAddress: clientAddress, account: account)
        }
        guard PasswordHash.verify(password, against: record.passwordHash) else {
            return failure(.wrongPassword, clientAddress: clientAddress, account: account)
        }
        guard !record.isDisabled else { return failure(.disabled, clientAddress: clientAddress, account: account) }
        throttle.recordSuccess(address: clientAddress, account: account)
        provisioner?.loggedIn(address, password: password)
        if record.mustChangePassword { return .passwordExpired(address) }

        if PasswordHash.needsRehash(record.passwordHash), let upgraded = try? PasswordHash.make(password) {
            try? directory.upgradeHash(address, from: record.passwordHash, to: upgraded)
        }
        try? directory.recordLogin(address)
        cache?.store(address, password: password, serial: record.credentialSerial, now: now)
        return .success(address, cached: false)
    }

    private func failure(_ reason: FailureReason, clientAddress: String, account: String?) -> AuthOutcome {
        let outcome = throttle.recordFailure(address: clientAddress, account: account)
        return .failed(reason: reason, delay: outcome.delay, newBlock: outcome.newBlock)
    }
}
