// Copies one account from an old IMAP server into its store here: every folder (FolderMapping), every message
// byte for byte with its flags, keywords and internal date.
//
// Resumable and incremental: each batch of messages commits together with the record of where it came from
// (old folder, UIDVALIDITY, UID — AccountStore+Migration.swift), so a run killed at any point leaves whole
// batches only, and the next run copies exactly what is missing. Flags changed on the old server since the last
// run are carried over unless the user changed that message here too (then the change here wins). Messages
// deleted on the old server stay here. New mail arriving here meanwhile is untouched: copies only add.
//
// Throughput: the messages of a folder are fetched in batches with the next FETCH sent before the current batch
// is committed, so the old server streams while this side writes; one commit (one file-system flush) per batch.

import TernCore
import TernIMAPCore
public import TernStore

public struct MigrationOptions: Sendable {
    /// INBOX first, newest messages first (migration at first login: the user sees recent mail at once).
    public var newestFirst = false
    /// Messages and bytes per commit.
    public var batchMessages = 500
    public var batchBytes = 16 << 20
    /// The account's quota: a copy that would exceed it stops with a clear error.
    public var quota: Quota?
    /// Wait at most this long for the old server's next bytes.
    public var timeout: Duration = .seconds(120)

    public init() {}
}

public struct MigrationProgress: Sendable {
    public var folder: String
    /// Messages in every folder of the old server, and how many of them are here now (copied before or now).
    public var messagesTotal: Int
    public var messagesDone: Int
    public var bytesCopied: Int64
}

public struct SkippedItem: Sendable, Equatable, Codable {
    public var folder: String
    public var uid: UInt32?
    public var reason: String
}

public struct MigrationSummary: Sendable, Equatable, Codable {
    public var folders = 0
    public var foldersCreated = 0
    public var messagesCopied = 0
    public var bytesCopied: Int64 = 0
    /// Copied by an earlier run.
    public var alreadyCopied = 0
    public var flagsUpdated = 0
    /// Changed both there and here since the last run: the change here was kept.
    public var flagConflicts = 0
    /// Copied earlier, deleted on the old server since: kept here.
    public var goneFromOldServer = 0
    public var skipped: [SkippedItem] = []
    public var seconds: Double = 0
    /// Every folder was read to the end (false after an error in one folder: run again).
    public var complete = true

    public init() {}
}

/// Flags as the old server sends them, split into what the store keeps.
struct OldFlags: Equatable {
    var system: SystemFlags = []
    var keywords: [String] = []
    /// Flags that cannot be kept (unknown `\` flags, keywords invalid here).
    var dropped: [String] = []

    init(_ flags: [String]) {
        for flag in flags {
            switch flag.lowercased() {
            case "\\seen": system.insert(.seen)
            case "\\answered": system.insert(.answered)
            case "\\flagged": system.insert(.flagged)
            case "\\deleted": system.insert(.deleted)
            case "\\draft": system.insert(.draft)
            case "\\recent": break
            default:
                if flag.hasPrefix("\\") || !Keywords.isValid(flag) {
                    dropped.append(flag)
                } else if !keywords.contains(where: { $0.lowercased() == flag.lowercased() }) {
                    keywords.append(flag)
                }
            }
        }
        keywords.sort()
    }

    init(system: SystemFlags, keywords: [String]) {
        self.system = system
        self.keywords = keywords.sorted()
    }

    /// The canonical text recorded with each copy: system flags in a fixed order, then sorted keywords.
    var key: String {
        var parts: [String] = []
        if system.contains(.answered) { parts.append("\\Answered") }
        if system.contains(.deleted) { parts.append("\\Deleted") }
        if system.contains(.draft) { parts.append("\\Draft") }
        if system.contains(.flagged) { parts.append("\\Flagged") }
        if system.contains(.seen) { parts.append("\\Seen") }
        return (parts + keywords).joined(separator: " ")
    }
}

public final class Migrator {
    public let store: AccountStore
    public let server: OldServer
    public let login: String
    private let password: String
    private let trust: CertificateTrust
    private let options: MigrationOptions
    private let progress: (MigrationProgress) -> Void
    private let isCancelled: () -> Bool

    private var summary = MigrationSummary()
    private var total = 0
    private var done = 0
    private var currentFolder = ""

    /// Names the old account in the bookkeeping: the same account copied again continues where it was. The old
    /// login, not the host: the same server reached under another name (an alias, an address) must not copy
    /// everything again, while two old accounts copied into one here stay apart.
    public var sourceKey: String { Self.sourceKey(login: login) }

    public static func sourceKey(login: String) -> String { "login:\(login.lowercased())" }

    public init(store: AccountStore, server: OldServer, trust: CertificateTrust, login: String, password: String,
                options: MigrationOptions = MigrationOptions(), progress: @escaping (MigrationProgress) -> Void = { _ in },
                isCancelled: @escaping () -> Bool = { false }) {
        self.store = store
        self.server = server
        self.trust = trust
        self.login = login
        self.password = password
        self.options = options
        self.progress = progress
        self.isCancelled = isCancelled
    }

    /// Logs in to the old server and does nothing else: checks a password (migration at first login).
    public static func checkLogin(server: OldServer, trust: CertificateTrust, login: String, password: String,
                                  timeout: Duration = .seconds(30)) throws(MigrationError) {
        let client = try IMAPClient(server: server, trust: trust, timeout: timeout)
        try client.login(user: login, password: password)
        client.logout()
    }

    /// Copies everything not copied yet. Throws for what stops the whole run (unreachable, wrong password, quota);
    /// a folder that cannot be read is reported in `skipped` and leaves `complete` false.
    public func run() throws(MigrationError) -> MigrationSummary {
        let started = ContinuousClock.now
        summary = MigrationSummary()
        let client = try IMAPClient(server: server, trust: trust, timeout: options.timeout)
        defer { client.logout() }
        try client.login(user: login, password: password)
        try storeCall { () throws(StoreError) in try store.recordMigrationRun(sourceKey, completed: false) }

        var utf8 = false
        if client.capabilities.contains("UTF8=ACCEPT") || client.capabilities.contains("IMAP4REV2") {
            _ = try? client.run([.text("ENABLE UTF8=ACCEPT")]) { response throws(MigrationError) in
                if case .enabled(let list) = response, list.contains(where: { $0.uppercased() == "UTF8=ACCEPT" }) { utf8 = true }
            }
        }
        let (folders, prefix) = try listFolders(client, utf8: utf8)
        // The account's own folders first, so the old server's special folders map onto them.
        try storeCall { () throws(StoreError) in try store.ensureStandardMailboxes() }
        let existing = try storeCall { () throws(StoreError) in try store.mailboxes() }
        var special: [String: String] = [:]
        for mailbox in existing { if let use = mailbox.specialUse { special[use] = mailbox.name } }
        var standard: [String: String] = [:]
        for (name, use) in AccountStore.standardMailboxes { standard[use] = name }
        var plans = FolderMapping.plan(folders, personalPrefix: prefix, specialFolders: special, standardNames: standard)
        // INBOX first: it is what a user looks at.
        plans.sort { ($0.target == "INBOX" ? 0 : 1) < ($1.target == "INBOX" ? 0 : 1) }

        // Totals for the progress bar: one STATUS per folder.
        var counts: [String: Int] = [:]
        for plan in plans where plan.target != nil && plan.old.selectable {
            var messages = 0
            _ = try? client.run([.text("STATUS"), .string(encode(plan.old.name, utf8: utf8)), .text("(MESSAGES)")]) { response throws(MigrationError) in
                if case .mailboxStatus(_, let attributes) = response { messages = Int(attributes["MESSAGES"] ?? 0) }
            }
            counts[plan.old.name] = messages
            total += messages
        }

        var names = Set(existing.map(\.name))
        for plan in plans {
            if isCancelled() { throw .cancelled }
            guard let target = plan.target else {
                summary.skipped.append(SkippedItem(folder: plan.old.name, uid: nil, reason: plan.note ?? "skipped"))
                continue
            }
            if let note = plan.note { summary.skipped.append(SkippedItem(folder: plan.old.name, uid: nil, reason: "\(note) (→ \(target))")) }
            summary.folders += 1
            currentFolder = plan.old.name
            try ensureMailbox(target, specialUse: plan.specialUse, subscribed: plan.old.subscribed, names: &names)
            guard plan.old.selectable else { continue }
            do {
                try copyFolder(client, plan: plan, target: target, utf8: utf8, expected: counts[plan.old.name] ?? 0)
            } catch {
                switch error {
                case .refused(let command, let text):
                    // This folder only: the others go on; the next run tries it again.
                    summary.complete = false
                    summary.skipped.append(SkippedItem(folder: plan.old.name, uid: nil, reason: "cannot read it: \(command): \(text)"))
                default:
                    throw error
                }
            }
        }
        if summary.complete {
            try storeCall { () throws(StoreError) in try store.recordMigrationRun(sourceKey, completed: true) }
        }
        summary.seconds = Double((ContinuousClock.now - started).components.seconds)
            + Double((ContinuousClock.now - started).components.attoseconds) / 1e18
        return summary
    }

    // MARK: Folders

    private func decode(_ name: [UInt8], utf8: Bool) -> String? {
        if utf8 { return String(validating: name, as: UTF8.self) }
        guard name.allSatisfy({ $0 < 0x80 }) else { return String(validating: name, as: UTF8.self) }
        return ModifiedUTF7.decode(String(decoding: name, as: UTF8.self))
    }

    private func encode(_ name: String, utf8: Bool) -> [UInt8] {
        utf8 ? Array(name.utf8) : Array(ModifiedUTF7.encode(name).utf8)
    }

    private func listFolders(_ client: IMAPClient, utf8: Bool) throws(MigrationError) -> ([OldFolder], String) {
        var prefix = ""
        if client.capabilities.contains("NAMESPACE") {
            try client.run([.text("NAMESPACE")]) { response throws(MigrationError) in
                if case .namespace(let personal, _, _) = response, let first = personal.first {
                    prefix = decode(first.prefix, utf8: utf8) ?? ""
                }
            }
        }
        var entries: [ListEntry] = []
        var subscribed: Set<[UInt8]> = []
        let extended = client.capabilities.contains("LIST-EXTENDED")
        var command: [CommandPart] = [.text("LIST"), .string([]), .string(Array("*".utf8))]
        if extended {
            command.append(.text(client.capabilities.contains("SPECIAL-USE") ? "RETURN (SUBSCRIBED SPECIAL-USE)" : "RETURN (SUBSCRIBED)"))
        }
        try client.run(command) { response throws(MigrationError) in
            if case .list(let entry) = response {
                entries.append(entry)
                if entry.hasAttribute("\\Subscribed") { subscribed.insert(entry.name) }
            }
        }
        if !extended {
            try client.run([.text("LSUB"), .string([]), .string(Array("*".utf8))]) { response throws(MigrationError) in
                if case .lsub(let entry) = response { subscribed.insert(entry.name) }
            }
        }
        var folders: [OldFolder] = []
        var seen: Set<[UInt8]> = []
        for entry in entries where !entry.hasAttribute("\\NonExistent") && seen.insert(entry.name).inserted {
            guard let name = decode(entry.name, utf8: utf8) else {
                summary.skipped.append(SkippedItem(folder: String(decoding: entry.name, as: UTF8.self), uid: nil,
                                                   reason: "its name is neither modified UTF-7 nor UTF-8"))
                continue
            }
            let isInbox = name.uppercased() == "INBOX"
            folders.append(OldFolder(name: isInbox ? "INBOX" : name, delimiter: entry.delimiter.map { Character(UnicodeScalar($0)) },
                                     attributes: entry.attributes, subscribed: isInbox || subscribed.contains(entry.name)))
        }
        if !folders.contains(where: { $0.name == "INBOX" }) {
            folders.insert(OldFolder(name: "INBOX", delimiter: nil, attributes: [], subscribed: true), at: 0)
        }
        return (folders, prefix)
    }

    private func ensureMailbox(_ name: String, specialUse: String?, subscribed: Bool, names: inout Set<String>) throws(MigrationError) {
        // Parents first, so the hierarchy is complete here.
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        for depth in 1...parts.count {
            let path = parts.prefix(depth).joined(separator: "/")
            guard !names.contains(path) else { continue }
            let use = depth == parts.count ? specialUse : nil
            try storeCall { () throws(StoreError) in
                do throws(StoreError) {
                    _ = try store.createMailbox(path, specialUse: use)
                } catch {
                    if case .mailboxExists = error {} else { throw error }
                }
            }
            names.insert(path)
            summary.foldersCreated += 1
        }
        if subscribed { try storeCall { () throws(StoreError) in try store.setSubscribed(name, true) } }
    }

    // MARK: Messages

    private func copyFolder(_ client: IMAPClient, plan: FolderPlan, target: String, utf8: Bool, expected: Int) throws(MigrationError) {
        let folderKey = "\(sourceKey)\u{1}\(plan.old.name)"
        var uidValidity: UInt32?
        var exists = 0
        try client.run([.text("EXAMINE"), .string(encode(plan.old.name, utf8: utf8))]) { response throws(MigrationError) in
            switch response {
            case .status(_, let text): if case .uidValidity(let value) = text.code { uidValidity = value }
            case .exists(let count): exists = Int(count)
            default: break
            }
        }
        guard let uidValidity else {
            throw .refused(command: "EXAMINE", text: "the server gave no UIDVALIDITY, so copies could not be tracked")
        }
        if let previous = try storeCall({ () throws(StoreError) in try store.migratedFolder(folderKey) }),
           previous.uidValidity != uidValidity {
            // The old server renumbered the folder: its UIDs no longer name the messages copied before.
            summary.complete = false
            summary.skipped.append(SkippedItem(folder: plan.old.name, uid: nil, reason:
                "the old server renumbered this folder (UIDVALIDITY \(previous.uidValidity) → \(uidValidity)); not copied again to avoid duplicates"))
            done += expected
            return
        }
        try storeCall { () throws(StoreError) in
            try store.recordMigratedFolder(folderKey, uidValidity: uidValidity, target: target, completed: false)
        }
        var current: [UInt32: (flags: [String], size: Int)] = [:]
        if exists > 0 {
            try client.run([.text("UID FETCH 1:* (UID FLAGS RFC822.SIZE)")]) { response throws(MigrationError) in
                if case .fetch(_, let items) = response, let uid = items.uid, let flags = items.flags {
                    current[uid] = (flags, Int(items.size ?? 0))
                }
            }
        }
        let recorded = try storeCall { () throws(StoreError) in try store.migratedMessages(folder: folderKey, uidValidity: uidValidity) }
        try carryOverFlags(folderKey: folderKey, uidValidity: uidValidity, current: current, recorded: recorded)
        summary.goneFromOldServer += recorded.keys.filter { current[$0] == nil }.count
        let already = current.keys.filter { recorded[$0] != nil }.count
        summary.alreadyCopied += already
        done += already
        report()

        var missing = current.keys.filter { recorded[$0] == nil }.sorted()
        if options.newestFirst { missing.reverse() }
        // Batches by count and bytes (sizes as the old server announced them).
        var batches: [[UInt32]] = []
        var batch: [UInt32] = []
        var bytes = 0
        for uid in missing {
            let size = current[uid]?.size ?? 0
            if !batch.isEmpty && (batch.count >= options.batchMessages || bytes + size > options.batchBytes) {
                batches.append(batch)
                batch = []
                bytes = 0
            }
            batch.append(uid)
            bytes += size
        }
        if !batch.isEmpty { batches.append(batch) }

        // Pipelined: batch n+1 is requested before batch n is committed.
        func request(_ uids: [UInt32]) throws(MigrationError) -> String {
            try client.send([.text("UID FETCH"), .text(IMAPEncoding.sequenceSet(fromSorted: uids.sorted())),
                             .text("(UID FLAGS INTERNALDATE BODY.PEEK[])")])
        }
        var tags: [String] = []
        if let first = batches.first { tags.append(try request(first)) }
        for (index, uids) in batches.enumerated() {
            if isCancelled() {
                // Complete what was requested so the connection stays usable for LOGOUT; nothing more is stored.
                for tag in tags { _ = try? client.complete(tag, describe: "UID FETCH") { _ throws(MigrationError) in } }
                throw .cancelled
            }
            var messages: [UInt32: AccountStore.NewMessage] = [:]
            let wanted = Set(uids)
            let tag = tags.removeFirst()
            var failure: MigrationError?
            try client.complete(tag, describe: "UID FETCH") { response throws(MigrationError) in
                guard case .fetch(_, let items) = response, let uid = items.uid, wanted.contains(uid),
                      let body = items.sections[""] else { return }
                guard let body, !body.isEmpty else {
                    summary.skipped.append(SkippedItem(folder: plan.old.name, uid: uid, reason: "the old server returned no content"))
                    return
                }
                let flags = OldFlags(items.flags ?? current[uid]?.flags ?? [])
                if !flags.dropped.isEmpty {
                    summary.skipped.append(SkippedItem(folder: plan.old.name, uid: uid,
                                                       reason: "flags not kept (not valid here): \(flags.dropped.joined(separator: " "))"))
                }
                messages[uid] = AccountStore.NewMessage(
                    bytes: body, flags: flags.system, keywords: flags.keywords, internalDate: items.internalDate?.epochSeconds,
                    origin: MessageOrigin(folder: folderKey, uidValidity: uidValidity, uid: uid, flags: OldFlags(items.flags ?? []).key))
                if failure == nil, messages.count > options.batchMessages * 2 {
                    failure = .protocolError("more messages than requested")
                }
            }
            if let failure { throw failure }
            if index + 1 < batches.count { tags.append(try request(batches[index + 1])) }
            let ordered = messages.keys.sorted().map { messages[$0]! }
            let gone = uids.count - ordered.count
            if gone > 0 {
                summary.skipped.append(SkippedItem(folder: plan.old.name, uid: nil,
                                                   reason: "\(gone) message(s) deleted on the old server during the copy"))
            }
            if !ordered.isEmpty {
                // Fewer UIDs than messages: another copy of this account (ternd at first login, a second ternctl)
                // stored some of them first; the store keeps one.
                let stored = try storeCall { () throws(StoreError) in try store.appendBatch(to: target, ordered, quota: options.quota) }
                summary.messagesCopied += stored.count
                summary.alreadyCopied += ordered.count - stored.count
                if stored.count == ordered.count { summary.bytesCopied += ordered.reduce(0) { $0 + Int64($1.bytes.count) } }
            }
            done += uids.count
            report()
        }
        try storeCall { () throws(StoreError) in
            try store.recordMigratedFolder(folderKey, uidValidity: uidValidity, target: target, completed: true)
        }
    }

    /// Three-way: the old server's flags now, as recorded at the last run, and the copy's flags here.
    private func carryOverFlags(folderKey: String, uidValidity: UInt32, current: [UInt32: (flags: [String], size: Int)],
                                recorded: [UInt32: MigratedMessage]) throws(MigrationError) {
        var updates: [UInt32: String] = [:]
        for (uid, copy) in recorded {
            guard let now = current[uid] else { continue }
            let old = OldFlags(now.flags)
            guard old.key != copy.oldFlags else { continue }
            updates[uid] = old.key
            guard let mailbox = copy.mailbox, let here = copy.uid else { continue }
            if OldFlags(system: copy.flags, keywords: copy.keywords).key != copy.oldFlags {
                summary.flagConflicts += 1
                continue
            }
            try storeCall { () throws(StoreError) in
                try store.setFlags(mailbox, uids: [here], old.system, .replace)
                try store.setKeywords(mailbox, uids: [here], old.keywords, .replace)
            }
            summary.flagsUpdated += 1
        }
        try storeCall { () throws(StoreError) in try store.recordMigratedFlags(folder: folderKey, uidValidity: uidValidity, uids: updates) }
    }

    private func report() {
        progress(MigrationProgress(folder: currentFolder, messagesTotal: max(total, done), messagesDone: done,
                                   bytesCopied: summary.bytesCopied))
    }

    private func storeCall<R>(_ body: () throws(StoreError) -> R) throws(MigrationError) -> R {
        do {
            return try body()
        } catch {
            switch error {
            case .overQuota(let detail): throw .store("the account's quota is full (\(detail)); raise it with ternctl user set --quota and run again")
            case .noSpace: throw .store("the disk is full")
            default: throw .store(error.description)
            }
        }
    }
}
