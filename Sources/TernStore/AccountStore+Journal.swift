// Replay of the delivery journal (DeliveryJournal.swift) into one account's store, at ternd's start.
//
// A journaled delivery was acknowledged once its record was in the journal; its file in cur/, its row and its
// `tern-uids` line were written but not flushed. After a power loss any of them may be gone: the file missing or
// empty, the row missing (the index is a prefix of its commits: WAL frames are checksummed). Replay puts back what is
// missing and leaves what is there, so it can run any number of times:
// - a row for the record's file (found by maildir base name: a flag change renames the file) → its file is
//   rewritten from the record if missing or different;
// - no row → the file is written (or kept, if there under some name with the same bytes) and indexed with the UID
//   the delivery was acknowledged with when no other message has it (else the next UID: the message is never lost,
//   at worst renumbered), in a mailbox that was deleted meanwhile as a deleted message.

import Glibc
import TernSQLite

extension AccountStore {
    /// Puts back the deliveries of `records` (this account's) that the store lost. Returns how many messages it
    /// changed (files rewritten or rows re-inserted).
    @discardableResult
    func replay(_ records: [JournalRecord]) throws(StoreError) -> Int {
        var order: [MailboxID] = []
        var byMailbox: [MailboxID: [JournalRecord]] = [:]
        for record in records where record.root == root {
            if byMailbox[record.mailbox] == nil { order.append(record.mailbox) }
            byMailbox[record.mailbox, default: []].append(record)
        }
        var changed = 0
        var pending: [PendingAppend] = []
        var deletedAt: [MailboxID: Int64] = [:]
        for mailbox in order {
            let found = try run { db in
                try db.query("SELECT deleted_at FROM mailboxes WHERE id = ?", [mailbox.rawValue]).first
            }
            // A mailbox the index does not know (it was rebuilt without it): the mail goes to INBOX.
            let target = found == nil ? try requireMailbox("INBOX").id : mailbox
            if let deleted = found?.int(0) { deletedAt[target] = deleted }
            let maildir = maildir(target)
            try maildir.create()
            var indexed: [String: String] = [:]
            for row in try run({ db in try db.query("SELECT file FROM messages WHERE mailbox_id = ?", [target.rawValue]) }) {
                let file = row.string(0)!
                indexed[maildirBase(file)] = file
            }
            var onDisk: [String: String] = [:]
            for file in try DurableFile.list(maildir.cur) { onDisk[maildirBase(file)] = file }
            for record in byMailbox[mailbox]! {
                let base = maildirBase(record.file)
                if let file = indexed[base] {
                    if try Self.putBack(record.bytes, as: file, in: maildir) { changed += 1 }
                    continue
                }
                let file = onDisk[base] ?? record.file
                _ = try Self.putBack(record.bytes, as: file, in: maildir)
                pending.append(PendingAppend(mailbox: target, file: file, size: record.bytes.count, flags: maildirFlags(file),
                                             internalDate: record.internalDate, keywords: record.keywords,
                                             metadata: MessageMetadata(parsing: record.bytes, withText: false),
                                             uid: target == record.mailbox ? record.uid : nil))
                indexed[base] = file
            }
        }
        var committed: [(Committed, PendingAppend)] = []
        for (item, result) in zip(pending, Self.commit(pending, database: database, mailRoot: root + "/mail", clock: clock)) {
            committed.append((try result.get(), item))
        }
        // Delivered into a mailbox deleted since: deleted with it (restorable like the rest of it).
        let expunge = committed.filter { deletedAt[$0.1.mailbox] != nil }
        if !expunge.isEmpty {
            try run { db in
                try db.transaction {
                    for (row, item) in expunge {
                        try db.query("UPDATE messages SET expunged_at = ? WHERE id = ?", [deletedAt[item.mailbox]!, row.row])
                        try Self.addUsage(db, bytes: -Int64(item.size), messages: -1)
                    }
                }
            }
        }
        changed += committed.count
        if changed > 0 { try makeDurable() }
        return changed
    }

    /// Writes `bytes` as cur/`name` unless the file there already holds exactly them. Returns whether it wrote.
    private static func putBack(_ bytes: [UInt8], as name: String, in maildir: Maildir) throws(StoreError) -> Bool {
        let path = maildir.cur + "/" + name
        var status = stat()
        if stat(path, &status) == 0, Int(status.st_size) == bytes.count, (try? DurableFile.read(path)) == bytes {
            return false
        }
        try maildir.put(bytes, as: name)
        return true
    }
}
