// ternctl through its real binary: every command, its JSON, and its refusals (one-line error, status ≠ 0,
// nothing half-done).

import Foundation
import Testing
import TernTestSupport

/// A data folder and config of its own, and a way to run ternctl against it.
struct Admin {
    let folder: String
    let config: String

    init() throws {
        folder = NSTemporaryDirectory() + "ternctl-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        config = folder + "/tern.toml"
        // user = "root": when tests run as root, ternctl would otherwise switch to the service user.
        try """
            data_dir = "\(folder)/data"
            hostname = "mail.example.net"
            user = "root"
            [listeners]
            imap = ["127.0.0.1:1143"]
            imaps = ["127.0.0.1:1993"]
            submission = ["127.0.0.1:1587"]
            submissions = ["127.0.0.1:1465"]
            smtp = []
            pop3 = []
            pop3s = ["127.0.0.1:1995"]
            """.write(toFile: config, atomically: true, encoding: .utf8)
    }

    @discardableResult
    func run(_ arguments: String..., input: String? = nil) throws -> CommandResult {
        try runCommand(Products.path(of: "ternctl"), arguments + ["--config", config], input: input)
    }

    /// Runs a command that must succeed.
    @discardableResult
    func ok(_ arguments: String..., input: String? = nil) throws -> String {
        let result = try runCommand(Products.path(of: "ternctl"), arguments + ["--config", config], input: input)
        #expect(result.status == 0, "ternctl \(arguments.joined(separator: " ")): \(result.error)")
        return result.output
    }

    /// Runs a command that must fail with one error line containing `message`.
    func fails(_ arguments: [String], input: String? = nil, saying message: String) throws {
        let result = try runCommand(Products.path(of: "ternctl"), arguments + ["--config", config], input: input)
        #expect(result.status != 0, "ternctl \(arguments.joined(separator: " ")) should fail")
        #expect(result.error.contains(message), "stderr: \(result.error)")
        #expect(result.output.isEmpty, "nothing on stdout on failure: \(result.output)")
    }

    func json(_ arguments: String...) throws -> Any {
        let result = try runCommand(Products.path(of: "ternctl"), arguments + ["--json", "--config", config])
        #expect(result.status == 0, "\(result.error)")
        return try JSONSerialization.jsonObject(with: Data(result.output.utf8))
    }
}

@Suite struct TernctlTests {
    @Test func domainsAndAccountsLifecycle() throws {
        let admin = try Admin()
        #expect(try admin.ok("domain", "add", "Example.NET") == "added domain example.net\n")
        try admin.fails(["domain", "add", "example.net"], saying: "domain example.net already exists")
        try admin.fails(["domain", "add", "not a domain"], saying: "is not a valid domain name")
        try admin.ok("user", "add", "alice@example.net", "--password-stdin", "--name", "Alice", input: "Summer2024x\n")
        try admin.fails(["user", "add", "alice@example.net", "--password-stdin"], input: "Summer2024x\n",
                        saying: "account alice@example.net already exists")
        try admin.fails(["user", "add", "bob@other.org", "--password-stdin"], input: "Summer2024x\n",
                        saying: "domain other.org is not served here")
        try admin.fails(["user", "add", "bob"], saying: "'bob' is not an email address")
        let accounts = try #require(try admin.json("user", "list") as? [[String: Any]])
        #expect(accounts.map { $0["address"] as? String } == ["alice@example.net"])
        #expect(accounts.first?["name"] as? String == "Alice")
        let domains = try #require(try admin.json("domain", "list") as? [[String: Any]])
        #expect(domains.first?["accounts"] as? Int == 1)
        try admin.fails(["domain", "remove", "example.net"], saying: "still has 1 account(s)")
        try admin.ok("user", "remove", "alice@example.net")
        try admin.fails(["user", "remove", "alice@example.net"], saying: "no account alice@example.net")
        try admin.ok("domain", "remove", "example.net")
        #expect(try admin.ok("domain", "list").isEmpty)
    }

    @Test(arguments: [
        ("short1", "at least 8 characters"), ("nodigitshere", "must contain a digit"), ("ALLUPPER123", "lower-case letter"),
    ])
    func weakPasswordsAreRefusedNamingTheRule(_ password: String, _ rule: String) throws {
        let admin = try Admin()
        try admin.ok("domain", "add", "example.net")
        try admin.fails(["user", "add", "bob@example.net", "--password-stdin"], input: password + "\n", saying: rule)
        #expect(try admin.ok("user", "list").isEmpty) // nothing half-done
    }

    @Test func passwordsAreNeverReadFromArgumentsOrAPipeWithoutTheFlag() throws {
        let admin = try Admin()
        try admin.ok("domain", "add", "example.net")
        try admin.fails(["user", "add", "bob@example.net"], input: "Summer2024x\n", saying: "use --password-stdin")
        let result = try admin.run("user", "add", "bob@example.net", "--password", "Summer2024x")
        #expect(result.status != 0)
    }

    /// The interactive prompt: asked twice without echo; a mismatch changes nothing.
    @Test func interactivePromptAsksTwiceWithoutEcho() throws {
        let admin = try Admin()
        try admin.ok("domain", "add", "example.net")
        let prompt = repositoryPath("Tests/Interop/prompt.py")
        let ternctl = Products.path(of: "ternctl")
        let mismatch = try runCommand("/usr/bin/env", ["python3", prompt, "Summer2024x", "Summer2024y", "--", ternctl,
                                                       "user", "add", "bob@example.net", "--config", admin.config])
        #expect(mismatch.status != 0)
        #expect(mismatch.output.contains("the two passwords differ"))
        #expect(!mismatch.output.contains("Summer2024"), "the password was echoed")
        let good = try runCommand("/usr/bin/env", ["python3", prompt, "Summer2024x", "Summer2024x", "--", ternctl,
                                                   "user", "add", "bob@example.net", "--config", admin.config])
        #expect(good.status == 0, "\(good.output)")
        #expect(good.output.contains("New password: ") && good.output.contains("Repeat it: "))
        #expect(!good.output.contains("Summer2024x"), "the password was echoed")
        #expect(try admin.ok("user", "list").hasPrefix("bob@example.net"))
    }

    @Test func importedHashesAndSettings() throws {
        let admin = try Admin()
        try admin.ok("domain", "add", "example.net")
        let hashes = try String(contentsOfFile: repositoryPath("Fixtures/auth/hashes.tsv"), encoding: .utf8)
            .split(separator: "\n").filter { !$0.hasPrefix("#") }.map { $0.split(separator: "\t")[1] }
        for (index, hash) in hashes.enumerated() {
            try admin.ok("user", "add", "user\(index)@example.net", "--hash", String(hash))
        }
        try admin.fails(["user", "add", "x@example.net", "--hash", "{PLAIN}secret"], saying: "unsupported password hash")
        let shown = try admin.ok("user", "show", "user2@example.net")
        #expect(shown.contains("password hash:        bcrypt"))
        let settings = try admin.ok("settings", "user0@example.net")
        #expect(settings.contains("User name:  user0@example.net"))
        #expect(settings.contains("Incoming (IMAP): mail.example.net, port 1993, SSL/TLS"))
        #expect(settings.contains("Outgoing (SMTP): mail.example.net, port 1587, STARTTLS"))
        #expect(settings.contains("Incoming (POP3): mail.example.net, port 1995, SSL/TLS"))
        let json = try #require(try admin.json("settings", "user0@example.net") as? [String: Any])
        #expect((json["servers"] as? [[String: Any]])?.count == 5)
        try admin.fails(["settings", "nobody@example.net"], saying: "no account nobody@example.net")
    }

    @Test func setPasswdAndShow() throws {
        let admin = try Admin()
        try admin.ok("domain", "add", "example.net")
        try admin.ok("user", "add", "alice@example.net", "--password-stdin", "--must-change-password", input: "Summer2024x\n")
        try admin.ok("user", "set", "alice@example.net", "--quota", "2G", "--quota-messages", "5000", "--retention", "60",
                     "--disabled", "true", "--name", "Alice A.")
        var shown = try #require(try admin.json("user", "show", "alice@example.net") as? [String: Any])
        #expect(shown["quota_bytes"] as? Int == 2 << 30)
        #expect(shown["quota_messages"] as? Int == 5000)
        #expect(shown["retention_days"] as? Int == 60)
        #expect(shown["disabled"] as? Bool == true)
        #expect(shown["must_change_password"] as? Bool == true)
        try admin.ok("user", "passwd", "alice@example.net", "--password-stdin", input: "Winter2025y\n")
        try admin.ok("user", "set", "alice@example.net", "--quota", "none", "--retention", "default", "--disabled", "false")
        shown = try #require(try admin.json("user", "show", "alice@example.net") as? [String: Any])
        #expect(shown["must_change_password"] as? Bool == false) // a new password clears it
        #expect(shown["quota_bytes"] is NSNull)
        #expect(shown["retention_days"] is NSNull)
        try admin.fails(["user", "set", "alice@example.net"], saying: "nothing to change")
        try admin.fails(["user", "set", "alice@example.net", "--quota", "lots"], saying: "is not a size")
        try admin.fails(["user", "set", "alice@example.net", "--retention", "9999"], saying: "retention must be 0...3650")
        try admin.fails(["user", "passwd", "nobody@example.net", "--password-stdin"], input: "Winter2025y\n",
                        saying: "no account nobody@example.net")
    }

    @Test func aliasesAndIdentities() throws {
        let admin = try Admin()
        try admin.ok("domain", "add", "example.net")
        try admin.ok("user", "add", "alice@example.net", "--password-stdin", input: "Summer2024x\n")
        try admin.ok("user", "add", "bob@example.net", "--password-stdin", input: "Summer2024x\n")
        try admin.ok("alias", "add", "sales@example.net", "alice@example.net", "bob@example.net")
        try admin.ok("alias", "add", "@example.net", "bob@example.net")
        try admin.fails(["alias", "add", "info@example.net", "sales@example.net"], saying: "alias chains and loops are not allowed")
        try admin.fails(["alias", "add", "x@example.net", "alice@example.net", "ghost@example.net"],
                        saying: "no account ghost@example.net")
        try admin.fails(["alias", "add", "alice@example.net", "bob@example.net"], saying: "is an account")
        let aliases = try #require(try admin.json("alias", "list") as? [[String: Any]])
        #expect(aliases.map { $0["alias"] as? String } == ["@example.net", "sales@example.net"])
        #expect(!(try admin.ok("alias", "list")).contains("x@example.net")) // the failed add left nothing
        try admin.ok("alias", "remove", "sales@example.net", "bob@example.net")
        try admin.fails(["alias", "remove", "nothing@example.net"], saying: "no alias nothing@example.net")
        try admin.ok("identity", "add", "alice@example.net", "ceo@example.net")
        try admin.fails(["identity", "add", "alice@example.net", "ceo@example.net"], saying: "can already send as")
        try admin.fails(["identity", "add", "alice@example.net", "bob@example.net"], saying: "another account's address")
        try admin.fails(["identity", "add", "alice@example.net", "x@elsewhere.org"], saying: "not served here")
        #expect(try admin.ok("identity", "list", "alice@example.net") == "alice@example.net\tceo@example.net\n")
        try admin.ok("identity", "remove", "alice@example.net", "ceo@example.net")
        try admin.fails(["identity", "remove", "alice@example.net", "ceo@example.net"], saying: "has no identity")
    }

    @Test func everyCommandHasHelp() throws {
        for command in [[], ["domain"], ["domain", "add"], ["user"], ["user", "add"], ["user", "import"], ["user", "set"], ["alias", "add"],
                        ["identity", "list"], ["settings"], ["config", "check"], ["migrate"]] {
            let result = try runCommand(Products.path(of: "ternctl"), command + ["--help"])
            #expect(result.status == 0)
            #expect(result.output.contains("USAGE") || result.output.contains("Usage"), "\(command)")
        }
    }

    @Test func badConfigIsReported() throws {
        let admin = try Admin()
        try "data_dir = 5\n".write(toFile: admin.config, atomically: true, encoding: .utf8)
        try admin.fails(["domain", "list"], saying: "tern.toml:1: key 'data_dir': must be a string")
    }
}
