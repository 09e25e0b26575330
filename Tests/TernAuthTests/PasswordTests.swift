import Foundation
import Testing
import TernAuth
import TernTestSupport

struct ImportedHash: Sendable, CustomTestStringConvertible {
    let password: String
    let hash: String
    let tool: String
    var testDescription: String { tool }

    static func load() throws -> [ImportedHash] {
        try String(contentsOfFile: repositoryPath("Fixtures/auth/hashes.tsv"), encoding: .utf8)
            .split(separator: "\n").filter { !$0.hasPrefix("#") }
            .map { line in
                let fields = line.split(separator: "\t").map(String.init)
                return ImportedHash(password: fields[0], hash: fields[1], tool: fields[2])
            }
    }
}

@Suite struct PasswordHashTests {
    @Test(arguments: try ImportedHash.load())
    func hashesFromOtherToolsVerify(_ imported: ImportedHash) throws {
        #expect(PasswordHash.verify(imported.password, against: imported.hash))
        #expect(!PasswordHash.verify(imported.password + "x", against: imported.hash))
        #expect(!PasswordHash.verify("", against: imported.hash))
        #expect(PasswordHash.needsRehash(imported.hash) == !imported.hash.hasPrefix("$y$"))
    }

    @Test func newHashesAreYescryptWithFreshSalts() throws {
        let first = try PasswordHash.make("Summer2024x")
        let second = try PasswordHash.make("Summer2024x")
        #expect(first.hasPrefix("$y$"))
        #expect(first != second)
        #expect(PasswordHash.verify("Summer2024x", against: first))
        #expect(!PasswordHash.verify("summer2024x", against: first))
        #expect(!PasswordHash.needsRehash(first))
    }

    @Test(arguments: ["$1$abc$def", "{PLAIN}secret", "{MD5}xyz", "plaintext", "", "$6$ with space"])
    func unsupportedHashesAreRefused(_ hash: String) {
        #expect(throws: PasswordHash.HashError.self) { try PasswordHash.normalize(hash) }
        #expect(!PasswordHash.verify("secret", against: hash))
    }

    @Test func dovecotPrefixIsStripped() throws {
        #expect(try PasswordHash.normalize("{BLF-CRYPT}$2y$05$abcdefghijklmnopqrstuu") == "$2y$05$abcdefghijklmnopqrstuu")
    }
}

@Suite struct PasswordPolicyTests {
    @Test(arguments: [
        ("short1a", "at least 8 characters"), ("nodigitsatall", "a digit"), ("UPPER12345", "a lower-case letter"),
        ("line\nbreak1a", "control characters"),
    ])
    func weakPasswordsNameTheRule(_ password: String, _ rule: String) throws {
        let violation = try #require(PasswordPolicy().violation(of: password))
        #expect(violation.description.contains(rule))
    }

    @Test(arguments: ["Summer2024x", "correct horse 9", "pässwört1x"])
    func goodPasswordsPass(_ password: String) {
        #expect(PasswordPolicy().violation(of: password) == nil)
    }

    @Test func numbersAreConfigurable() {
        let strict = PasswordPolicy(minimumLength: 12, minimumDigits: 2, minimumLowercase: 1)
        #expect(strict.violation(of: "Summer2024x") == .tooShort(minimum: 12))
        #expect(strict.violation(of: "Summerlong1xyz") == .tooFewDigits(minimum: 2))
        #expect(strict.violation(of: "Summerlong12xyz") == nil)
    }
}

@Suite struct EmailAddressTests {
    @Test(arguments: ["Alice@Example.NET", "first.last+tag@mail.example.net", "o'neil@example.net"])
    func parsesAndLowercases(_ text: String) throws {
        let address = try EmailAddress(parsing: text)
        #expect(address.description == text.lowercased())
    }

    @Test(arguments: ["alice", "@example.net", "alice@", ".alice@example.net", "al..ice@example.net",
                      "\"quoted\"@example.net", "alice@exa_mple.net", "alice@-example.net", "al ice@example.net"])
    func rejectsMalformed(_ text: String) {
        #expect(throws: EmailAddress.ParseError.self) { try EmailAddress(parsing: text) }
    }
}
