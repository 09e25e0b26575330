// Encoding of the values a server writes back: strings (quoted, literal, atom, NIL), flag lists, sequence sets and
// dates. Pure functions returning bytes or text; the grammar rules are RFC 9051 §9.

/// Strings in responses.
public enum IMAPString {
    /// Quoted strings longer than this go out as literals (long quoted strings are hard on clients' line buffers).
    public static let maxQuotedLength = 1000

    /// `quoted` when it is safe (no CR, LF, NUL or 8-bit byte, at most 1000 bytes; `"` and `\` escaped),
    /// otherwise `literal` (`{n}\r\n` and the bytes).
    public static func quotedOrLiteral(_ bytes: [UInt8]) -> [UInt8] {
        if canQuote(bytes) { return quoted(bytes) }
        return literal(bytes)
    }

    /// `astring`: an atom when the bytes are a valid atom (and not `NIL`, which would read as nil), else
    /// `quotedOrLiteral`.
    public static func astring(_ bytes: [UInt8]) -> [UInt8] {
        if !bytes.isEmpty, bytes.allSatisfy(IMAPCharacter.isAstringChar), !isNIL(bytes) { return bytes }
        return quotedOrLiteral(bytes)
    }

    /// `nstring`: `NIL` for nil, else `quotedOrLiteral`.
    public static func nstring(_ bytes: [UInt8]?) -> [UInt8] {
        guard let bytes else { return Array("NIL".utf8) }
        return quotedOrLiteral(bytes)
    }

    /// `NIL` for nil, else always quoted (for values known to be short and safe, such as ENVELOPE dates).
    /// Unsafe bytes (CR, LF, NUL) are dropped rather than break the line.
    public static func nilOrQuoted(_ text: String?) -> [UInt8] {
        guard let text else { return Array("NIL".utf8) }
        return quoted(Array(text.utf8).filter { $0 != 0 && $0 != 0x0D && $0 != 0x0A })
    }

    /// `quoted` without checks beyond escaping `"` and `\`.
    public static func quoted(_ bytes: [UInt8]) -> [UInt8] {
        var result: [UInt8] = [UInt8(ascii: "\"")]
        result.reserveCapacity(bytes.count + 2)
        for byte in bytes {
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { result.append(UInt8(ascii: "\\")) }
            result.append(byte)
        }
        result.append(UInt8(ascii: "\""))
        return result
    }

    /// `literal = "{" number "}" CRLF *CHAR8`.
    public static func literal(_ bytes: [UInt8]) -> [UInt8] {
        Array("{\(bytes.count)}\r\n".utf8) + bytes
    }

    static func canQuote(_ bytes: [UInt8]) -> Bool {
        bytes.count <= maxQuotedLength && bytes.allSatisfy { $0 != 0 && $0 != 0x0D && $0 != 0x0A && $0 < 0x80 }
    }

    static func isNIL(_ bytes: [UInt8]) -> Bool {
        bytes.count == 3 && bytes.map(IMAPCharacter.uppercased) == Array("NIL".utf8)
    }
}

/// Flags, sequence sets and other lists in responses.
public enum IMAPEncoding {
    /// `flag-list`: `(\Seen $Forwarded)`.
    public static func flagList(_ flags: [Flag]) -> [UInt8] {
        Array(("(" + flags.map(\.imapText).joined(separator: " ") + ")").utf8)
    }

    /// A sorted (ascending, duplicates allowed) list of numbers as a compact sequence set: `1:3,5,7:9`.
    /// Empty input gives an empty string (a caller must not send an empty set).
    public static func sequenceSet(fromSorted numbers: [UInt32]) -> String {
        var parts: [String] = []
        var index = 0
        while index < numbers.count {
            let start = numbers[index]
            var end = start
            index += 1
            while index < numbers.count, numbers[index] == end || (end < UInt32.max && numbers[index] == end + 1) {
                end = numbers[index]
                index += 1
            }
            parts.append(start == end ? "\(start)" : "\(start):\(end)")
        }
        return parts.joined(separator: ",")
    }

    /// A `SequenceSet` as text, as the client wrote it (`1:3,*`, `$`).
    public static func sequenceSet(_ set: SequenceSet) -> String { set.imapText }
}

extension SequenceNumber {
    /// `7` or `*`.
    public var imapText: String {
        switch self {
        case .number(let n): return "\(n)"
        case .last: return "*"
        }
    }
}

extension SequenceSet {
    /// The set as text (`1:3,5,*`, or `$`).
    public var imapText: String {
        switch self {
        case .saved: return "$"
        case .ranges(let ranges):
            return ranges.map { $0.first == $0.last ? $0.first.imapText : "\($0.first.imapText):\($0.last.imapText)" }
                .joined(separator: ",")
        }
    }
}

extension Flag {
    /// The flag as sent on the wire: `\Seen`, `$Forwarded`, `\Extension`.
    public var imapText: String {
        switch self {
        case .answered: return "\\Answered"
        case .flagged: return "\\Flagged"
        case .deleted: return "\\Deleted"
        case .seen: return "\\Seen"
        case .draft: return "\\Draft"
        case .keyword(let name): return name
        case .extension(let name): return name
        }
    }
}

// MARK: Dates

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let mp = (month + 9) % 12
    let doy = (153 * mp + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
}

/// The inverse of `daysFromCivil`.
func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let day = doy - (153 * mp + 2) / 5 + 1
    let month = mp < 10 ? mp + 3 : mp - 9
    return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
}

private let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

private func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

extension IMAPDate {
    /// Seconds since the epoch of this date's midnight UTC (SEARCH compares dates this way; the session may
    /// shift by its own zone).
    public var epochSeconds: Int64 { Int64(daysFromCivil(year: year, month: month, day: day)) * 86_400 }

    /// `date-text`: `1-Feb-2024`.
    public var imapText: String {
        let name = (1...12).contains(month) ? monthNames[month - 1] : "Jan"
        return "\(day)-\(name)-\(year)"
    }
}

extension IMAPDateTime {
    /// The instant seconds since the epoch (the zone is subtracted: 02:44:25 -0700 is 09:44:25 UTC).
    public var epochSeconds: Int64 {
        let days = Int64(daysFromCivil(year: date.year, month: date.month, day: date.day))
        return days * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(zoneMinutes) * 60
    }

    /// The date-time of an instant as seen in a zone (`zoneMinutes` east of UTC; -420 for -0700). The instant is
    /// clamped to years 1...9999 and the zone to ±23:59, so every value has a four-digit `date-time`.
    public init(epochSeconds: Int64, zoneMinutes: Int = 0) {
        let zoneMinutes = min(max(zoneMinutes, -1439), 1439)
        let clamped = min(max(epochSeconds, -62_135_596_800 + 86_400), 253_402_300_799 - 86_400)
        let local = clamped + Int64(zoneMinutes) * 60
        let days = local >= 0 ? local / 86_400 : (local - 86_399) / 86_400
        let secondsOfDay = Int(local - days * 86_400)
        let civil = civilFromDays(Int(days))
        self.init(
            date: IMAPDate(year: civil.year, month: civil.month, day: civil.day),
            hour: secondsOfDay / 3600, minute: secondsOfDay / 60 % 60, second: secondsOfDay % 60,
            zoneMinutes: zoneMinutes)
    }

    /// `date-time` without the quotes, with RFC 9051 `date-day-fixed` (space-padded day):
    /// `17-Jul-1996 02:44:25 -0700`, ` 1-Feb-2024 00:00:00 +0000`.
    public var imapText: String {
        let day = date.day < 10 ? " \(date.day)" : "\(date.day)"
        let name = (1...12).contains(date.month) ? monthNames[date.month - 1] : "Jan"
        let sign = zoneMinutes < 0 ? "-" : "+"
        let zone = abs(zoneMinutes)
        var year = "\(date.year)"
        while year.count < 4 { year = "0" + year }
        return "\(day)-\(name)-\(year) \(twoDigits(hour)):\(twoDigits(minute)):\(twoDigits(second)) "
            + "\(sign)\(twoDigits(zone / 60))\(twoDigits(zone % 60))"
    }

    /// The quoted `date-time` as a response writes it (INTERNALDATE).
    public var quoted: [UInt8] { Array(("\"" + imapText + "\"").utf8) }
}
