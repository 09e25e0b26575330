// `ternctl migrate USER --from imaps://old.example.net[:port]`: copies an account's mail from an old IMAP server
// (TernMigration): every folder, every message byte for byte with flags, keywords and internal dates; resumable and
// incremental (run it again to copy what is new; kill it and run it again to finish).
// `ternctl migrate --batch accounts.csv --from URL`: several accounts in parallel (`--jobs`, a bound on connections
// to the old server), one report per account, re-runnable until everything is copied.
//
// Passwords: the old password comes from a hidden prompt, `--password-stdin`, or (batch) the CSV; never from an
// argument. `--create` makes missing accounts here with the old password (must-change-password when it does not meet
// the policy here, or when it is a shared temporary password).

import ArgumentParser
import Foundation
import Synchronization
import TernAuth
import TernCore
import TernDaemon
import TernMigration
import TernPosix
import TernStore

struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Copy accounts' mail from an old IMAP server (resumable, incremental).",
        discussion: """
            ternctl migrate alice@example.com --from imaps://old.example.net
            ternctl migrate --batch accounts.csv --from imaps://old.example.net:993 --jobs 4 --report-dir reports/

            The CSV has one account per line: address,old password[,old login name]. An empty password uses the \
            shared password read with --password-stdin (or asked once).

            Run the same command again to copy what arrived on the old server since, or to finish an interrupted \
            run: nothing is copied twice.
            """)

    @OptionGroup var options: DataOptions
    @Argument(help: "The account here (with --batch: none).") var account: String?
    @Option(help: "The old server: imaps://host[:port] (TLS), imap://host[:port] (STARTTLS; plain with --plaintext).")
    var from: String
    @Option(help: "The login name on the old server, if it is not the address.") var login: String?
    @Option(help: "A CSV file of accounts: address,old password[,old login name].") var batch: String?
    @Option(help: "With --batch: accounts copied at the same time (connections to the old server).") var jobs = 4
    @Option(help: "With --batch: write one report per account (address.txt) into this folder.") var reportDir: String?
    @Flag(help: "Read the old password (with --batch: the shared password) from the first line of standard input.")
    var passwordStdin = false
    @Flag(help: "Create accounts that do not exist here, with the old password.") var create = false
    @Flag(help: "With imap://: no TLS at all (the password travels in clear; trusted networks only).") var plaintext = false
    @Option(help: "Accept the old server's certificate with this SHA-256 fingerprint instead of verifying it.")
    var fingerprint: String?
    @Option(help: "Verify the old server's certificate against this CA file instead of the system's.") var caFile: String?
    @Option(help: "Seconds to wait for the old server before giving up.") var timeout = 120

    func validate() throws {
        if batch == nil && account == nil { throw ValidationError("name the account, or give --batch FILE") }
        if batch != nil && account != nil { throw ValidationError("give either an account or --batch, not both") }
        if batch != nil && login != nil { throw ValidationError("--login goes with one account; in a batch the login is the CSV's third column") }
        if !(1...64).contains(jobs) { throw ValidationError("--jobs must be between 1 and 64") }
        if let fingerprint, CertificateTrust.parseFingerprint(fingerprint) == nil {
            throw ValidationError("--fingerprint must be a SHA-256 fingerprint: 64 hex digits, colons allowed")
        }
        if timeout < 1 { throw ValidationError("--timeout must be at least 1 second") }
    }

    struct Job: Sendable {
        let line: Int
        let address: EmailAddress
        let password: String
        let login: String
        let sharedPassword: Bool
    }

    func run() throws {
        // As the admin, before ternctl becomes the service user: a CSV of passwords is rightly readable by root
        // only, and the report folder is the admin's.
        let batchBytes = try batch.map { path in
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CommandError("cannot read \(path)")
            }
            return Array(data)
        }
        try makeReportDirectory()
        let context = try Context(options)
        try checkReportDirectory(user: context.config.user)
        let server: OldServer
        let trust: CertificateTrust
        do {
            server = try OldServer(url: from, plaintext: plaintext)
            trust = try CertificateTrust(caFile: caFile, pinnedSHA256: fingerprint.flatMap(CertificateTrust.parseFingerprint))
        } catch {
            throw CommandError(error.description)
        }
        let jobs: [Job]
        if let batch, let batchBytes {
            jobs = try readBatch(batch, bytes: batchBytes)
        } else {
            let address = try parseAddress(account!)
            let password = try readPassword(prompt: "Password of \(login ?? address.description) on the old server: ")
            jobs = [Job(line: 0, address: address, password: password, login: login ?? address.description, sharedPassword: false)]
        }
        // In a batch, an account that cannot be prepared (its old password refused, no account here without
        // --create) is reported with the others, which go on; one account alone stops here.
        var unprepared: [(Job, Result<MigrationSummary, any Error>)] = []
        var runnable: [Job] = []
        for job in jobs {
            do {
                try prepare(job, context: context, server: server, trust: trust)
                runnable.append(job)
            } catch {
                guard batch != nil else { throw error }
                StandardError.write("\(prefix(job))\(job.address): not copied: \(error)\n")
                unprepared.append((job, .failure(error)))
            }
        }

        let state = BatchState(runnable, unprepared: unprepared)
        let single = jobs.count == 1
        let onTerminal = Terminal.standardErrorIsTerminal
        let progress = single ? Progress(total: 0, onTerminal: onTerminal) : nil
        let workers = min(self.jobs, runnable.count)
        var threads: [Thread] = []
        let total = jobs.count
        let dataDirectory = context.config.dataDirectory
        let timeout = Duration.seconds(timeout)
        for _ in 0..<workers {
            let thread = Thread {
                while let job = state.queue.withLock({ $0.popFirst() }) {
                    let key = job.address.description
                    let result = Self.migrate(job, dataDirectory: dataDirectory, server: server, trust: trust,
                                              timeout: timeout) { report in
                        if let progress {
                            progress.set(total: report.messagesTotal, done: report.messagesDone, folder: report.folder)
                        } else {
                            state.active.withLock { $0[key] = (report.messagesDone, report.messagesTotal) }
                        }
                    }
                    state.active.withLock { $0[key] = nil }
                    state.results.withLock { $0.append((job, result.mapError { $0 })) }
                    let count = state.finished.add(1, ordering: .relaxed).newValue
                    if !single {
                        let outcome = switch result {
                        case .success(let summary): summary.complete ? "done" : "incomplete"
                        case .failure: "failed"
                        }
                        state.output.withLock { _ in
                            StandardError.write("\(onTerminal ? "\r\u{1B}[K" : "")[\(count)/\(total)] \(job.address): \(outcome)\n")
                        }
                    }
                }
            }
            thread.stackSize = 1 << 20
            threads.append(thread)
            thread.start()
        }
        // A batch on a terminal: one line with every account being copied and how far it is.
        var lastDraw = ContinuousClock.now
        while state.finished.load(ordering: .relaxed) < jobs.count {
            usleep(20_000)
            guard !single, onTerminal, ContinuousClock.now - lastDraw > .milliseconds(250) else { continue }
            lastDraw = .now
            let active = state.active.withLock { $0 }.sorted { $0.key < $1.key }
            guard !active.isEmpty else { continue }
            let parts = active.map { key, value in
                "\(key) \(value.total == 0 ? 0 : 100 * min(value.done, value.total) / value.total)%"
            }
            let line = "[\(state.finished.load(ordering: .relaxed))/\(total) done] " + parts.joined(separator: " · ")
            state.output.withLock { _ in StandardError.write("\r" + String(line.prefix(150)) + "\u{1B}[K") }
        }
        if !single && onTerminal { StandardError.write("\r\u{1B}[K") }
        progress?.finish()

        let ordered = state.results.withLock { $0 }.sorted { $0.0.line < $1.0.line }
        // One account that could not be copied at all: its reason is the error line (not a report saying "failed").
        var singleFailure: (any Error)?
        if single, case .failure(let error) = ordered[0].1 { singleFailure = error }
        if let reportDir {
            for (job, result) in ordered {
                let text = Self.report(job, server: server, result: result)
                try text.write(toFile: "\(reportDir)/\(job.address).txt", atomically: true, encoding: .utf8)
            }
        }
        if context.json {
            try context.printJSON(ordered.map { job, result -> [String: Any] in
                var row: [String: Any] = ["account": job.address.description, "server": server.description]
                switch result {
                case .success(let summary):
                    row["complete"] = summary.complete
                    row["folders"] = summary.folders
                    row["messages_copied"] = summary.messagesCopied
                    row["bytes_copied"] = summary.bytesCopied
                    row["already_copied"] = summary.alreadyCopied
                    row["flags_updated"] = summary.flagsUpdated
                    row["flag_conflicts"] = summary.flagConflicts
                    row["gone_from_old_server"] = summary.goneFromOldServer
                    row["seconds"] = summary.seconds
                    row["skipped"] = summary.skipped.map { ["folder": $0.folder, "uid": $0.uid.map { Int($0) } ?? jsonNull, "reason": $0.reason] }
                case .failure(let error):
                    row["error"] = "\(error)"
                }
                return row
            })
        } else if single || reportDir == nil {
            if singleFailure == nil {
                for (job, result) in ordered { print(Self.report(job, server: server, result: result), terminator: "") }
            }
        } else {
            let done = ordered.filter { if case .success(let s) = $0.1 { s.complete } else { false } }.count
            print("\(done) of \(ordered.count) account(s) completely copied; reports in \(reportDir!)")
        }
        if let singleFailure { throw CommandError("\(singleFailure)") }
        let failed = ordered.filter { if case .success(let s) = $0.1 { !s.complete } else { true } }
        if !failed.isEmpty {
            throw CommandError(single ? "the copy is not complete (see above); run the same command again to go on"
                                      : "\(failed.count) account(s) not completely copied: \(failed.map(\.0.address.description).joined(separator: ", ")); run the same command again to go on")
        }
    }

    /// Checks an account before any copying: it exists here (or is created with `--create`).
    func prepare(_ job: Job, context: Context, server: OldServer, trust: CertificateTrust) throws {
        if try context.directory.account(job.address) != nil { return }
        guard try context.directory.isLocalDomain(job.address.domain) else {
            throw CommandError("\(job.address.domain) is not a domain here (add it with ternctl domain add)")
        }
        guard create else {
            throw CommandError("\(job.address) has no account here; create it first, or pass --create to create it with the old password")
        }
        // Only an account whose old password works is created.
        do {
            try Migrator.checkLogin(server: server, trust: trust, login: job.login, password: job.password)
        } catch {
            throw CommandError(error.description)
        }
        let meetsPolicy = context.config.passwordPolicy.violation(of: job.password) == nil
        let hash: String
        do { hash = try PasswordHash.make(job.password) } catch { throw CommandError("\(error)") }
        try context.directory.addAccount(job.address, passwordHash: hash, mustChangePassword: job.sharedPassword || !meetsPolicy)
        let note = job.sharedPassword ? "; the shared password must be changed at the first login"
            : meetsPolicy ? "" : "; the old password does not meet the policy here, so it must be changed at the first login"
        StandardError.write("created \(job.address) with its old password\(note)\n")
    }

    func prefix(_ job: Job) -> String { job.line > 0 ? "\(batch!):\(job.line): " : "" }

    static func migrate(_ job: Job, dataDirectory: String, server: OldServer, trust: CertificateTrust, timeout: Duration,
                        progress: @escaping (MigrationProgress) -> Void) -> Result<MigrationSummary, MigrationError> {
        let store: AccountStore
        do {
            store = try AccountStore(root: AccountLocation.root(dataDirectory: dataDirectory, account: job.address.description))
        } catch {
            return .failure(.store("cannot open the mail of \(job.address): \(error)"))
        }
        var options = MigrationOptions()
        options.timeout = timeout
        if let directory = try? Directory(path: dataDirectory + "/directory.sqlite"), let record = try? directory.account(job.address) {
            options.quota = Quota(maxBytes: record.quotaBytes, maxMessages: record.quotaMessages)
        }
        let migrator = Migrator(store: store, server: server, trust: trust, login: job.login, password: job.password,
                                options: options, progress: progress)
        do {
            return .success(try migrator.run())
        } catch {
            return .failure(error)
        }
    }

    static func report(_ job: Job, server: OldServer, result: Result<MigrationSummary, any Error>) -> String {
        var text = "\(job.address) from \(server) as \(job.login)\n"
        switch result {
        case .failure(let error):
            text += "  failed: \(error)\n"
        case .success(let s):
            let megabytes = Double(s.bytesCopied) / 1_048_576
            let rate = s.seconds > 0 ? Double(s.messagesCopied) / s.seconds : 0
            text += "  \(s.complete ? "complete" : "NOT complete: run again to go on")\n"
            text += "  folders: \(s.folders) (\(s.foldersCreated) created here)\n"
            text += "  messages copied: \(s.messagesCopied), \(String(format: "%.1f", megabytes)) MB in \(String(format: "%.1f", s.seconds)) s"
            text += " (\(String(format: "%.0f", rate)) messages/s)\n"
            text += "  already here from an earlier run: \(s.alreadyCopied)\n"
            if s.flagsUpdated > 0 || s.flagConflicts > 0 {
                text += "  flag changes carried over: \(s.flagsUpdated)"
                text += s.flagConflicts > 0 ? " (\(s.flagConflicts) changed here too: kept as here)\n" : "\n"
            }
            if s.goneFromOldServer > 0 { text += "  deleted on the old server since copied (kept here): \(s.goneFromOldServer)\n" }
            if !s.skipped.isEmpty {
                text += "  skipped or changed (\(s.skipped.count)):\n"
                for item in s.skipped {
                    text += "    \(item.folder)\(item.uid.map { " UID \($0)" } ?? ""): \(item.reason)\n"
                }
            }
        }
        return text
    }

    /// Creates `--report-dir` if missing; run as root, gives it to the service user ternctl is about to become.
    func makeReportDirectory() throws {
        guard let reportDir, !FileManager.default.fileExists(atPath: reportDir) else { return }
        do {
            try FileManager.default.createDirectory(atPath: reportDir, withIntermediateDirectories: true)
        } catch {
            throw CommandError("cannot create the report folder \(reportDir): \(error.localizedDescription)")
        }
        guard ProcessIdentity.isRoot, let config = try? DaemonMain.loadConfig(options.config),
              case .drop = RunAs.decide(config) else { return }
        do { try ProcessIdentity.chown(reportDir, to: config.user) } catch {
            throw CommandError("cannot give the report folder \(reportDir) to \(config.user): \(error)")
        }
    }

    /// Fails before anything is copied if the reports could not be written at the end.
    func checkReportDirectory(user: String) throws {
        guard let reportDir else { return }
        let probe = "\(reportDir)/.ternctl-migrate-\(getpid())"
        guard FileManager.default.createFile(atPath: probe, contents: nil) else {
            let who = ProcessIdentity.isRoot ? ""
                : " as \(user) (ternctl runs as the service user): give a folder \(user) can write"
            throw CommandError("cannot write into the report folder \(reportDir)\(who)")
        }
        try? FileManager.default.removeItem(atPath: probe)
    }

    func readPassword(prompt: String) throws -> String {
        if passwordStdin {
            guard let line = readLine(strippingNewline: true), !line.isEmpty else { throw CommandError("no password on standard input") }
            return line
        }
        guard Terminal.standardInputIsTerminal else {
            throw CommandError("standard input is not a terminal: use --password-stdin (passwords are never read from arguments)")
        }
        guard let password = Terminal.readHiddenLine(prompt: prompt), !password.isEmpty else { throw CommandError("no password entered") }
        return password
    }

    /// `address,password[,login]` per record (RFC 4180, TernAuth's CSVReader); blank lines, `#` comment lines and
    /// a header line naming the columns are ignored.
    func readBatch(_ path: String, bytes: [UInt8]) throws -> [Job] {
        var reader = CSVReader(bytes: bytes[...])
        var problems: [String] = []
        var needShared: [Int] = []
        var rows: [(Int, [String])] = []
        while let record = reader.next() {
            let raw: [[UInt8]]
            switch record.fields {
            case .failure(let failure):
                problems.append("\(path):\(record.line): \(failure.reason)")
                continue
            case .success(let fields): raw = fields
            }
            guard let fields = raw.map({ String(validating: $0, as: UTF8.self) }) as? [String] else {
                problems.append("\(path):\(record.line): not UTF-8")
                continue
            }
            let trimmed = fields.map { $0.trimmingCharacters(in: .whitespaces) }
            if trimmed.allSatisfy(\.isEmpty) || trimmed[0].hasPrefix("#") { continue }
            if rows.isEmpty && problems.isEmpty && trimmed[0].lowercased() == "address" { continue }
            guard (2...3).contains(trimmed.count) else {
                problems.append("\(path):\(record.line): expected address,password[,login], found \(trimmed.count) field(s)")
                continue
            }
            rows.append((record.line, [trimmed[0], fields[1], trimmed.count == 3 ? trimmed[2] : ""]))
            if fields[1].isEmpty { needShared.append(record.line) }
        }
        var shared: String?
        if !needShared.isEmpty && problems.isEmpty {
            shared = try readPassword(prompt: "Shared password on the old server (for \(needShared.count) account(s)): ")
        }
        var jobs: [Job] = []
        var seen: [String: Int] = [:]
        for (line, fields) in rows {
            let address: EmailAddress
            do { address = try EmailAddress(parsing: fields[0]) } catch {
                problems.append("\(path):\(line): \(error)")
                continue
            }
            if let first = seen[address.description] {
                problems.append("\(path):\(line): \(address) is also on line \(first)")
                continue
            }
            seen[address.description] = line
            jobs.append(Job(line: line, address: address, password: fields[1].isEmpty ? shared ?? "" : fields[1],
                            login: fields[2].isEmpty ? address.description : fields[2], sharedPassword: fields[1].isEmpty))
        }
        if !problems.isEmpty { throw CommandError(problems.joined(separator: "\n")) }
        if jobs.isEmpty { throw CommandError("\(path) lists no account") }
        return jobs
    }
}

/// The accounts of a batch, shared by its worker threads.
final class BatchState: Sendable {
    let queue: Mutex<ArraySlice<MigrateCommand.Job>>
    let results: Mutex<[(MigrateCommand.Job, Result<MigrationSummary, any Error>)]>
    /// Accounts with a result, the unprepared ones included.
    let finished: Atomic<Int>
    /// Accounts being copied: messages done and in all.
    let active = Mutex<[String: (done: Int, total: Int)]>([:])
    /// Held while writing a line to the terminal, so the progress line and the result lines do not mix.
    let output = Mutex<Void>(())
    init(_ jobs: [MigrateCommand.Job], unprepared: [(MigrateCommand.Job, Result<MigrationSummary, any Error>)]) {
        queue = Mutex(jobs[...])
        results = Mutex(unprepared)
        finished = Atomic(unprepared.count)
    }
}
