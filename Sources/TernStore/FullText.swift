// The full-text index: two FTS5 tables with the trigram tokenizer (any substring of 3+ characters is an index
// lookup, which is IMAP SEARCH's semantics), keyed by the message's row id. Header fields and body text are kept in
// separate tables so a SUBJECT or FROM search walks only the small header index, never the body's large one.
// They live in their own database file, `fulltext.sqlite` (attached as `ft` to the store's read connection), written
// only by the background indexer and by deletions of rows (purges, restores, recovery): the FTS writes (most of the index's I/O and CPU) never hold the lock
// under which deliveries commit. `messages.text_indexed` (in index.sqlite) says which rows' entries are complete;
// it is set after the entry is written, so an entry without the mark is ignored and replaced.

import TernSQLite

enum FullText {
    static let headerColumns = ["subject", "sender", "recipient", "cc", "bcc", "headers"]

    /// The tables of `fulltext.sqlite`.
    static let schema = """
        CREATE VIRTUAL TABLE IF NOT EXISTS header_text USING fts5(subject, sender, recipient, cc, bcc, headers, tokenize = 'trigram');
        CREATE VIRTUAL TABLE IF NOT EXISTS body_text USING fts5(body, tokenize = 'trigram');
        """

    /// Writes row `row`'s entry in `fulltext.sqlite` (`db`), replacing any left by an earlier row with that id.
    static func insert(_ db: Database, row: Int64, _ text: SearchableText) throws {
        try delete(db, row: row)
        let values = text.values.map { $0 as any SQLiteBindable }
        try db.query("INSERT INTO header_text (rowid, subject, sender, recipient, cc, bcc, headers) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     [row] + values.prefix(6))
        try db.query("INSERT INTO body_text (rowid, body) VALUES (?, ?)", [row, values[6]])
    }

    /// Gives row `row` the entry of row `source` (a copy, a restore: the same message). False if it had none.
    static func copy(_ db: Database, row: Int64, from source: Int64) throws -> Bool {
        guard try !db.query("SELECT 1 FROM header_text WHERE rowid = ?", [source]).isEmpty,
              try !db.query("SELECT 1 FROM body_text WHERE rowid = ?", [source]).isEmpty else { return false }
        try delete(db, row: row)
        try db.query("""
            INSERT INTO header_text (rowid, subject, sender, recipient, cc, bcc, headers)
            SELECT ?, subject, sender, recipient, cc, bcc, headers FROM header_text WHERE rowid = ?
            """, [row, source])
        try db.query("INSERT INTO body_text (rowid, body) SELECT ?, body FROM body_text WHERE rowid = ?", [row, source])
        return true
    }

    static func delete(_ db: Database, row: Int64) throws {
        try db.query("DELETE FROM header_text WHERE rowid = ?", [row])
        try db.query("DELETE FROM body_text WHERE rowid = ?", [row])
    }

    /// The SQL (a subquery of row ids, using parameter ?1) that finds `needle` (lower-cased) in `column`, or in
    /// every column for nil (SEARCH TEXT), and the value for ?1.
    static func rowQuery(column: String?, needle: String) -> (sql: String, argument: String) {
        let lowered = lowercasedForSearch(needle)
        if lowered.count >= 3 {
            // An FTS5 phrase of trigrams: exactly substring matching, answered by the index.
            var phrase = "\""
            for character in lowered { phrase += character == "\"" ? "\"\"" : String(character) }
            phrase += "\""
            switch column {
            case "body": return ("SELECT rowid FROM ft.body_text WHERE body_text MATCH ?1", phrase)
            case let column?: return ("SELECT rowid FROM ft.header_text WHERE header_text MATCH ?1", "\(column) : " + phrase)
            case nil:
                return ("SELECT rowid FROM ft.header_text WHERE header_text MATCH ?1 UNION SELECT rowid FROM ft.body_text WHERE body_text MATCH ?1",
                        phrase)
            }
        }
        // Shorter than a trigram: LIKE over the (already lower-cased) text, a scan.
        var escaped = ""
        for character in lowered {
            if character == "\\" || character == "%" || character == "_" { escaped.append("\\") }
            escaped.append(character)
        }
        let pattern = "%" + escaped + "%"
        func like(_ columns: [String]) -> String { columns.map { "\($0) LIKE ?1 ESCAPE '\\'" }.joined(separator: " OR ") }
        switch column {
        case "body": return ("SELECT rowid FROM ft.body_text WHERE body LIKE ?1 ESCAPE '\\'", pattern)
        case let column?: return ("SELECT rowid FROM ft.header_text WHERE \(column) LIKE ?1 ESCAPE '\\'", pattern)
        case nil:
            return ("SELECT rowid FROM ft.header_text WHERE \(like(headerColumns)) UNION SELECT rowid FROM ft.body_text WHERE body LIKE ?1 ESCAPE '\\'",
                    pattern)
        }
    }
}

/// `String.lowercased()` with the ASCII bytes mapped directly: the general one goes through Unicode tables per
/// scalar, which was the largest single cost of indexing a message's text. Runs of non-ASCII text are lower-cased by
/// `lowercased()`, whose mappings are per scalar (no context), so the result is the same. The index and the search
/// needle both go through here.
func lowercasedForSearch(_ text: String) -> String {
    var utf8 = Array(text.utf8)
    var index = 0
    var nonASCII = false
    while index < utf8.count {
        let byte = utf8[index]
        if byte >= 0x80 {
            nonASCII = true
        } else if byte &- 0x41 < 26 {
            utf8[index] = byte | 0x20
        }
        index += 1
    }
    guard nonASCII else { return String(decoding: utf8, as: UTF8.self) }
    // Lower-case each maximal non-ASCII run (whole scalars: a run starts and ends at ASCII bytes or the ends).
    var result: [UInt8] = []
    result.reserveCapacity(utf8.count)
    index = 0
    while index < utf8.count {
        if utf8[index] < 0x80 {
            result.append(utf8[index])
            index += 1
            continue
        }
        let start = index
        while index < utf8.count, utf8[index] >= 0x80 { index += 1 }
        result += String(decoding: utf8[start..<index], as: UTF8.self).lowercased().utf8
    }
    return String(decoding: result, as: UTF8.self)
}
