import Foundation
import Testing
import TernAuth

func makeDirectory() throws -> (Directory, String) {
    let folder = NSTemporaryDirectory() + "tern-dir-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    return (try Directory(path: folder + "/directory.sqlite", clock: { 1_800_000_000 }), folder)
}

func address(_ text: String) -> EmailAddress { try! EmailAddress(parsing: text) }

/// A yescrypt hash of "Summer2024x", made once (hashing is slow on purpose).
let testHash = try! PasswordHash.make("Summer2024x")

@Suite struct DirectoryTests {
    @Test func domainsAndAccounts() throws {
        let (directory, _) = try makeDirectory()
        try directory.addDomain("Example.NET")
        #expect(throws: DirectoryError.domainExists("example.net")) { try directory.addDomain("example.net") }
        #expect(throws: DirectoryError.invalid("'exa mple' is not a valid domain name")) { try directory.addDomain("exa mple") }
        try directory.addAccount(address("alice@example.net"), passwordHash: testHash, displayName: "Alice")
        #expect(throws: DirectoryError.accountExists("alice@example.net")) {
            try directory.addAccount(address("Alice@example.net"), passwordHash: testHash)
        }
        #expect(throws: DirectoryError.unknownDomain("example.org")) {
            try directory.addAccount(address("bob@example.org"), passwordHash: testHash)
        }
        let alice = try #require(try directory.account(address("alice@example.net")))
        #expect(alice.displayName == "Alice" && alice.createdAt == 1_800_000_000 && !alice.mustChangePassword)
        #expect(try directory.domains() == [DomainInfo(name: "example.net", accountCount: 1, createdAt: 1_800_000_000)])
        #expect(throws: DirectoryError.domainNotEmpty("example.net", accounts: 1, aliases: 0)) {
            try directory.removeDomain("example.net")
        }
        try directory.removeAccount(address("alice@example.net"))
        #expect(throws: DirectoryError.unknownAccount("alice@example.net")) {
            try directory.removeAccount(address("alice@example.net"))
        }
        try directory.removeDomain("example.net")
        #expect(try directory.domains().isEmpty)
    }

    @Test func unsupportedHashIsRefusedWithoutAnyChange() throws {
        let (directory, _) = try makeDirectory()
        try directory.addDomain("example.net")
        #expect(throws: DirectoryError.self) { try directory.addAccount(address("a@example.net"), passwordHash: "{PLAIN}x") }
        #expect(try directory.accounts().isEmpty)
    }

    @Test func credentialChangesBumpTheSerial() throws {
        let (directory, _) = try makeDirectory()
        try directory.addDomain("example.net")
        let alice = address("alice@example.net")
        try directory.addAccount(alice, passwordHash: testHash, mustChangePassword: true)
        let start = try #require(try directory.credentialSerial(alice))
        try directory.setPasswordHash(alice, testHash)
        #expect(try directory.account(alice)?.mustChangePassword == false)
        var changes = AccountChanges()
        changes.isDisabled = true
        try directory.updateAccount(alice, changes)
        #expect(try directory.credentialSerial(alice) == start + 2)
        var quota = AccountChanges()
        quota.quotaBytes = .some(1_000_000)
        try directory.updateAccount(alice, quota)
        #expect(try directory.credentialSerial(alice) == start + 2) // quotas do not touch logins
        #expect(try directory.account(alice)?.quotaBytes == 1_000_000)
        quota.quotaBytes = .some(nil)
        try directory.updateAccount(alice, quota)
        #expect(try directory.account(alice)?.quotaBytes == nil)
    }

    @Test func aliasesCatchAllsAndRecipients() throws {
        let (directory, _) = try makeDirectory()
        try directory.addDomain("example.net")
        let alice = address("alice@example.net"), bob = address("bob@example.net")
        try directory.addAccount(alice, passwordHash: testHash)
        try directory.addAccount(bob, passwordHash: testHash)
        try directory.addAlias("sales@example.net", to: alice)
        try directory.addAlias("sales@example.net", to: bob)
        #expect(throws: DirectoryError.aliasExists("sales@example.net", target: "bob@example.net")) {
            try directory.addAlias("Sales@example.net", to: bob)
        }
        #expect(throws: DirectoryError.aliasIsAccount("bob@example.net")) { try directory.addAlias("bob@example.net", to: alice) }
        #expect(throws: DirectoryError.aliasTargetIsAlias(alias: "info@example.net", target: "sales@example.net")) {
            try directory.addAlias("info@example.net", to: address("sales@example.net"))
        }
        #expect(throws: DirectoryError.addressIsAlias("sales@example.net")) {
            try directory.addAccount(address("sales@example.net"), passwordHash: testHash)
        }
        #expect(try directory.resolveRecipient(address("sales@example.net")) == [alice, bob])
        #expect(try directory.resolveRecipient(address("nobody@example.net")).isEmpty)
        try directory.addAlias("@example.net", to: bob)
        #expect(try directory.resolveRecipient(address("nobody@example.net")) == [bob])
        #expect(try directory.resolveRecipient(alice) == [alice])
        #expect(try directory.aliases().map(\.address) == ["@example.net", "sales@example.net"])
        #expect(try directory.allowedSenders(alice) == [alice, address("sales@example.net")])
        try directory.removeAlias("sales@example.net", target: alice)
        #expect(try directory.resolveRecipient(address("sales@example.net")) == [bob])
        #expect(throws: DirectoryError.unknownAlias("gone@example.net")) { try directory.removeAlias("gone@example.net") }
        // Removing an account drops it from aliases.
        try directory.removeAccount(bob)
        #expect(try directory.aliases().isEmpty)
    }

    @Test func identities() throws {
        let (directory, _) = try makeDirectory()
        try directory.addDomain("example.net")
        let alice = address("alice@example.net")
        try directory.addAccount(alice, passwordHash: testHash)
        try directory.addAccount(address("bob@example.net"), passwordHash: testHash)
        try directory.addIdentity(address("ceo@example.net"), for: alice)
        #expect(throws: DirectoryError.identityExists("ceo@example.net", account: "alice@example.net")) {
            try directory.addIdentity(address("ceo@example.net"), for: alice)
        }
        #expect(throws: DirectoryError.identityIsAnotherAccount("bob@example.net")) {
            try directory.addIdentity(address("bob@example.net"), for: alice)
        }
        #expect(throws: DirectoryError.unknownDomain("other.org")) { try directory.addIdentity(address("x@other.org"), for: alice) }
        #expect(try directory.allowedSenders(alice) == [alice, address("ceo@example.net")])
        try directory.removeIdentity(address("ceo@example.net"), for: alice)
        #expect(try directory.identities().isEmpty)
    }

    /// The batch behind `ternctl user import`: the same checks as `addAccount`, one outcome per account.
    @Test func importAccountsReportsEachOutcome() throws {
        let (directory, _) = try makeDirectory()
        try directory.addDomain("example.net")
        let alice = address("alice@example.net")
        try directory.addAccount(alice, passwordHash: testHash)
        try directory.addAccount(address("bob@example.net"), passwordHash: testHash)
        try directory.addAlias("sales@example.net", to: alice)
        let sha = "$6$QMZcW3VP/p.ic.ds$s7Y9IGTIr4nPEaZQPGNJFap38MxhqBycWBm19UMkuzNgAaPoHpa2o5g4Fy5aGAghLTYrB0MdVkFHZqrXuDLB71"
        let batch = [
            ImportedAccount(address: address("carol@example.net"), passwordHash: "{SHA512-CRYPT}" + sha,
                            displayName: "Carol", quotaBytes: 1 << 30),
            ImportedAccount(address: alice, passwordHash: sha),
            ImportedAccount(address: address("sales@example.net"), passwordHash: sha),
            ImportedAccount(address: address("dave@example.org"), passwordHash: sha),
            ImportedAccount(address: address("erin@example.net"), passwordHash: "{SSHA}abc"),
        ]
        #expect(try directory.placements(batch.map(\.address)) == [.new, .exists, .isAlias, .unknownDomain, .new])
        let serial = try #require(try directory.credentialSerial(alice))
        let result = try directory.importAccounts(batch, AccountImportOptions(mustChangePassword: true))
        #expect(result.outcomes.count == 5)
        #expect(result.outcomes[0] == .created && result.outcomes[1] == .skippedExisting)
        #expect(result.outcomes[2] == .refused(.addressIsAlias("sales@example.net")))
        #expect(result.outcomes[3] == .refused(.unknownDomain("example.org")))
        guard case .refused(.invalid(let reason)) = result.outcomes[4] else {
            Issue.record("an unverifiable hash must be refused: \(result.outcomes[4])")
            return
        }
        #expect(reason.contains("{SSHA}"))
        #expect(result.createdDomains.isEmpty)
        let carol = try #require(try directory.account(address("carol@example.net")))
        #expect(carol.passwordHash == sha && carol.displayName == "Carol" && carol.quotaBytes == 1 << 30)
        #expect(carol.mustChangePassword && carol.createdAt == 1_800_000_000)
        #expect(try directory.account(alice)?.passwordHash == testHash) // skipped: untouched
        #expect(try directory.credentialSerial(alice) == serial)
        #expect(try directory.accounts().map(\.address.description)
                == ["alice@example.net", "bob@example.net", "carol@example.net"])

        let again = try directory.importAccounts(
            [ImportedAccount(address: alice, passwordHash: sha), ImportedAccount(address: address("dave@example.org"), passwordHash: sha)],
            AccountImportOptions(replacePasswords: true, createDomains: true))
        #expect(again.outcomes == [.updated, .created])
        #expect(again.createdDomains == ["example.org"])
        #expect(try directory.account(alice)?.passwordHash == sha)
        #expect(try directory.credentialSerial(alice) == serial + 1) // cached logins with the old password end
        #expect(try directory.isLocalDomain("example.org"))
    }

    /// Two handles on the same file (as ternd and ternctl are) see each other's commits at once.
    @Test func secondConnectionSeesChanges() throws {
        let (directory, folder) = try makeDirectory()
        let other = try Directory(path: folder + "/directory.sqlite")
        let before = try directory.changeCounter()
        try other.addDomain("example.net")
        #expect(try directory.changeCounter() != before)
        #expect(try directory.isLocalDomain("example.net"))
    }
}
