// Brute-force protection shared by IMAP and SMTP (and POP3 later).
//
// - Every failure from an address, and every failure against an account, makes the next failure answer slower
//   (the protocol waits `delay` before replying NO / 535, without blocking its loop).
// - An address with `addressBlockThreshold` failures within `window` is blocked for `blockDuration`.
// - An account with `accountBlockThreshold` failures within `window` is blocked for `blockDuration` — but only
//   for addresses that have not logged in to it successfully before: an attacker hammering an account does not
//   lock its owner out of the places the owner uses.
// Successful logins never wait. State is in memory, bounded, and forgets entries older than `window`.

import Synchronization

public struct ThrottlePolicy: Sendable, Equatable {
    public var window: Duration = .seconds(900)
    public var baseDelay: Duration = .milliseconds(250)
    public var maxDelay: Duration = .seconds(8)
    public var addressBlockThreshold = 10
    public var accountBlockThreshold = 20
    public var blockDuration: Duration = .seconds(900)
    /// How long a successful login keeps an address trusted for its account.
    public var trustDuration: Duration = .seconds(30 * 86400)
    public var maxTrackedKeys = 100_000
    public init() {}
}

public enum ThrottleDecision: Sendable, Equatable {
    case allowed
    /// Refuse at once without checking the password; `reason` names what is blocked.
    case blocked(until: ContinuousClock.Instant, reason: BlockReason)
}

public enum BlockReason: Sendable, Equatable, CustomStringConvertible {
    case address
    case account
    public var description: String { self == .address ? "address" : "account" }
}

/// What a failure did, for the caller to log (one line per block, for fail2ban).
public struct FailureOutcome: Sendable, Equatable {
    public let delay: Duration
    public let addressFailures: Int
    public let accountFailures: Int
    /// Set when this failure started a block.
    public let newBlock: BlockReason?
}

public final class AuthThrottle: Sendable {
    private struct Counter {
        var failures: [ContinuousClock.Instant] = []
        var blockedUntil: ContinuousClock.Instant?
    }
    private struct State {
        var addresses: [String: Counter] = [:]
        var accounts: [String: Counter] = [:]
        var trusted: [String: ContinuousClock.Instant] = [:] // "account address" → last success
    }
    private let state = Mutex(State())
    public let policy: ThrottlePolicy
    private let now: @Sendable () -> ContinuousClock.Instant

    public init(policy: ThrottlePolicy = ThrottlePolicy(), now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.policy = policy
        self.now = now
    }

    public func check(address: String, account: String?) -> ThrottleDecision {
        let time = now()
        return state.withLock { state in
            if let until = state.addresses[address]?.blockedUntil, until > time {
                return .blocked(until: until, reason: .address)
            }
            if let account, let until = state.accounts[account]?.blockedUntil, until > time,
               !isTrusted(state, account: account, address: address, at: time) {
                return .blocked(until: until, reason: .account)
            }
            return .allowed
        }
    }

    public func recordFailure(address: String, account: String?) -> FailureOutcome {
        let time = now()
        return state.withLock { state in
            prune(&state, at: time)
            var newBlock: BlockReason?
            if record(&state.addresses[address, default: Counter()], at: time, threshold: policy.addressBlockThreshold) {
                newBlock = .address
            }
            let addressCount = state.addresses[address]?.failures.count ?? 0
            var accountCount = 0
            if let account {
                if record(&state.accounts[account, default: Counter()], at: time, threshold: policy.accountBlockThreshold),
                   newBlock == nil {
                    newBlock = .account
                }
                accountCount = state.accounts[account]?.failures.count ?? 0
            }
            // baseDelay, doubling with each failure on record (a block resets the count).
            let doublings = min(max(max(addressCount, accountCount) - 1, 0), 16)
            var delay = policy.baseDelay
            for _ in 0..<doublings where delay < policy.maxDelay { delay = delay * 2 }
            return FailureOutcome(delay: min(delay, policy.maxDelay), addressFailures: addressCount,
                                  accountFailures: accountCount, newBlock: newBlock)
        }
    }

    /// A successful login: the address becomes trusted for the account and its own failure count is cleared.
    public func recordSuccess(address: String, account: String) {
        let time = now()
        state.withLock { state in
            state.addresses[address] = nil
            state.trusted["\(account) \(address)"] = time
        }
    }

    /// Adds a failure; returns true if it started a block.
    private func record(_ counter: inout Counter, at time: ContinuousClock.Instant, threshold: Int) -> Bool {
        counter.failures.removeAll { time - $0 > policy.window }
        counter.failures.append(time)
        if counter.failures.count > threshold * 2 { counter.failures.removeFirst(counter.failures.count - threshold * 2) }
        guard counter.failures.count >= threshold, counter.blockedUntil.map({ $0 <= time }) ?? true else { return false }
        counter.blockedUntil = time + policy.blockDuration
        counter.failures.removeAll()
        return true
    }

    private func isTrusted(_ state: State, account: String, address: String, at time: ContinuousClock.Instant) -> Bool {
        guard let last = state.trusted["\(account) \(address)"] else { return false }
        return time - last < policy.trustDuration
    }

    /// Keeps memory bounded: drops idle counters when too many keys are tracked.
    private func prune(_ state: inout State, at time: ContinuousClock.Instant) {
        guard state.addresses.count + state.accounts.count + state.trusted.count > policy.maxTrackedKeys else { return }
        func stale(_ counter: Counter) -> Bool {
            (counter.blockedUntil.map { $0 <= time } ?? true) && (counter.failures.last.map { time - $0 > policy.window } ?? true)
        }
        state.addresses = state.addresses.filter { !stale($0.value) }
        state.accounts = state.accounts.filter { !stale($0.value) }
        state.trusted = state.trusted.filter { time - $0.value < policy.trustDuration }
    }
}
