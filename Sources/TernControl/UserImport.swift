// `ternctl user import FILE`: many accounts at once from another server's account list (a Dovecot passwd-file or
// CSV, read by TernAuth/AccountList.swift), keeping their password hashes, so users log in with the passwords they
// already have.
//
// The order of work, so that a refused file changes nothing:
// 1. Read the whole file before `Context` drops root: a passwd-file is usually readable by root only.
// 2. Check every line: the address (`--domain` completes bare user names), the password field (the check
//    `user add --hash` makes, `PasswordHash.imported`; {PLAIN} passwords against the password policy), the quota,
//    the display name, addresses given twice, and where the directory stands (domain served, alias, existing).
// 3. Refused lines without --skip-invalid: report them all and exit 1. --dry-run: report what would happen.
// 4. Hash the {PLAIN} passwords (yescrypt, one thread per core: the only slow step), then write `batchSize`
//    accounts per directory transaction. The directory checks each account again inside its transaction, so a
//    change made meanwhile by another process is reported, never overwritten.
//
// New accounts get no mail folders here, exactly as with `user add`: the store makes INBOX when the account is
// first opened and Drafts, Sent, Trash, Junk and Archive at its first login (`AccountStore.ensureStandardMailboxes`).
// Reports never contain a password or a password field.

import ArgumentParser
import Dispatch
import Foundation
import Synchronization
import TernAuth
import TernDaemon
import TernPosix

extension UserCommand {
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add many accounts from a Dovecot passwd-file or a CSV file, keeping their password hashes.",
            discussion: """
                passwd-file: user:{SCHEME}hash:uid:gid:gecos:home:shell:extra (only the first two fields are \
                read). CSV: address,hash[,display name[,quota]], an optional header line, RFC 4180 quoting.

                Hashes are stored as they are: $y$, $6$, $5$, $2b$/$2y$ crypt, optionally with {SHA512-CRYPT}, \
                {SHA256-CRYPT}, {BLF-CRYPT} or {CRYPT}. {PLAIN} passwords are hashed if they meet the password policy.

                Every problem is printed as FILE:LINE: reason; one refused line means nothing is imported, unless \
                --skip-invalid is given.
                """)
        @OptionGroup var options: DataOptions
        @Argument(help: "The account list, or - for standard input.") var file: String
        @Option(help: "passwd (Dovecot passwd-file) or csv; detected from the content when not given.")
        var format: ImportFormat?
        @Option(help: "The domain of lines that give a bare user name (alice instead of alice@example.net).")
        var domain: String?
        @Flag(help: "Add the domains that are not served yet instead of refusing their accounts.")
        var createDomains = false
        @Flag(help: "Import the valid lines and report the others (by default one refused line stops the import).")
        var skipInvalid = false
        @Flag(help: "Give existing accounts the imported password (by default they are skipped).")
        var updatePasswords = false
        @Flag(name: [.customLong("must-change-password"), .customLong("must-change")],
              help: "Imported accounts must choose a new password before mail programs can log in.")
        var mustChangePassword = false
        @Flag(help: "Check everything and report what would happen, changing nothing.")
        var dryRun = false

        /// Accounts per directory transaction: short enough that ternd's logins hardly wait for the write lock.
        static let batchSize = 1000

        func run() throws {
            let name = file == "-" ? "<stdin>" : file
            let bytes = try readInput()
            let chosen: AccountListFormat
            if let format {
                chosen = format.listFormat
            } else if let detected = AccountList.detectFormat(bytes) {
                chosen = detected
            } else {
                throw CommandError("cannot tell whether \(name) is a passwd-file or CSV "
                                   + "(no line has ':' or ',' after a user name); give --format")
            }
            var completion: String?
            if let domain {
                completion = domain.lowercased()
                guard EmailAddress.isDomain(completion!) else {
                    throw CommandError("--domain: '\(domain)' is not a valid domain name")
                }
            }
            let context = try Context(options)
            let list = AccountList(parsing: bytes, format: chosen)
            guard !list.entries.isEmpty || !list.problems.isEmpty else {
                throw CommandError("\(name) holds no accounts")
            }

            var report = ImportReport(file: name, format: chosen, detected: format == nil, dryRun: dryRun)
            for problem in list.problems { report.refuse(line: problem.line, address: nil, problem.reason) }
            var candidates = checkLines(list.entries, domain: completion, policy: context.config.passwordPolicy,
                                        report: &report)
            candidates = try place(candidates, in: context.directory, report: &report)
            if !report.refused.isEmpty && !skipInvalid {
                try report.print(context, summary: false)
                let lines = report.refused.count
                throw CommandError(dryRun
                    ? "\(lines) line(s) refused: the import would stop there and change nothing; "
                        + "fix them, or add --skip-invalid"
                    : "\(lines) line(s) refused, nothing imported; fix them, or import the other lines with "
                        + "--skip-invalid")
            }
            if dryRun {
                for candidate in candidates { report.done(candidate, outcome: candidate.exists ? .updated : .created) }
                report.domainsCreated = Swift.Set(candidates.filter(\.createsDomain).map(\.address.domain)).sorted()
            } else {
                let hashed = hashPlainPasswords(candidates, report: &report)
                do { try write(hashed, to: context.directory, report: &report) } catch {
                    try report.print(context, summary: true) // what the batches before the failure did
                    throw error
                }
            }
            try report.print(context, summary: true)
        }

        /// Asks the directory where every address stands (one snapshot): existing accounts are skipped (or kept
        /// for a re-hash), unknown domains and aliases refused.
        private func place(
            _ candidates: [Candidate], in directory: Directory, report: inout ImportReport
        ) throws -> [Candidate] {
            let placements = try directory.placements(candidates.map(\.address))
            return zip(candidates, placements).compactMap { candidate, placement in
                var candidate = candidate
                switch placement {
                case .new: break
                case .unknownDomain where createDomains: candidate.createsDomain = true
                case .unknownDomain:
                    let domain = candidate.address.domain
                    report.refuse(line: candidate.line, address: candidate.address,
                                  "domain \(domain) is not served here (add it with `ternctl domain add \(domain)`, "
                                      + "or import with --create-domains)")
                    return nil
                case .isAlias:
                    report.refuse(line: candidate.line, address: candidate.address,
                                  DirectoryError.addressIsAlias(candidate.address.description).description)
                    return nil
                case .exists where updatePasswords: candidate.exists = true
                case .exists:
                    report.skip(line: candidate.line, address: candidate.address)
                    return nil
                }
                return candidate
            }
        }

        /// `batchSize` accounts per directory transaction. A failure keeps the batches already committed.
        private func write(
            _ candidates: [Candidate], to directory: Directory, report: inout ImportReport
        ) throws {
            let options = AccountImportOptions(replacePasswords: updatePasswords, createDomains: createDomains,
                                               mustChangePassword: mustChangePassword)
            var start = 0
            while start < candidates.count {
                let batch = candidates[start..<min(start + Self.batchSize, candidates.count)]
                let result: (outcomes: [AccountImportOutcome], createdDomains: [String])
                do {
                    result = try directory.importAccounts(batch.map(\.account), options)
                } catch {
                    throw CommandError("\(error) while importing lines \(batch.first!.line)-\(batch.last!.line); the "
                                       + "lines before were imported (the same command again skips them)")
                }
                for (candidate, outcome) in zip(batch, result.outcomes) { report.done(candidate, outcome: outcome) }
                report.domainsCreated += result.createdDomains
                start += batch.count
            }
        }

        private func readInput() throws -> [UInt8] {
            if file == "-" { return Array(FileHandle.standardInput.readDataToEndOfFile()) }
            do { return try FileSystem.readBytes(file) } catch { throw CommandError("cannot read \(file): \(error)") }
        }

        /// Checks what each line says on its own and against the other lines; returns the lines still standing.
        private func checkLines(
            _ entries: [AccountListEntry], domain: String?, policy: PasswordPolicy, report: inout ImportReport
        ) -> [Candidate] {
            var parsed: [(entry: AccountListEntry, address: EmailAddress)] = []
            var linesOf: [EmailAddress: [Int]] = [:]
            for entry in entries {
                do {
                    let address = try Self.address(entry.user, domain: domain)
                    parsed.append((entry, address))
                    linesOf[address, default: []].append(entry.line)
                } catch {
                    report.refuse(line: entry.line, address: nil, "\(error)")
                }
            }
            var candidates: [Candidate] = []
            for (entry, address) in parsed {
                var problems: [String] = []
                var password = PasswordHash.ImportedPassword.hash("")
                do throws(PasswordHash.HashError) {
                    password = try PasswordHash.imported(entry.password)
                    if case .plain(let plain) = password, let violation = policy.violation(of: plain) {
                        problems.append("its {PLAIN} password does not meet the password policy: \(violation)")
                    }
                } catch {
                    problems.append("\(error)")
                }
                var quota: Int64?
                do { quota = try entry.quota.isEmpty ? nil : parseSize(entry.quota) } catch {
                    problems.append("quota: \(error)")
                }
                if entry.displayName.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                    problems.append("the display name contains a control character (such as a line break)")
                }
                let others = linesOf[address, default: []].filter { $0 != entry.line }
                if !others.isEmpty {
                    let list = others.count == 1 ? "line \(others[0])"
                        : "lines " + others.dropLast().map(String.init).joined(separator: ", ") + " and \(others.last!)"
                    problems.append("also on \(list) (an address may appear only once)")
                }
                guard problems.isEmpty else {
                    for problem in problems { report.refuse(line: entry.line, address: address, problem) }
                    continue
                }
                candidates.append(Candidate(line: entry.line, address: address, password: password,
                                            displayName: entry.displayName, quotaBytes: quota))
            }
            return candidates
        }

        static func address(_ user: String, domain: String?) throws -> EmailAddress {
            // A separator of either format in the user field: the file is read in the wrong format, and the field
            // may run on into a password, so none of it is repeated.
            if user.contains(":") || user.contains(",") {
                throw CommandError(
                    "the user field is not an address (if the file is in the other format, give --format)")
            }
            if user.contains("@") { return try parseAddress(user) }
            guard let domain else {
                throw CommandError("'\(user)' has no domain; give --domain for the lines with bare user names")
            }
            return try parseAddress(user + "@" + domain)
        }

        /// Hashes {PLAIN} passwords with yescrypt on every core (about 20 ms each); the rest pass through.
        private func hashPlainPasswords(_ candidates: [Candidate], report: inout ImportReport) -> [Candidate] {
            let plain = candidates.indices.compactMap { index -> (Int, String)? in
                if case .plain(let password) = candidates[index].password { return (index, password) }
                return nil
            }
            guard !plain.isEmpty else { return candidates }
            let hashes = Mutex([String?](repeating: nil, count: plain.count))
            DispatchQueue.concurrentPerform(iterations: plain.count) { item in
                let hash = try? PasswordHash.make(plain[item].1)
                hashes.withLock { $0[item] = hash }
            }
            var result = candidates
            var failed: Swift.Set<Int> = []
            hashes.withLock { hashes in
                for (item, (index, _)) in plain.enumerated() {
                    if let hash = hashes[item] { result[index].password = .hash(hash) } else { failed.insert(index) }
                }
            }
            for index in failed.sorted() {
                report.refuse(line: result[index].line, address: result[index].address,
                              "\(PasswordHash.HashError.failed) while hashing its {PLAIN} password")
            }
            return result.enumerated().filter { !failed.contains($0.offset) }.map(\.element)
        }
    }
}

enum ImportFormat: String, ExpressibleByArgument, CaseIterable {
    case passwd
    case csv

    var listFormat: AccountListFormat {
        switch self {
        case .passwd: .passwd
        case .csv: .csv
        }
    }
}

/// A line that passed every check of its own.
struct Candidate {
    let line: Int
    let address: EmailAddress
    var password: PasswordHash.ImportedPassword
    let displayName: String
    let quotaBytes: Int64?
    var exists = false
    var createsDomain = false

    /// Only after `hashPlainPasswords`: every password is a hash by then.
    var account: ImportedAccount {
        let hash: String
        switch password {
        case .hash(let value): hash = value
        case .plain: preconditionFailure("a {PLAIN} password reached the directory unhashed")
        }
        return ImportedAccount(address: address, passwordHash: hash, displayName: displayName, quotaBytes: quotaBytes)
    }
}

/// What happened to each line, printed as text (`FILE:LINE: …` in file order, then a summary) or as JSON.
struct ImportReport {
    struct Note {
        let line: Int
        let address: String?
        let reason: String
    }

    let file: String
    let format: AccountListFormat
    let detected: Bool
    let dryRun: Bool
    var created: [String] = []
    var updated: [String] = []
    var skipped: [Note] = []
    /// Every problem of a line, in the order found; a line may have several.
    var problems: [Note] = []
    var domainsCreated: [String] = []

    /// The refused lines (a line with several problems counts once).
    var refused: Swift.Set<Int> { Swift.Set(problems.map(\.line)) }

    mutating func refuse(line: Int, address: EmailAddress?, _ reason: String) {
        problems.append(Note(line: line, address: address?.description, reason: reason))
    }

    mutating func skip(line: Int, address: EmailAddress) {
        skipped.append(Note(line: line, address: address.description, reason: "already exists"))
    }

    mutating func done(_ candidate: Candidate, outcome: AccountImportOutcome) {
        switch outcome {
        case .created: created.append(candidate.address.description)
        case .updated: updated.append(candidate.address.description)
        case .skippedExisting: skip(line: candidate.line, address: candidate.address)
        case .refused(let error): refuse(line: candidate.line, address: candidate.address, error.description)
        }
    }

    func print(_ context: Context, summary: Bool) throws {
        if context.json { try context.printJSON(jsonObject) } else { printText(summary: summary) }
    }

    private var formatName: String { format == .passwd ? "a Dovecot passwd-file" : "CSV" }

    private func printText(summary: Bool) {
        let how = detected ? " (detected from its content; --format chooses)" : ""
        Swift.print("reading \(file) as \(formatName)\(how)")
        let updateHint = " (--update-passwords replaces its password)"
        let lines: [(Int, String)] =
            problems.map { ($0.line, "refused" + ($0.address.map { " \($0)" } ?? "") + ": \($0.reason)") }
            + skipped.map { ($0.line, "skipped \($0.address ?? ""): \($0.reason)\(updateHint)") }
        for (line, text) in lines.enumerated().sorted(by: { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) })
            .map(\.element) {
            Swift.print("\(file):\(line): \(text)")
        }
        guard summary else { return }
        for domain in domainsCreated { Swift.print(dryRun ? "would add domain \(domain)" : "added domain \(domain)") }
        if dryRun {
            Swift.print("dry run, nothing changed: would create \(created.count), update \(updated.count), "
                        + "skip \(skipped.count), refuse \(refused.count)")
        } else {
            Swift.print("created \(created.count), updated \(updated.count), skipped \(skipped.count), "
                        + "refused \(refused.count)")
        }
    }

    private var jsonObject: [String: Any] {
        let byLine = Dictionary(grouping: problems, by: \.line)
        let refusedLines = byLine.keys.sorted().map { line -> [String: Any] in
            let notes = byLine[line]!
            return ["line": line, "address": notes.first?.address ?? jsonNull, "reasons": notes.map(\.reason)]
        }
        return [
            "file": file, "format": format.rawValue, "format_detected": detected, "dry_run": dryRun,
            "created": created, "updated": updated, "domains_created": domainsCreated,
            "skipped": skipped.map {
                ["line": $0.line, "address": $0.address ?? jsonNull, "reason": $0.reason] as [String: Any]
            },
            "refused": refusedLines,
            "summary": ["created": created.count, "updated": updated.count, "skipped": skipped.count,
                        "refused": refused.count],
        ]
    }
}
