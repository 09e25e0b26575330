// What a migration from an old server has copied into this account, kept in the account's index so that the
// bookkeeping and the messages commit together: a run killed at any point resumes without duplicates or gaps,
// and a second run copies only what is new and carries over flag changes.
//
// Keys: `folder` names the old server, its login and the old folder (chosen by the migration); `uidvalidity` and
// `old_uid` are the old server's. A copy the user later expunged here stays recorded, so it is not copied again.

import TernSQLite

/// Where a migrated message came from, recorded with it in the same commit.
public struct MessageOrigin: Sendable, Equatable {
    public let folder: String
    public let uidValidity: UInt32
    public let uid: UInt32
    /// The old server's flags and keywords when copied, normalized by the migration (sorted, space-separated).
    public let flags: String

    public init(folder: String, uidValidity: UInt32, uid: UInt32, flags: String) {
        self.folder = folder
        self.uidValidity = uidValidity
        self.uid = uid
        self.flags = flags
    }
}

/// A message copied before, as it is now here.
public struct MigratedMessage: Sendable, Equatable {
    /// The old server's flags when last synchronized.
    public let oldFlags: String
    /// Where the copy is now, or nil if it was expunged here (or moved, which expunges the original row).
    public let mailbox: String?
    public let uid: UID?
    public let flags: SystemFlags
    public let keywords: [String]
}

/// A folder copied before: the old UIDVALIDITY it was copied under and its mailbox here.
public struct MigratedFolder: Sendable, Equatable {
    public let uidValidity: UInt32
    public let target: String
    public let completedAt: Int64?
}

extension AccountStore {
    /// Every message recorded for `folder` under `uidValidity`, by old UID.
    public func migratedMessages(folder: String, uidValidity: UInt32) throws(StoreError) -> [UInt32: MigratedMessage] {
        try read { db in
            var result: [UInt32: MigratedMessage] = [:]
            for row in try db.query("""
                SELECT m.old_uid, m.old_flags, b.name, msg.uid, msg.flags, msg.keywords
                FROM migrated m
                LEFT JOIN messages msg ON msg.id = m.message_row AND msg.expunged_at IS NULL
                LEFT JOIN mailboxes b ON b.id = msg.mailbox_id
                WHERE m.folder = ? AND m.uidvalidity = ?
                """, [folder, Int64(uidValidity)]) {
                let live = row.int(3) != nil && row.string(2) != nil
                result[UInt32(row.int(0)!)] = MigratedMessage(
                    oldFlags: row.string(1)!, mailbox: live ? row.string(2) : nil,
                    uid: live ? UID(UInt32(row.int(3)!)) : nil,
                    flags: live ? SystemFlags(rawValue: Int(row.int(4)!)) : [],
                    keywords: live ? Keywords.decode(row.string(5) ?? "") : [])
            }
            return result
        }
    }

    /// Remembers the old server's flags after they were carried over (or found unchanged).
    public func recordMigratedFlags(folder: String, uidValidity: UInt32, uids: [UInt32: String]) throws(StoreError) {
        guard !uids.isEmpty else { return }
        try run { db in
            try db.relaxedTransaction {
                for (uid, flags) in uids {
                    try db.query("UPDATE migrated SET old_flags = ? WHERE folder = ? AND uidvalidity = ? AND old_uid = ?",
                                 [flags, folder, Int64(uidValidity), Int64(uid)])
                }
            }
        }
    }

    public func migratedFolder(_ folder: String) throws(StoreError) -> MigratedFolder? {
        try read { db in
            try db.query("SELECT uidvalidity, target, completed_at FROM migrated_folders WHERE folder = ?", [folder]).first.map {
                MigratedFolder(uidValidity: UInt32($0.int(0)!), target: $0.string(1)!, completedAt: $0.int(2))
            }
        }
    }

    /// Records where `folder` goes and under which UIDVALIDITY; `completed` once every message is copied.
    public func recordMigratedFolder(_ folder: String, uidValidity: UInt32, target: String, completed: Bool) throws(StoreError) {
        let now = clock()
        try run { db in
            try db.query("""
                INSERT INTO migrated_folders (folder, uidvalidity, target, completed_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (folder) DO UPDATE SET uidvalidity = excluded.uidvalidity, target = excluded.target,
                    completed_at = excluded.completed_at
                """, [folder, Int64(uidValidity), target, completed ? now : nil])
        }
    }

    /// When a migration from `source` started and completed (nil: never / not yet).
    public func migrationRun(_ source: String) throws(StoreError) -> (startedAt: Int64, completedAt: Int64?)? {
        try read { db in
            try db.query("SELECT started_at, completed_at FROM migration_runs WHERE source = ?", [source]).first.map {
                ($0.int(0)!, $0.int(1))
            }
        }
    }

    public func recordMigrationRun(_ source: String, completed: Bool) throws(StoreError) {
        let now = clock()
        try run { db in
            if completed {
                try db.query("""
                    INSERT INTO migration_runs (source, started_at, completed_at) VALUES (?, ?, ?)
                    ON CONFLICT (source) DO UPDATE SET completed_at = excluded.completed_at
                    """, [source, now, now])
            } else {
                try db.query("""
                    INSERT INTO migration_runs (source, started_at) VALUES (?, ?)
                    ON CONFLICT (source) DO UPDATE SET started_at = excluded.started_at, completed_at = NULL
                    """, [source, now])
            }
        }
    }
}
