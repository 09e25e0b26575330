import Glibc
// Full-text indexing after the acknowledgement. A delivery commits its message file and index row (ENVELOPE,
// BODYSTRUCTURE, flags); the decoded text and its FTS5 rows (header_text, body_text in `fulltext.sqlite`: tens of KB
// of index per 10 KB message) are written afterwards by one process-wide thread, from the stored file, in small
// transactions without fsync. So the 250 / APPEND OK waits for the mail, not for its search index.
//
// Invariants:
// - A row is searchable at once either way: until it is marked `text_indexed`, SEARCH parses its file
//   (`textSearch` reports it as unindexed), so a search never misses a message.
// - An entry counts only once its row is marked, and the mark is set after the entry is written (two files, two
//   commits): an entry left without a mark (a crash in between, a row deleted meanwhile, a reused row id) is never
//   used and is replaced when that row id is indexed. Rows expunged before their turn are not indexed at all (a
//   restore makes a new row, queued then).
// - A crash loses only pending entries; `indexMissingText` (ternd calls it for stores it opens) queues what is
//   missing.

import TernMIME
import TernPosix
import TernSQLite

final class TextIndexer: Sendable {
    static let shared = TextIndexer()

    private struct State {
        var jobs: [(store: AccountStore, rows: [Int64])] = []
        var running = false
        /// Callers of `drain` waiting: the worker stops gathering.
        var draining = 0
        var queuedRows: Int { jobs.reduce(0) { $0 + $1.rows.count } }
    }
    private let state = GuardedCondition(State())
    /// Rows per transaction (of `fulltext.sqlite`).
    static let rowsPerTransaction = 16
    /// How long the worker lets rows gather before writing fewer than `rowsPerTransaction`: FTS5 writes a segment per
    /// transaction (and merges them later), so one message per transaction cost about 1.7x the CPU per message of 16
    /// (measured with 10 KB texts). A message is searchable meanwhile (SEARCH parses unindexed files).
    static let gatherDelay: Duration = .milliseconds(200)

    func enqueue(_ store: AccountStore, rows: [Int64]) {
        guard !rows.isEmpty else { return }
        let start = state.update { state -> Bool in
            state.jobs.append((store, rows))
            guard !state.running else { return false }
            state.running = true
            return true
        }
        if start { startThread(name: "tern-text-index") { [self] in work() } }
    }

    private func work() {
        // Indexing yields the CPU to deliveries and sessions: under load the backlog waits (SEARCH parses the files
        // of unindexed rows meanwhile) instead of slowing the acknowledgements.
        lowerCurrentThreadPriority(nice: 10)
        while let (store, rows) = state.wait(upTo: Self.gatherDelay, until: { state in
            state.draining > 0 || state.queuedRows >= Self.rowsPerTransaction
        }, then: { state -> (AccountStore, [Int64])? in
            guard !state.jobs.isEmpty else {
                state.running = false
                return nil
            }
            // The first job, with every queued job of the same store (one delivery queues one row; with many
            // accounts receiving, coalescing is what makes transactions of more than one row).
            let store = state.jobs[0].store
            var rows: [Int64] = []
            state.jobs.removeAll { job in
                guard job.store === store else { return false }
                rows += job.rows
                return true
            }
            return (store, rows)
        }) {
            var start = 0
            while start < rows.count {
                let end = min(start + Self.rowsPerTransaction, rows.count)
                store.writeTextEntries(Array(rows[start..<end]))
                start = end
            }
        }
        state.update { _ in }  // wakes `drain`: `running` went false under the wait above, which wakes nobody
    }

    /// Waits until every queued entry is written (tests and benchmarks that search right after delivering).
    func drain(timeout: Duration = .seconds(120)) {
        state.update { $0.draining += 1 }
        state.wait(upTo: timeout, until: { !$0.running }, then: { $0.draining -= 1 })
    }
}

extension AccountStore {
    /// Writes the entries of `rows` in `fulltext.sqlite` — a copy's from its original (same EMAILID) when that one
    /// has its entry, otherwise from the decoded file — then marks them indexed in one short transaction of the
    /// index. Decoding happens outside any lock, the FTS writes under the text database's lock only: a delivery
    /// committing meanwhile waits for neither.
    func writeTextEntries(_ rows: [Int64]) {
        struct Work { let row: Int64; let path: String; let sibling: Int64? }
        let work: [Work]
        do throws(StoreError) {
            work = try read { db in
                try rows.compactMap { id -> Work? in
                    // A row expunged meanwhile is not indexed (SEARCH never looks at it; a restore makes a new row,
                    // which is queued then): mail deleted right after arriving costs no index work.
                    guard let row = try db.query("""
                        SELECT mailbox_id, file, email_id FROM messages WHERE id = ? AND text_indexed = 0 AND expunged_at IS NULL
                        """, [id]).first
                    else { return nil }
                    let sibling = try row.string(2).flatMap { email in
                        try db.query("SELECT id FROM messages WHERE email_id = ? AND text_indexed = 1 AND id != ? LIMIT 1",
                                     [email, id]).first?.int(0)
                    }
                    return Work(row: id, path: "\(root)/mail/\(row.int(0)!)/cur/\(row.string(1)!)", sibling: sibling)
                }
            }
        } catch {
            return  // the rows stay unindexed; SEARCH parses their files
        }
        // Low on disk: the index (about 2.5x the text it holds) must not take the room deliveries need. The rows stay
        // unindexed (SEARCH parses their files) until the store is next opened with room to spare.
        guard !Self.diskIsLow(root) else { return }
        var texts: [Int64: SearchableText] = [:]
        for item in work where item.sibling == nil {
            if let bytes = try? DurableFile.read(item.path) { texts[item.row] = SearchableText(parsing: bytes) }
        }
        var written: [Int64] = []
        try? textDatabase.withDatabase { db in
            try db.relaxedTransaction {
                for item in work {
                    if let sibling = item.sibling, try FullText.copy(db, row: item.row, from: sibling) {
                        written.append(item.row)
                        continue
                    }
                    var text = texts[item.row]
                    if text == nil, item.sibling != nil, let bytes = try? DurableFile.read(item.path) {
                        text = SearchableText(parsing: bytes)  // the original's entry went meanwhile
                    }
                    guard let text else { continue }
                    try FullText.insert(db, row: item.row, text)
                    written.append(item.row)
                }
            }
        }
        guard !written.isEmpty else { return }
        try? run { db in
            try db.relaxedTransaction {
                for row in written { try db.query("UPDATE messages SET text_indexed = 1 WHERE id = ?", [row]) }
            }
        }
    }

    /// Whether the file system holding `path` has less free than 1% of its size or 64 MiB, whichever is more.
    static func diskIsLow(_ path: String) -> Bool {
        var status = statvfs()
        guard statvfs(path, &status) == 0 else { return false }
        let unit = UInt64(status.f_frsize)
        let free = UInt64(status.f_bavail) * unit
        let size = UInt64(status.f_blocks) * unit
        return free < max(size / 100, 64 << 20)
    }

    /// Queues the entries a crash (or an index older than the full-text tables) left missing, up to `limit` rows.
    public func indexMissingText(limit: Int = 100_000) {
        guard let rows = try? read({ db in
            try db.query("SELECT id FROM messages WHERE text_indexed = 0 AND expunged_at IS NULL LIMIT ?", [limit]).map { $0.int(0)! }
        }) else { return }
        TextIndexer.shared.enqueue(self, rows: rows)
    }

    /// Blocks until the background indexer has written every entry queued so far (for tests and benchmarks).
    public static func waitForTextIndex() { TextIndexer.shared.drain() }
}
