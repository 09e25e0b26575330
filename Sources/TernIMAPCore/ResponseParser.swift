// The client side of the IMAP grammar (RFC 9051 §7, §9; RFC 3501): responses from a server, for Tern's own IMAP
// client (migration from an old server). It reads with the same `Reader` rules as the command parser — atoms,
// quoted strings, literals, numbers, date-times — so both directions share one implementation of the grammar.
//
// Input: one complete response as `ResponseFramer` delivers it (the line, and for each `{n}` at a line's end the n
// literal bytes and the rest of the response). Output: `ServerResponse`. Servers are lenient in what they send, so
// the parser is too where it costs nothing: unknown responses and fetch items are kept or skipped, never fatal;
// flags and keywords are taken as the server spells them; NUL bytes in literals are accepted (the bytes of a
// message must come through as they are). Anything else malformed is a `ResponseSyntaxError`.

/// `resp-cond-state` / `resp-cond-bye` / `PREAUTH`.
public enum ResponseStatus: String, Sendable, Equatable {
    case ok = "OK"
    case no = "NO"
    case bad = "BAD"
    case preauth = "PREAUTH"
    case bye = "BYE"
}

/// `resp-text-code` (RFC 9051 §7.1), the codes a client acts on; the rest as `other`.
public enum ResponseCode: Sendable, Equatable {
    case capability([String])
    case uidValidity(UInt32)
    case uidNext(UInt32)
    case highestModSeq(UInt64)
    case permanentFlags([String])
    case readOnly
    case readWrite
    case appendUID(uidValidity: UInt32, uids: String)
    case other(name: String, text: String)
}

/// `resp-text`: an optional code and human-readable text.
public struct ResponseText: Sendable, Equatable {
    public var code: ResponseCode?
    public var text: String
    public init(code: ResponseCode?, text: String) {
        self.code = code
        self.text = text
    }
}

/// One `mailbox-list` (LIST/LSUB): attributes as sent (`\HasNoChildren`, `\Sent`), the delimiter, the raw name.
public struct ListEntry: Sendable, Equatable {
    public var attributes: [String]
    public var delimiter: UInt8?
    /// The name's bytes as sent: modified UTF-7, or UTF-8 after `ENABLE UTF8=ACCEPT`.
    public var name: [UInt8]

    public init(attributes: [String], delimiter: UInt8?, name: [UInt8]) {
        self.attributes = attributes
        self.delimiter = delimiter
        self.name = name
    }

    public func hasAttribute(_ attribute: String) -> Bool {
        attributes.contains { $0.equalsIgnoringASCIICase(attribute) }
    }
}

/// One namespace of a `NAMESPACE` response (RFC 2342): prefix and delimiter.
public struct NamespaceEntry: Sendable, Equatable {
    public var prefix: [UInt8]
    public var delimiter: UInt8?
    public init(prefix: [UInt8], delimiter: UInt8?) {
        self.prefix = prefix
        self.delimiter = delimiter
    }
}

/// The items of one `FETCH` response. Items the client did not ask for, or does not know, are skipped.
public struct FetchItems: Sendable, Equatable {
    public var uid: UInt32?
    /// As sent, `\Recent` included.
    public var flags: [String]?
    public var internalDate: IMAPDateTime?
    public var size: UInt32?
    public var modSeq: UInt64?
    /// `BODY[section]<origin>` and `BINARY[section]` values by their section text as sent (`""` for `BODY[]`,
    /// `"HEADER"`); nil for NIL. `RFC822` is stored as `""`, `RFC822.HEADER` as `"HEADER"`.
    public var sections: [String: [UInt8]?] = [:]

    public init() {}
}

/// Untagged data (`* …`).
public enum UntaggedResponse: Sendable, Equatable {
    case status(ResponseStatus, ResponseText)
    case capability([String])
    case enabled([String])
    case list(ListEntry)
    case lsub(ListEntry)
    case namespace(personal: [NamespaceEntry], other: [NamespaceEntry], shared: [NamespaceEntry])
    case mailboxStatus(mailbox: [UInt8], attributes: [String: UInt64])
    case flags([String])
    case exists(UInt32)
    case recent(UInt32)
    case expunge(UInt32)
    case search([UInt32])
    case fetch(sequence: UInt32, FetchItems)
    /// Anything else: the response name and the raw response.
    case other(name: String, raw: [UInt8])
}

public enum ServerResponse: Sendable, Equatable {
    case untagged(UntaggedResponse)
    case tagged(tag: String, status: ResponseStatus, ResponseText)
    /// `+ …`: the server waits for a literal or a SASL response.
    case continuation(String)
}

public struct ResponseSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String
    /// The start of the response, for error messages (printable ASCII only).
    public let excerpt: String
    public var description: String { "\(reason) in the server's response \"\(excerpt)\"" }
}

public enum ResponseParser {
    /// Parses one complete response (with its CRLF).
    public static func parse(_ bytes: [UInt8]) -> Result<ServerResponse, ResponseSyntaxError> {
        var reader = Reader(bytes, limits: responseLimits)
        reader.acceptsAnyLiteral = true
        do {
            return .success(try reader.serverResponse())
        } catch ParseError.syntax(let reason) {
            return .failure(error(reason, bytes))
        } catch {
            return .failure(Self.error("Truncated response", bytes))
        }
    }

    static func error(_ reason: String, _ bytes: [UInt8]) -> ResponseSyntaxError {
        let excerpt = bytes.prefix(120).map { $0 >= 0x20 && $0 < 0x7f ? Character(UnicodeScalar($0)) : "." }
        return ResponseSyntaxError(reason: reason, excerpt: String(excerpt))
    }

    /// Responses may be large (a FETCH of 1,000 flag lists) and nest deeper than commands (BODYSTRUCTURE).
    static let responseLimits = IMAPLimits(maxLineLength: .max, maxAppendLiteral: .max, maxAppendTotal: .max,
                                           maxOtherLiteral: .max, maxNestingDepth: 256, maxListItems: .max)
}

extension String {
    func equalsIgnoringASCIICase(_ other: String) -> Bool {
        utf8.count == other.utf8.count && zip(utf8, other.utf8).allSatisfy { IMAPCharacter.uppercased($0) == IMAPCharacter.uppercased($1) }
    }
}

extension Reader {
    mutating func serverResponse() throws -> ServerResponse {
        if try consume(UInt8(ascii: "+")) {
            _ = try consume(0x20)
            return .continuation(try restOfLine())
        }
        if try consume(UInt8(ascii: "*")) {
            try space("after \"*\"")
            return .untagged(try untagged())
        }
        let tag = try tag()
        try space("after the tag")
        let word = try keyword()
        guard let status = ResponseStatus(rawValue: word), status == .ok || status == .no || status == .bad else {
            throw ParseError.syntax("Expected OK, NO or BAD after the tag")
        }
        return .tagged(tag: tag, status: status, try responseText())
    }

    /// Everything up to CRLF as text (UTF-8, invalid bytes replaced), the CRLF consumed.
    mutating func restOfLine() throws -> String {
        let text = try take { $0 != 0x0D && $0 != 0x0A }
        try endOfCommand()
        return String(decoding: text, as: UTF8.self)
    }

    /// `resp-text = ["[" resp-text-code "]" SP] [text]`, then CRLF.
    mutating func responseText() throws -> ResponseText {
        _ = try consume(0x20)
        var code: ResponseCode?
        if try consume(UInt8(ascii: "[")) {
            code = try responseCode()
            _ = try consume(0x20)
        }
        return ResponseText(code: code, text: try restOfLine())
    }

    mutating func responseCode() throws -> ResponseCode {
        let name = try keyword()
        guard !name.isEmpty else { throw ParseError.syntax("Expected a response code") }
        let start = index
        var code: ResponseCode?
        switch name {
        case "CAPABILITY":
            code = .capability(try words())
        case "UIDVALIDITY":
            try space("after UIDVALIDITY")
            code = .uidValidity(try number32("a UIDVALIDITY"))
        case "UIDNEXT":
            try space("after UIDNEXT")
            code = .uidNext(try number32("a UIDNEXT"))
        case "HIGHESTMODSEQ":
            try space("after HIGHESTMODSEQ")
            code = .highestModSeq(try modSequence("a HIGHESTMODSEQ"))
        case "PERMANENTFLAGS":
            try space("after PERMANENTFLAGS")
            code = .permanentFlags(try responseFlagList())
        case "READ-ONLY": code = .readOnly
        case "READ-WRITE": code = .readWrite
        case "APPENDUID":
            try space("after APPENDUID")
            let validity = try number32("a UIDVALIDITY")
            try space("in APPENDUID")
            code = .appendUID(uidValidity: validity, uids: String(decoding: try take { $0 != UInt8(ascii: "]") && $0 != 0x0D }, as: UTF8.self))
        default: break
        }
        let next = try peek()
        if code == nil || next != UInt8(ascii: "]") {
            // Unknown codes, and known ones with unexpected arguments, keep their text.
            index = start
            let text = try take { $0 != UInt8(ascii: "]") && $0 != 0x0D && $0 != 0x0A }
            code = .other(name: name, text: String(decoding: text.drop { $0 == 0x20 }, as: UTF8.self))
        }
        try expect(UInt8(ascii: "]"), "\"]\" after a response code")
        return code!
    }

    /// Space-separated atoms up to "]" or the end of the line (capability lists).
    mutating func words() throws -> [String] {
        var words: [String] = []
        while try consume(0x20) {
            let word = try take { $0 != 0x20 && $0 != UInt8(ascii: "]") && $0 != 0x0D && $0 != 0x0A }
            if !word.isEmpty { words.append(String(decoding: word, as: UTF8.self)) }
        }
        return words
    }

    /// A flag as a server sends it: `\Seen`, `\*`, `$Forwarded`, `Junk` — any bytes up to a space or ")".
    mutating func responseFlag() throws -> String {
        let bytes = try take { $0 > 0x20 && $0 != UInt8(ascii: ")") && $0 != UInt8(ascii: "(") && $0 != 0x7f }
        guard !bytes.isEmpty else { throw ParseError.syntax("Expected a flag") }
        return String(decoding: bytes, as: UTF8.self)
    }

    mutating func responseFlagList() throws -> [String] {
        try openParen("flags")
        var flags: [String] = []
        while true {
            while try consume(0x20) {}
            if try closeParen() { return flags }
            flags.append(try responseFlag())
        }
    }

    mutating func untagged() throws -> UntaggedResponse {
        let start = index
        if try IMAPCharacter.isDigit(peek()) {
            let number = try number32("a number")
            try space("after a number")
            let name = try keyword()
            switch name {
            case "EXISTS":
                _ = try restOfLine()
                return .exists(number)
            case "RECENT":
                _ = try restOfLine()
                return .recent(number)
            case "EXPUNGE":
                _ = try restOfLine()
                return .expunge(number)
            case "FETCH":
                try space("after FETCH")
                let items = try fetchItems()
                try endOfCommand()
                return .fetch(sequence: number, items)
            default:
                return .other(name: name, raw: Array(bytes[start...]))
            }
        }
        let name = try keyword()
        switch name {
        case "OK", "NO", "BAD", "PREAUTH", "BYE":
            return .status(ResponseStatus(rawValue: name)!, try responseText())
        case "CAPABILITY":
            let words = try words()
            try endOfCommand()
            return .capability(words)
        case "ENABLED":
            let words = try words()
            try endOfCommand()
            return .enabled(words)
        case "LIST", "LSUB":
            try space("after \(name)")
            let entry = try listEntry()
            return name == "LIST" ? .list(entry) : .lsub(entry)
        case "NAMESPACE":
            try space("after NAMESPACE")
            let personal = try namespaceList()
            try space("after the personal namespaces")
            let other = try namespaceList()
            try space("after the other users' namespaces")
            let shared = try namespaceList()
            _ = try restOfLine()
            return .namespace(personal: personal, other: other, shared: shared)
        case "STATUS":
            try space("after STATUS")
            let mailbox = try astring("a mailbox name")
            try space("after the mailbox name")
            try openParen("status attributes")
            var attributes: [String: UInt64] = [:]
            while true {
                while try consume(0x20) {}
                if try closeParen() { break }
                let attribute = try keyword()
                guard !attribute.isEmpty else { throw ParseError.syntax("Expected a status attribute") }
                try space("after \(attribute)")
                attributes[attribute] = try number(max: .max, "a status value")
            }
            _ = try restOfLine()
            return .mailboxStatus(mailbox: mailbox, attributes: attributes)
        case "FLAGS":
            try space("after FLAGS")
            let flags = try responseFlagList()
            _ = try restOfLine()
            return .flags(flags)
        case "SEARCH":
            var numbers: [UInt32] = []
            while try consume(0x20) {
                if try peek() == UInt8(ascii: "(") { break } // (MODSEQ n) of RFC 7162
                if try atEndOfLine() { break }
                numbers.append(try number32("a message number"))
            }
            _ = try restOfLine()
            return .search(numbers)
        default:
            return .other(name: name, raw: Array(bytes[start...]))
        }
    }

    /// `mailbox-list = "(" [mbx-list-flags] ")" SP (DQUOTE QUOTED-CHAR DQUOTE / nil) SP mailbox [SP mbox-list-extended]`.
    mutating func listEntry() throws -> ListEntry {
        let attributes = try responseFlagList()
        try space("after the mailbox attributes")
        let delimiter: UInt8?
        if try peek() == UInt8(ascii: "\"") {
            let quoted = try quoted()
            guard quoted.count == 1 else { throw ParseError.syntax("Expected one hierarchy delimiter character") }
            delimiter = quoted[0]
        } else {
            guard try keyword() == "NIL" else { throw ParseError.syntax("Expected a hierarchy delimiter or NIL") }
            delimiter = nil
        }
        try space("before the mailbox name")
        let name = try astring("a mailbox name")
        // LIST-EXTENDED data (CHILDINFO, OLDNAME) is not needed: skipped.
        while try !atEndOfLine() { try skipValue(depth: 0) }
        try endOfCommand()
        return ListEntry(attributes: attributes, delimiter: delimiter, name: name)
    }

    /// `namespace = nil / "(" 1*namespace-descr ")"`; `namespace-descr = "(" string SP (DQUOTE QUOTED-CHAR DQUOTE / nil) [extensions] ")"`.
    mutating func namespaceList() throws -> [NamespaceEntry] {
        if try peek() != UInt8(ascii: "(") {
            guard try keyword() == "NIL" else { throw ParseError.syntax("Expected a namespace list or NIL") }
            return []
        }
        try openParen("namespaces")
        var entries: [NamespaceEntry] = []
        while try !closeParen() {
            try openParen("a namespace")
            let prefix = try string("a namespace prefix")
            try space("after a namespace prefix")
            var delimiter: UInt8?
            if try peek() == UInt8(ascii: "\"") {
                delimiter = try quoted().first
            } else {
                guard try keyword() == "NIL" else { throw ParseError.syntax("Expected a namespace delimiter or NIL") }
            }
            while try !closeParen() { try skipValue(depth: 0) }
            entries.append(NamespaceEntry(prefix: prefix, delimiter: delimiter))
        }
        return entries
    }

    /// `msg-att = "(" (msg-att-dynamic / msg-att-static) *(SP (msg-att-dynamic / msg-att-static)) ")"`.
    mutating func fetchItems() throws -> FetchItems {
        try openParen("fetch items")
        var items = FetchItems()
        while true {
            while try consume(0x20) {}
            if try closeParen() { return items }
            let name = try keyword()
            guard !name.isEmpty else { throw ParseError.syntax("Expected a fetch item") }
            switch name {
            case "UID":
                try space("after UID")
                items.uid = try number32("a UID")
            case "FLAGS":
                try space("after FLAGS")
                items.flags = try responseFlagList()
            case "INTERNALDATE":
                try space("after INTERNALDATE")
                items.internalDate = try dateTime()
            case "RFC822.SIZE":
                try space("after RFC822.SIZE")
                items.size = try size32("a size")
            case "MODSEQ":
                try space("after MODSEQ")
                try openParen("a MODSEQ")
                items.modSeq = try modSequence("a MODSEQ")
                try expect(UInt8(ascii: ")"), "\")\" after a MODSEQ")
            case "RFC822", "RFC822.HEADER", "RFC822.TEXT":
                try space("after \(name)")
                let section = name == "RFC822" ? "" : String(name.dropFirst("RFC822.".count))
                items.sections[section] = try nstringAllowingBinary()
            case "BODY", "BINARY":
                if try peek() == UInt8(ascii: "[") {
                    index += 1
                    let section = try take { $0 != UInt8(ascii: "]") && $0 != 0x0D && $0 != 0x0A }
                    try expect(UInt8(ascii: "]"), "\"]\" after a section")
                    if try consume(UInt8(ascii: "<")) {
                        _ = try number(max: .max, "an origin octet")
                        try expect(UInt8(ascii: ">"), "\">\" after an origin octet")
                    }
                    try space("after a section")
                    items.sections[String(decoding: section, as: UTF8.self)] = try nstringAllowingBinary()
                } else {
                    // BODY without a section is the body structure; BINARY.SIZE[…] and the like are skipped.
                    try skipItemValue()
                }
            default:
                try skipItemValue()
            }
        }
    }

    /// A section's value: NIL, a quoted string, a literal or (for BINARY) a literal8.
    mutating func nstringAllowingBinary() throws -> [UInt8]? {
        switch try peek() {
        case UInt8(ascii: "~"), UInt8(ascii: "{"): return try literal(allowBinary: true).bytes
        default: return try nstring("a section's content")
        }
    }

    /// The value of an unknown fetch item, after its name (and any `[…]` or `.SIZE[…]` it carries).
    mutating func skipItemValue() throws {
        if try consume(UInt8(ascii: "[")) {
            _ = try take { $0 != UInt8(ascii: "]") && $0 != 0x0D && $0 != 0x0A }
            try expect(UInt8(ascii: "]"), "\"]\"")
        }
        try space("after a fetch item")
        try skipValue(depth: 0)
    }

    /// Skips one value: a parenthesised list (nested), a quoted string, a literal, or an atom-like word.
    mutating func skipValue(depth: Int) throws {
        guard depth < limits.maxNestingDepth else { throw ParseError.syntax("Nested too deeply") }
        while try consume(0x20) {}
        switch try peek() {
        case UInt8(ascii: "("):
            index += 1
            while true {
                while try consume(0x20) {}
                if try closeParen() { return }
                try skipValue(depth: depth + 1)
            }
        case UInt8(ascii: "\""): _ = try quoted()
        case UInt8(ascii: "{"), UInt8(ascii: "~"): _ = try literal(allowBinary: true)
        default:
            let word = try take { $0 > 0x20 && $0 != UInt8(ascii: "(") && $0 != UInt8(ascii: ")") && $0 != 0x7f }
            guard !word.isEmpty else { throw ParseError.syntax("Unexpected character") }
        }
    }
}
