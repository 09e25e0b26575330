// The full-text index: two FTS5 tables with the trigram tokenizer (any substring of 3+ characters is an index
// lookup, which is IMAP SEARCH's semantics), keyed by the message's row id. Header fields and body text are kept in
// separate tables so a SUBJECT or FROM search walks only the small header index, never the body's large one.

import TernSQLite

enum FullText {
    static let headerColumns = ["subject", "sender", "recipient", "cc", "bcc", "headers"]

    static func insert(_ db: Database, row: Int64, _ text: SearchableText) throws {
        let values = text.values.map { $0 as any SQLiteBindable }
        try db.query("INSERT INTO header_text (rowid, subject, sender, recipient, cc, bcc, headers) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     [row] + values.prefix(6))
        try db.query("INSERT INTO body_text (rowid, body) VALUES (?, ?)", [row, values[6]])
        try db.query("UPDATE messages SET text_indexed = 1 WHERE id = ?", [row])
    }

    /// Gives row `row` the entry of row `source` (copies and restores share the text). False if it had none.
    @discardableResult
    static func copy(_ db: Database, row: Int64, from source: Int64) throws -> Bool {
        try db.query("""
            INSERT INTO header_text (rowid, subject, sender, recipient, cc, bcc, headers)
            SELECT ?, subject, sender, recipient, cc, bcc, headers FROM header_text WHERE rowid = ?
            """, [row, source])
        guard db.changes > 0 else { return false }
        try db.query("INSERT INTO body_text (rowid, body) SELECT ?, body FROM body_text WHERE rowid = ?", [row, source])
        try db.query("UPDATE messages SET text_indexed = 1 WHERE id = ?", [row])
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
            case "body": return ("SELECT rowid FROM body_text WHERE body_text MATCH ?1", phrase)
            case let column?: return ("SELECT rowid FROM header_text WHERE header_text MATCH ?1", "\(column) : " + phrase)
            case nil:
                return ("SELECT rowid FROM header_text WHERE header_text MATCH ?1 UNION SELECT rowid FROM body_text WHERE body_text MATCH ?1",
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
        case "body": return ("SELECT rowid FROM body_text WHERE body LIKE ?1 ESCAPE '\\'", pattern)
        case let column?: return ("SELECT rowid FROM header_text WHERE \(column) LIKE ?1 ESCAPE '\\'", pattern)
        case nil:
            return ("SELECT rowid FROM header_text WHERE \(like(headerColumns)) UNION SELECT rowid FROM body_text WHERE body LIKE ?1 ESCAPE '\\'",
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
