// `ternctl user import` through the real binary: the Dovecot passwd-file and CSV fixtures in Fixtures/users/
// (hashes made by `openssl passwd` and Python's crypt, see their first lines), every refusal as FILE:LINE, the
// all-or-nothing default, --skip-invalid, --update-passwords, --create-domains, --dry-run, --json, and logins
// with the imported hashes on a real ternd.

import Foundation
import Testing
import TernTestSupport

private let passwdFixture = repositoryPath("Fixtures/users/dovecot.passwd")
private let csvFixture = repositoryPath("Fixtures/users/accounts.csv")

/// The refusals the passwd fixture must produce, by line (with --domain example.com).
private func passwdRefusals(_ file: String) -> [String] {
    [
        "\(file):9: refused erin@example.com: unsupported password hash '{PLAIN-MD5}…' (use $y$ yescrypt, $6$ SHA-512-crypt, $5$ SHA-256-crypt or $2b$ bcrypt, optionally with a Dovecot {SCHEME} prefix)",
        "\(file):10: refused frank@example.com: unsupported password hash '{SSHA}…' (use $y$ yescrypt, $6$ SHA-512-crypt, $5$ SHA-256-crypt or $2b$ bcrypt, optionally with a Dovecot {SCHEME} prefix)",
        "\(file):11: refused: malformed line: no ':' after the user name (expected user:password:…)",
        "\(file):12: refused gina@example.com: its {PLAIN} password does not meet the password policy: the password must have at least 8 characters",
        "\(file):14: refused ivan@example.com: no password hash (the field is empty)",
    ]
}

private func lines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }

/// `ternctl user show --json` of one account.
private func shown(_ admin: Admin, _ address: String) throws -> [String: Any] {
    try #require(try admin.json("user", "show", address) as? [String: Any])
}

/// The scheme `ternctl user show` names for an account's stored hash.
private func scheme(_ admin: Admin, _ address: String) throws -> String {
    let text = try admin.ok("user", "show", address)
    let line = try #require(lines(text).first { $0.hasPrefix("password hash:") })
    return line.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces)
}

@Suite struct UserImportTests {
    @Test func oneRefusedLineMeansNothingIsImported() throws {
        let admin = try Admin()
        try admin.ok("domain", "add", "example.com")
        let result = try admin.run("user", "import", passwdFixture, "--domain", "example.com")
        #expect(result.status != 0)
        #expect(result.error == "Error: 5 line(s) refused, nothing imported; fix them, or import the other lines with --skip-invalid\n")
        #expect(lines(result.output) == ["reading \(passwdFixture) as a Dovecot passwd-file (detected from its content; --format chooses)"]
                + passwdRefusals(passwdFixture))
        #expect(try admin.ok("user", "list").isEmpty)

        // Without --domain the bare user name on line 6 is one more refusal.
        let bare = try admin.run("user", "import", passwdFixture)
        #expect(bare.status != 0)
        #expect(bare.output.contains("\(passwdFixture):6: refused: 'bob' has no domain; give --domain for the lines with bare user names\n"))
        #expect(bare.error.contains("6 line(s) refused"))
        #expect(try admin.ok("user", "list").isEmpty)
    }

    @Test func skipInvalidImportsTheRestWithTheirHashes() throws {
        let admin = try Admin()
        try admin.ok("domain", "add", "example.com")
        let output = try admin.ok("user", "import", passwdFixture, "--domain", "example.com", "--skip-invalid")
        #expect(lines(output) == ["reading \(passwdFixture) as a Dovecot passwd-file (detected from its content; --format chooses)"]
                + passwdRefusals(passwdFixture) + ["created 5, updated 0, skipped 0, refused 5"])
        #expect(!output.contains("Winter2025y") && !output.contains("short"), "a password was printed")
        #expect(lines(try admin.ok("user", "list")).map { String($0.split(separator: "\t")[0]) }
                == ["alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com", "henry@example.com"])
        #expect(try scheme(admin, "alice@example.com") == "sha512")
        #expect(try scheme(admin, "bob@example.com") == "sha512")
        #expect(try scheme(admin, "carol@example.com") == "bcrypt")
        #expect(try scheme(admin, "dave@example.com") == "yescrypt") // {PLAIN}, hashed on import
        #expect(try scheme(admin, "henry@example.com") == "sha256")
        #expect(try shown(admin, "alice@example.com")["must_change_password"] as? Bool == false)

        // Again: everything is there already.
        let again = try admin.ok("user", "import", passwdFixture, "--domain", "example.com", "--skip-invalid")
        #expect(again.contains("\(passwdFixture):5: skipped alice@example.com: already exists (--update-passwords replaces its password)\n"))
        #expect(lines(again).last == "created 0, updated 0, skipped 5, refused 5")
    }

    @Test func csvWithQuotingHeaderAndQuotas() throws {
        let admin = try Admin()
        let output = try admin.ok("user", "import", csvFixture, "--skip-invalid", "--create-domains")
        #expect(lines(output) == [
            "reading \(csvFixture) as CSV (detected from its content; --format chooses)",
            "\(csvFixture):4: refused carol@example.org: the display name contains a control character (such as a line break)",
            "\(csvFixture):7: refused erin@example.org: quota: 'lots' is not a size (write e.g. 500M, 2G, or none)",
            "added domain example.org",
            "created 4, updated 0, skipped 0, refused 2",
        ])
        let alice = try shown(admin, "alice@example.org")
        #expect(alice["name"] as? String == "Smith, Alice \"Al\"")
        #expect(alice["quota_bytes"] as? Int == 2 << 30)
        let bob = try shown(admin, "bob@example.org")
        #expect(bob["name"] as? String == "Bob Builder")
        #expect(bob["quota_bytes"] is NSNull)
        let dave = try shown(admin, "dave@example.org")
        #expect(dave["name"] as? String == "Dave, the \"admin\"")
        #expect(dave["quota_bytes"] as? Int == 500 << 20)
        #expect(try scheme(admin, "bob@example.org") == "bcrypt")
        #expect(try scheme(admin, "frank@example.org") == "sha256")
        #expect(try admin.ok("domain", "list") == "example.org\t4 account(s)\n")
    }

    @Test func addressesGivenTwiceAreRefusedWithBothLines() throws {
        let admin = try Admin()
        try admin.ok("domain", "add", "example.com")
        let hash = try openSSLHash("Summer2024x")
        let input = "alice@example.com:\(hash)\nbob@example.com:\(hash)\nAlice@Example.COM:\(hash)\n"
        let result = try admin.run("user", "import", "-", input: input)
        #expect(result.status != 0)
        #expect(lines(result.output) == [
            "reading <stdin> as a Dovecot passwd-file (detected from its content; --format chooses)",
            "<stdin>:1: refused alice@example.com: also on line 3 (an address may appear only once)",
            "<stdin>:3: refused alice@example.com: also on line 1 (an address may appear only once)",
        ])
        #expect(try admin.ok("user", "list").isEmpty)
    }

    @Test func existingAccountsAreSkippedOrGetTheImportedHash() throws {
        let admin = try Admin()
        try admin.ok("domain", "add", "example.com")
        try admin.ok("user", "add", "alice@example.com", "--password-stdin", input: "Summer2024x\n")
        let hash = try openSSLHash("Winter2025y")
        let input = "alice@example.com:\(hash)\nbob@example.com:\(hash)\n"
        let skipped = try admin.ok("user", "import", "-", input: input)
        #expect(skipped.contains("<stdin>:1: skipped alice@example.com: already exists"))
        #expect(lines(skipped).last == "created 1, updated 0, skipped 1, refused 0")
        #expect(try scheme(admin, "alice@example.com") == "yescrypt")

        let updated = try admin.ok("user", "import", "-", "--update-passwords", "--must-change", input: input)
        #expect(lines(updated).last == "created 0, updated 2, skipped 0, refused 0")
        #expect(try scheme(admin, "alice@example.com") == "sha512")
        #expect(try shown(admin, "alice@example.com")["must_change_password"] as? Bool == true)
        #expect(try shown(admin, "bob@example.com")["must_change_password"] as? Bool == true)

        let created = try admin.ok("user", "import", "-", "--must-change-password", input: "carol@example.com:\(hash)\n")
        #expect(lines(created).last == "created 1, updated 0, skipped 0, refused 0")
        #expect(try shown(admin, "carol@example.com")["must_change_password"] as? Bool == true)
    }

    @Test func unknownDomainsAreRefusedUnlessCreatedAndAliasesAreKept() throws {
        let admin = try Admin()
        try admin.ok("domain", "add", "example.com")
        try admin.ok("user", "add", "alice@example.com", "--password-stdin", input: "Summer2024x\n")
        try admin.ok("alias", "add", "sales@example.com", "alice@example.com")
        let hash = try openSSLHash("Summer2024x")
        let input = "sales@example.com:\(hash)\nbob@example.org:\(hash)\ncarol@example.org:\(hash)\n"
        let refused = try admin.run("user", "import", "-", input: input)
        #expect(refused.status != 0)
        #expect(refused.output.contains("<stdin>:1: refused sales@example.com: sales@example.com is already an alias; remove the alias first\n"))
        #expect(refused.output.contains("<stdin>:2: refused bob@example.org: domain example.org is not served here (add it with `ternctl domain add example.org`, or import with --create-domains)\n"))
        #expect(refused.error.contains("3 line(s) refused"))

        let dryRun = try admin.ok("user", "import", "-", "--create-domains", "--skip-invalid", "--dry-run", input: input)
        #expect(lines(dryRun).suffix(2) == ["would add domain example.org",
                                           "dry run, nothing changed: would create 2, update 0, skip 0, refuse 1"])
        #expect(try admin.ok("domain", "list") == "example.com\t1 account(s)\n")

        let created = try admin.ok("user", "import", "-", "--create-domains", "--skip-invalid", input: input)
        #expect(lines(created).suffix(2) == ["added domain example.org", "created 2, updated 0, skipped 0, refused 1"])
        #expect(try admin.ok("domain", "list") == "example.com\t1 account(s)\nexample.org\t2 account(s)\n")
    }

    @Test func dryRunReportsWithoutChanging() throws {
        let admin = try Admin()
        try admin.ok("domain", "add", "example.com")
        let result = try admin.run("user", "import", passwdFixture, "--domain", "example.com", "--dry-run")
        #expect(result.status != 0) // the real run would stop at the refused lines
        #expect(result.error.contains("5 line(s) refused: the import would stop there and change nothing"))
        let output = try admin.ok("user", "import", passwdFixture, "--domain", "example.com", "--dry-run", "--skip-invalid")
        #expect(lines(output).last == "dry run, nothing changed: would create 5, update 0, skip 0, refuse 5")
        #expect(try admin.ok("user", "list").isEmpty)
    }

    @Test func formatIsDetectedOrChosen() throws {
        let admin = try Admin()
        try admin.ok("domain", "add", "example.com")
        // A passwd-file read as CSV: no line has the two fields CSV needs.
        let forced = try admin.run("user", "import", passwdFixture, "--format", "csv", "--domain", "example.com")
        #expect(forced.status != 0)
        #expect(lines(forced.output).first == "reading \(passwdFixture) as CSV")
        #expect(forced.output.contains("\(passwdFixture):5: refused: expected address,password[,display name[,quota]] but found one field"))
        #expect(forced.output.contains("\(passwdFixture):2: refused: the user field is not an address (if the file is in the other format, give --format)"))
        #expect(!forced.output.contains("Summer2024x"), "the comment on line 2 was read as an address and repeated")
        let chosen = try admin.ok("user", "import", "-", "--format", "passwd", input: "alice@example.com:{PLAIN}Summer2024x\n")
        #expect(lines(chosen) == ["reading <stdin> as a Dovecot passwd-file", "created 1, updated 0, skipped 0, refused 0"])

        let unknown = try admin.run("user", "import", "-", input: "alice@example.com Summer2024x\n")
        #expect(unknown.status != 0)
        #expect(unknown.error.contains("cannot tell whether <stdin> is a passwd-file or CSV"))
        let empty = try admin.run("user", "import", "-", "--format", "passwd", input: "\n# only a comment\n")
        #expect(empty.status != 0)
        #expect(empty.error.contains("<stdin> holds no accounts"))
        let missing = try admin.run("user", "import", admin.folder + "/nope.passwd")
        #expect(missing.status != 0)
        #expect(missing.error.contains("cannot read \(admin.folder)/nope.passwd: open: No such file or directory"))
        let badDomain = try admin.run("user", "import", passwdFixture, "--domain", "not a domain")
        #expect(badDomain.error.contains("--domain: 'not a domain' is not a valid domain name"))
    }

    @Test func jsonReport() throws {
        let admin = try Admin()
        try admin.ok("domain", "add", "example.com")
        let result = try admin.run("user", "import", passwdFixture, "--domain", "example.com", "--skip-invalid", "--json")
        #expect(result.status == 0, "\(result.error)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        #expect(report["format"] as? String == "passwd")
        #expect(report["format_detected"] as? Bool == true)
        #expect(report["dry_run"] as? Bool == false)
        #expect(report["created"] as? [String]
                == ["alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com", "henry@example.com"])
        let refused = try #require(report["refused"] as? [[String: Any]])
        #expect(refused.map { $0["line"] as? Int } == [9, 10, 11, 12, 14])
        #expect(refused[2]["address"] is NSNull)
        #expect((refused[0]["reasons"] as? [String])?.first?.hasPrefix("unsupported password hash '{PLAIN-MD5}…'") == true)
        let summary = try #require(report["summary"] as? [String: Int])
        #expect(summary == ["created": 5, "updated": 0, "skipped": 0, "refused": 5])

        let again = try #require(try admin.json("user", "import", passwdFixture, "--domain", "example.com", "--skip-invalid")
                                 as? [String: Any])
        let skipped = try #require(again["skipped"] as? [[String: Any]])
        #expect(skipped.map { $0["address"] as? String }.first == "alice@example.com")
        #expect(skipped.map { $0["reason"] as? String }.first == "already exists")
    }

    /// 10,000 accounts in one command: the hashes are stored as they are, 1,000 per directory transaction.
    @Test func tenThousandAccounts() throws {
        let admin = try Admin()
        try admin.ok("domain", "add", "example.com")
        let hash = try openSSLHash("Summer2024x")
        let file = admin.folder + "/big.passwd"
        try (0..<10_000).map { "user\($0)@example.com:\(hash):1000:1000::/home/vmail/user\($0)::\n" }.joined()
            .write(toFile: file, atomically: true, encoding: .utf8)
        let output = try admin.ok("user", "import", file)
        #expect(lines(output).last == "created 10000, updated 0, skipped 0, refused 0")
        let domains = try #require(try admin.json("domain", "list") as? [[String: Any]])
        #expect(domains.first?["accounts"] as? Int == 10_000)
        #expect(try scheme(admin, "user9999@example.com") == "sha512")
    }
}

/// A SHA-512-crypt hash made by `openssl passwd -6`.
func openSSLHash(_ password: String) throws -> String {
    let result = try runCommand("/usr/bin/env", ["openssl", "passwd", "-6", password])
    #expect(result.status == 0, "\(result.error)")
    return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
}

/// Imported accounts log in over IMAP on a real ternd with the passwords of the old server, and get the folders
/// `user add` accounts get.
@Suite struct UserImportLoginTests {
    static let config = TerndProcess.imapsOnlyConfig()

    @Test func importedAccountsLogIn() throws {
        let server = try TerndProcess(config: Self.config)
        try server.waitForLog("ternd ready")
        try server.ternctl(["domain", "add", "example.com"])
        // Readable by root only, as passwd-files are: ternctl must read it before it becomes the service user.
        let file = server.directory + "/users.passwd"
        try FileManager.default.copyItem(atPath: passwdFixture, toPath: file)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
        let imported = try server.ternctl(["user", "import", file, "--domain", "example.com", "--skip-invalid"])
        #expect(imported.output.hasSuffix("created 5, updated 0, skipped 0, refused 5\n"))
        try server.ternctl(["user", "import", csvFixture, "--skip-invalid", "--create-domains"])
        try server.ternctl(["user", "add", "zoe@example.com", "--password-stdin"], input: "Summer2024x\n")

        for (user, password) in [("alice@example.com", "Summer2024x"), ("bob@example.com", "tr0ub4dor&3"),
                                 ("carol@example.com", "tr0ub4dor&3"), ("dave@example.com", "Winter2025y"),
                                 ("henry@example.com", "Summer2024x"), ("alice@example.org", "Summer2024x"),
                                 ("dave@example.org", "Winter2025y")] {
            let client = try IMAPTestClient(try server.address(of: "imaps"), tls: true)
            if user.hasPrefix("alice") || user.hasPrefix("dave") { // few: each failure slows the next (the throttle)
                let wrong = try client.command("LOGIN \"\(user)\" \"\(password)x\"")
                #expect(wrong.status.hasPrefix("NO"), "\(user) logged in with a wrong password")
            }
            let login = try client.command("LOGIN \"\(user)\" \"\(password)\"")
            #expect(login.ok, "\(user): \(login.tagged)")
        }

        func folders(_ user: String, _ password: String) throws -> Set<String> {
            let client = try IMAPTestClient(try server.address(of: "imaps"), tls: true)
            try client.login(user, password)
            let list = try client.command("LIST \"\" \"*\"")
            return Set(list.untagged.compactMap { line in
                line.hasPrefix("* LIST ") ? line.split(separator: " ").last.map { $0.replacingOccurrences(of: "\"", with: "") } : nil
            })
        }
        let standard: Set<String> = ["INBOX", "Drafts", "Sent", "Trash", "Junk", "Archive"]
        #expect(try folders("zoe@example.com", "Summer2024x") == standard)
        #expect(try folders("alice@example.com", "Summer2024x") == standard)
        #expect(try folders("dave@example.org", "Winter2025y") == standard)
    }
}
