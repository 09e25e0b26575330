import Foundation
import Synchronization
import Testing
import TernAuth
import TernCore

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let current = Mutex(ContinuousClock.now)
    var now: ContinuousClock.Instant { current.withLock { $0 } }
    func advance(_ duration: Duration) { current.withLock { $0 += duration } }
}

@Suite struct AuthThrottleTests {
    @Test func failuresSlowDownThenBlockTheAddress() {
        let clock = ManualClock()
        var policy = ThrottlePolicy()
        policy.addressBlockThreshold = 10
        let throttle = AuthThrottle(policy: policy, now: { clock.now })
        var delays: [Duration] = []
        var blocks: [BlockReason?] = []
        for _ in 0..<10 {
            #expect(throttle.check(address: "192.0.2.1", account: "alice@example.net") == .allowed)
            let outcome = throttle.recordFailure(address: "192.0.2.1", account: "alice@example.net")
            delays.append(outcome.delay)
            blocks.append(outcome.newBlock)
        }
        #expect(delays.prefix(6) == [.milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8)])
        #expect(blocks.last == .address)
        #expect(blocks.dropLast().allSatisfy { $0 == nil })
        guard case .blocked(_, .address) = throttle.check(address: "192.0.2.1", account: "bob@example.net") else {
            Issue.record("address should be blocked for every account")
            return
        }
        clock.advance(.seconds(901))
        #expect(throttle.check(address: "192.0.2.1", account: "alice@example.net") == .allowed)
    }

    /// An attacker spread over many addresses blocks the account, but not for an address the owner logged in from.
    @Test func accountBlockSparesTrustedAddresses() {
        let clock = ManualClock()
        var policy = ThrottlePolicy()
        policy.accountBlockThreshold = 20
        let throttle = AuthThrottle(policy: policy, now: { clock.now })
        throttle.recordSuccess(address: "198.51.100.7", account: "alice@example.net")
        var block: BlockReason?
        for index in 0..<20 {
            block = throttle.recordFailure(address: "203.0.113.\(index)", account: "alice@example.net").newBlock ?? block
        }
        #expect(block == .account)
        guard case .blocked(_, .account) = throttle.check(address: "203.0.113.200", account: "alice@example.net") else {
            Issue.record("an untrusted address should be blocked for the account")
            return
        }
        #expect(throttle.check(address: "198.51.100.7", account: "alice@example.net") == .allowed)
        #expect(throttle.check(address: "203.0.113.200", account: "bob@example.net") == .allowed)
    }

    @Test func successClearsTheAddressFailures() {
        let throttle = AuthThrottle()
        for _ in 0..<5 { _ = throttle.recordFailure(address: "192.0.2.9", account: nil) }
        throttle.recordSuccess(address: "192.0.2.9", account: "alice@example.net")
        #expect(throttle.recordFailure(address: "192.0.2.9", account: nil).delay == .milliseconds(250))
    }
}

@Suite struct AuthenticatorTests {
    func setUp() throws -> (Authenticator, Directory, String) {
        let (directory, folder) = try makeDirectory()
        try directory.addDomain("example.net")
        try directory.addAccount(address("alice@example.net"), passwordHash: testHash)
        return (try Authenticator(directory: directory), directory, folder)
    }

    @Test func rightPasswordThenCachedThenInvalidatedByAnotherProcess() throws {
        let (auth, directory, folder) = try setUp()
        #expect(auth.authenticate(username: "Alice@Example.net", password: "Summer2024x", clientAddress: "192.0.2.1")
                == .success(address("alice@example.net"), cached: false))
        #expect(auth.authenticate(username: "alice@example.net", password: "Summer2024x", clientAddress: "192.0.2.1")
                == .success(address("alice@example.net"), cached: true))
        #expect(try directory.account(address("alice@example.net"))?.lastLoginAt != nil)
        // ternctl (another connection to the file) changes the password: the cached login must not work.
        let ternctl = try Directory(path: folder + "/directory.sqlite")
        try ternctl.setPasswordHash(address("alice@example.net"), try PasswordHash.make("Winter2025y"))
        guard case .failed(.wrongPassword, _, _) = auth.authenticate(
            username: "alice@example.net", password: "Summer2024x", clientAddress: "192.0.2.1") else {
            Issue.record("the old password must fail after a change")
            return
        }
        #expect(auth.authenticate(username: "alice@example.net", password: "Winter2025y", clientAddress: "192.0.2.1")
                == .success(address("alice@example.net"), cached: false))
    }

    @Test func mustChangeAndDisabled() throws {
        let (auth, directory, _) = try setUp()
        var changes = AccountChanges()
        changes.mustChangePassword = true
        try directory.updateAccount(address("alice@example.net"), changes)
        #expect(auth.authenticate(username: "alice@example.net", password: "Summer2024x", clientAddress: "192.0.2.1")
                == .passwordExpired(address("alice@example.net")))
        changes = AccountChanges()
        changes.isDisabled = true
        changes.mustChangePassword = false
        try directory.updateAccount(address("alice@example.net"), changes)
        guard case .failed(.disabled, _, _) = auth.authenticate(
            username: "alice@example.net", password: "Summer2024x", clientAddress: "192.0.2.1") else {
            Issue.record("a disabled account must not log in")
            return
        }
    }

    /// An imported $6$ hash logs in with the original password and is replaced by yescrypt.
    @Test func importedHashIsUpgraded() throws {
        let (auth, directory, _) = try setUp()
        let imported = try ImportedHash.load().first { $0.hash.hasPrefix("$6$") }!
        try directory.addAccount(address("old@example.net"), passwordHash: imported.hash)
        #expect(auth.authenticate(username: "old@example.net", password: imported.password, clientAddress: "192.0.2.1")
                == .success(address("old@example.net"), cached: false))
        let stored = try #require(try directory.account(address("old@example.net"))?.passwordHash)
        #expect(stored.hasPrefix("$y$"))
        #expect(PasswordHash.verify(imported.password, against: stored))
    }

    @Test func unknownUserAndMalformedNamesFail() throws {
        let (auth, _, _) = try setUp()
        guard case .failed(.unknownAccount, _, _) = auth.authenticate(
            username: "nobody@example.net", password: "Summer2024x", clientAddress: "192.0.2.1") else {
            Issue.record("unknown account must fail")
            return
        }
        guard case .failed(.malformedUser, _, _) = auth.authenticate(
            username: "not an address", password: "x", clientAddress: "192.0.2.1") else {
            Issue.record("malformed user must fail")
            return
        }
    }

    /// 50 wrong passwords from one address: slowed, then blocked; the right password from elsewhere still works.
    @Test func bruteForceIsBlockedButTheOwnerGetsIn() throws {
        let (auth, _, _) = try setUp()
        var outcomes: [AuthOutcome] = []
        for attempt in 0..<50 {
            outcomes.append(auth.authenticate(username: "alice@example.net", password: "guess\(attempt)x",
                                              clientAddress: "203.0.113.66"))
        }
        let blocked = outcomes.filter { if case .blocked = $0 { return true } else { return false } }.count
        #expect(blocked == 40, "attempts 11-50 are refused without a password check")
        #expect(auth.authenticate(username: "alice@example.net", password: "Summer2024x", clientAddress: "203.0.113.66")
                == .blocked(.address))
        #expect(auth.authenticate(username: "alice@example.net", password: "Summer2024x", clientAddress: "198.51.100.1")
                == .success(address("alice@example.net"), cached: false))
    }
}

@Suite struct SASLTests {
    @Test func plainDecodes() throws {
        let payload = Array(Base64.encode(Array("\0alice@example.net\0Summer2024x".utf8)).utf8)
        #expect(try SASLPlain.decode(payload) == SASLCredentials(username: "alice@example.net", password: "Summer2024x"))
        let same = Array(Base64.encode(Array("alice@example.net\0alice@example.net\0pw".utf8)).utf8)
        #expect(try SASLPlain.decode(same).username == "alice@example.net")
    }

    @Test(arguments: [
        ("not base64!", SASLError.notBase64), ("YWJj", .malformed), ("*", .cancelled),
        (Base64.encode(Array("bob\0alice\0pw".utf8)), .authorizationIdentityNotAllowed),
        (Base64.encode(Array("\0alice\0".utf8)), .malformed),
    ])
    func plainRejects(_ payload: String, _ error: SASLError) {
        #expect(throws: error) { try SASLPlain.decode(Array(payload.utf8)) }
    }

    @Test func loginSteps() throws {
        #expect(SASLLogin.usernameChallenge == "VXNlcm5hbWU6")
        #expect(SASLLogin.passwordChallenge == "UGFzc3dvcmQ6")
        #expect(try SASLLogin.decodeStep(Array("YWxpY2U=".utf8)) == "alice")
        #expect(throws: SASLError.notBase64) { try SASLLogin.decodeStep(Array("YWxpY2U".utf8)) }
    }

    @Test(arguments: ["", "f", "fo", "foo", "foob", "fooba", "foobar"])
    func base64RoundTrips(_ text: String) {
        let encoded = Base64.encode(Array(text.utf8))
        #expect(Base64.decode(encoded) == Array(text.utf8))
    }

    /// The last two are non-canonical (padding bits set), found by Tests/Fuzz.
    @Test(arguments: ["Zg", "Zg=", "Z===", "Zm9v\r\n", "Zm=v", "Zg==Zg==", "Zh==", "Zm9="])
    func base64RejectsMalformed(_ text: String) {
        #expect(Base64.decode(text) == nil)
    }
}
