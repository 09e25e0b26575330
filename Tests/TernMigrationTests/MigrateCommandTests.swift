// `ternctl migrate` end to end: the real ternctl copies accounts from a private Dovecot (DovecotServer, populated
// with OldServerCorpus) into the data folder of a real ternd, and IMAP snapshots of both servers must then agree
// folder by folder after the name mapping (`ExpectedAccount`): same folders, same messages (bytes, flags, keywords,
// internal dates), subscriptions and special-use attributes. Also: a second run copies nothing; an incremental run
// copies only what is new and carries flag changes over (a conflict keeps ours); a run killed with SIGKILL and run
// again ends exactly like one that was not; Courier-style names ("INBOX." prefix, "." separator) over STARTTLS;
// every refusal is one line and leaves nothing behind; batches report each account and can be re-run.
//
// Each test starts its own Dovecot and ternd (no state shared); the suite is serialized so two of them never
// compete for the two cores.

import Foundation
import Glibc
import Testing
import TernCore
import TernTestSupport

@Suite(.enabled(if: DovecotServer.isAvailable, "needs /usr/sbin/dovecot (Debian's dovecot-imapd) and root"),
       .serialized, .timeLimit(.minutes(3)))
struct MigrateCommandTests {
    static let alice = "alice@example.com"
    static let alicePassword = "Old-Secret-2024x"

    // MARK: a. everything, then nothing

    @Test func copiesTheWholeAccountAndASecondRunCopiesNothing() throws {
        let setup = try MigrationSetup(users: [(Self.alice, Self.alicePassword)])
        let corpus = OldServerCorpus(for: setup.dovecot)
        try corpus.populate(setup.dovecot, login: Self.alice, password: Self.alicePassword)
        let old = try setup.oldSnapshot(Self.alice, Self.alicePassword)
        #expect(old.messageCount == 1_000)

        let clock = ContinuousClock()
        var first: CommandResult?
        let copying = try clock.measure {
            first = try setup.migrate([Self.alice] + setup.pinnedIMAPS + ["--password-stdin", "--create", "--json"],
                                      password: Self.alicePassword)
        }
        let run = try #require(first)
        #expect(run.status == 0, "\(run.error)")
        #expect(run.error.contains("created \(Self.alice) with its old password"), "\(run.error)")
        let summary = try MigrationSetup.summary(run)
        #expect(summary["complete"] as? Bool == true)
        #expect(summary["messages_copied"] as? Int == 1_000)
        #expect(summary["bytes_copied"] as? Int == corpus.totalBytes)
        #expect(summary["already_copied"] as? Int == 0)
        #expect((summary["skipped"] as? [Any])?.isEmpty == true, "\(summary["skipped"] ?? "")")
        print("migrate: 1,000 messages (\(corpus.totalBytes) bytes) in \(copying)")

        // --create made the account with the old password: it logs in to ternd with it.
        let tern = try setup.ternSnapshot(Self.alice, Self.alicePassword)
        ExpectedAccount(old, separator: "/", prefix: "").check(tern)
        #expect(tern.messageCount == 1_000)

        // The same old server under another name (here: localhost for 127.0.0.1, over STARTTLS): still the same
        // old account, nothing is copied again.
        let again = try setup.migrate([Self.alice, "--from", "imap://localhost:\(setup.dovecot.imapPort)", "--fingerprint",
                                       setup.dovecot.certificateSHA256Fingerprint, "--password-stdin", "--json"],
                                      password: Self.alicePassword)
        #expect(again.status == 0, "\(again.error)")
        let second = try MigrationSetup.summary(again)
        #expect(second["complete"] as? Bool == true)
        #expect(second["messages_copied"] as? Int == 0)
        #expect(second["already_copied"] as? Int == 1_000)
        #expect(second["flags_updated"] as? Int == 0)
        // Same UIDVALIDITY, UIDs, flags, folders, subscriptions.
        #expect(try setup.ternSnapshot(Self.alice, Self.alicePassword) == tern)
    }

    // MARK: b. incremental

    @Test func aLaterRunCopiesNewMailAndCarriesFlagChangesOverUnlessChangedHereToo() throws {
        let setup = try MigrationSetup(users: [(Self.alice, Self.alicePassword)])
        let corpus = OldServerCorpus(for: setup.dovecot)
        try corpus.populate(setup.dovecot, login: Self.alice, password: Self.alicePassword)
        let arguments = [Self.alice] + setup.pinnedIMAPS + ["--password-stdin", "--create", "--json"]
        let first = try setup.migrate(arguments, password: Self.alicePassword)
        #expect(first.status == 0, "\(first.error)")
        let copied = try setup.ternSnapshot(Self.alice, Self.alicePassword)

        // On the old server: two new messages, and flag changes on three INBOX messages.
        let oldBefore = try setup.oldSnapshot(Self.alice, Self.alicePassword)
        let inbox = try #require(oldBefore["INBOX"])
        let indexes = Array(inbox.messages.indices)
        let flagged = try #require(indexes.first { !inbox.messages[$0].flags.contains("\\Flagged") })
        let unseen = try #require(indexes.first { $0 != flagged && inbox.messages[$0].flags.contains("\\Seen") })
        let keyword = try #require(indexes.first { $0 != flagged && $0 != unseen })
        let old = try IMAPTestClient.connect(port: setup.dovecot.imapPort, security: .plaintext)
        try old.login(astring: Self.alice, password: Self.alicePassword)
        try old.checked("SELECT INBOX")
        try old.checked("UID STORE \(inbox.uids[flagged]) +FLAGS.SILENT (\\Flagged)")
        try old.checked("UID STORE \(inbox.uids[unseen]) -FLAGS.SILENT (\\Seen)")
        try old.checked("UID STORE \(inbox.uids[keyword]) +FLAGS.SILENT (Project-Y)")
        let newMessages = [
            ("INBOX", "(\\Seen $Forwarded)", "03-Feb-2025 10:11:12 +0100", "arrived later, one"),
            ("Projects/&AMQ-rger", "()", "04-Feb-2025 23:59:59 -0800", "arrived later, two"),
        ]
        for (folder, flags, date, subject) in newMessages {
            let text = "From: Old <old@example.com>\r\nTo: \(Self.alice)\r\nSubject: \(subject)\r\n\r\nHi.\r\n"
            let bytes = Array(text.utf8)
            let response = try old.command("APPEND \"\(folder)\" \(flags) \"\(date)\" {\(bytes.count)}",
                                           continuations: [bytes + [13, 10]])
            #expect(response.ok, "\(response.tagged)")
        }
        _ = try? old.command("LOGOUT")

        // Here: the user changes the message that gets \Flagged there (a conflict: ours wins).
        let ternInbox = try #require(copied["INBOX"])
        let conflictUID = try #require(ternInbox.messages.firstIndex { $0.sha256 == inbox.messages[flagged].sha256 }
            .map { ternInbox.uids[$0] })
        let here = try IMAPTestClient.connect(port: setup.ternIMAPSPort, security: .implicitTLS)
        try here.login(astring: Self.alice, password: Self.alicePassword)
        try here.checked("SELECT INBOX")
        try here.checked("UID STORE \(conflictUID) +FLAGS.SILENT (Tern-Label \\Answered)")
        _ = try? here.command("LOGOUT")
        let oursBefore = try setup.ternSnapshot(Self.alice, Self.alicePassword)

        let rerun = try setup.migrate(arguments, password: Self.alicePassword)
        #expect(rerun.status == 0, "\(rerun.error)")
        let summary = try MigrationSetup.summary(rerun)
        #expect(summary["complete"] as? Bool == true)
        #expect(summary["messages_copied"] as? Int == 2)
        #expect(summary["already_copied"] as? Int == 1_000)
        #expect(summary["flags_updated"] as? Int == 2)
        #expect(summary["flag_conflicts"] as? Int == 1)

        // Everything as on the old server now, except the conflicting message, which keeps our flags.
        let oldAfter = try setup.oldSnapshot(Self.alice, Self.alicePassword)
        var expected = ExpectedAccount(oldAfter, separator: "/", prefix: "")
        let ours = try #require(oursBefore["INBOX"]?.messages.first { $0.sha256 == inbox.messages[flagged].sha256 })
        #expect(ours.flags.contains("Tern-Label") && !ours.flags.contains("\\Flagged"))
        expected.replace(in: "INBOX", sha256: ours.sha256, with: ours)
        let after = try setup.ternSnapshot(Self.alice, Self.alicePassword)
        expected.check(after)
        #expect(after.messageCount == 1_002)
        // The messages copied before kept their UIDs (nothing was copied twice or replaced).
        let inboxAfter = try #require(after["INBOX"])
        #expect(Array(inboxAfter.uids.prefix(ternInbox.uids.count)) == ternInbox.uids)
        #expect(inboxAfter.uidValidity == ternInbox.uidValidity)
    }

    // MARK: c. killed and run again

    @Test func aRunKilledTwiceFinishesWithNeitherDuplicatesNorGaps() throws {
        let setup = try MigrationSetup(users: [(Self.alice, Self.alicePassword)])
        let corpus = OldServerCorpus(for: setup.dovecot)
        try corpus.populate(setup.dovecot, login: Self.alice, password: Self.alicePassword)
        let old = try setup.oldSnapshot(Self.alice, Self.alicePassword)
        try setup.tern.ternctl(["user", "add", Self.alice, "--password-stdin"], input: Self.alicePassword + "\n")
        let arguments = [Self.alice] + setup.pinnedIMAPS + ["--password-stdin", "--json"]
        let mail = setup.mailFolder(of: Self.alice)

        // Killed while the first batch is being written (files on disk, not committed yet), then once more after
        // some batches were committed and another is being written. After each kill, the next open of the store
        // (here `ternctl mailbox list`) removes the files of the batch that was not committed.
        var committedAtKill: [Int] = []
        for (round, threshold) in [(1, 150), (2, 650)] {
            let child = try setup.startMigrate(arguments, password: Self.alicePassword)
            let filesAtKill = try MigrationSetup.waitForFiles(in: mail, atLeast: threshold, while: child)
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
            #expect(child.terminationReason == .uncaughtSignal, "round \(round): it ended before the kill")
            let committed = try setup.messageCount(of: Self.alice)
            let files = MigrationSetup.fileCount(in: mail)
            print("round \(round): killed at \(filesAtKill) files, \(committed) messages committed")
            #expect(files == committed, "round \(round): \(files) files for \(committed) messages")
            #expect(committed < 1_000, "round \(round): everything was copied before the kill")
            committedAtKill.append(committed)
        }
        #expect(committedAtKill[1] > 0, "nothing committed before the second kill")

        let finish = try setup.migrate(arguments, password: Self.alicePassword)
        #expect(finish.status == 0, "\(finish.error)")
        let summary = try MigrationSetup.summary(finish)
        #expect(summary["complete"] as? Bool == true)
        #expect(summary["messages_copied"] as? Int == 1_000 - committedAtKill[1])
        #expect(summary["already_copied"] as? Int == committedAtKill[1])
        #expect(MigrationSetup.fileCount(in: mail) == 1_000)

        let tern = try setup.ternSnapshot(Self.alice, Self.alicePassword)
        ExpectedAccount(old, separator: "/", prefix: "").check(tern)
        #expect(tern.messageCount == 1_000)
    }

    /// The user may log in to ternd while a copy runs: ternd opening the account's store then (and recovering it)
    /// must leave alone the files of the batch being written. ternctl is stopped (SIGSTOP) with a batch on disk
    /// and not committed, the user logs in, ternctl goes on.
    @Test func aLoginWhileABatchIsWrittenLosesNothing() throws {
        let setup = try MigrationSetup(users: [(Self.alice, Self.alicePassword)])
        let corpus = OldServerCorpus(for: setup.dovecot, messageCount: 400)
        try corpus.populate(setup.dovecot, login: Self.alice, password: Self.alicePassword)
        let old = try setup.oldSnapshot(Self.alice, Self.alicePassword)
        try setup.tern.ternctl(["user", "add", Self.alice, "--password-stdin"], input: Self.alicePassword + "\n")
        // The store exists before the copy starts, and ternd has closed it again.
        _ = try setup.ternSnapshot(Self.alice, Self.alicePassword)
        usleep(1_200_000)
        let child = try setup.startMigrate([Self.alice, "--from", setup.imapsURL, "--fingerprint",
                                            setup.dovecot.certificateSHA256Fingerprint, "--password-stdin"],
                                           password: Self.alicePassword)
        let files = try MigrationSetup.waitForFiles(in: setup.mailFolder(of: Self.alice), atLeast: 60, while: child)
        #expect(files >= 60)
        kill(child.processIdentifier, SIGSTOP)
        let client = try IMAPTestClient.connect(port: setup.ternIMAPSPort, security: .implicitTLS)
        try client.login(astring: Self.alice, password: Self.alicePassword)
        let status = try client.checked("STATUS INBOX (MESSAGES)")
        #expect(status.ok, "\(status.tagged)")
        _ = try? client.command("LOGOUT")
        kill(child.processIdentifier, SIGCONT)
        child.waitUntilExit()
        #expect(child.terminationStatus == 0, "\(setup.migrateErrors)")
        // ternd's open finds ternctl holding the store (OpenLock) and leaves its files in flight alone.
        let tern = try setup.ternSnapshot(Self.alice, Self.alicePassword)
        ExpectedAccount(old, separator: "/", prefix: "").check(tern)
    }

    // MARK: d. Courier-style names over STARTTLS

    @Test func dottedNamesUnderTheInboxPrefixMapOverSTARTTLS() throws {
        let setup = try MigrationSetup(users: [(Self.alice, Self.alicePassword)], separator: ".", prefix: "INBOX.")
        let corpus = OldServerCorpus(for: setup.dovecot, messageCount: 200)
        try corpus.populate(setup.dovecot, login: Self.alice, password: Self.alicePassword)
        let old = try setup.oldSnapshot(Self.alice, Self.alicePassword)
        #expect(old["INBOX.Sent"] != nil && old["INBOX.Projects.Ärger"] != nil)

        let startTLS = ["--from", "imap://127.0.0.1:\(setup.dovecot.imapPort)",
                        "--fingerprint", setup.dovecot.certificateSHA256Fingerprint]
        let run = try setup.migrate([Self.alice] + startTLS + ["--password-stdin", "--create", "--json"],
                                    password: Self.alicePassword)
        #expect(run.status == 0, "\(run.error)")
        let summary = try MigrationSetup.summary(run)
        #expect(summary["messages_copied"] as? Int == 200)
        #expect(summary["complete"] as? Bool == true)

        let tern = try setup.ternSnapshot(Self.alice, Self.alicePassword)
        ExpectedAccount(old, separator: ".", prefix: "INBOX.").check(tern)
        #expect(tern.separator == "/")
        #expect(tern["Sent"]?.specialUse == "\\Sent")
        #expect(tern["Projects/Ärger"]?.messages.count == old["INBOX.Projects.Ärger"]?.messages.count)
        #expect(tern["Lists/swift-evolution"]?.isSubscribed == false)
        #expect(!tern.mailboxes.contains { $0.name.hasPrefix("INBOX.") || $0.name.hasPrefix("INBOX/") }, "\(tern)")
    }

    // MARK: e. refusals

    @Test func refusalsAreOneLineAndLeaveNothingBehind() throws {
        let setup = try MigrationSetup(users: [(Self.alice, Self.alicePassword)])
        let corpus = OldServerCorpus(for: setup.dovecot, messageCount: 20)
        try corpus.populate(setup.dovecot, login: Self.alice, password: Self.alicePassword)
        let fingerprint = setup.dovecot.certificateSHA256Fingerprint
        let closedPort = try MigrationSetup.closedPort()
        let wrongFingerprint = String(repeating: "AB:", count: 31) + "AB"

        /// Runs and checks: status 1, exactly one line on stderr holding every fragment, nothing on stdout but JSON.
        func refused(_ arguments: [String], password: String = Self.alicePassword, saying fragments: [String],
                     sourceLocation: SourceLocation = #_sourceLocation) throws {
            let result = try setup.migrate(arguments, password: password)
            #expect(result.status != 0, "\(arguments) succeeded", sourceLocation: sourceLocation)
            let lines = result.error.split(separator: "\n")
            #expect(lines.count == 1, "\(arguments): \(result.error)", sourceLocation: sourceLocation)
            for fragment in fragments {
                #expect(result.error.contains(fragment), "\(arguments): \(result.error)",
                        sourceLocation: sourceLocation)
            }
        }

        // With --create: nothing is created when the old server cannot be used.
        let create = [Self.alice, "--password-stdin", "--create"]
        try refused(create + ["--from", setup.imapsURL, "--fingerprint", fingerprint], password: "wrong-password",
                    saying: ["refused the login of \(Self.alice)"])
        try refused(create + ["--from", "imaps://127.0.0.1:\(closedPort)", "--fingerprint", fingerprint],
                    saying: ["cannot reach", "127.0.0.1:\(closedPort)"])
        try refused(create + ["--from", setup.imapsURL], saying: ["not trusted", "--fingerprint \(fingerprint)"])
        try refused(create + ["--from", "imap://127.0.0.1:\(setup.dovecot.imapPort)"],
                    saying: ["not trusted", "--fingerprint \(fingerprint)"])
        try refused(create + ["--from", setup.imapsURL, "--fingerprint", wrongFingerprint],
                    saying: ["not the \(wrongFingerprint)", fingerprint])
        try refused(["alice@unknown.example", "--password-stdin", "--create"] + setup.pinnedIMAPS,
                    saying: ["unknown.example is not a domain here"])
        try refused([Self.alice, "--password-stdin"] + setup.pinnedIMAPS, saying: ["has no account here", "--create"])
        for url in ["imaps//127.0.0.1", "https://127.0.0.1", "imaps://127.0.0.1:99999", "imaps://", "imaps://u@x"] {
            try refused(create + ["--from", url, "--fingerprint", fingerprint],
                        saying: ["invalid old server \"\(url)\""])
        }
        let accounts = try setup.tern.ternctl(["user", "list"]).output
        #expect(accounts.isEmpty, "\(accounts)")
        #expect(!FileManager.default.fileExists(atPath: setup.accountFolder(of: Self.alice)))

        // With an existing account, the same refusals (the account's mail is untouched: nothing copied).
        try setup.tern.ternctl(["user", "add", Self.alice, "--password-stdin"], input: "Here-Secret-2024x\n")
        let existing = [Self.alice, "--password-stdin"]
        try refused(existing + ["--from", setup.imapsURL, "--fingerprint", fingerprint], password: "wrong-password",
                    saying: ["refused the login of \(Self.alice)"])
        try refused(existing + ["--from", "imaps://127.0.0.1:\(closedPort)", "--fingerprint", fingerprint],
                    saying: ["cannot reach"])
        try refused(existing + ["--from", setup.imapsURL], saying: ["not trusted", "--fingerprint \(fingerprint)"])
        try refused(existing + ["--from", setup.imapsURL, "--fingerprint", wrongFingerprint], saying: ["not the"])
        let snapshot = try setup.ternSnapshot(Self.alice, "Here-Secret-2024x")
        #expect(snapshot.messageCount == 0)
        #expect(Set(snapshot.mailboxes.map(\.name)) == ["INBOX", "Drafts", "Sent", "Trash", "Junk", "Archive"])
    }

    // MARK: f. batches

    @Test func aBatchCopiesTheGoodAccountsReportsTheBadOneAndCanBeRunAgain() throws {
        let bob = (address: "bob@example.com", login: "bob.old", password: "Bob-Secret-2024x")
        let carol = (address: "carol@example.com", password: "Carol-Secret-2024x")
        let setup = try MigrationSetup(users: [(Self.alice, Self.alicePassword), (bob.login, bob.password),
                                               (carol.address, carol.password)])
        let corpora = [
            (Self.alice, Self.alicePassword, OldServerCorpus(for: setup.dovecot, messageCount: 120, seed: 1)),
            (bob.login, bob.password, OldServerCorpus(for: setup.dovecot, messageCount: 90, seed: 2)),
            (carol.address, carol.password, OldServerCorpus(for: setup.dovecot, messageCount: 60, seed: 3)),
        ]
        for (login, password, corpus) in corpora {
            try corpus.populate(setup.dovecot, login: login, password: password)
        }
        let reports = setup.tern.directory + "/reports"
        let csv = setup.tern.directory + "/accounts.csv"
        func write(carolPassword: String) throws {
            try """
                address,password,login
                \(Self.alice),\(Self.alicePassword)
                \(bob.address),"\(bob.password)",\(bob.login)
                \(carol.address),\(carolPassword)

                """.write(toFile: csv, atomically: true, encoding: .utf8)
            // Passwords: readable by root only (ternctl reads it before it becomes the service user).
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: csv)
        }
        let arguments = ["--batch", csv] + setup.pinnedIMAPS
            + ["--create", "--jobs", "2", "--report-dir", reports, "--json"]

        try write(carolPassword: "wrong-password")
        let first = try setup.migrate(arguments, password: nil)
        #expect(first.status != 0)
        #expect(first.error.contains("1 account(s) not completely copied: \(carol.address)"), "\(first.error)")
        let rows = try MigrationSetup.summaries(first)
        #expect(rows.map { $0["account"] as? String } == [Self.alice, bob.address, carol.address])
        #expect(rows[0]["messages_copied"] as? Int == 120 && rows[0]["complete"] as? Bool == true, "\(rows[0])")
        #expect(rows[1]["messages_copied"] as? Int == 90 && rows[1]["complete"] as? Bool == true, "\(rows[1])")
        #expect((rows[2]["error"] as? String)?.contains("refused the login of \(carol.address)") == true, "\(rows[2])")
        for account in [Self.alice, bob.address, carol.address] {
            #expect(FileManager.default.fileExists(atPath: "\(reports)/\(account).txt"), "no report for \(account)")
        }
        let carolReport = try String(contentsOfFile: "\(reports)/\(carol.address).txt", encoding: .utf8)
        #expect(carolReport.contains("failed: ") && carolReport.contains("refused the login"), "\(carolReport)")
        let bobReport = try String(contentsOfFile: "\(reports)/\(bob.address).txt", encoding: .utf8)
        #expect(bobReport.contains("as \(bob.login)") && bobReport.contains("  complete\n"), "\(bobReport)")
        let accounts = try setup.tern.ternctl(["user", "list"]).output.split(separator: "\n")
        #expect(accounts.map { $0.split(separator: "\t")[0] } == [Substring(Self.alice), Substring(bob.address)])

        try write(carolPassword: carol.password)
        let second = try setup.migrate(arguments, password: nil)
        #expect(second.status == 0, "\(second.error)")
        let again = try MigrationSetup.summaries(second)
        #expect(again.map { $0["messages_copied"] as? Int } == [0, 0, 60])
        #expect(again.map { $0["already_copied"] as? Int } == [120, 90, 0])
        #expect(again.allSatisfy { $0["complete"] as? Bool == true })

        for (index, (login, password, _)) in corpora.enumerated() {
            let address = [Self.alice, bob.address, carol.address][index]
            let old = try setup.oldSnapshot(login, password)
            ExpectedAccount(old, separator: "/", prefix: "").check(try setup.ternSnapshot(address, password))
        }
    }
}

// MARK: - The two servers

/// A private Dovecot (the old server) and a ternd serving example.com over imaps on an ephemeral port.
final class MigrationSetup {
    static let config = TerndProcess.imapsOnlyConfig()

    let dovecot: DovecotServer
    let tern: TerndProcess
    let ternIMAPSPort: UInt16

    init(users: [(login: String, password: String)], separator: Character = "/", prefix: String = "") throws {
        dovecot = try DovecotServer(users: users, hierarchySeparator: separator, namespacePrefix: prefix)
        do {
            tern = try TerndProcess(config: Self.config)
            try tern.waitForLog("ternd ready")
            try tern.ternctl(["domain", "add", "example.com"])
            ternIMAPSPort = try tern.address(of: "imaps").port
        } catch {
            dovecot.stop()
            throw error
        }
    }

    deinit { dovecot.stop() }

    var imapsURL: String { "imaps://127.0.0.1:\(dovecot.imapsPort)" }
    /// `--from` Dovecot's imaps port, its certificate pinned.
    var pinnedIMAPS: [String] { ["--from", imapsURL, "--fingerprint", dovecot.certificateSHA256Fingerprint] }

    /// `ternctl migrate ARGUMENTS --config …` with `password` as the first line of standard input.
    func migrate(_ arguments: [String], password: String?, timeout: Double = 90) throws -> CommandResult {
        try runCommand(Products.path(of: "ternctl"), ["migrate"] + arguments + ["--config", tern.configPath],
                       input: password.map { $0 + "\n" } ?? "", timeout: timeout)
    }

    /// The same, started and left running (for killing it).
    func startMigrate(_ arguments: [String], password: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Products.path(of: "ternctl"))
        process.arguments = ["migrate"] + arguments + ["--config", tern.configPath]
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        _ = FileManager.default.createFile(atPath: tern.directory + "/migrate.err", contents: nil)
        process.standardError = FileHandle(forWritingAtPath: tern.directory + "/migrate.err")
        try process.run()
        input.fileHandleForWriting.write(Data((password + "\n").utf8))
        try input.fileHandleForWriting.close()
        return process
    }

    /// What the last `startMigrate` wrote on standard error.
    var migrateErrors: String { (try? String(contentsOfFile: tern.directory + "/migrate.err", encoding: .utf8)) ?? "" }

    func oldSnapshot(_ login: String, _ password: String) throws -> IMAPMailSnapshot {
        try IMAPMailSnapshot.take(port: dovecot.imapsPort, security: .implicitTLS, login: login, password: password)
    }

    func ternSnapshot(_ login: String, _ password: String) throws -> IMAPMailSnapshot {
        try IMAPMailSnapshot.take(port: ternIMAPSPort, security: .implicitTLS, login: login, password: password)
    }

    func accountFolder(of address: String) -> String { tern.directory + "/data/accounts/" + address }
    func mailFolder(of address: String) -> String { accountFolder(of: address) + "/mail" }

    /// Message files in every `cur/` under `mail` (committed or not).
    static func fileCount(in mail: String) -> Int {
        var count = 0
        for box in (try? FileManager.default.contentsOfDirectory(atPath: mail)) ?? [] {
            count += (try? FileManager.default.contentsOfDirectory(atPath: "\(mail)/\(box)/cur"))?.count ?? 0
        }
        return count
    }

    /// The messages the account's index holds (`ternctl mailbox list --json`: opening the store also removes files
    /// an interrupted migration left uncommitted).
    func messageCount(of address: String) throws -> Int {
        let result = try runCommand(Products.path(of: "ternctl"),
                                    ["mailbox", "list", address, "--json", "--config", tern.configPath])
        guard result.status == 0,
              let rows = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [[String: Any]] else {
            throw MigrationTestError("ternctl mailbox list: \(result.error)")
        }
        return rows.reduce(0) { $0 + ($1["messages"] as? Int ?? 0) }
    }

    /// Polls until `mail` holds at least `count` message files; throws if `process` ends first or after 60 s.
    static func waitForFiles(in mail: String, atLeast count: Int, while process: Process) throws -> Int {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let files = fileCount(in: mail)
            if files >= count { return files }
            guard process.isRunning else {
                throw MigrationTestError("ternctl migrate ended with \(files) files, before \(count)")
            }
            usleep(2_000)
        }
        throw MigrationTestError("fewer than \(count) files after 60 s")
    }

    /// A loopback port nothing listens on (bound, then closed).
    static func closedPort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw MigrationTestError("socket: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw MigrationTestError("bind: errno \(errno)") }
        return UInt16(bigEndian: address.sin_port)
    }

    /// The JSON rows `--json` printed.
    static func summaries(_ result: CommandResult) throws -> [[String: Any]] {
        guard let rows = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [[String: Any]] else {
            throw MigrationTestError("not a JSON array: \(result.output) \(result.error)")
        }
        return rows
    }

    /// The one row of a single account's `--json`.
    static func summary(_ result: CommandResult) throws -> [String: Any] {
        let rows = try summaries(result)
        guard rows.count == 1 else { throw MigrationTestError("\(rows.count) rows: \(result.output)") }
        return rows[0]
    }
}

struct MigrationTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

// MARK: - What Tern must show

/// An old server's snapshot as Tern must show it after a migration: the namespace prefix dropped, the hierarchy
/// separator made "/", "Deleted Items" (and what is under it) in Trash; the standard folders with Tern's special-use
/// attributes, no other folder with one; subscriptions as they were; the same messages in each folder (compared as
/// multisets: UIDs and order are the servers' own). A parent that only existed as such on the old server
/// (`\Noselect`) is a folder without messages here.
struct ExpectedAccount {
    struct Folder: Equatable, CustomStringConvertible {
        var isSubscribed: Bool
        var specialUse: String?
        var messages: [IMAPMailSnapshot.Message]

        var description: String {
            "\(messages.count) messages, \(isSubscribed ? "subscribed" : "unsubscribed"), "
                + (specialUse ?? "no special use")
        }
    }

    static let specialUses = [
        "Sent": "\\Sent", "Drafts": "\\Drafts", "Junk": "\\Junk", "Trash": "\\Trash", "Archive": "\\Archive",
    ]

    var folders: [String: Folder] = [:]

    init(_ old: IMAPMailSnapshot, separator: Character, prefix: String) {
        for mailbox in old.mailboxes {
            let name = Self.nameHere(mailbox.name, separator: separator, prefix: prefix)
            folders[name] = Folder(isSubscribed: mailbox.isSubscribed || name == "INBOX",
                                   specialUse: Self.specialUses[name],
                                   messages: Self.sorted(mailbox.messages))
        }
    }

    static func nameHere(_ old: String, separator: Character, prefix: String) -> String {
        guard old != "INBOX" else { return old }
        var name = Substring(old)
        if !prefix.isEmpty && name.hasPrefix(prefix) { name = name.dropFirst(prefix.count) }
        var parts = name.split(separator: separator, omittingEmptySubsequences: false).map(String.init)
        if parts.first == "Deleted Items" { parts[0] = "Trash" }
        return parts.joined(separator: "/")
    }

    static func sorted(_ messages: [IMAPMailSnapshot.Message]) -> [IMAPMailSnapshot.Message] {
        messages.sorted {
            ($0.sha256, $0.internalDate, $0.flags.joined(separator: " "))
                < ($1.sha256, $1.internalDate, $1.flags.joined(separator: " "))
        }
    }

    mutating func replace(in folder: String, sha256: String, with message: IMAPMailSnapshot.Message) {
        guard var messages = folders[folder]?.messages,
              let index = messages.firstIndex(where: { $0.sha256 == sha256 }) else {
            Issue.record("no message \(sha256.prefix(12)) in \(folder)")
            return
        }
        messages[index] = message
        folders[folder]?.messages = Self.sorted(messages)
    }

    /// Records an issue per folder that differs, in a few words (never whole message lists).
    func check(_ tern: IMAPMailSnapshot, sourceLocation: SourceLocation = #_sourceLocation) {
        let here = Dictionary(uniqueKeysWithValues: tern.mailboxes.map { mailbox in
            (mailbox.name, Folder(isSubscribed: mailbox.isSubscribed, specialUse: mailbox.specialUse,
                                  messages: Self.sorted(mailbox.messages)))
        })
        #expect(Set(here.keys) == Set(folders.keys),
                "folders here \(here.keys.sorted()), expected \(folders.keys.sorted())", sourceLocation: sourceLocation)
        for (name, want) in folders.sorted(by: { $0.key < $1.key }) {
            guard let got = here[name] else { continue }
            #expect(got.isSubscribed == want.isSubscribed && got.specialUse == want.specialUse,
                    "\(name): \(got), expected \(want)", sourceLocation: sourceLocation)
            guard got.messages != want.messages else { continue }
            let missing = want.messages.filter { !got.messages.contains($0) }
            let extra = got.messages.filter { !want.messages.contains($0) }
            let text = "\(name): \(got.messages.count) messages, expected \(want.messages.count); "
                + "missing \(missing.prefix(3)), unexpected \(extra.prefix(3))"
            Issue.record(Comment(rawValue: text), sourceLocation: sourceLocation)
        }
    }
}
