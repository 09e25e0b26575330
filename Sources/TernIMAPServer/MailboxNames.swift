// Mailbox names between the wire and the store: modified UTF-7 (RFC 3501 §5.1.3) unless the client enabled UTF-8
// (RFC 6855 UTF8=ACCEPT, or IMAP4rev2), hierarchy delimiter `/`, `INBOX` case-insensitive, and LIST patterns.

import TernCore

enum MailboxNames {
    static let delimiter: Character = "/"

    /// The store's name for what the client sent, or nil if it is not a valid name in the session's encoding.
    static func decode(_ bytes: [UInt8], utf8: Bool) -> String? {
        guard let text = String(validating: bytes, as: UTF8.self) else { return nil }
        var name: String
        if utf8 {
            name = text
        } else {
            guard bytes.allSatisfy({ $0 < 0x80 }), let decoded = ModifiedUTF7.decode(text) else { return nil }
            name = decoded
        }
        while name.count > 1, name.last == delimiter { name.removeLast() }
        return canonical(name)
    }

    /// `INBOX` in any case is INBOX; so is the INBOX prefix of its children.
    static func canonical(_ name: String) -> String {
        if name.uppercased() == "INBOX" { return "INBOX" }
        if name.count > 6, name.prefix(6).uppercased() == "INBOX/" { return "INBOX" + name.dropFirst(5) }
        return name
    }

    /// The wire form of a store name.
    static func encode(_ name: String, utf8: Bool) -> [UInt8] {
        utf8 ? Array(name.utf8) : Array(ModifiedUTF7.encode(name).utf8)
    }

    /// The names implied by hierarchy: `a/b/c` implies `a` and `a/b`.
    static func parents(of name: String) -> [String] {
        var result: [String] = []
        var current = ""
        let parts = name.split(separator: delimiter, omittingEmptySubsequences: false)
        for part in parts.dropLast() {
            current = current.isEmpty ? String(part) : current + "/" + part
            result.append(current)
        }
        return result
    }
}

/// A LIST pattern (RFC 9051 §6.3.9): `*` matches anything, `%` anything but the delimiter. Matching is linear in
/// pattern × name (no backtracking blow-up on `*%*%*…`).
struct MailboxPattern {
    private let pattern: [Character]

    init(reference: String, pattern: String) {
        var combined = pattern
        if !reference.isEmpty {
            combined = reference.last == MailboxNames.delimiter || pattern.first == MailboxNames.delimiter
                ? reference + pattern : reference + "/" + pattern
        }
        // INBOX matching is case-insensitive.
        if combined.count >= 5, combined.prefix(5).uppercased() == "INBOX",
           combined.count == 5 || [MailboxNames.delimiter, "*", "%"].contains(combined[combined.index(combined.startIndex, offsetBy: 5)]) {
            combined = "INBOX" + combined.dropFirst(5)
        }
        self.pattern = Array(combined)
    }

    var isEmpty: Bool { pattern.isEmpty }

    /// True if the pattern ends with `%`: then parents of matching levels are listed too (RFC 3501 §6.3.8).
    var endsWithPercent: Bool { pattern.last == "%" }

    func matches(_ name: String) -> Bool {
        let text = Array(name)
        // reachable[j]: the pattern prefix seen so far can match text[0..<j].
        var reachable = [Bool](repeating: false, count: text.count + 1)
        reachable[0] = true
        for symbol in pattern {
            var next = [Bool](repeating: false, count: text.count + 1)
            switch symbol {
            case "*":
                var on = false
                for j in 0...text.count {
                    on = on || reachable[j]
                    next[j] = on
                }
            case "%":
                var on = false
                for j in 0...text.count {
                    if reachable[j] { on = true }
                    next[j] = on
                    if j < text.count, text[j] == MailboxNames.delimiter { on = false }
                }
            default:
                for j in 0..<text.count where reachable[j] && text[j] == symbol { next[j + 1] = true }
            }
            reachable = next
        }
        return reachable[text.count]
    }
}
