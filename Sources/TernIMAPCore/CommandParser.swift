// Parses one complete IMAP command buffer (as `CommandAssembler` makes it) into a `TaggedCommand`.
//
// Invariants:
// - The grammar is RFC 9051 §9 plus RFC 3501 §9 and the extensions cited at each rule; one function per rule,
//   the ABNF quoted above it.
// - Running out of bytes is `.incomplete`, never a syntax error: every read that reaches the end of the buffer
//   throws `ParseError.incomplete` (a complete command always ends with CRLF, so no token can end at the end).
// - No recursion on input: search keys are parsed with an explicit stack, every other nesting is fixed by the
//   grammar. Depth and list sizes are checked against `IMAPLimits` and reported as syntax errors.
// - No traps on input: numbers are accumulated with overflow checks; no force unwraps.

enum ParseError: Error {
    case incomplete
    case syntax(String)
}

public enum CommandParser {
    public enum Outcome: Equatable, Sendable {
        case command(TaggedCommand)
        /// The buffer ends before the command does.
        case incomplete
        /// The tag is kept when it could be read, for a tagged BAD.
        case syntaxError(tag: Tag?, message: String)
    }

    /// Parses exactly one command ending in CRLF (a lone LF is tolerated), literals inline.
    public static func parse(_ bytes: [UInt8], limits: IMAPLimits = .default) -> Outcome {
        var reader = Reader(bytes, limits: limits)
        var tag: Tag?
        do {
            let parsedTag = try reader.tag()
            tag = parsedTag
            try reader.space("after the tag")
            let command = try reader.command()
            try reader.endOfCommand()
            return .command(TaggedCommand(tag: parsedTag, command: command))
        } catch {
            switch error as? ParseError {
            case .incomplete: return .incomplete
            case .syntax(let message): return .syntaxError(tag: tag, message: message)
            case nil: return .syntaxError(tag: tag, message: "Syntax error")
            }
        }
    }

    /// Parses a whole text as a `sequence-set` (or `$`); nil if it is not exactly one.
    public static func parseSequenceSet(_ text: [UInt8]) -> SequenceSet? {
        var reader = Reader(text + [0x0D, 0x0A], limits: .default)
        guard let set = try? reader.sequenceSet(), (try? reader.endOfCommand()) != nil else { return nil }
        return set
    }

    /// Parses `date-time` without its quotes (`17-Jul-1996 02:44:25 -0700`); nil if invalid.
    public static func parseDateTime(_ text: [UInt8]) -> IMAPDateTime? {
        var reader = Reader([UInt8(ascii: "\"")] + text + [UInt8(ascii: "\""), 0x0D, 0x0A], limits: .default)
        guard let value = try? reader.dateTime(), (try? reader.endOfCommand()) != nil else { return nil }
        return value
    }

    /// Parses `date` (`1-Feb-2024`, quoted or not); nil if invalid.
    public static func parseDate(_ text: [UInt8]) -> IMAPDate? {
        var reader = Reader(text + [0x0D, 0x0A], limits: .default)
        guard let value = try? reader.date(), (try? reader.endOfCommand()) != nil else { return nil }
        return value
    }
}

/// A cursor over one command buffer with one method per grammar rule.
struct Reader {
    let bytes: [UInt8]
    let limits: IMAPLimits
    var index = 0
    /// Set once the command name is known; picks the literal limit.
    var isAppend = false
    var otherLiteralBytes = 0
    var appendLiteralBytes = 0
    /// Responses from a server (`ResponseParser`): no literal limit, NUL allowed (message bytes come as they are).
    var acceptsAnyLiteral = false

    init(_ bytes: [UInt8], limits: IMAPLimits) {
        self.bytes = bytes
        self.limits = limits
    }

    // MARK: Basics

    func peek() throws -> UInt8 {
        guard index < bytes.count else { throw ParseError.incomplete }
        return bytes[index]
    }

    func peek(at offset: Int) throws -> UInt8 {
        guard index + offset < bytes.count else { throw ParseError.incomplete }
        return bytes[index + offset]
    }

    mutating func next() throws -> UInt8 {
        let c = try peek()
        index += 1
        return c
    }

    mutating func consume(_ c: UInt8) throws -> Bool {
        if try peek() == c {
            index += 1
            return true
        }
        return false
    }

    mutating func expect(_ c: UInt8, _ what: String) throws {
        guard try consume(c) else { throw ParseError.syntax("Expected \(what)") }
    }

    mutating func space(_ context: String) throws {
        guard try consume(0x20) else { throw ParseError.syntax("Expected a space \(context)") }
    }

    mutating func openParen(_ what: String) throws { try expect(UInt8(ascii: "("), "\"(\" before \(what)") }

    /// True (and consumed) if the next byte is ")".
    mutating func closeParen() throws -> Bool { try consume(UInt8(ascii: ")")) }

    /// `CRLF` (LF alone tolerated), which must be the last bytes of the buffer.
    mutating func endOfCommand() throws {
        let c = try next()
        if c == 0x0D {
            guard try next() == 0x0A else { throw ParseError.syntax("Expected LF after CR") }
        } else if c != 0x0A {
            index -= 1
            throw ParseError.syntax("Unexpected characters at the end of the command")
        }
        guard index == bytes.count else { throw ParseError.syntax("Unexpected data after the command") }
    }

    /// True if the next bytes are CRLF or LF (without consuming them).
    func atEndOfLine() throws -> Bool {
        let c = try peek()
        return c == 0x0D || c == 0x0A
    }

    /// Bytes while `predicate` holds; the end of the buffer is `.incomplete`.
    mutating func take(while predicate: (UInt8) -> Bool) throws -> ArraySlice<UInt8> {
        let start = index
        while try predicate(peek()) { index += 1 }
        return bytes[start..<index]
    }

    /// An upper-cased word of letters, digits, `.`, `-` (command names, keywords); empty if none.
    mutating func keyword() throws -> String {
        String(asciiUppercased: try take { IMAPCharacter.isAlpha($0) || IMAPCharacter.isDigit($0) || $0 == 0x2E || $0 == 0x2D })
    }

    /// Reads `word` case-insensitively if it comes next (followed by a non-word byte); restores the position if not.
    mutating func consumeKeyword(_ word: String) throws -> Bool {
        let start = index
        if try keyword() == word { return true }
        index = start
        return false
    }

    // MARK: Numbers

    /// `number = 1*DIGIT` up to `maximum`.
    mutating func number(max maximum: UInt64, _ what: String) throws -> UInt64 {
        guard try IMAPCharacter.isDigit(peek()) else { throw ParseError.syntax("Expected \(what)") }
        var value: UInt64 = 0
        var tooLarge = false
        while try IMAPCharacter.isDigit(peek()) {
            let digit = UInt64(try next() - 0x30)
            if !tooLarge {
                let (times, o1) = value.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times.addingReportingOverflow(digit)
                if o1 || o2 || sum > maximum { tooLarge = true } else { value = sum }
            }
        }
        if tooLarge { throw ParseError.syntax("Number too large for \(what)") }
        return value
    }

    /// `number = 1*DIGIT`, 32 bits.
    mutating func number32(_ what: String) throws -> UInt32 {
        UInt32(truncatingIfNeeded: try number(max: UInt64(UInt32.max), what))
    }

    /// `nz-number = digit-nz *DIGIT`, 32 bits.
    mutating func nzNumber(_ what: String) throws -> UInt32 {
        guard try peek() != UInt8(ascii: "0") else { throw ParseError.syntax("Expected a non-zero \(what)") }
        return try number32(what)
    }

    /// `mod-sequence-valzer = "0" / mod-sequence-value`, at most 2^63-1 (RFC 7162 §7).
    mutating func modSequence(_ what: String) throws -> UInt64 {
        try number(max: UInt64(Int64.max), what)
    }

    /// `number64` (RFC 9051), clamped to 32 bits for message sizes (no message is larger).
    mutating func size32(_ what: String) throws -> UInt32 {
        UInt32(truncatingIfNeeded: min(try number(max: UInt64(Int64.max), what), UInt64(UInt32.max)))
    }

    // MARK: Strings

    /// `tag = 1*<any ASTRING-CHAR except "+">`.
    mutating func tag() throws -> Tag {
        let bytes = try take(while: IMAPCharacter.isTagChar)
        guard !bytes.isEmpty else { throw ParseError.syntax("Expected a tag") }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `atom = 1*ATOM-CHAR`.
    mutating func atom(_ what: String) throws -> [UInt8] {
        let bytes = try take(while: IMAPCharacter.isAtomChar)
        guard !bytes.isEmpty else { throw ParseError.syntax("Expected \(what)") }
        return Array(bytes)
    }

    /// `quoted = DQUOTE *QUOTED-CHAR DQUOTE`; `QUOTED-CHAR = <any TEXT-CHAR except quoted-specials> /
    /// "\" quoted-specials / UTF8-2 / UTF8-3 / UTF8-4` (RFC 9051). Only `\"` and `\\` are escapes.
    mutating func quoted() throws -> [UInt8] {
        try expect(UInt8(ascii: "\""), "a quoted string")
        var result: [UInt8] = []
        while true {
            let c = try next()
            switch c {
            case UInt8(ascii: "\""):
                return result
            case UInt8(ascii: "\\"):
                let escaped = try next()
                guard escaped == UInt8(ascii: "\"") || escaped == UInt8(ascii: "\\") else {
                    throw ParseError.syntax("Invalid escape in a quoted string")
                }
                result.append(escaped)
            case 0x00, 0x0A, 0x0D:
                throw ParseError.syntax("Invalid character in a quoted string")
            default:
                result.append(c)
            }
        }
    }

    /// `literal = "{" number64 ["+"] "}" CRLF *CHAR8` (RFC 9051, RFC 7888); with `allowBinary`, also RFC 3516
    /// `literal8 = "~{" number64 "}" CRLF *OCTET`. Returns the bytes and whether it was a literal8.
    mutating func literal(allowBinary: Bool = false) throws -> (bytes: [UInt8], isBinary: Bool) {
        var isBinary = false
        if try peek() == UInt8(ascii: "~") {
            guard allowBinary else { throw ParseError.syntax("literal8 is not allowed here") }
            index += 1
            isBinary = true
        }
        try expect(UInt8(ascii: "{"), "a literal")
        let count = Int(try number(max: UInt64(Int32.max), "a literal length"))
        _ = try consume(UInt8(ascii: "+"))
        try expect(UInt8(ascii: "}"), "\"}\" after a literal length")
        if try peek() == 0x0D { index += 1 }
        try expect(0x0A, "CRLF after a literal announcement")
        if acceptsAnyLiteral {
            // The framer already bounded the response.
        } else if isAppend {
            appendLiteralBytes += count
            guard count <= limits.maxAppendLiteral, appendLiteralBytes <= limits.maxAppendTotal else {
                throw ParseError.syntax("Literal too large")
            }
        } else {
            otherLiteralBytes += count
            guard otherLiteralBytes <= limits.maxOtherLiteral else { throw ParseError.syntax("Literal too large") }
        }
        guard count <= bytes.count - index else {
            index = bytes.count
            throw ParseError.incomplete
        }
        let content = Array(bytes[index..<(index + count)])
        index += count
        if !isBinary, !acceptsAnyLiteral, content.contains(0) { throw ParseError.syntax("NUL in a literal (only literal8 may hold NUL)") }
        return (content, isBinary)
    }

    /// `string = quoted / literal`.
    mutating func string(_ what: String) throws -> [UInt8] {
        switch try peek() {
        case UInt8(ascii: "\""): return try quoted()
        case UInt8(ascii: "{"): return try literal().bytes
        default: throw ParseError.syntax("Expected \(what)")
        }
    }

    /// `astring = 1*ASTRING-CHAR / string`.
    mutating func astring(_ what: String) throws -> [UInt8] {
        switch try peek() {
        case UInt8(ascii: "\""), UInt8(ascii: "{"): return try string(what)
        default:
            let bytes = try take(while: IMAPCharacter.isAstringChar)
            guard !bytes.isEmpty else { throw ParseError.syntax("Expected \(what)") }
            return Array(bytes)
        }
    }

    /// `nstring = string / nil`.
    mutating func nstring(_ what: String) throws -> [UInt8]? {
        if try peek() == UInt8(ascii: "\"") || peek() == UInt8(ascii: "{") { return try string(what) }
        guard try keyword() == "NIL" else { throw ParseError.syntax("Expected \(what) or NIL") }
        return nil
    }

    /// `mailbox = "INBOX" / astring` (bytes as sent; the session normalises INBOX and decodes the name).
    mutating func mailbox() throws -> [UInt8] { try astring("a mailbox name") }

    /// `list-mailbox = 1*list-char / string`.
    mutating func listMailbox() throws -> [UInt8] {
        switch try peek() {
        case UInt8(ascii: "\""), UInt8(ascii: "{"): return try string("a mailbox pattern")
        default:
            let bytes = try take(while: IMAPCharacter.isListChar)
            guard !bytes.isEmpty else { throw ParseError.syntax("Expected a mailbox pattern") }
            return Array(bytes)
        }
    }

    /// `charset = atom / quoted`, upper-cased.
    mutating func charset() throws -> String {
        let bytes = try peek() == UInt8(ascii: "\"") ? try quoted() : try atom("a charset")
        return String(asciiUppercased: bytes)
    }

    /// Counts one more item of a list against `maxListItems`.
    func checkItems(_ count: Int, _ what: String) throws {
        guard count <= limits.maxListItems else { throw ParseError.syntax("Too many \(what)") }
    }

    // MARK: Sequence sets

    /// `seq-number = nz-number / "*"`.
    mutating func sequenceNumber() throws -> SequenceNumber {
        if try consume(UInt8(ascii: "*")) { return .last }
        return .number(try nzNumber("sequence number"))
    }

    /// `sequence-set = (seq-number / seq-range) ["," sequence-set]`; `seq-range = seq-number ":" seq-number`;
    /// RFC 5182: `sequence-set =/ seq-last-command`, `seq-last-command = "$"`.
    mutating func sequenceSet() throws -> SequenceSet {
        if try consume(UInt8(ascii: "$")) { return .saved }
        let c = try peek()
        guard c == UInt8(ascii: "*") || IMAPCharacter.isDigit(c) else { throw ParseError.syntax("Expected a sequence set") }
        var ranges: [SequenceRange] = []
        repeat {
            let first = try sequenceNumber()
            if try consume(UInt8(ascii: ":")) {
                ranges.append(SequenceRange(first, try sequenceNumber()))
            } else {
                ranges.append(SequenceRange(first))
            }
            try checkItems(ranges.count, "sequence ranges")
        } while try consume(UInt8(ascii: ","))
        return .ranges(ranges)
    }

    // MARK: Dates

    static let months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]

    /// `date-month = "Jan" / … / "Dec"` (case-insensitive).
    mutating func month() throws -> Int {
        var name: [UInt8] = []
        for _ in 0..<3 { name.append(IMAPCharacter.uppercased(try next())) }
        guard let month = Self.months.firstIndex(of: String(decoding: name, as: UTF8.self)) else {
            throw ParseError.syntax("Invalid month")
        }
        return month + 1
    }

    /// `n` digits exactly.
    mutating func digits(_ n: Int, _ what: String) throws -> Int {
        var value = 0
        for _ in 0..<n {
            let c = try next()
            guard IMAPCharacter.isDigit(c) else { throw ParseError.syntax("Invalid \(what)") }
            value = value * 10 + Int(c - 0x30)
        }
        return value
    }

    static func daysInMonth(_ month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// `date = date-text / DQUOTE date-text DQUOTE`; `date-text = date-day "-" date-month "-" date-year`;
    /// `date-day = 1*2DIGIT`; `date-year = 4DIGIT`.
    mutating func date() throws -> IMAPDate {
        let isQuoted = try consume(UInt8(ascii: "\""))
        guard try IMAPCharacter.isDigit(peek()) else { throw ParseError.syntax("Expected a date") }
        var day = try digits(1, "day")
        if try IMAPCharacter.isDigit(peek()) { day = day * 10 + (try digits(1, "day")) }
        try expect(UInt8(ascii: "-"), "\"-\" in a date")
        let month = try month()
        try expect(UInt8(ascii: "-"), "\"-\" in a date")
        let year = try digits(4, "year")
        guard day >= 1, day <= Self.daysInMonth(month, year: year) else { throw ParseError.syntax("Invalid day") }
        if isQuoted { try expect(UInt8(ascii: "\""), "a closing quote after the date") }
        return IMAPDate(year: year, month: month, day: day)
    }

    /// `date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE`;
    /// `date-day-fixed = (SP DIGIT) / 2DIGIT`; `time = 2DIGIT ":" 2DIGIT ":" 2DIGIT`;
    /// `zone = ("+" / "-") 4DIGIT`. A one-digit day without the space is tolerated.
    mutating func dateTime() throws -> IMAPDateTime {
        try expect(UInt8(ascii: "\""), "a date-time")
        _ = try consume(0x20)
        var day = try digits(1, "day")
        if try IMAPCharacter.isDigit(peek()) { day = day * 10 + (try digits(1, "day")) }
        try expect(UInt8(ascii: "-"), "\"-\" in a date-time")
        let month = try month()
        try expect(UInt8(ascii: "-"), "\"-\" in a date-time")
        let year = try digits(4, "year")
        guard day >= 1, day <= Self.daysInMonth(month, year: year) else { throw ParseError.syntax("Invalid day") }
        try space("in a date-time")
        let hour = try digits(2, "hour")
        try expect(UInt8(ascii: ":"), "\":\" in a time")
        let minute = try digits(2, "minute")
        try expect(UInt8(ascii: ":"), "\":\" in a time")
        let second = try digits(2, "second")
        guard hour < 24, minute < 60, second < 61 else { throw ParseError.syntax("Invalid time") }
        try space("in a date-time")
        let sign = try next()
        guard sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") else { throw ParseError.syntax("Invalid zone") }
        let zoneHours = try digits(2, "zone")
        let zoneMinutes = try digits(2, "zone")
        guard zoneMinutes < 60 else { throw ParseError.syntax("Invalid zone") }
        try expect(UInt8(ascii: "\""), "a closing quote after the date-time")
        let zone = (zoneHours * 60 + zoneMinutes) * (sign == UInt8(ascii: "-") ? -1 : 1)
        return IMAPDateTime(
            date: IMAPDate(year: year, month: month, day: day), hour: hour, minute: minute, second: second,
            zoneMinutes: zone)
    }

    // MARK: Flags

    /// `flag = "\Answered" / "\Flagged" / "\Deleted" / "\Seen" / "\Draft" / flag-keyword / flag-extension`;
    /// `flag-keyword = atom`; `flag-extension = "\" atom`. `\Recent` is refused (RFC 9051 §2.3.2 removed it from
    /// STORE and APPEND).
    mutating func flag() throws -> Flag {
        if try consume(UInt8(ascii: "\\")) {
            let name = try atom("a flag name after \"\\\"")
            switch String(asciiUppercased: name) {
            case "ANSWERED": return .answered
            case "FLAGGED": return .flagged
            case "DELETED": return .deleted
            case "SEEN": return .seen
            case "DRAFT": return .draft
            case "RECENT": throw ParseError.syntax("\\Recent cannot be set")
            default: return .extension("\\" + String(decoding: name, as: UTF8.self))
            }
        }
        return .keyword(String(decoding: try atom("a flag"), as: UTF8.self))
    }

    /// `flag-list = "(" [flag *(SP flag)] ")"`.
    mutating func flagList() throws -> [Flag] {
        try openParen("flags")
        var flags: [Flag] = []
        if try closeParen() { return flags }
        while true {
            flags.append(try flag())
            try checkItems(flags.count, "flags")
            if try closeParen() { return flags }
            try space("between flags")
        }
    }

    /// A parenthesised, space-separated, non-empty list of items read by `item`.
    mutating func list<T>(_ what: String, allowEmpty: Bool = false, _ item: (inout Reader) throws -> T) throws -> [T] {
        try openParen(what)
        var items: [T] = []
        if try closeParen() {
            guard allowEmpty else { throw ParseError.syntax("Expected \(what)") }
            return items
        }
        while true {
            items.append(try item(&self))
            try checkItems(items.count, what)
            if try closeParen() { return items }
            try space("between \(what)")
        }
    }
}
