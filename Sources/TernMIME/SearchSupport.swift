// What SEARCH and SORT need from a message, computed once at delivery: decoded header values (MessageHeader),
// the decoded text of text parts, the Date header as a point in time (RFC 5322 §3.3), RFC 5256 base subjects and
// the first address of From/To/Cc (RFC 5256 SORT FROM/TO/CC, RFC 5957 DISPLAYFROM/DISPLAYTO).

extension MessagePart {
    /// A text/* part's content, transfer-decoded and converted from its charset (unknown charset: UTF-8 if valid,
    /// else Latin-1). Nil for other parts and for an undecodable transfer encoding.
    public func decodedText() -> String? {
        guard contentType.isText, !isOpaque, let decoded = transferEncoding.decode(bodyBytes) else { return nil }
        let charset = contentType.parameters.parameter("charset") ?? "us-ascii"
        return Charset.decode(decoded, charset: charset) ?? headerString(decoded)
    }
}

extension MIMEMessage {
    /// Every text/* leaf in message order, embedded messages included (walked without recursion).
    public var textParts: [MessagePart] {
        var result: [MessagePart] = []
        var stack: [MessagePart] = [root]
        while let part = stack.popLast() {
            switch part.content {
            case .single: if part.contentType.isText, !part.isOpaque { result.append(part) }
            case .multipart(let children): stack += children.reversed()
            case .message(let embedded): stack.append(embedded)
            }
        }
        return result
    }

    /// The decoded text of every text part, for SEARCH BODY/TEXT and full-text indexing.
    public var searchableText: [String] { textParts.compactMap { $0.decodedText() } }
}

extension MessageHeader {
    /// The first real address (not a group marker) in the `name` fields; nil if none.
    public func firstAddress(_ name: String) -> Address? {
        for field in fields(named: name) {
            if let address = Address.parseList(rawValue(of: field)).first(where: { $0.host != nil }) {
                return address
            }
        }
        return nil
    }

    /// RFC 5957 §3.1 display value of the first `name` address: its decoded display name, or when that is empty
    /// its addr-spec. Nil when there is no address.
    public func displayAddress(_ name: String) -> String? {
        guard let address = firstAddress(name) else { return nil }
        if let display = address.displayName, !display.isEmpty { return display }
        return address.addressSpec
    }
}

/// A Date header value as a point in time.
public struct MessageDate: Sendable, Equatable {
    /// Seconds since 1970-01-01T00:00:00Z.
    public var secondsSinceEpoch: Int64
    /// The zone offset the header gave, in seconds east of UTC.
    public var zoneOffsetSeconds: Int

    public init(secondsSinceEpoch: Int64, zoneOffsetSeconds: Int) {
        self.secondsSinceEpoch = secondsSinceEpoch
        self.zoneOffsetSeconds = zoneOffsetSeconds
    }

    /// RFC 5322 §3.3 `date-time = [ day-of-week "," ] date time [CFWS]`, with §4.3 obsolete forms: comments,
    /// 2- and 3-digit years, missing seconds, alphabetic zones (UT, GMT, EST..PDT, military letters as +0000
    /// per §4.3), a missing zone (+0000). Nil for anything else.
    public static func parse(_ value: some Collection<UInt8>) -> MessageDate? {
        // Tokens: runs of letters, digits, or a sign; comments and punctuation other than ':' '+' '-' split.
        var tokens: [[UInt8]] = []
        var current: [UInt8] = []
        var commentDepth = 0
        func flush() {
            if !current.isEmpty { tokens.append(current) }
            current = []
        }
        for byte in value {
            if byte == ASCII.openParen { commentDepth += 1; flush(); continue }
            if byte == ASCII.closeParen { commentDepth = max(0, commentDepth - 1); continue }
            if commentDepth > 0 { continue }
            let isLetter = (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
            let isDigit = byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
            if byte == ASCII.colon || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") {
                flush()
                tokens.append([byte])
            } else if isLetter || isDigit {
                if let last = current.last {
                    let lastIsDigit = last >= UInt8(ascii: "0") && last <= UInt8(ascii: "9")
                    if lastIsDigit != isDigit { flush() }
                }
                current.append(byte)
            } else {
                flush()
            }
            if tokens.count > 32 { return nil }
        }
        flush()

        var index = 0
        func number(_ token: [UInt8]) -> Int? {
            guard !token.isEmpty, token.count <= 9, token.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            return token.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        }
        func word(_ token: [UInt8]) -> String { String(decoding: token.map { ASCII.lowercased($0) }, as: UTF8.self) }

        // Optional day of week (any alphabetic token before the day).
        if index < tokens.count, number(tokens[index]) == nil, tokens[index].count >= 3 { index += 1 }
        guard index + 2 < tokens.count, let day = number(tokens[index]) else { return nil }
        let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        guard let monthIndex = months.firstIndex(of: String(word(tokens[index + 1]).prefix(3))),
            let rawYear = number(tokens[index + 2])
        else { return nil }
        index += 3
        let yearDigits = tokens[index - 1].count
        // RFC 5322 §4.3: 2-digit years 00-49 are 20xx, 50-99 19xx; 3-digit years add 1900.
        let year = yearDigits == 2 ? (rawYear < 50 ? 2000 + rawYear : 1900 + rawYear)
            : yearDigits == 3 ? 1900 + rawYear : rawYear
        guard index + 2 < tokens.count, let hour = number(tokens[index]), tokens[index + 1] == [ASCII.colon],
            let minute = number(tokens[index + 2])
        else { return nil }
        index += 3
        var second = 0
        if index + 1 < tokens.count, tokens[index] == [ASCII.colon] {
            guard let parsed = number(tokens[index + 1]) else { return nil }
            second = parsed
            index += 2
        }
        var offset = 0
        if index < tokens.count {
            let token = tokens[index]
            if token == [UInt8(ascii: "+")] || token == [UInt8(ascii: "-")] {
                guard index + 1 < tokens.count, tokens[index + 1].count == 4, let hhmm = number(tokens[index + 1])
                else { return nil }
                let minutes = hhmm / 100 * 60 + hhmm % 100
                guard hhmm % 100 < 60 else { return nil }
                offset = (token == [UInt8(ascii: "-")] ? -minutes : minutes) * 60
            } else if token.count == 4, let hhmm = number(token) {
                // A zone written without its sign.
                offset = (hhmm / 100 * 60 + hhmm % 100) * 60
            } else {
                // RFC 5322 §4.3 obs-zone.
                switch word(token) {
                case "ut", "utc", "gmt", "z": offset = 0
                case "edt": offset = -4 * 3600
                case "est", "cdt": offset = -5 * 3600
                case "cst", "mdt": offset = -6 * 3600
                case "mst", "pdt": offset = -7 * 3600
                case "pst": offset = -8 * 3600
                default: offset = 0  // military and unknown zones: "-0000", no information
                }
            }
        }
        guard (1...31).contains(day), (1...9999).contains(year), (0...23).contains(hour), (0...59).contains(minute),
            (0...60).contains(second)
        else { return nil }
        let days = daysFromCivil(year: year, month: monthIndex + 1, day: day)
        let local = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        return MessageDate(secondsSinceEpoch: local - Int64(offset), zoneOffsetSeconds: offset)
    }

    /// `Sun, 22 Nov 2026 01:21:15 +0000` (RFC 5322 §3.3, in UTC) for seconds since 1970: the Date of messages the
    /// server writes (bounces, submissions without one) and the date in Received fields.
    public static func rfc5322(_ seconds: Int64) -> String {
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let secondOfDay = seconds - days * 86400
        // H. Hinnant's civil_from_days, the inverse of `daysFromCivil`.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        let weekday = Int(((days % 7) + 11) % 7)  // 1970-01-01 was a Thursday.
        let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(weekdays[weekday]), \(two(day)) \(months[Int(month) - 1]) \(year) "
            + "\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)) +0000"
    }

    /// Seconds since 1970 of a UTC date and time (fields not range-checked beyond what the caller did).
    static func epochSeconds(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) -> Int64? {
        guard (1...12).contains(month), (1...31).contains(day), (1...9999).contains(year), (0...23).contains(hour),
              (0...59).contains(minute), (0...60).contains(second) else { return nil }
        return Int64(daysFromCivil(year: year, month: month, day: day)) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}

/// RFC 5256 §2.1 base subject, for SORT SUBJECT and THREAD=ORDEREDSUBJECT/REFERENCES.
public enum BaseSubject {
    /// The base subject of a decoded subject (use `MessageHeader.decodedValue("Subject")`). Comparison is then
    /// i;unicode-casemap or i;ascii-casemap, the caller's business.
    public static func extract(_ subject: String) -> String {
        // (1) Whitespace runs (tabs, folding) become one space.
        var text: [Character] = []
        for character in subject {
            if character.isWhitespace {
                if text.last != " " { text.append(" ") }
            } else {
                text.append(character)
            }
        }
        var rest = text[...]
        var iterations = 0
        while iterations < 10_000 {
            iterations += 1
            // (2) Remove trailing subj-trailer: "(fwd)" / WSP.
            while true {
                if rest.last == " " {
                    rest = rest.dropLast()
                } else if rest.count >= 5, String(rest.suffix(5)).lowercased() == "(fwd)" {
                    rest = rest.dropLast(5)
                } else {
                    break
                }
            }
            // (3)(4)(5) Remove leading subj-leader, and a subj-blob when something remains after it.
            var changed = true
            while changed {
                changed = false
                while rest.first == " " {
                    rest = rest.dropFirst()
                    changed = true
                }
                if let after = removingLeader(rest) {
                    rest = after
                    changed = true
                }
                if let after = removingBlob(rest), after.contains(where: { $0 != " " }) {
                    rest = after
                    changed = true
                }
            }
            // (6) "[fwd:" subject "]": unwrap and start again.
            if rest.count >= 6, String(rest.prefix(5)).lowercased() == "[fwd:", rest.last == "]" {
                rest = rest.dropFirst(5).dropLast()
                continue
            }
            break
        }
        return String(rest)
    }

    /// `subj-blob = "[" *BLOBCHAR "]" *WSP`; the text after it, or nil.
    private static func removingBlob(_ text: ArraySlice<Character>) -> ArraySlice<Character>? {
        guard text.first == "[" else { return nil }
        var index = text.startIndex + 1
        while index < text.endIndex, text[index] != "]" {
            if text[index] == "[" { return nil }
            index += 1
        }
        guard index < text.endIndex else { return nil }
        index += 1
        while index < text.endIndex, text[index] == " " { index += 1 }
        return text[index...]
    }

    /// `subj-leader = (*subj-blob subj-refwd) / WSP`, `subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"`.
    private static func removingLeader(_ text: ArraySlice<Character>) -> ArraySlice<Character>? {
        var rest = text
        while let afterBlob = removingBlob(rest) { rest = afterBlob }
        let lower = String(rest.prefix(3)).lowercased()
        var index = rest.startIndex
        if lower.hasPrefix("re") {
            index += 2
        } else if lower.hasPrefix("fwd") {
            index += 3
        } else if lower.hasPrefix("fw") {
            index += 2
        } else {
            return nil
        }
        while index < rest.endIndex, rest[index] == " " { index += 1 }
        if index < rest.endIndex, rest[index] == "[", let afterBlob = removingBlob(rest[index...]) {
            index = afterBlob.startIndex
        }
        guard index < rest.endIndex, rest[index] == ":" else { return nil }
        return rest[(index + 1)...]
    }
}
