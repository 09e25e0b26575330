// What protocol sessions need beyond single-message operations: a consistent snapshot of a mailbox, catching up by
// MODSEQ (untagged updates, CONDSTORE, QRESYNC), copies, subscriptions, special-use folders and per-mailbox counts.
// Protocol-neutral: nothing here knows IMAP syntax.
//
// Catching up by MODSEQ: every change stamps the rows it touches with the commit's MODSEQ, expunges included (the
// row stays, with `expunged_at`). So "everything since MODSEQ n" is one indexed query, and it sees changes made by
// any process (ternctl, another ternd loop) the same way. Rows that left for good (purge, restore) raise
// `purged_modseq`: below it, the list of expunged UIDs may be incomplete and callers must assume the worst.

import Glibc
import TernSQLite

/// A mailbox's state as one read transaction saw it.
public struct MailboxSnapshot: Sendable {
    public let info: MailboxInfo
    /// Visible messages, by UID.
    public let messages: [MessageInfo]
}

/// What changed in a mailbox after some MODSEQ.
public struct MailboxDelta: Sendable, Equatable {
    public let highestModSeq: ModSeq
    public let uidNext: UID
    /// Visible messages whose MODSEQ is above the one asked for (new or changed), by UID.
    public let changed: [MessageInfo]
    /// Messages expunged after the MODSEQ asked for, by UID.
    public let expunged: [UID]
    /// False when rows expunged after the MODSEQ asked for may have been purged since: `expunged` is then only a
    /// subset, and a caller that must report every expunge has to compare UID lists instead.
    public let expungedIsComplete: Bool
}

/// Counts for STATUS and LIST-STATUS.
public struct MailboxCounts: Sendable, Equatable {
    public let messages: Int
    /// Messages no session has been shown yet (IMAP4rev1 \Recent).
    public var recent: Int = 0
    public let unseen: Int
    public let deleted: Int
    public let size: Int64
}

/// A visible message's metadata and where its file is, for FETCH.
public struct MessageRecord: Sendable, Equatable {
    public let info: MessageInfo
    public let path: String
    /// When the message was stored here (RFC 8514 SAVEDATE), seconds since the epoch.
    public let saveDate: Int64
    /// The delivery-time MIME parse, if the row has it.
    public let metadata: MessageMetadata?
    /// RFC 8474 EMAILID (shared by copies).
    public var emailID: String = ""
    /// The header from the index, when `records` was asked for it and the row has it.
    public var cachedHeader: [UInt8]? = nil
    public var uid: UID { info.uid }

    /// The message's bytes as stored. Blocking: off the event loops.
    public func contents() throws(StoreError) -> [UInt8] { try DurableFile.read(path) }

    /// Only the message's header, up to the blank line that ends it: from the index when cached, else from the
    /// file (blocking: off the event loops).
    public func header() throws(StoreError) -> [UInt8] {
        if let cachedHeader { return cachedHeader }
        return try DurableFile.readHeader(path)
    }
}

extension AccountStore {
    /// The folders a new account starts with, with their RFC 6154 attributes.
    public static let standardMailboxes: [(name: String, specialUse: String)] = [
        ("Drafts", "\\Drafts"), ("Sent", "\\Sent"), ("Trash", "\\Trash"), ("Junk", "\\Junk"), ("Archive", "\\Archive"),
    ]

    /// Creates the standard folders once per account (a user who deletes one later does not get it back).
    public func ensureStandardMailboxes() throws(StoreError) {
        let done: Bool = try read { db in
            try db.query("SELECT value FROM state WHERE key = 'standard_mailboxes'").first?.int(0) == 1
        }
        guard !done else { return }
        let existing = try mailboxes()
        for (name, use) in Self.standardMailboxes {
            if existing.contains(where: { $0.specialUse == use }) { continue }
            if let named = existing.first(where: { $0.name == name }) {
                try run { db in
                    try db.query("UPDATE mailboxes SET special_use = ? WHERE id = ? AND special_use IS NULL", [use, named.id.rawValue])
                }
                continue
            }
            do throws(StoreError) {
                _ = try createMailbox(name, specialUse: use)
            } catch {
                if case .mailboxExists = error { continue }
                throw error
            }
        }
        try run { db in
            for name in ["INBOX"] + Self.standardMailboxes.map(\.name) {
                try db.query("INSERT OR IGNORE INTO subscriptions SELECT name FROM mailboxes WHERE name = ?", [name])
            }
            try db.query("UPDATE state SET value = 1 WHERE key = 'standard_mailboxes'")
        }
        changes.publish(.mailboxesChanged)
    }

    /// Subscribes or unsubscribes a name; it need not exist (RFC 3501 §6.3.6), and deleting a mailbox keeps it.
    public func setSubscribed(_ name: String, _ subscribed: Bool) throws(StoreError) {
        let canonical = name.uppercased() == "INBOX" ? "INBOX" : name
        try run { db in
            if subscribed {
                try db.query("INSERT OR IGNORE INTO subscriptions VALUES (?)", [canonical])
            } else {
                try db.query("DELETE FROM subscriptions WHERE name = ?", [canonical])
            }
        }
        changes.publish(.mailboxesChanged)
    }

    /// Every subscribed name, existing or not.
    public func subscriptions() throws(StoreError) -> [String] {
        try read { db in try db.query("SELECT name FROM subscriptions ORDER BY name").compactMap { $0.string(0) } }
    }

    /// Sets or clears a folder's special-use attribute (RFC 6154 `\Sent` …).
    public func setSpecialUse(_ name: String, _ specialUse: String?) throws(StoreError) {
        let info = try requireMailbox(name)
        try run { db in
            try db.query("UPDATE mailboxes SET special_use = ? WHERE id = ?", [specialUse, info.id.rawValue])
        }
        changes.publish(.mailboxesChanged)
    }

    /// The cached MIME parse in columns `first…first+3` (envelope, body_structure, body, sent_date) of a row.
    /// The cached parse in columns `first`… (envelope, body_structure, body, sent_date), and the cached header in
    /// column `header` if given.
    static func metadata(_ row: SQLiteRow, from first: Int, header: Int? = nil) -> MessageMetadata? {
        guard let envelope = row.blob(first), let structure = row.blob(first + 1), let body = row.blob(first + 2) else { return nil }
        return MessageMetadata(envelope: envelope, bodyStructure: structure, body: body, sentDate: row.int(first + 3),
                               header: header.flatMap { row.blob($0) })
    }

    private static func messageInfo(_ row: SQLiteRow) -> MessageInfo {
        MessageInfo(uid: UID(UInt32(row.int(0)!)), size: Int(row.int(1)!), internalDate: row.int(2)!,
                    flags: SystemFlags(rawValue: Int(row.int(3)!)), keywords: Keywords.decode(row.string(5) ?? ""),
                    modSeq: ModSeq(UInt64(row.int(4)!)))
    }

    /// The mailbox and its visible messages, consistently (one read transaction). For SELECT.
    public func snapshot(_ id: MailboxID) throws(StoreError) -> MailboxSnapshot {
        let result: MailboxSnapshot? = try read { db in
            try db.readTransaction {
                guard let row = try db.query("""
                    SELECT id, name, uidvalidity, uidnext, highest_modseq, special_use,
                           (SELECT count(*) FROM subscriptions s WHERE s.name = mailboxes.name), object_id FROM mailboxes
                    WHERE id = ? AND name IS NOT NULL
                    """, [id.rawValue]).first else { return nil }
                let messages = try db.query("""
                    SELECT uid, size, internal_date, flags, modseq, keywords FROM messages
                    WHERE mailbox_id = ? AND expunged_at IS NULL ORDER BY uid
                    """, [id.rawValue]).map(Self.messageInfo)
                return MailboxSnapshot(info: Self.info(row), messages: messages)
            }
        }
        guard let result else { throw .mailboxNotFound("#\(id)") }
        return result
    }

    /// Everything that happened in a mailbox after `since`. Cheap when nothing did (one indexed lookup).
    public func delta(_ id: MailboxID, since: ModSeq) throws(StoreError) -> MailboxDelta {
        let result: MailboxDelta? = try read { db in
            try db.readTransaction {
                guard let box = try db.query("SELECT highest_modseq, uidnext FROM mailboxes WHERE id = ? AND name IS NOT NULL",
                                             [id.rawValue]).first else { return nil }
                let highest = ModSeq(UInt64(box.int(0)!))
                let uidNext = UID(UInt32(box.int(1)!))
                let purged = try db.query("SELECT value FROM state WHERE key = 'purged_modseq'").first?.int(0) ?? 0
                guard highest > since else {
                    return MailboxDelta(highestModSeq: highest, uidNext: uidNext, changed: [], expunged: [],
                                        expungedIsComplete: UInt64(purged) <= since.rawValue)
                }
                var changed: [MessageInfo] = []
                var expunged: [UID] = []
                for row in try db.query("""
                    SELECT uid, size, internal_date, flags, modseq, keywords, expunged_at FROM messages
                    WHERE mailbox_id = ? AND modseq > ? ORDER BY uid
                    """, [id.rawValue, Int64(since.rawValue)]) {
                    if row.int(6) != nil {
                        expunged.append(UID(UInt32(row.int(0)!)))
                    } else {
                        changed.append(Self.messageInfo(row))
                    }
                }
                return MailboxDelta(highestModSeq: highest, uidNext: uidNext, changed: changed, expunged: expunged,
                                    expungedIsComplete: UInt64(purged) <= since.rawValue)
            }
        }
        guard let result else { throw .mailboxNotFound("#\(id)") }
        return result
    }

    /// Metadata and files of visible messages, in the order of `uids`; UIDs no longer visible are left out.
    /// Many UIDs (a SEARCH over the mailbox, FETCH 1:*) are read with one scan instead of one lookup each.
    public func records(_ id: MailboxID, uids: [UID], withMetadata: Bool = true, withHeader: Bool = false) throws(StoreError) -> [MessageRecord] {
        // Without metadata the cached ENVELOPE/BODYSTRUCTURE blobs are not even read (SEARCH over a whole mailbox);
        // the cached header only when asked for (FETCH of header sections).
        let metadataColumns = (withMetadata ? "envelope, body_structure, body, sent_date" : "NULL, NULL, NULL, NULL")
            + (withHeader ? ", header" : ", NULL")
        if uids.count > 64, let first = uids.min(), let last = uids.max() {
            let wanted = Set(uids)
            let rows: [MessageRecord] = try read { db in
                try db.query("""
                    SELECT uid, size, internal_date, flags, modseq, keywords, file, save_date,
                           \(metadataColumns), email_id FROM messages
                    WHERE mailbox_id = ? AND expunged_at IS NULL AND uid BETWEEN ? AND ? ORDER BY uid
                    """, [id.rawValue, Int64(first.rawValue), Int64(last.rawValue)]).compactMap { row in
                    guard wanted.contains(UID(UInt32(row.int(0)!))) else { return nil }
                    return MessageRecord(info: Self.messageInfo(row), path: "\(root)/mail/\(id)/cur/\(row.string(6)!)",
                                         saveDate: row.int(7)!, metadata: Self.metadata(row, from: 8), emailID: row.string(13) ?? "",
                                         cachedHeader: row.blob(12))
                }
            }
            let sorted = uids.map(\.rawValue) == uids.map(\.rawValue).sorted()
            if sorted { return rows }
            let byUID = Dictionary(rows.map { ($0.uid, $0) }, uniquingKeysWith: { a, _ in a })
            return uids.compactMap { byUID[$0] }
        }
        return try read { db in
            try db.readTransaction {
                var result: [MessageRecord] = []
                result.reserveCapacity(uids.count)
                for uid in uids {
                    guard let row = try db.query("""
                        SELECT uid, size, internal_date, flags, modseq, keywords, file, save_date,
                               \(metadataColumns), email_id FROM messages
                        WHERE mailbox_id = ? AND uid = ? AND expunged_at IS NULL
                        """, [id.rawValue, Int64(uid.rawValue)]).first else { continue }
                    result.append(MessageRecord(info: Self.messageInfo(row), path: "\(root)/mail/\(id)/cur/\(row.string(6)!)",
                                                saveDate: row.int(7)!, metadata: Self.metadata(row, from: 8),
                                                emailID: row.string(13) ?? "", cachedHeader: row.blob(12)))
                }
                return result
            }
        }
    }

    /// STATUS counts of a mailbox.
    public func counts(_ id: MailboxID) throws(StoreError) -> MailboxCounts {
        try read { db in
            let row = try db.query("""
                SELECT count(*), coalesce(sum((flags & ?) = 0), 0), coalesce(sum((flags & ?) != 0), 0), coalesce(sum(size), 0),
                       coalesce(sum(uid >= (SELECT first_recent_uid FROM mailboxes WHERE id = ?3)), 0)
                FROM messages WHERE mailbox_id = ?3 AND expunged_at IS NULL
                """, [SystemFlags.seen.rawValue, SystemFlags.deleted.rawValue, id.rawValue])[0]
            return MailboxCounts(messages: Int(row.int(0)!), recent: Int(row.int(4)!), unseen: Int(row.int(1)!),
                                 deleted: Int(row.int(2)!), size: row.int(3)!)
        }
    }

    /// Copies messages into another mailbox (hard links: no bytes are copied; durable like an append) with their
    /// flags, keywords and internal dates. Returns the target's UIDVALIDITY and (source UID, new UID) pairs in the
    /// order of `uids`; UIDs no longer visible are skipped. `quota` is checked like an append.
    public func copy(from source: MailboxID, uids: [UID], to targetName: String, quota: Quota? = nil)
        throws(StoreError) -> (UIDValidity, [(source: UID, copy: UID)]) {
        let target = try requireMailbox(targetName)
        let rows: [SQLiteRow] = try read { db in
            var rows: [SQLiteRow] = []
            for uid in uids {
                if let row = try db.query("""
                    SELECT uid, file, size, flags, internal_date, keywords, envelope, body_structure, body, sent_date, id, email_id, header
                    FROM messages WHERE mailbox_id = ? AND uid = ? AND expunged_at IS NULL
                    """, [source.rawValue, Int64(uid.rawValue)]).first { rows.append(row) }
            }
            return rows
        }
        guard !rows.isEmpty else { return (target.uidValidity, []) }
        if let quota, let violation = Self.quotaViolation(quota, usage: try usage(), adding: rows.reduce(0) { $0 + Int($1.int(2)!) },
                                                          messages: rows.count) {
            throw .overQuota(violation)
        }
        var pending: [PendingAppend] = []
        func undo() { for item in pending { try? DurableFile.remove("\(root)/mail/\(item.mailbox)/cur/\(item.file)") } }
        for row in rows {
            let flags = SystemFlags(rawValue: Int(row.int(3)!))
            let file = Maildir.uniqueName() + ":2," + flags.maildirLetters
            let from = "\(root)/mail/\(source)/cur/\(row.string(1)!)"
            guard link(from, "\(root)/mail/\(target.id)/cur/\(file)") == 0 else {
                let failure = DurableFile.error("link", from)
                undo()
                throw failure
            }
            pending.append(PendingAppend(mailbox: target.id, file: file, size: Int(row.int(2)!), flags: flags,
                                         internalDate: row.int(4)!, quota: quota, keywords: Keywords.decode(row.string(5) ?? ""),
                                         metadata: Self.metadata(row, from: 6, header: 12), emailID: row.string(11)))
        }
        var committed: [Committed] = []
        for result in Self.commit(pending, database: database, mailRoot: root + "/mail", clock: clock) {
            switch result {
            case .success(let value): committed.append(value)
            case .failure(let error):
                // The commit is all or nothing for errors other than quota; a quota refusal fails the whole COPY.
                undo()
                if !committed.isEmpty {
                    _ = try? expunge(target.name, uids: committed.map(\.uid))
                }
                throw error
            }
        }
        try makeDurable()
        changes.publish(.appended(mailbox: target.id, uids: committed.map(\.uid), modSeq: committed.last!.modSeq))
        TextIndexer.shared.enqueue(self, rows: committed.filter(\.needsText).map(\.row))
        return (target.uidValidity, zip(rows, committed).map { (UID(UInt32($0.int(0)!)), $1.uid) })
    }

    private func name(of id: MailboxID) throws(StoreError) -> String {
        guard let info = try mailbox(id: id) else { throw .mailboxNotFound("#\(id)") }
        return info.name
    }

    /// `setFlags` by mailbox id (a session keeps the id: another session may rename the mailbox meanwhile).
    @discardableResult
    public func setFlags(_ id: MailboxID, uids: [UID], _ flags: SystemFlags, _ change: FlagChange)
        throws(StoreError) -> [(UID, SystemFlags, ModSeq)] {
        try setFlags(try name(of: id), uids: uids, flags, change)
    }

    @discardableResult
    public func setKeywords(_ id: MailboxID, uids: [UID], _ keywords: [String], _ change: FlagChange)
        throws(StoreError) -> [(UID, [String], ModSeq)] {
        try setKeywords(try name(of: id), uids: uids, keywords, change)
    }

    @discardableResult
    public func expunge(_ id: MailboxID, uids: [UID]) throws(StoreError) -> [UID] {
        try expunge(try name(of: id), uids: uids)
    }

    /// Result of `updateFlags`.
    public struct FlagUpdateResult: Sendable {
        /// Messages whose flags or keywords changed, with their new state.
        public var changed: [MessageInfo] = []
        /// Messages left alone because their MODSEQ was above `unchangedSince` (RFC 7162 MODIFIED).
        public var modified: [UID] = []
    }

    /// Changes system flags and keywords of messages in one commit (one MODSEQ), the way IMAP STORE does.
    /// With `unchangedSince`, messages changed after that MODSEQ are not touched and are returned in `modified`.
    @discardableResult
    public func updateFlags(_ id: MailboxID, uids: [UID], flags: SystemFlags, keywords: [String], _ change: FlagChange,
                            unchangedSince: ModSeq? = nil) throws(StoreError) -> FlagUpdateResult {
        for keyword in keywords { try Keywords.validate(keyword) }
        guard let info = try mailbox(id: id) else { throw .mailboxNotFound("#\(id)") }
        let cur = "\(root)/mail/\(id)/cur/"
        let result: FlagUpdateResult = try run { db in
            try db.relaxedTransaction {
                let modseq = try Self.nextModSeq(db)
                var result = FlagUpdateResult()
                for uid in uids {
                    guard let row = try db.query("""
                        SELECT id, flags, file, keywords, modseq, size, internal_date FROM messages
                        WHERE mailbox_id = ? AND uid = ? AND expunged_at IS NULL
                        """, [id.rawValue, Int64(uid.rawValue)]).first else { continue }
                    if let unchangedSince, UInt64(row.int(4)!) > unchangedSince.rawValue {
                        result.modified.append(uid)
                        continue
                    }
                    let oldFlags = SystemFlags(rawValue: Int(row.int(1)!))
                    let newFlags: SystemFlags = switch change {
                    case .add: oldFlags.union(flags)
                    case .remove: oldFlags.subtracting(flags)
                    case .replace: flags
                    }
                    let oldKeywords = Keywords.decode(row.string(3) ?? "")
                    let newKeywords = change == .replace || !keywords.isEmpty
                        ? Keywords.apply(change, keywords, to: oldKeywords) : oldKeywords
                    guard newKeywords.count <= Keywords.maxPerMessage else {
                        throw StoreError.invalidKeyword("more than \(Keywords.maxPerMessage) keywords on one message")
                    }
                    guard newFlags != oldFlags || newKeywords != oldKeywords else { continue }
                    var file = row.string(2)!
                    if newFlags != oldFlags {
                        let base = file.split(separator: ":", maxSplits: 1).first.map(String.init) ?? file
                        let newFile = base + ":2," + newFlags.maildirLetters
                        if Glibc.rename(cur + file, cur + newFile) != 0 { throw DurableFile.error("rename", cur + file) }
                        file = newFile
                    }
                    try db.query("UPDATE messages SET flags = ?, keywords = ?, file = ?, modseq = ? WHERE id = ?",
                                 [newFlags.rawValue, Keywords.encode(newKeywords), file, modseq, row.int(0)!])
                    result.changed.append(MessageInfo(uid: uid, size: Int(row.int(5)!), internalDate: row.int(6)!,
                                                      flags: newFlags, keywords: newKeywords, modSeq: ModSeq(UInt64(modseq))))
                }
                if !result.changed.isEmpty {
                    try db.query("UPDATE mailboxes SET highest_modseq = ? WHERE id = ?", [modseq, id.rawValue])
                }
                return result
            }
        }
        guard let modSeq = result.changed.first?.modSeq else { return result }
        let keywordLines = result.changed.map { "k \($0.uid) \(Keywords.encode($0.keywords))" }
        try? maildir(info.id).appendLog(keywordLines)
        changes.publish(.flagsChanged(mailbox: id, changes: result.changed.map { FlagUpdate(uid: $0.uid, flags: $0.flags) },
                                      modSeq: modSeq))
        return result
    }

    /// The index's `PRAGMA data_version` as the read connection sees it: it moves when any other connection —
    /// this process's writer or another process — commits. Cheap (no I/O beyond the WAL index).
    public func dataVersion() -> Int64? {
        try? read { db in try db.dataVersion() }
    }

    /// Full-text search: the UIDs among visible messages of a mailbox whose `column` (one of
    /// `SearchableText.columns`, or nil for all) contains `needle` (case-insensitive), and the UIDs that have no
    /// full-text entry (the caller must check those another way).
    public func textSearch(_ id: MailboxID, column: String?, needle: String) throws(StoreError) -> (matches: Set<UID>, unindexed: Set<UID>) {
        if let column, !SearchableText.columns.contains(column) { return ([], []) }
        let (subquery, argument) = FullText.rowQuery(column: column, needle: needle)
        return try read { db in
            try db.readTransaction {
                // The full-text table is asked first (a subquery, so the planner cannot turn it into a MATCH per row).
                let matches = try db.query("""
                    SELECT m.uid FROM messages m
                    WHERE m.id IN (\(subquery))
                      AND m.mailbox_id = ?2 AND m.expunged_at IS NULL AND m.text_indexed = 1
                    """, [argument, id.rawValue]).map { UID(UInt32($0.int(0)!)) }
                let unindexed = try db.query("""
                    SELECT uid FROM messages INDEXED BY messages_unindexed
                    WHERE mailbox_id = ? AND text_indexed = 0 AND expunged_at IS NULL
                    """, [id.rawValue]).map { UID(UInt32($0.int(0)!)) }
                return (Set(matches), Set(unindexed))
            }
        }
    }
}

extension AccountStore {
    /// IMAP4rev1 \Recent: the first UID no session has been shown. Read-only (EXAMINE, STATUS).
    public func firstRecentUID(_ id: MailboxID) throws(StoreError) -> UID {
        try read { db in
            UID(UInt32(try db.query("SELECT first_recent_uid FROM mailboxes WHERE id = ?", [id.rawValue]).first?.int(0) ?? 1))
        }
    }

    /// Claims the messages below `uidNext` that no session has been shown yet: returns the first UID that is
    /// \Recent for the caller (every UID from it up to `uidNext` - 1), or nil if another session already has them.
    /// One write only when there is something to claim.
    public func claimRecent(_ id: MailboxID, below uidNext: UID) throws(StoreError) -> UID? {
        let first = try firstRecentUID(id)
        guard first < uidNext else { return nil }
        let claimed: Bool = try run { db in
            try db.relaxedTransaction {
                try db.query("UPDATE mailboxes SET first_recent_uid = ? WHERE id = ? AND first_recent_uid = ?",
                             [Int64(uidNext.rawValue), id.rawValue, Int64(first.rawValue)])
                return db.changes == 1
            }
        }
        return claimed ? first : nil
    }
}
