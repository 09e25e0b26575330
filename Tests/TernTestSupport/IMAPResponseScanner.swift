// Values of IMAP server responses, parsed from the bytes `IMAPTestClient.readResponse` returns: enough of RFC 9051
// §9 (formal syntax) for a test to read FETCH, LIST/LSUB and STATUS data exactly.
//
// Invariants: literals are taken by their announced size, never by looking for line ends, so a message body
// holding "}\r\n" or ")" is read byte-exactly; a quoted string's escapes are removed; nothing is decoded as text
// that the caller may want as bytes (strings stay [UInt8]).

/// One value of a response.
public enum IMAPValue: Equatable, Sendable, CustomStringConvertible {
    /// An atom, number or flag as sent (`FLAGS`, `123`, `\Seen`, `BODY[]`, `RFC822.SIZE`).
    case atom(String)
    /// A quoted string (escapes removed) or a literal (`{n}`, `{n+}`, `~{n}`).
    case string([UInt8])
    case list([IMAPValue])
    case `nil`

    /// The atom's text, or the string's bytes read as UTF-8 (for mailbox names, dates, delimiters).
    public var text: String? {
        switch self {
        case .atom(let atom): return atom
        case .string(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .list, .nil: return nil
        }
    }

    public var number: UInt64? {
        guard case .atom(let atom) = self else { return nil }
        return UInt64(atom)
    }

    public var description: String {
        switch self {
        case .atom(let atom): return atom
        case .string(let bytes): return bytes.count > 80 ? "{\(bytes.count) bytes}" : "\"\(String(decoding: bytes, as: UTF8.self))\""
        case .list(let items): return "(" + items.map(\.description).joined(separator: " ") + ")"
        case .nil: return "NIL"
        }
    }
}

public enum IMAPResponseParseError: Error, CustomStringConvertible {
    case malformed(String, at: Int, response: String)

    public var description: String {
        switch self {
        case .malformed(let what, let offset, let response):
            return "malformed IMAP response (\(what) at byte \(offset)): \(response.prefix(300))"
        }
    }
}

/// Reads values from one response, left to right.
public struct IMAPResponseScanner {
    public let bytes: [UInt8]
    public private(set) var offset: Int

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    public var isAtEnd: Bool { offset >= bytes.count }

    /// Skips spaces.
    public mutating func skipSpaces() {
        while offset < bytes.count, bytes[offset] == UInt8(ascii: " ") { offset += 1 }
    }

    /// The values up to the end of the response.
    public mutating func values() throws -> [IMAPValue] {
        var result: [IMAPValue] = []
        skipSpaces()
        while !isAtEnd {
            result.append(try value())
            skipSpaces()
        }
        return result
    }

    /// The next value, after any spaces.
    public mutating func value() throws -> IMAPValue {
        skipSpaces()
        guard offset < bytes.count else { throw error("a value") }
        switch bytes[offset] {
        case UInt8(ascii: "("):
            offset += 1
            var items: [IMAPValue] = []
            while true {
                skipSpaces()
                guard offset < bytes.count else { throw error("')'") }
                if bytes[offset] == UInt8(ascii: ")") {
                    offset += 1
                    return .list(items)
                }
                items.append(try value())
            }
        case UInt8(ascii: "\""):
            return .string(try quoted())
        case UInt8(ascii: "{"):
            return .string(try literal())
        case UInt8(ascii: "~") where offset + 1 < bytes.count && bytes[offset + 1] == UInt8(ascii: "{"):
            offset += 1
            return .string(try literal())
        default:
            let atom = try self.atom()
            return atom.uppercased() == "NIL" ? .nil : .atom(atom)
        }
    }

    // RFC 9051 §9: quoted = DQUOTE *QUOTED-CHAR DQUOTE; QUOTED-CHAR = <any TEXT-CHAR except quoted-specials> /
    // "\" quoted-specials / UTF8-2 / UTF8-3 / UTF8-4
    private mutating func quoted() throws -> [UInt8] {
        offset += 1
        var result: [UInt8] = []
        while offset < bytes.count {
            let byte = bytes[offset]
            offset += 1
            switch byte {
            case UInt8(ascii: "\""): return result
            case UInt8(ascii: "\\"):
                guard offset < bytes.count else { throw error("an escaped character") }
                result.append(bytes[offset])
                offset += 1
            case 13, 10: throw error("a closing quote")
            default: result.append(byte)
            }
        }
        throw error("a closing quote")
    }

    // RFC 9051 §9: literal = "{" number64 ["+"] "}" CRLF *CHAR8; literal8 = "~{" number64 "}" CRLF *OCTET
    private mutating func literal() throws -> [UInt8] {
        offset += 1
        var count = 0
        var digits = 0
        while offset < bytes.count, (48...57).contains(bytes[offset]) {
            count = count * 10 + Int(bytes[offset] - 48)
            digits += 1
            offset += 1
            guard digits <= 12 else { throw error("a literal size below 10^12") }
        }
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "+") { offset += 1 }
        guard digits > 0, offset + 3 <= bytes.count,
              bytes[offset] == UInt8(ascii: "}"), bytes[offset + 1] == 13, bytes[offset + 2] == 10
        else { throw error("'{n}' CRLF") }
        offset += 3
        guard offset + count <= bytes.count else { throw error("\(count) literal bytes") }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    // An atom in the wide sense of a response: any run of characters up to a space, parenthesis, quote or line
    // end, where a "[…]" part may hold spaces and parentheses (`BODY[HEADER.FIELDS (SUBJECT)]`, `[UIDVALIDITY 3]`)
    // and a "<…>" part follows it (`BODY[]<0>`).
    private mutating func atom() throws -> String {
        let start = offset
        while offset < bytes.count {
            let byte = bytes[offset]
            if byte == UInt8(ascii: "[") {
                guard let close = bytes[offset...].firstIndex(of: UInt8(ascii: "]")) else { throw error("']'") }
                offset = close + 1
                continue
            }
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "(") || byte == UInt8(ascii: ")")
                || byte == UInt8(ascii: "\"") || byte == 13 || byte == 10 {
                break
            }
            offset += 1
        }
        guard offset > start else { throw error("an atom") }
        return String(decoding: bytes[start..<offset], as: UTF8.self)
    }

    private func error(_ expected: String) -> IMAPResponseParseError {
        .malformed("expected \(expected)", at: offset, response: String(decoding: bytes.prefix(300), as: UTF8.self))
    }
}
