// The outbound spool: `<queue>/queue.sqlite` (WAL; one row per message and per recipient) and one file per message
// in `<queue>/messages/<id>`. Shared by ternd (enqueue, the runner) and ternctl (list, show, flush, remove).
//
// Invariants:
// - Durable before acknowledged: `enqueue` writes and fsyncs the file under a temp name, renames it, fsyncs the
//   folder, and only then commits the rows (synchronous = FULL). A crash before the commit leaves a file without
//   rows, which `recover()` removes at ternd's start; a committed row always has its file.
// - Rows go before files on removal: the rows are deleted in one transaction, then the file; a crash in between
//   leaves an orphan file, again removed by `recover()`.
// - Every write is one `BEGIN IMMEDIATE` transaction and the busy timeout lets ternd and ternctl wait for each
//   other; the `Database` handle is only used under `SharedDatabase`'s lock.

public import TernSMTPCore
import TernSQLite

public final class MailQueue: Sendable {
    /// The queue folder (`<data_dir>/queue`).
    public let directory: String
    private let database: SharedDatabase
    private let clock: @Sendable () -> Int64

    private static let migrations = [
        """
        CREATE TABLE messages (
            id TEXT PRIMARY KEY,
            sender TEXT NOT NULL,
            size INTEGER NOT NULL,
            arrival INTEGER NOT NULL,
            body TEXT,
            smtputf8 INTEGER NOT NULL DEFAULT 0,
            ret TEXT,
            envid TEXT,
            auth TEXT,
            declared_size INTEGER,
            delay_warned INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE recipients (
            message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            address TEXT NOT NULL,
            notify INTEGER,
            orcpt_type TEXT,
            orcpt_address TEXT,
            state TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt INTEGER NOT NULL,
            last_attempt INTEGER,
            last_reply TEXT,
            status TEXT,
            remote_mta TEXT,
            PRIMARY KEY (message_id, position)
        );
        CREATE INDEX recipients_due ON recipients(state, next_attempt);
        """,
    ]

    /// Opens (creating if needed) the queue in `directory`.
    /// - Parameter clock: Unix seconds; tests inject a fixed or advancing clock.
    public init(directory: String, clock: @escaping @Sendable () -> Int64 = wallClockSeconds) throws(QueueError) {
        self.directory = directory
        self.clock = clock
        try SpoolFile.makeDirectory(directory + "/messages")
        do {
            let database = try Database(path: directory + "/queue.sqlite", durableCommits: true)
            try database.migrate(Self.migrations)
            self.database = SharedDatabase(database)
        } catch {
            throw .storage("\(directory)/queue.sqlite: \(error)")
        }
    }

    private var messagesDirectory: String { directory + "/messages" }
    private func path(of id: QueueID) -> String { "\(messagesDirectory)/\(id)" }

    private func withDatabase<R>(_ body: (Database) throws -> R) throws(QueueError) -> R {
        do {
            return try database.withDatabase(body)
        } catch let error as QueueError {
            throw error
        } catch {
            throw .storage("\(directory)/queue.sqlite: \(error)")
        }
    }

    // MARK: - Enqueue

    /// Queues `message` for every recipient of `envelope`. Durable when it returns: the caller may reply 250.
    public func enqueue(_ envelope: MailEnvelope, message: [UInt8]) throws(QueueError) -> QueueID {
        guard !envelope.recipients.isEmpty else { throw .invalidEnvelope("no recipients") }
        let id = QueueID.make()
        let now = clock()
        try SpoolFile.writeDurably(message, directory: messagesDirectory, name: id.rawValue)
        do {
            try withDatabase { db in
                try db.transaction {
                    let parameters = envelope.parameters
                    try db.query("""
                        INSERT INTO messages (id, sender, size, arrival, body, smtputf8, ret, envid, auth, declared_size)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """, [id.rawValue, envelope.sender.description, message.count, now, parameters.body?.rawValue,
                              parameters.smtpUTF8, parameters.ret?.rawValue, parameters.envelopeID, parameters.auth,
                              parameters.size])
                    for (position, recipient) in envelope.recipients.enumerated() {
                        try db.query("""
                            INSERT INTO recipients (message_id, position, address, notify, orcpt_type, orcpt_address,
                                                    next_attempt)
                            VALUES (?, ?, ?, ?, ?, ?, ?)
                            """, [id.rawValue, position, recipient.mailbox.description,
                                  recipient.parameters.notify.map { Int($0.rawValue) },
                                  recipient.parameters.originalRecipient?.type,
                                  recipient.parameters.originalRecipient?.address, now])
                    }
                }
            }
        } catch {
            try? SpoolFile.remove(path(of: id))
            throw error
        }
        return id
    }

    // MARK: - Reading

    /// Every queued message, oldest first.
    public func list() throws(QueueError) -> [QueuedMessage] {
        try withDatabase { db in
            try db.readTransaction {
                let rows = try db.query("SELECT id FROM messages ORDER BY arrival, id")
                return try rows.compactMap { row in try Self.load(db, QueueID(row.string(0)!)!) }
            }
        }
    }

    /// One message; throws `unknownMessage` if it is not queued.
    public func message(_ id: QueueID) throws(QueueError) -> QueuedMessage {
        let found = try withDatabase { db in try Self.load(db, id) }
        guard let found else { throw .unknownMessage(id) }
        return found
    }

    /// The message's bytes as queued.
    public func contents(of id: QueueID) throws(QueueError) -> [UInt8] {
        try SpoolFile.read(path(of: id))
    }

    private static func load(_ db: Database, _ id: QueueID) throws -> QueuedMessage? {
        guard let row = try db.query("""
            SELECT sender, size, arrival, body, smtputf8, ret, envid, auth, declared_size, delay_warned
            FROM messages WHERE id = ?
            """, [id.rawValue]).first else { return nil }
        var parameters = MailParameters()
        parameters.body = row.string(3).flatMap(BodyType.init(rawValue:))
        parameters.smtpUTF8 = row.bool(4)
        parameters.ret = row.string(5).flatMap(DSNReturn.init(rawValue:))
        parameters.envelopeID = row.string(6)
        parameters.auth = row.string(7)
        parameters.size = row.int(8).map(Int.init)
        let sender = row.string(0)!
        var message = QueuedMessage(
            id: id, sender: sender.isEmpty ? .null : .mailbox(mailbox(parsing: sender)), parameters: parameters,
            size: Int(row.int(1)!), arrival: row.int(2)!, delayWarningSent: row.bool(9), recipients: [])
        for rcpt in try db.query("""
            SELECT position, address, notify, orcpt_type, orcpt_address, state, attempts, next_attempt, last_attempt,
                   last_reply, status, remote_mta
            FROM recipients WHERE message_id = ? ORDER BY position
            """, [id.rawValue]) {
            var recipientParameters = RecipientParameters()
            recipientParameters.notify = rcpt.int(2).map { DSNNotify(rawValue: UInt8(truncatingIfNeeded: $0)) }
            if let type = rcpt.string(3), let address = rcpt.string(4) {
                recipientParameters.originalRecipient = (type, address)
            }
            message.recipients.append(QueuedRecipient(
                position: Int(rcpt.int(0)!), mailbox: mailbox(parsing: rcpt.string(1)!), parameters: recipientParameters,
                state: RecipientState(rawValue: rcpt.string(5)!) ?? .pending, attempts: Int(rcpt.int(6)!),
                nextAttempt: rcpt.int(7)!, lastAttempt: rcpt.int(8), lastReply: rcpt.string(9), status: rcpt.string(10),
                remoteMTA: rcpt.string(11)))
        }
        return message
    }

    /// `local@domain` as stored (the local part may be quoted and hold `@`; the domain never does).
    static func mailbox(parsing text: String) -> SMTPMailbox {
        guard let at = text.lastIndex(of: "@") else { return SMTPMailbox(localPart: text, domain: "") }
        return SMTPMailbox(localPart: String(text[..<at]), domain: String(text[text.index(after: at)...]))
    }

    // MARK: - Admin operations

    /// Makes pending recipients due now: of one message, or of all when `id` is nil. Returns how many recipients
    /// were made due; throws `unknownMessage` for an id that is not queued.
    @discardableResult
    public func flush(_ id: QueueID? = nil) throws(QueueError) -> Int {
        let now = clock()
        return try withDatabase { db in
            try db.transaction {
                if let id {
                    guard try !db.query("SELECT 1 FROM messages WHERE id = ?", [id.rawValue]).isEmpty else {
                        throw QueueError.unknownMessage(id)
                    }
                    try db.query("UPDATE recipients SET next_attempt = ? WHERE message_id = ? AND state = 'pending'",
                                 [now, id.rawValue])
                } else {
                    try db.query("UPDATE recipients SET next_attempt = ? WHERE state = 'pending'", [now])
                }
                return db.changes
            }
        }
    }

    /// Removes a message and its file without any DSN.
    public func remove(_ id: QueueID) throws(QueueError) {
        try withDatabase { db in
            try db.transaction {
                try db.query("DELETE FROM messages WHERE id = ?", [id.rawValue])
                guard db.changes > 0 else { throw QueueError.unknownMessage(id) }
            }
        }
        try SpoolFile.remove(path(of: id))
    }

    // MARK: - For the runner

    /// Messages with a pending recipient due at `now`, oldest next-attempt first.
    public func dueMessages(now: Int64, limit: Int = 100) throws(QueueError) -> [QueueID] {
        try withDatabase { db in
            try db.query("""
                SELECT message_id, MIN(next_attempt) AS due FROM recipients
                WHERE state = 'pending' AND next_attempt <= ? GROUP BY message_id ORDER BY due LIMIT ?
                """, [now, limit]).compactMap { $0.string(0).flatMap(QueueID.init) }
        }
    }

    /// The earliest next attempt of any pending recipient; nil when nothing is pending.
    public func nextAttemptTime() throws(QueueError) -> Int64? {
        try withDatabase { db in
            try db.query("SELECT MIN(next_attempt) FROM recipients WHERE state = 'pending'").first?.int(0)
        }
    }

    /// Changes when another process (ternctl) commits to the queue: a cheap poll.
    public func externalChangeCounter() throws(QueueError) -> Int64 {
        try withDatabase { db in try db.dataVersion() }
    }

    /// One recipient's new state after an attempt (or expiry).
    public struct RecipientUpdate: Sendable {
        public var position: Int
        public var state: RecipientState
        public var nextAttempt: Int64
        public var reply: String
        public var status: String?
        public var remoteMTA: String?
        /// False for expiry, which is not an attempt.
        public var countsAsAttempt: Bool

        public init(position: Int, state: RecipientState, nextAttempt: Int64, reply: String, status: String?,
                    remoteMTA: String?, countsAsAttempt: Bool = true) {
            self.position = position
            self.state = state
            self.nextAttempt = nextAttempt
            self.reply = reply
            self.status = status
            self.remoteMTA = remoteMTA
            self.countsAsAttempt = countsAsAttempt
        }
    }

    /// Records the outcome of an attempt for some recipients, in one transaction.
    public func update(_ id: QueueID, _ updates: [RecipientUpdate]) throws(QueueError) {
        let now = clock()
        try withDatabase { db in
            try db.transaction {
                for update in updates {
                    try db.query("""
                        UPDATE recipients SET state = ?, next_attempt = ?, last_reply = ?, status = ?, remote_mta = ?,
                            attempts = attempts + ?, last_attempt = CASE WHEN ? THEN ? ELSE last_attempt END
                        WHERE message_id = ? AND position = ?
                        """, [update.state.rawValue, update.nextAttempt, update.reply, update.status, update.remoteMTA,
                              update.countsAsAttempt ? 1 : 0, update.countsAsAttempt, now, id.rawValue,
                              update.position])
                }
            }
        }
    }

    /// Notes that the delay warning went out (it is sent once).
    public func markDelayWarningSent(_ id: QueueID) throws(QueueError) {
        try withDatabase { db in
            try db.transaction { _ = try db.query("UPDATE messages SET delay_warned = 1 WHERE id = ?", [id.rawValue]) }
        }
    }

    /// Removes the message if no recipient is pending any more. Returns true if it was removed.
    @discardableResult
    public func removeIfFinished(_ id: QueueID) throws(QueueError) -> Bool {
        let removed = try withDatabase { db in
            try db.transaction {
                guard try db.query("SELECT 1 FROM recipients WHERE message_id = ? AND state = 'pending' LIMIT 1",
                                   [id.rawValue]).isEmpty else { return false }
                try db.query("DELETE FROM messages WHERE id = ?", [id.rawValue])
                return db.changes > 0
            }
        }
        if removed { try SpoolFile.remove(path(of: id)) }
        return removed
    }

    /// Removes what a crash can leave behind: half-written temp files and message files without rows (written
    /// but never committed, or whose rows were deleted). Only ternd calls this, at start, before it accepts mail,
    /// so no enqueue is between its rename and its commit. Returns the names removed.
    @discardableResult
    public func recover() throws(QueueError) -> [String] {
        let names = try SpoolFile.list(messagesDirectory)
        let known = try withDatabase { db in
            Set(try db.query("SELECT id FROM messages").compactMap { $0.string(0) })
        }
        var removed: [String] = []
        for name in names where !known.contains(name) {
            try SpoolFile.remove("\(messagesDirectory)/\(name)")
            removed.append(name)
        }
        return removed
    }
}
