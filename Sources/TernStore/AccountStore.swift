// One account's mail: a maildir folder per mailbox (named by the mailbox's id, never by its name) and an SQLite
// index (`index.sqlite`, WAL, durable commits) of mailboxes and messages.
//
// Invariants:
// - Durable before acknowledged: `append` returns only after the file is linked into cur/, its index row is
//   committed (without fsync) and then one `syncfs` has made both durable (data, directory entries, `tern-uids`,
//   the WAL); the commit is shared by concurrent appends to the account (group committer), the syncfs by every
//   account on the file system (`FileSystemSync`). One disk flush per acknowledgement batch, not two.
// - The files are the truth: on open, stray files in tmp/ are removed, files in cur/ missing from the index
//   (a crash between link and commit) are indexed with new UIDs, so nothing written is ever lost, and rows whose
//   file never reached the disk (a power loss between commit and syncfs: never acknowledged) are removed.
// - Soft delete: expunge and mailbox deletion only stamp `expunged_at`; files stay until `purge` runs past the
//   retention period. Restore gives messages new UIDs in their original mailbox, re-created if it is gone.
// - Every change takes a new account-wide MODSEQ.
// - The files can rebuild the index: each mailbox folder holds `tern-mailbox` (name, UIDVALIDITY, deletion) and
//   `tern-uids` (UIDs given, expunges), so a lost index comes back with the same names, UIDs and flags.

import Glibc
import TernSQLite

public struct MailboxInfo: Sendable, Equatable {
    public let id: MailboxID
    public let name: String
    public let uidValidity: UIDValidity
    public let uidNext: UID
    public let highestModSeq: ModSeq
    /// RFC 6154 attribute (`\Sent`), if any.
    public var specialUse: String? = nil
    public var subscribed: Bool = true
    /// RFC 8474 MAILBOXID: stays through renames, never reused.
    public var objectID: String = ""
}

public struct MessageInfo: Sendable, Equatable {
    public let uid: UID
    public let size: Int
    public let internalDate: Int64
    public let flags: SystemFlags
    /// IMAP keywords (RFC 9051 §2.3.2: `$Forwarded`, `$Junk`, user labels), sorted.
    public let keywords: [String]
    public let modSeq: ModSeq
}

/// Keywords as IMAP allows them: atoms without `\`, at most 100 bytes, compared case-insensitively (kept as first
/// written). A message carries at most 64.
public enum Keywords {
    static let maxPerMessage = 64

    /// True if `keyword` may be stored (importers drop the others instead of failing the message).
    public static func isValid(_ keyword: String) -> Bool { (try? validate(keyword)) != nil }

    static func validate(_ keyword: String) throws(StoreError) {
        let forbidden = Set("(){ %*\"]\\")
        guard !keyword.isEmpty, keyword.utf8.count <= 100,
              keyword.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f }),
              !keyword.contains(where: { forbidden.contains($0) }) else {
            throw .invalidKeyword(keyword)
        }
    }

    static func decode(_ stored: String) -> [String] { stored.split(separator: " ").map(String.init) }

    static func encode(_ keywords: [String]) -> String { keywords.joined(separator: " ") }

    /// Applies a change; case-insensitive like IMAP, keeping the spelling first stored.
    static func apply(_ change: AccountStore.FlagChange, _ given: [String], to current: [String]) -> [String] {
        switch change {
        case .replace:
            var result: [String] = []
            for keyword in given where !result.contains(where: { $0.lowercased() == keyword.lowercased() }) {
                result.append(keyword)
            }
            return result.sorted()
        case .add:
            var result = current
            for keyword in given where !result.contains(where: { $0.lowercased() == keyword.lowercased() }) {
                result.append(keyword)
            }
            return result.sorted()
        case .remove:
            let removed = Set(given.map { $0.lowercased() })
            return current.filter { !removed.contains($0.lowercased()) }
        }
    }
}

/// An account's limits, from the directory. Soft-deleted mail does not count: the user cannot see it, and the
/// retention period bounds it.
public struct Quota: Sendable, Equatable {
    public var maxBytes: Int64?
    public var maxMessages: Int64?
    public init(maxBytes: Int64? = nil, maxMessages: Int64? = nil) {
        self.maxBytes = maxBytes
        self.maxMessages = maxMessages
    }
}

/// What counts against the quota: visible (not soft-deleted) messages.
public struct Usage: Sendable, Equatable {
    public let bytes: Int64
    public let messages: Int64
    public init(bytes: Int64, messages: Int64) {
        self.bytes = bytes
        self.messages = messages
    }
}

public struct DeletedMessage: Sendable, Equatable {
    /// The index row, stable across restores; what `restore` takes.
    public let id: Int64
    public let mailboxName: String
    public let uid: UID
    public let size: Int
    public let internalDate: Int64
    public let flags: SystemFlags
    public let expungedAt: Int64
}

public final class AccountStore: Sendable {
    public let root: String
    /// Writes (transactions, the group commit) go through this connection…
    let database: SharedDatabase
    /// …and reads through this one, so lookups never wait for a commit's fsync (WAL lets readers run beside the
    /// writer). It has `fulltext.sqlite` attached as `ft`, for SEARCH.
    let readDatabase: SharedDatabase
    /// `fulltext.sqlite`, the full-text tables, written by the background indexer (and purges) only.
    let textDatabase: SharedDatabase
    let clock: @Sendable () -> Int64
    let committer: GroupCommitter<PendingAppend, Committed>
    /// The folders whose file systems `makeDurable` syncs: the account folder (index and WAL), and `mail/` too if
    /// it is mounted elsewhere.
    private let durableRoots: [String]
    /// ternd's delivery journal: `append` makes a delivery durable there (one write shared by every account)
    /// instead of waiting for a syncfs. nil (ternctl, tests): every append waits for the syncfs.
    let journal: DeliveryJournal?
    /// Every committed change of this account, for its sessions.
    public let changes = ChangeBus()
    /// `tern.lock`, held shared while this store is open. Recovery needs it exclusively: files another process is
    /// still writing (ternd delivering while ternctl migrates) are never taken for leftovers of a crash.
    private let openLock: OpenLock

    /// What a commit gave one message: its UID and the MODSEQ of the commit.
    struct Committed: Sendable {
        let uid: UID
        let modSeq: ModSeq
        /// The index row, once inserted (0 before).
        var row: Int64 = 0
        /// The row has no full-text entry yet: the background indexer is to make it (TextIndexer.swift).
        var needsText = false
        /// A migrated message whose origin another process recorded first (two copies of one account at once):
        /// not stored again; its file is removed.
        var alreadyStored = false
    }

    struct PendingAppend: Sendable {
        let mailbox: MailboxID
        let file: String
        let size: Int
        let flags: SystemFlags
        let internalDate: Int64
        var quota: Quota? = nil
        var keywords: [String] = []
        /// The MIME parse done once at delivery (nil: computed on first FETCH instead).
        var metadata: MessageMetadata? = nil
        /// A copy or restore keeps the message's RFC 8474 EMAILID; nil: a new message, a new id.
        var emailID: String? = nil
        /// A message copied from another server: recorded in `migrated` in the same transaction.
        var origin: MessageOrigin? = nil
        /// The UID to give, if still free (a journal replay puts an acknowledged UID back); nil: the next one.
        var uid: UID? = nil
    }

    static let migrations = [
        """
        CREATE TABLE state (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
        INSERT INTO state VALUES ('highest_modseq', 1), ('last_uidvalidity', 0);
        CREATE TABLE mailboxes (
            id INTEGER PRIMARY KEY,
            name TEXT UNIQUE,               -- NULL once deleted
            deleted_name TEXT,              -- the name it had, for restores
            uidvalidity INTEGER NOT NULL,
            uidnext INTEGER NOT NULL DEFAULT 1,
            highest_modseq INTEGER NOT NULL DEFAULT 1,
            subscribed INTEGER NOT NULL DEFAULT 1,
            special_use TEXT,
            deleted_at INTEGER
        );
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id),
            uid INTEGER NOT NULL,
            file TEXT NOT NULL,
            size INTEGER NOT NULL,
            internal_date INTEGER NOT NULL,
            save_date INTEGER NOT NULL,
            flags INTEGER NOT NULL DEFAULT 0,
            keywords TEXT NOT NULL DEFAULT '',
            modseq INTEGER NOT NULL,
            expunged_at INTEGER,
            UNIQUE (mailbox_id, uid)
        );
        CREATE INDEX messages_live ON messages(mailbox_id, expunged_at, uid);
        CREATE INDEX messages_expunged ON messages(expunged_at) WHERE expunged_at IS NOT NULL;
        """,
        // Version 2: running quota usage, kept in the transactions that change it.
        """
        INSERT INTO state VALUES
            ('used_bytes', (SELECT coalesce(sum(size), 0) FROM messages WHERE expunged_at IS NULL)),
            ('used_messages', (SELECT count(*) FROM messages WHERE expunged_at IS NULL));
        """,
        // Version 3: sessions catch up by MODSEQ (untagged updates, CONDSTORE, QRESYNC); the highest MODSEQ of a
        // purged row bounds what VANISHED can still report exactly.
        """
        CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);
        INSERT INTO state VALUES ('purged_modseq', 0), ('standard_mailboxes', 0);
        """,
        // Version 4: what the MIME parse at delivery yields, so FETCH ENVELOPE/BODYSTRUCTURE never re-parse.
        """
        ALTER TABLE messages ADD COLUMN envelope BLOB;
        ALTER TABLE messages ADD COLUMN body_structure BLOB;
        ALTER TABLE messages ADD COLUMN body BLOB;
        ALTER TABLE messages ADD COLUMN sent_date INTEGER;
        """,
        // Version 5: the full-text index for SEARCH (trigram: any substring of 3+ characters is an index lookup).
        // `text_indexed` says which messages have a row; others are searched by parsing their file.
        """
        CREATE VIRTUAL TABLE message_text USING fts5(subject, sender, recipient, cc, bcc, headers, body, tokenize = 'trigram');
        ALTER TABLE messages ADD COLUMN text_indexed INTEGER NOT NULL DEFAULT 0;
        """,
        // Version 6: subscriptions are names, not mailbox rows (RFC 3501 §6.3.6: a subscription outlives its
        // mailbox, and may name one that does not exist).
        """
        CREATE TABLE subscriptions (name TEXT PRIMARY KEY) WITHOUT ROWID;
        INSERT INTO subscriptions SELECT name FROM mailboxes WHERE name IS NOT NULL AND subscribed = 1;
        """,
        // Version 7: IMAP4rev1's \Recent: messages from `first_recent_uid` on have not been seen by any session yet.
        """
        ALTER TABLE mailboxes ADD COLUMN first_recent_uid INTEGER NOT NULL DEFAULT 1;
        UPDATE mailboxes SET first_recent_uid = uidnext;
        """,
        // Version 8: header fields and body text in separate full-text tables (see FullText.swift).
        """
        CREATE VIRTUAL TABLE header_text USING fts5(subject, sender, recipient, cc, bcc, headers, tokenize = 'trigram');
        CREATE VIRTUAL TABLE body_text USING fts5(body, tokenize = 'trigram');
        INSERT INTO header_text (rowid, subject, sender, recipient, cc, bcc, headers)
            SELECT rowid, subject, sender, recipient, cc, bcc, headers FROM message_text;
        INSERT INTO body_text (rowid, body) SELECT rowid, body FROM message_text;
        DROP TABLE message_text;
        """,
        // Version 9: finding the few messages without a full-text entry must not scan the mailbox.
        """
        CREATE INDEX messages_unindexed ON messages(mailbox_id) WHERE text_indexed = 0;
        """,
        // Version 10: RFC 8474 object ids. A message's EMAILID is kept by its copies and restores; a mailbox's
        // MAILBOXID by renames. Random, so they are never reused for something else.
        """
        ALTER TABLE messages ADD COLUMN email_id TEXT;
        UPDATE messages SET email_id = lower(hex(randomblob(8)));
        ALTER TABLE mailboxes ADD COLUMN object_id TEXT;
        UPDATE mailboxes SET object_id = lower(hex(randomblob(8)));
        """,
        // Version 11: what a migration copied from an old server, committed with the messages themselves so a run
        // killed at any point resumes without duplicates or gaps (MigrationState.swift).
        """
        CREATE TABLE migrated (
            folder TEXT NOT NULL,           -- the old server and folder (MessageOrigin.folder)
            uidvalidity INTEGER NOT NULL,
            old_uid INTEGER NOT NULL,
            message_row INTEGER NOT NULL,   -- messages.id of the copy
            old_flags TEXT NOT NULL,        -- the old server's flags when last synchronized
            PRIMARY KEY (folder, uidvalidity, old_uid)
        ) WITHOUT ROWID;
        CREATE TABLE migrated_folders (
            folder TEXT PRIMARY KEY,
            uidvalidity INTEGER NOT NULL,
            target TEXT NOT NULL,           -- the mailbox it was copied into
            completed_at INTEGER
        ) WITHOUT ROWID;
        CREATE TABLE migration_runs (
            source TEXT PRIMARY KEY,        -- the old server and login
            started_at INTEGER NOT NULL,
            completed_at INTEGER
        ) WITHOUT ROWID;
        """,
        // Version 12: the top-level header as stored (MessageMetadata.header), so a header sync (FETCH of
        // BODY.PEEK[HEADER.FIELDS (…)] for every message) reads the index, not one file per message. The last
        // column: scans that do not ask for it never read it. Older rows keep NULL and are read from the file.
        """
        ALTER TABLE messages ADD COLUMN header BLOB;
        """,
        // Version 13: the full-text tables move to their own database file, `fulltext.sqlite` (FullText.swift), so
        // the background indexer never holds the lock deliveries commit under. Every message is indexed again there
        // (in the background; SEARCH parses the files of unindexed messages meanwhile). Copies share their
        // original's entry, found by EMAILID.
        """
        DROP TABLE IF EXISTS header_text;
        DROP TABLE IF EXISTS body_text;
        UPDATE messages SET text_indexed = 0;
        CREATE INDEX messages_email ON messages(email_id);
        """,
    ]

    /// Opens (creating) the store of one account at `root`, with INBOX, and recovers from an interrupted write.
    public static let systemClock: @Sendable () -> Int64 = { Int64(time(nil)) }

    /// `journal`: where `append` makes deliveries durable (see `DeliveryJournal`). `replay`: the journal's records
    /// for this account, put back before recovery (ternd's start).
    public init(root: String, clock: @escaping @Sendable () -> Int64 = AccountStore.systemClock,
                journal: DeliveryJournal? = nil, replay: [JournalRecord] = []) throws(StoreError) {
        self.root = root
        self.clock = clock
        self.journal = journal
        try DurableFile.makeDirectories(root + "/mail")
        let hadIndex = access(root + "/index.sqlite", F_OK) == 0
        if !hadIndex {
            // A rebuilt index numbers its rows anew: the old full-text entries would name other messages.
            for suffix in ["", "-wal", "-shm"] { unlink(root + "/fulltext.sqlite" + suffix) }
        }
        let hadText = access(root + "/fulltext.sqlite", F_OK) == 0
        let database: Database
        do {
            database = try Database(path: root + "/index.sqlite", durableCommits: true)
            try database.migrate(Self.migrations)
        } catch {
            throw .io("index \(root)/index.sqlite: \(error)")
        }
        let shared = SharedDatabase(database)
        self.database = shared
        do {
            let text = try Database(path: root + "/fulltext.sqlite")
            // This connection only writes (SEARCH reads through the read connection): no memory map, a small cache.
            try text.execute("PRAGMA mmap_size = 0; PRAGMA cache_size = -256")
            try text.execute(FullText.schema)
            // A new (or removed) full-text file: whatever the index marked as indexed is not there any more.
            if !hadText { try database.execute("UPDATE messages SET text_indexed = 0 WHERE text_indexed = 1") }
            textDatabase = SharedDatabase(text)
        } catch {
            throw .io("index \(root)/fulltext.sqlite: \(error)")
        }
        do {
            let reader = try Database(path: root + "/index.sqlite", durableCommits: true)
            try reader.query("ATTACH DATABASE ? AS ft", [root + "/fulltext.sqlite"])
            readDatabase = SharedDatabase(reader)
        } catch {
            throw .io("index \(root)/index.sqlite: \(error)")
        }
        let mailRoot = root + "/mail"
        var rootStatus = stat(), mailStatus = stat()
        durableRoots = stat(root, &rootStatus) == 0 && stat(mailRoot, &mailStatus) == 0 && rootStatus.st_dev == mailStatus.st_dev
            ? [root] : [root, mailRoot]
        committer = GroupCommitter { batch in Self.commit(batch, database: shared, mailRoot: mailRoot, clock: clock) }
        openLock = try OpenLock(folder: root)
        if !hadIndex { try rebuildFromFiles() }
        if try mailbox(named: "INBOX") == nil {
            do throws(StoreError) {
                _ = try createMailbox("INBOX")
            } catch {
                // Another process opening the new store at the same moment made it.
                guard case .mailboxExists = error else { throw error }
            }
        }
        if !replay.isEmpty { try self.replay(replay) }
        // Alone with the store: leftovers are a crash's, and recovery may adopt or remove them. Otherwise the process
        // that has it open is alive and its files are in flight; recovery waits for an open with nobody else.
        _ = try openLock.ifAlone { () throws(StoreError) in try recover() }
        // A rebuilt index, replayed deliveries: their full-text entries are made in the background.
        if !hadIndex || !hadText || !replay.isEmpty { indexMissingText() }
    }

    /// Makes everything this thread wrote before the call durable — message files, their directory entries, the
    /// `tern-uids` lines and the index's WAL — with a `syncfs` that started after the call (shared with every other
    /// account committing meanwhile: `FileSystemSync`). So one flush of the disk covers a commit's files and its
    /// rows; a crash before it ends leaves at worst rows without files, which `recover` removes (nobody was told
    /// of them).
    func makeDurable() throws(StoreError) {
        for path in durableRoots { try DurableFile.syncFileSystem(path) }
    }

    func maildir(_ id: MailboxID) -> Maildir { Maildir(path: root + "/mail/\(id)") }

    @discardableResult
    func run<R>(_ body: (Database) throws -> R) throws(StoreError) -> R {
        do {
            return try database.withDatabase(body)
        } catch let error as StoreError {
            throw error
        } catch let error as SQLiteError where error.code & 0xff == 13 { // SQLITE_FULL
            throw .noSpace
        } catch {
            throw .io("index: \(error)")
        }
    }

    /// Runs a read-only query on the read connection.
    func read<R>(_ body: (Database) throws -> R) throws(StoreError) -> R {
        do {
            return try readDatabase.withDatabase(body)
        } catch let error as StoreError {
            throw error
        } catch {
            throw .io("index: \(error)")
        }
    }

    static func addUsage(_ db: Database, bytes: Int64, messages: Int64) throws {
        try db.query("UPDATE state SET value = value + ? WHERE key = 'used_bytes'", [bytes])
        try db.query("UPDATE state SET value = value + ? WHERE key = 'used_messages'", [messages])
    }

    static func usage(_ db: Database) throws -> Usage {
        let rows = try db.query("SELECT key, value FROM state WHERE key IN ('used_bytes', 'used_messages')")
        let values = Dictionary(uniqueKeysWithValues: rows.map { ($0.string(0)!, $0.int(1)!) })
        return Usage(bytes: values["used_bytes"] ?? 0, messages: values["used_messages"] ?? 0)
    }

    /// Why `size` more bytes in `count` more messages would break `quota`, or nil.
    static func quotaViolation(_ quota: Quota, usage: Usage, adding size: Int, messages count: Int = 1) -> String? {
        if let max = quota.maxBytes, usage.bytes + Int64(size) > max {
            return "\(usage.bytes + Int64(size)) bytes would exceed the limit of \(max)"
        }
        if let max = quota.maxMessages, usage.messages + Int64(count) > max {
            return "\(usage.messages + Int64(count)) messages would exceed the limit of \(max)"
        }
        return nil
    }

    /// Visible mail, as counted against the quota.
    public func usage() throws(StoreError) -> Usage { try read { db in try Self.usage(db) } }

    /// Why adding `size` bytes (one message) would break `quota` now, or nil if it fits (SMTP checks at RCPT).
    public func quotaViolation(_ quota: Quota, adding size: Int) throws(StoreError) -> String? {
        guard quota.maxBytes != nil || quota.maxMessages != nil else { return nil }
        return Self.quotaViolation(quota, usage: try usage(), adding: size)
    }

    static func nextModSeq(_ db: Database) throws -> Int64 {
        try db.query("UPDATE state SET value = value + 1 WHERE key = 'highest_modseq'")
        return try db.query("SELECT value FROM state WHERE key = 'highest_modseq'")[0].int(0)!
    }

    // MARK: Mailboxes

    static func validate(_ name: String) throws(StoreError) {
        guard !name.isEmpty, name.utf8.count <= 1000 else { throw .invalidMailboxName(name, reason: "empty or longer than 1000 bytes") }
        guard !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else {
            throw .invalidMailboxName(name, reason: "control characters")
        }
    }

    static func info(_ row: SQLiteRow) -> MailboxInfo {
        MailboxInfo(id: MailboxID(row.int(0)!), name: row.string(1)!, uidValidity: UIDValidity(UInt32(row.int(2)!)),
                    uidNext: UID(UInt32(row.int(3)!)), highestModSeq: ModSeq(UInt64(row.int(4)!)),
                    specialUse: row.values.count > 5 ? row.string(5) : nil, subscribed: row.values.count > 6 ? row.int(6) != 0 : true,
                    objectID: row.values.count > 7 ? row.string(7) ?? "" : "")
    }

    public func createMailbox(_ name: String, specialUse: String? = nil) throws(StoreError) -> MailboxInfo {
        try Self.validate(name)
        let canonical = name.uppercased() == "INBOX" ? "INBOX" : name
        let (id, validity): (MailboxID, Int64) = try run { db in
            try db.transaction {
                guard try db.query("SELECT 1 FROM mailboxes WHERE name = ?", [canonical]).isEmpty else {
                    throw StoreError.mailboxExists(canonical)
                }
                // UIDVALIDITY: the time, but always above any value this account has used.
                let last = try db.query("SELECT value FROM state WHERE key = 'last_uidvalidity'")[0].int(0)!
                let validity = max(last + 1, clock() & 0x7fff_ffff)
                try db.query("UPDATE state SET value = ? WHERE key = 'last_uidvalidity'", [validity])
                let modseq = try Self.nextModSeq(db)
                try db.query("INSERT INTO mailboxes (name, uidvalidity, highest_modseq, special_use, object_id) VALUES (?, ?, ?, ?, lower(hex(randomblob(8))))",
                             [canonical, validity, modseq, specialUse])
                return (MailboxID(db.lastInsertRowID), validity)
            }
        }
        try maildir(id).create()
        try maildir(id).writeMetadata(.init(name: canonical, uidValidity: UInt32(validity)))
        changes.publish(.mailboxesChanged)
        return try mailbox(id: id)!
    }

    public func mailbox(named name: String) throws(StoreError) -> MailboxInfo? {
        let canonical = name.uppercased() == "INBOX" ? "INBOX" : name
        return try read { db in
            try db.query("SELECT id, name, uidvalidity, uidnext, highest_modseq, special_use, (SELECT count(*) FROM subscriptions s WHERE s.name = mailboxes.name), object_id FROM mailboxes WHERE name = ?", [canonical])
                .first.map(Self.info)
        }
    }

    public func mailbox(id: MailboxID) throws(StoreError) -> MailboxInfo? {
        try read { db in
            try db.query("SELECT id, name, uidvalidity, uidnext, highest_modseq, special_use, (SELECT count(*) FROM subscriptions s WHERE s.name = mailboxes.name), object_id FROM mailboxes WHERE id = ? AND name IS NOT NULL",
                         [id.rawValue]).first.map(Self.info)
        }
    }

    public func mailboxes() throws(StoreError) -> [MailboxInfo] {
        try read { db in
            try db.query("SELECT id, name, uidvalidity, uidnext, highest_modseq, special_use, (SELECT count(*) FROM subscriptions s WHERE s.name = mailboxes.name), object_id FROM mailboxes WHERE name IS NOT NULL ORDER BY name")
                .map(Self.info)
        }
    }

    func requireMailbox(_ name: String) throws(StoreError) -> MailboxInfo {
        guard let info = try mailbox(named: name) else { throw .mailboxNotFound(name) }
        return info
    }

    /// Renames a mailbox (a row update: the folder is named by id). INBOX cannot be renamed here.
    public func renameMailbox(_ name: String, to newName: String) throws(StoreError) {
        try Self.validate(newName)
        let info = try requireMailbox(name)
        guard info.name != "INBOX" else { throw .invalidMailboxName(name, reason: "INBOX cannot be renamed") }
        try run { db in
            try db.transaction {
                guard try db.query("SELECT 1 FROM mailboxes WHERE name = ?", [newName]).isEmpty else {
                    throw StoreError.mailboxExists(newName)
                }
                let modseq = try Self.nextModSeq(db)
                try db.query("UPDATE mailboxes SET name = ?, highest_modseq = ? WHERE id = ?", [newName, modseq, info.id.rawValue])
                // The subscription follows the mailbox (what a user renaming a folder expects).
                try db.query("UPDATE OR REPLACE subscriptions SET name = ? WHERE name = ?", [newName, info.name])
            }
        }
        try maildir(info.id).writeMetadata(.init(name: newName, uidValidity: info.uidValidity.rawValue))
        changes.publish(.mailboxesChanged)
    }

    /// Deletes a mailbox: its messages are soft-deleted with it and stay restorable for the retention period.
    public func deleteMailbox(_ name: String) throws(StoreError) {
        let info = try requireMailbox(name)
        guard info.name != "INBOX" else { throw .invalidMailboxName(name, reason: "INBOX cannot be deleted") }
        let now = clock()
        try run { db in
            try db.transaction {
                let modseq = try Self.nextModSeq(db)
                let live = try db.query("SELECT coalesce(sum(size), 0), count(*) FROM messages WHERE mailbox_id = ? AND expunged_at IS NULL",
                                        [info.id.rawValue])[0]
                try Self.addUsage(db, bytes: -live.int(0)!, messages: -live.int(1)!)
                try db.query("UPDATE messages SET expunged_at = ?, modseq = ? WHERE mailbox_id = ? AND expunged_at IS NULL",
                             [now, modseq, info.id.rawValue])
                try db.query("UPDATE mailboxes SET deleted_name = name, name = NULL, deleted_at = ? WHERE id = ?",
                             [now, info.id.rawValue])
            }
        }
        try maildir(info.id).writeMetadata(.init(name: info.name, uidValidity: info.uidValidity.rawValue, deletedAt: now))
        changes.publish(.mailboxesChanged)
    }

    // MARK: Messages

    /// Stores a message durably and returns its UID. Blocking (fsync): call it off the event loops.
    @discardableResult
    public func append(to mailboxName: String, _ bytes: [UInt8], flags: SystemFlags = [], keywords: [String] = [],
                       internalDate: Int64? = nil, quota: Quota? = nil) throws(StoreError) -> (UIDValidity, UID) {
        for keyword in keywords { try Keywords.validate(keyword) }
        guard keywords.count <= Keywords.maxPerMessage else {
            throw .invalidKeyword("more than \(Keywords.maxPerMessage) keywords on one message")
        }
        let info = try requireMailbox(mailboxName)
        // Refuse early, before writing anything; the commit checks again, against concurrent appends.
        if let quota, let violation = Self.quotaViolation(quota, usage: try usage(), adding: bytes.count) {
            throw .overQuota(violation)
        }
        let file = try maildir(info.id).deliver(bytes, flags: flags)
        let date = internalDate ?? clock()
        let keywords = Keywords.apply(.replace, keywords, to: [])
        // The full-text entry is made after the commit (TextIndexer.swift): the acknowledgement waits for the message
        // and its index row, not for the decoding and the FTS writes.
        let committed = try committer.submit(PendingAppend(
            mailbox: info.id, file: file, size: bytes.count, flags: flags, internalDate: date,
            quota: quota, keywords: keywords, metadata: MessageMetadata(parsing: bytes, withText: false)))
        // Durable: in the delivery journal (one durable write of preallocated blocks, shared by all accounts) or, without
        // one or for a message too large for it, by the syncfs of the store's file system.
        let journaled = try journal?.append(
            JournalRecord(root: root, mailbox: info.id, uid: committed.uid, file: file, flags: flags, keywords: keywords,
                          internalDate: date, bytes: bytes), roots: durableRoots) ?? false
        if !journaled { try makeDurable() }
        changes.publish(.appended(mailbox: info.id, uids: [committed.uid], modSeq: committed.modSeq))
        if committed.needsText { TextIndexer.shared.enqueue(self, rows: [committed.row]) }
        let uid = committed.uid
        return (info.uidValidity, uid)
    }

    /// A message for `appendBatch`.
    public struct NewMessage: Sendable {
        public let bytes: [UInt8]
        public let flags: SystemFlags
        public let keywords: [String]
        public let internalDate: Int64?
        /// Where a migrated message came from; its file is provisional until the commit (see `Maildir.deliver`).
        public let origin: MessageOrigin?
        public init(bytes: [UInt8], flags: SystemFlags = [], keywords: [String] = [], internalDate: Int64? = nil,
                    origin: MessageOrigin? = nil) {
            self.bytes = bytes
            self.flags = flags
            self.keywords = keywords
            self.internalDate = internalDate
            self.origin = origin
        }
    }

    /// Stores many messages as one commit (one syncfs, one transaction), with UIDs in the order given: for imports,
    /// where order matters and nobody waits on a single message. All or nothing: on failure no message stays.
    @discardableResult
    /// With `quota`, the batch as a whole is checked against it before anything is written (all or nothing).
    public func appendBatch(to mailboxName: String, _ messages: [NewMessage], quota: Quota? = nil) throws(StoreError) -> [UID] {
        for message in messages {
            for keyword in message.keywords { try Keywords.validate(keyword) }
            guard message.keywords.count <= Keywords.maxPerMessage else {
                throw .invalidKeyword("more than \(Keywords.maxPerMessage) keywords on one message")
            }
        }
        let info = try requireMailbox(mailboxName)
        if let quota, let violation = Self.quotaViolation(quota, usage: try usage(), adding: messages.reduce(0) { $0 + $1.bytes.count },
                                                          messages: messages.count) {
            throw .overQuota(violation)
        }
        var pending: [PendingAppend] = []
        for message in messages {
            do {
                let file = try maildir(info.id).deliver(message.bytes, flags: message.flags, provisional: message.origin != nil)
                pending.append(PendingAppend(mailbox: info.id, file: file, size: message.bytes.count, flags: message.flags,
                                             internalDate: message.internalDate ?? clock(),
                                             keywords: Keywords.apply(.replace, message.keywords, to: []),
                                             metadata: MessageMetadata(parsing: message.bytes, withText: false), origin: message.origin))
            } catch {
                for item in pending { try? DurableFile.remove("\(root)/mail/\(info.id)/cur/\(item.file)") }
                throw error
            }
        }
        // The commit runs in its own write transaction, serialized with the group committer's by the database lock.
        var committed: [Committed] = []
        for result in Self.commit(pending, database: database, mailRoot: root + "/mail", clock: clock) {
            let value = try result.get()
            if !value.alreadyStored { committed.append(value) }
        }
        if !committed.isEmpty { try makeDurable() }
        if let last = committed.last {
            changes.publish(.appended(mailbox: info.id, uids: committed.map(\.uid), modSeq: last.modSeq))
        }
        TextIndexer.shared.enqueue(self, rows: committed.filter(\.needsText).map(\.row))
        return committed.map(\.uid)
    }

    /// One batch, in one write transaction: decide quotas and UIDs, log the UIDs in each mailbox's `tern-uids`,
    /// insert the rows and commit without waiting for the disk. Not durable yet: every caller then waits for
    /// `makeDurable` (one shared `syncfs` covers the files, directory entries, logs and the WAL together) before it
    /// reports success to anyone.
    static func commit(_ batch: [PendingAppend], database: SharedDatabase, mailRoot: String,
                               clock: @Sendable () -> Int64) -> [Result<Committed, StoreError>] {
        func removeFiles(_ items: [PendingAppend]) {
            for item in items { try? DurableFile.remove("\(mailRoot)/\(item.mailbox)/cur/\(item.file)") }
        }
        func failAll(_ error: StoreError) -> [Result<Committed, StoreError>] {
            removeFiles(batch)
            return Array(repeating: .failure(error), count: batch.count)
        }
        do {
            var results: [Result<Committed, StoreError>] = []
            // One write transaction from the UID decision to the insert (BEGIN IMMEDIATE): another process
            // committing to this index (ternctl) waits instead of picking the same UIDs. WAL readers are not blocked.
            try database.withDatabase { db in
                try db.relaxedTransaction {
                    // 1. Quotas, UIDs and the commit's MODSEQ.
                    let modseq = try nextModSeq(db)
                    var usage = try Self.usage(db)
                    var next: [MailboxID: Int64] = [:]
                    var logs: [MailboxID: [String]] = [:]
                    for item in batch {
                        if let origin = item.origin, try !db.query(
                            "SELECT 1 FROM migrated WHERE folder = ? AND uidvalidity = ? AND old_uid = ?",
                            [origin.folder, Int64(origin.uidValidity), Int64(origin.uid)]).isEmpty {
                            var skipped = Committed(uid: UID(0), modSeq: ModSeq(UInt64(modseq)))
                            skipped.alreadyStored = true
                            results.append(.success(skipped))
                            continue
                        }
                        if let quota = item.quota, let violation = quotaViolation(quota, usage: usage, adding: item.size) {
                            results.append(.failure(.overQuota(violation)))
                            continue
                        }
                        usage = Usage(bytes: usage.bytes + Int64(item.size), messages: usage.messages + 1)
                        var uid = try next[item.mailbox] ?? db.query("SELECT uidnext FROM mailboxes WHERE id = ?",
                                                                      [item.mailbox.rawValue])[0].int(0)!
                        if let wanted = item.uid.map({ Int64($0.rawValue) }), try db.query(
                            "SELECT 1 FROM messages WHERE mailbox_id = ? AND uid = ?", [item.mailbox.rawValue, wanted]).isEmpty {
                            // A replayed delivery keeps the UID it was acknowledged with.
                            uid = wanted
                        }
                        next[item.mailbox] = max(next[item.mailbox] ?? 0, uid + 1)
                        results.append(.success(Committed(uid: UID(UInt32(uid)), modSeq: ModSeq(UInt64(modseq)))))
                        logs[item.mailbox, default: []].append("a \(uid) \(maildirBase(item.file))")
                        if !item.keywords.isEmpty {
                            logs[item.mailbox, default: []].append("k \(uid) \(Keywords.encode(item.keywords))")
                        }
                    }
                    // 2. The UID logs (so a lost index is rebuilt with these UIDs).
                    for (mailbox, lines) in logs { try Maildir(path: "\(mailRoot)/\(mailbox)").appendLog(lines) }
                    // 3. The index rows.
                    let now = clock()
                    for (index, item) in batch.enumerated() {
                        guard case .success(var committed) = results[index], !committed.alreadyStored else { continue }
                        let uid = committed.uid
                        try addUsage(db, bytes: Int64(item.size), messages: 1)
                        try db.query("""
                            INSERT INTO messages (mailbox_id, uid, file, size, internal_date, save_date, flags, keywords, modseq,
                                                  envelope, body_structure, body, sent_date, email_id, header)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, coalesce(?, lower(hex(randomblob(8)))), ?)
                            """, [item.mailbox.rawValue, Int64(uid.rawValue), item.file, item.size, item.internalDate, now,
                                  item.flags.rawValue, Keywords.encode(item.keywords), modseq, item.metadata?.envelope,
                                  item.metadata?.bodyStructure, item.metadata?.body, item.metadata?.sentDate, item.emailID,
                                  item.metadata?.header])
                        let row = db.lastInsertRowID
                        committed.row = row
                        if let origin = item.origin {
                            try db.query("INSERT OR REPLACE INTO migrated (folder, uidvalidity, old_uid, message_row, old_flags) VALUES (?, ?, ?, ?, ?)",
                                         [origin.folder, Int64(origin.uidValidity), Int64(origin.uid), row, origin.flags])
                        }
                        // The full-text entry is written by the background indexer, in its own database (a copy's
                        // is its original's, copied there).
                        committed.needsText = true
                        results[index] = .success(committed)
                        try db.query("UPDATE mailboxes SET uidnext = max(uidnext, ?), highest_modseq = ? WHERE id = ?",
                                     [Int64(uid.rawValue) + 1, modseq, item.mailbox.rawValue])
                    }
                }
            }
            removeFiles(zip(batch, results).compactMap { item, result in
                switch result {
                case .failure: return item
                case .success(let committed): return committed.alreadyStored ? item : nil
                }
            })
            return results
        } catch let error as StoreError {
            return failAll(error)
        } catch let error as SQLiteError where error.code & 0xff == 13 {
            return failAll(.noSpace)
        } catch {
            return failAll(.io("index commit: \(error)"))
        }
    }

    /// Messages visible in a mailbox (not expunged), by UID.
    public func messages(in mailboxName: String) throws(StoreError) -> [MessageInfo] {
        let info = try requireMailbox(mailboxName)
        return try read { db in
            try db.query("""
                SELECT uid, size, internal_date, flags, modseq, keywords FROM messages
                WHERE mailbox_id = ? AND expunged_at IS NULL ORDER BY uid
                """, [info.id.rawValue]).map {
                MessageInfo(uid: UID(UInt32($0.int(0)!)), size: Int($0.int(1)!), internalDate: $0.int(2)!,
                            flags: SystemFlags(rawValue: Int($0.int(3)!)), keywords: Keywords.decode($0.string(5) ?? ""),
                            modSeq: ModSeq(UInt64($0.int(4)!)))
            }
        }
    }

    /// The message's bytes as delivered. Blocking: call it off the event loops.
    public func read(_ mailboxName: String, uid: UID) throws(StoreError) -> [UInt8] {
        let info = try requireMailbox(mailboxName)
        let file: String? = try read { db in
            try db.query("SELECT file FROM messages WHERE mailbox_id = ? AND uid = ? AND expunged_at IS NULL",
                         [info.id.rawValue, Int64(uid.rawValue)]).first?.string(0)
        }
        guard let file else { throw .messageNotFound }
        return try DurableFile.read("\(root)/mail/\(info.id)/cur/\(file)")
    }

    public enum FlagChange: Sendable { case add, remove, replace }

    /// Changes system flags; returns the new flags and MODSEQ of each message changed. The file name's maildir
    /// info follows (without fsync: the index is the truth while it is consistent).
    @discardableResult
    public func setFlags(_ mailboxName: String, uids: [UID], _ flags: SystemFlags, _ change: FlagChange)
        throws(StoreError) -> [(UID, SystemFlags, ModSeq)] {
        let info = try requireMailbox(mailboxName)
        let cur = "\(root)/mail/\(info.id)/cur/"
        let changed: [(UID, SystemFlags, ModSeq)] = try run { db in
            try db.relaxedTransaction {
                let modseq = try Self.nextModSeq(db)
                var changed: [(UID, SystemFlags, ModSeq)] = []
                for uid in uids {
                    guard let row = try db.query("""
                        SELECT id, flags, file FROM messages WHERE mailbox_id = ? AND uid = ? AND expunged_at IS NULL
                        """, [info.id.rawValue, Int64(uid.rawValue)]).first else { continue }
                    let old = SystemFlags(rawValue: Int(row.int(1)!))
                    let new: SystemFlags = switch change {
                    case .add: old.union(flags)
                    case .remove: old.subtracting(flags)
                    case .replace: flags
                    }
                    guard new != old else { continue }
                    let file = row.string(2)!
                    let base = file.split(separator: ":", maxSplits: 1).first.map(String.init) ?? file
                    let newFile = base + ":2," + new.maildirLetters
                    if Glibc.rename(cur + file, cur + newFile) != 0 { throw DurableFile.error("rename", cur + file) }
                    try db.query("UPDATE messages SET flags = ?, file = ?, modseq = ? WHERE id = ?",
                                 [new.rawValue, newFile, modseq, row.int(0)!])
                    changed.append((uid, new, ModSeq(UInt64(modseq))))
                }
                // HIGHESTMODSEQ moves only when a message changed (RFC 7162 §3.1.2).
                if !changed.isEmpty {
                    try db.query("UPDATE mailboxes SET highest_modseq = ? WHERE id = ?", [modseq, info.id.rawValue])
                }
                return changed
            }
        }
        if let modSeq = changed.first?.2 {
            changes.publish(.flagsChanged(mailbox: info.id, changes: changed.map { FlagUpdate(uid: $0.0, flags: $0.1) },
                                          modSeq: modSeq))
        }
        return changed
    }

    /// Changes keywords; returns the new keywords and MODSEQ of each message changed. Logged in `tern-uids` so a
    /// rebuilt index keeps them.
    @discardableResult
    public func setKeywords(_ mailboxName: String, uids: [UID], _ keywords: [String], _ change: FlagChange)
        throws(StoreError) -> [(UID, [String], ModSeq)] {
        for keyword in keywords { try Keywords.validate(keyword) }
        let info = try requireMailbox(mailboxName)
        let changed: [(UID, [String], ModSeq)] = try run { db in
            try db.relaxedTransaction {
                let modseq = try Self.nextModSeq(db)
                var changed: [(UID, [String], ModSeq)] = []
                for uid in uids {
                    guard let row = try db.query("""
                        SELECT id, keywords FROM messages WHERE mailbox_id = ? AND uid = ? AND expunged_at IS NULL
                        """, [info.id.rawValue, Int64(uid.rawValue)]).first else { continue }
                    let old = Keywords.decode(row.string(1) ?? "")
                    let new = Keywords.apply(change, keywords, to: old)
                    guard new != old else { continue }
                    guard new.count <= Keywords.maxPerMessage else {
                        throw StoreError.invalidKeyword("more than \(Keywords.maxPerMessage) keywords on one message")
                    }
                    try db.query("UPDATE messages SET keywords = ?, modseq = ? WHERE id = ?",
                                 [Keywords.encode(new), modseq, row.int(0)!])
                    changed.append((uid, new, ModSeq(UInt64(modseq))))
                }
                if !changed.isEmpty {
                    try db.query("UPDATE mailboxes SET highest_modseq = ? WHERE id = ?", [modseq, info.id.rawValue])
                }
                return changed
            }
        }
        guard let modSeq = changed.first?.2 else { return [] }
        try? maildir(info.id).appendLog(changed.map { "k \($0.0) \(Keywords.encode($0.1))" })
        changes.publish(.keywordsChanged(mailbox: info.id, changes: changed.map { KeywordUpdate(uid: $0.0, keywords: $0.1) },
                                         modSeq: modSeq))
        return changed
    }

    /// Expunges (soft-deletes) messages; returns the UIDs that left the mailbox.
    @discardableResult
    public func expunge(_ mailboxName: String, uids: [UID]) throws(StoreError) -> [UID] {
        let info = try requireMailbox(mailboxName)
        let now = clock()
        let (removed, modSeq): ([UID], Int64) = try run { db in
            try db.relaxedTransaction {
                let modseq = try Self.nextModSeq(db)
                var removed: [UID] = []
                for uid in uids {
                    let size = try db.query("SELECT size FROM messages WHERE mailbox_id = ? AND uid = ? AND expunged_at IS NULL",
                                            [info.id.rawValue, Int64(uid.rawValue)]).first?.int(0)
                    guard let size else { continue }
                    try db.query("UPDATE messages SET expunged_at = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?",
                                 [now, modseq, info.id.rawValue, Int64(uid.rawValue)])
                    try Self.addUsage(db, bytes: -size, messages: -1)
                    removed.append(uid)
                }
                if !removed.isEmpty {
                    try db.query("UPDATE mailboxes SET highest_modseq = ? WHERE id = ?", [modseq, info.id.rawValue])
                }
                return (removed, modseq)
            }
        }
        guard !removed.isEmpty else { return [] }
        try? maildir(info.id).appendLog(removed.map { "x \($0) \(now)" }) // best effort: the index holds the truth
        changes.publish(.expunged(mailbox: info.id, uids: removed, modSeq: ModSeq(UInt64(modSeq))))
        return removed
    }

    // MARK: Retention

    /// Soft-deleted messages still on disk, newest first.
    public func deletedMessages() throws(StoreError) -> [DeletedMessage] {
        try read { db in
            try db.query("""
                SELECT m.id, coalesce(b.name, b.deleted_name), m.uid, m.size, m.internal_date, m.flags, m.expunged_at
                FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
                WHERE m.expunged_at IS NOT NULL ORDER BY m.expunged_at DESC, m.id
                """).map {
                DeletedMessage(id: $0.int(0)!, mailboxName: $0.string(1)!, uid: UID(UInt32($0.int(2)!)), size: Int($0.int(3)!),
                               internalDate: $0.int(4)!, flags: SystemFlags(rawValue: Int($0.int(5)!)), expungedAt: $0.int(6)!)
            }
        }
    }

    /// Brings soft-deleted messages back into their mailbox (re-created under its old name if it was deleted), with
    /// their flags, keywords and internal date, as new UIDs, in one commit. Returns the new UIDs in the order of `ids`.
    /// All or nothing: if the commit fails, the messages stay deleted and restorable.
    public func restore(_ ids: [Int64]) throws(StoreError) -> [(mailbox: String, uid: UID)] {
        var pending: [PendingAppend] = []
        var names: [String] = []
        var sources: [String] = []
        for id in ids {
            let row: SQLiteRow? = try read { db in
                try db.query("""
                    SELECT m.mailbox_id, coalesce(b.name, b.deleted_name), m.file, m.flags, m.internal_date, m.size, m.keywords,
                           m.envelope, m.body_structure, m.body, m.sent_date, m.email_id, m.header
                    FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id WHERE m.id = ? AND m.expunged_at IS NOT NULL
                    """, [id]).first
            }
            guard let row else {
                for item in pending { try? DurableFile.remove("\(root)/mail/\(item.mailbox)/cur/\(item.file)") }
                throw .messageNotFound
            }
            let name = row.string(1)!
            let target: MailboxInfo
            if let existing = try mailbox(named: name) {
                target = existing
            } else {
                target = try createMailbox(name)
            }
            let source = "\(root)/mail/\(row.int(0)!)/cur/\(row.string(2)!)"
            let flags = SystemFlags(rawValue: Int(row.int(3)!))
            // Link the kept file into the target's cur/ under a new name; it is indexed like any append.
            let file = Maildir.uniqueName() + ":2," + flags.maildirLetters
            guard link(source, "\(root)/mail/\(target.id)/cur/\(file)") == 0 else {
                let failure = DurableFile.error("link", source)
                for item in pending { try? DurableFile.remove("\(root)/mail/\(item.mailbox)/cur/\(item.file)") }
                throw failure
            }
            pending.append(PendingAppend(mailbox: target.id, file: file, size: Int(row.int(5)!), flags: flags,
                                         internalDate: row.int(4)!, keywords: Keywords.decode(row.string(6) ?? ""),
                                         metadata: Self.metadata(row, from: 7, header: 12), emailID: row.string(11)))
            names.append(name)
            sources.append(source)
        }
        var committed: [Committed] = []
        for result in Self.commit(pending, database: database, mailRoot: root + "/mail", clock: clock) {
            committed.append(try result.get())
        }
        // The new links and rows durable before the old rows and files go; and no journal record left that could
        // bring an old one back at a replay.
        try makeDurable()
        try journal?.checkpoint()
        TextIndexer.shared.enqueue(self, rows: committed.filter(\.needsText).map(\.row))
        // The old rows and files go; the restored copies are the messages now.
        deleteText(ids)
        try run { db in
            try db.transaction {
                for id in ids {
                    // Like a purge: the old row's expunge can no longer be reported exactly by VANISHED.
                    try Self.deleteRow(db, id)
                }
            }
        }
        for source in sources { try? DurableFile.remove(source) }
        for mailbox in Set(pending.map(\.mailbox)) {
            let mine = zip(pending, committed).filter { $0.0.mailbox == mailbox }.map(\.1)
            changes.publish(.appended(mailbox: mailbox, uids: mine.map(\.uid), modSeq: mine.last!.modSeq))
        }
        return zip(names, committed).map { ($0, $1.uid) }
    }

    /// Removes for good what was soft-deleted more than `retentionDays` ago. Returns how many messages went.
    @discardableResult
    public func purge(retentionDays: Int) throws(StoreError) -> Int {
        let cutoff = clock() - Int64(retentionDays) * 86400
        let rows: [SQLiteRow] = try run { db in
            try db.query("SELECT id, mailbox_id, file FROM messages WHERE expunged_at IS NOT NULL AND expunged_at <= ?", [cutoff])
        }
        // A journal record of a message removed here would bring it back at a replay.
        if !rows.isEmpty { try journal?.checkpoint() }
        deleteText(rows.map { $0.int(0)! })
        for row in rows {
            try DurableFile.remove("\(root)/mail/\(row.int(1)!)/cur/\(row.string(2)!)")
            try run { db in
                try Self.deleteRow(db, row.int(0)!)
            }
        }
        return rows.count
    }

    // MARK: Recovery

    /// Rebuilds a missing index from the folders: mailboxes from `tern-mailbox`, UIDs from `tern-uids` (kept where
    /// known; files without a logged UID get new ones above every logged UID), flags from file names, expunges from
    /// the log and the mailbox's deletion time. A mailbox whose log is gone gets a new UIDVALIDITY, and all its
    /// messages new UIDs, because old UIDs can no longer be promised.
    private func rebuildFromFiles() throws(StoreError) {
        let folders = try DurableFile.list(root + "/mail").compactMap(Int64.init).sorted()
        guard !folders.isEmpty else { return }
        let now = clock()
        try run { db in
            try db.transaction {
                let modseq = try Self.nextModSeq(db)
                var lastValidity = try db.query("SELECT value FROM state WHERE key = 'last_uidvalidity'")[0].int(0)!
                for id in folders {
                    let maildir = Maildir(path: "\(root)/mail/\(id)")
                    try maildir.create()
                    try maildir.cleanTmp()
                    _ = try maildir.adoptNew()
                    let log = maildir.readLog()
                    var metadata = maildir.readMetadata()
                        ?? .init(name: id == 1 ? "INBOX" : "Recovered \(id)", uidValidity: 0, deletedAt: nil)
                    if log == nil || metadata.uidValidity == 0 {
                        // Strictly above the value clients may have cached, even within the same second.
                        lastValidity = max(lastValidity + 1, now & 0x7fff_ffff, Int64(metadata.uidValidity) + 1)
                        metadata.uidValidity = UInt32(lastValidity)
                    }
                    lastValidity = max(lastValidity, Int64(metadata.uidValidity))
                    let live = metadata.deletedAt == nil
                    // A name taken by a live mailbox already (two folders claiming it) keeps the folder under another.
                    if live, try !db.query("SELECT 1 FROM mailboxes WHERE name = ?", [metadata.name]).isEmpty {
                        metadata.name += " (recovered \(id))"
                    }
                    try db.query("""
                        INSERT INTO mailboxes (id, name, deleted_name, uidvalidity, highest_modseq, deleted_at, object_id)
                        VALUES (?, ?, ?, ?, ?, ?, lower(hex(randomblob(8))))
                        """, [id, live ? metadata.name : nil, live ? nil : metadata.name, Int64(metadata.uidValidity),
                              modseq, metadata.deletedAt])
                    var files: [(file: String, uid: UInt32?)] = try DurableFile.list(maildir.cur).map { file in
                        (file, log?.uids[maildirBase(file)])
                    }
                    files.sort { ($0.uid ?? .max, $0.file) < ($1.uid ?? .max, $1.file) }
                    // Above every UID ever given out here, purged ones included: a UID is never reused.
                    let highestLogged = max(log?.uids.values.max() ?? 0, log?.expunged.keys.max() ?? 0)
                    var next = max(files.compactMap(\.uid).max() ?? 0, highestLogged) + 1
                    var used = Set<UInt32>()
                    for (file, logged) in files {
                        var uid = logged ?? 0
                        if uid == 0 || used.contains(uid) {
                            uid = next
                            next += 1
                        }
                        used.insert(uid)
                        var status = stat()
                        guard stat(maildir.cur + "/" + file, &status) == 0 else { continue }
                        let flags = maildirFlags(file)
                        let expungedAt = metadata.deletedAt ?? log?.expunged[uid]
                        // The MIME parse and full-text entry a delivery would have made (unreadable files get none and
                        // are parsed when fetched).
                        let parsed = (try? DurableFile.read(maildir.cur + "/" + file)).map { MessageMetadata(parsing: $0, withText: false) }
                        try db.query("""
                            INSERT INTO messages (mailbox_id, uid, file, size, internal_date, save_date, flags, keywords, modseq,
                                                  expunged_at, envelope, body_structure, body, sent_date, email_id)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, lower(hex(randomblob(8))))
                            """, [id, Int64(uid), file, Int64(status.st_size), Int64(status.st_mtim.tv_sec), now,
                                  flags.rawValue, log?.keywords[uid] ?? "", modseq, expungedAt, parsed?.envelope,
                                  parsed?.bodyStructure, parsed?.body, parsed?.sentDate])
                        if expungedAt == nil { try Self.addUsage(db, bytes: Int64(status.st_size), messages: 1) }
                    }
                    try db.query("UPDATE mailboxes SET uidnext = ? WHERE id = ?", [Int64(next), id])
                }
                try db.query("UPDATE state SET value = ? WHERE key = 'last_uidvalidity'", [lastValidity])
            }
        }
    }

    /// Puts files and index rows back in agreement after a crash, per mailbox:
    /// - interrupted writes in tmp/ are removed;
    /// - a row whose file carries another maildir info (a flag change's rename and its commit are not atomic) gets
    ///   its file back under the row's name — the index holds the flags;
    /// - a row whose file is gone is removed: a commit writes its rows before the `syncfs` that makes its files
    ///   durable, so a power loss in between can keep rows of files that never reached the disk. Nobody was told
    ///   of those messages (acknowledgements wait for the sync); `purged_modseq` moves past the row as for a purge,
    ///   so a QRESYNC client that saw it anyway is told it vanished;
    /// - files in cur/ that the index does not know (a crash between the link and the commit) are indexed with
    ///   new UIDs, so nothing written is lost.
    private func recover() throws(StoreError) {
        let ids: [Int64] = try run { db in try db.query("SELECT id FROM mailboxes").map { $0.int(0)! } }
        var adopted = false
        for id in ids {
            let maildir = maildir(MailboxID(id))
            try maildir.create()
            try maildir.cleanTmp()
            _ = try maildir.adoptNew()
            let rows = try run { db in
                try db.query("SELECT id, file FROM messages WHERE mailbox_id = ?", [id]).map { ($0.int(0)!, $0.string(1)!) }
            }
            var unknown = Set(try DurableFile.list(maildir.cur))
            var missing: [(row: Int64, file: String)] = []
            for (row, file) in rows where unknown.remove(file) == nil { missing.append((row, file)) }
            if !missing.isEmpty {
                var unknownByBase: [String: String] = [:]
                for file in unknown { unknownByBase[maildirBase(file)] = file }
                for (row, file) in missing {
                    if let found = unknownByBase.removeValue(forKey: maildirBase(file)) {
                        try DurableFile.rename(maildir.cur + "/" + found, to: maildir.cur + "/" + file)
                        unknown.remove(found)
                    } else {
                        try removeRowWithoutFile(row)
                    }
                }
                try DurableFile.syncDirectory(maildir.cur)
            }
            for file in unknown.sorted() {
                let path = maildir.cur + "/" + file
                if maildirBase(file).hasSuffix(Maildir.provisionalMarker) {
                    // A migrated message whose commit did not happen: the migration copies it again.
                    try DurableFile.remove(path)
                    continue
                }
                var status = stat()
                guard stat(path, &status) == 0 else { continue }
                let flags = maildirFlags(file)
                _ = try committer.submit(PendingAppend(mailbox: MailboxID(id), file: file, size: Int(status.st_size),
                                                       flags: flags, internalDate: Int64(status.st_mtim.tv_sec),
                                                       metadata: (try? DurableFile.read(path)).map { MessageMetadata(parsing: $0, withText: false) }))
                adopted = true
            }
        }
        if adopted { try makeDurable() }
    }

    /// Deletes row `id` for good, moving `purged_modseq` past it (VANISHED can no longer report its expunge
    /// exactly): purges, restores and recovery. Its full-text entry goes first (`deleteText`).
    static func deleteRow(_ db: Database, _ id: Int64) throws {
        try db.query("""
            UPDATE state SET value = max(value, (SELECT modseq FROM messages WHERE id = ?)) WHERE key = 'purged_modseq'
            """, [id])
        try db.query("DELETE FROM messages WHERE id = ?", [id])
    }

    /// Removes the full-text entries of rows about to be deleted from `fulltext.sqlite` — before the rows go, so the
    /// ids cannot have been given to new rows yet (a row id can be reused once its row is gone). Only expunged rows
    /// (which SEARCH never returns) or rows without files are deleted. Best effort: an entry left behind (a full
    /// disk) is never used — SEARCH takes entries only of rows marked indexed, and the indexer replaces whatever
    /// entry a row id has before marking it.
    func deleteText(_ rows: [Int64]) {
        guard !rows.isEmpty else { return }
        try? textDatabase.withDatabase { db in
            try db.relaxedTransaction { for row in rows { try FullText.delete(db, row: row) } }
        }
    }

    /// Removes an index row whose file is gone, with its full-text entry and migration record (so a migration
    /// copies that message again), and moves `purged_modseq` past it.
    private func removeRowWithoutFile(_ row: Int64) throws(StoreError) {
        deleteText([row])
        try run { db in
            try db.transaction {
                guard let found = try db.query("SELECT size, expunged_at FROM messages WHERE id = ?", [row]).first else { return }
                if found.int(1) == nil { try Self.addUsage(db, bytes: -found.int(0)!, messages: -1) }
                try db.query("DELETE FROM migrated WHERE message_row = ?", [row])
                try Self.deleteRow(db, row)
            }
        }
    }
}
