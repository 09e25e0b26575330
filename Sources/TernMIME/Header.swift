// RFC 5322 §2.2 header fields over the message's bytes. Fields are ranges into the source; nothing is copied.
//
// Tolerated, as mail in the wild needs: bare LF line ends, whitespace between a field name and its colon
// (RFC 5322 §4.5 obs-optional), 8-bit bytes anywhere, lines without a colon (kept in the header, not fields),
// a header that runs to the end of the part without a blank line (the body is then empty).

/// One header field: where it is in the source and how to read it.
public struct HeaderField: Sendable, Equatable {
    /// The whole field: name, colon, value with its folding, and the final line end.
    public let range: Range<Int>
    /// The field name as written (without trailing whitespace), e.g. "Subject".
    public let name: String
    /// The raw value: after the colon up to (not including) the final line end, folding line ends included.
    public let valueRange: Range<Int>

    /// Case-insensitive comparison with a field name.
    public func hasName(_ other: String) -> Bool {
        guard name.utf8.count == other.utf8.count else { return false }
        // Field names are ASCII (RFC 5322 §2.2): compare bytes, folding A-Z; anything else the general way.
        guard name.utf8.allSatisfy({ $0 < 0x80 }), other.utf8.allSatisfy({ $0 < 0x80 }) else {
            return name.lowercased() == other.lowercased()
        }
        return name.utf8.elementsEqual(other.utf8) { a, b in a == b || (a | 0x20 == b | 0x20 && (a | 0x20) &- 0x61 < 26) }
    }
}

/// A part's header: its fields, in message order.
public struct MessageHeader: Sendable {
    let source: [UInt8]
    /// The fields, at most `MIMELimits.maxHeaderFieldsPerPart` of them.
    public let fields: [HeaderField]

    /// All fields called `name` (any case), in message order.
    public func fields(named name: String) -> [HeaderField] { fields.filter { $0.hasName(name) } }

    /// The raw value bytes of `field`, folding and all.
    public func rawValue(of field: HeaderField) -> ArraySlice<UInt8> { source[field.valueRange] }

    /// The first `name` field's value unfolded and trimmed, not decoded; nil if there is no such field.
    public func unfoldedValue(_ name: String) -> [UInt8]? {
        guard let field = fields.first(where: { $0.hasName(name) }) else { return nil }
        return Array(unfold(source[field.valueRange]).trimmingLinearWhitespace())
    }

    /// The last `name` field's value unfolded and trimmed (Dovecot's ENVELOPE takes the last one).
    func lastUnfoldedValue(_ name: String) -> [UInt8]? {
        guard let field = fields.last(where: { $0.hasName(name) }) else { return nil }
        return Array(unfold(source[field.valueRange]).trimmingLinearWhitespace())
    }

    /// The first `name` field's value for display and search: unfolded, RFC 2047 encoded words decoded, trimmed.
    public func decodedValue(_ name: String) -> String? {
        unfoldedValue(name).map { EncodedWords.decode($0) }
    }

    /// The top-level header of a message, without parsing its body (SMTP looks at From:, Date:, Message-ID:);
    /// `bodyStart` is where the body begins (after the blank line, or the end when there is none).
    public static func parse(_ bytes: [UInt8], limits: MIMELimits = .default) -> (header: MessageHeader, bodyStart: Int) {
        let (fields, bodyStart) = HeaderParser.parse(bytes, in: 0..<bytes.count, maxFields: limits.maxHeaderFieldsPerPart)
        return (MessageHeader(source: bytes, fields: fields), bodyStart)
    }

    /// All `name` fields' decoded values, in message order.
    public func decodedValues(_ name: String) -> [String] {
        fields(named: name).map { EncodedWords.decode(Array(unfold(source[$0.valueRange]).trimmingLinearWhitespace())) }
    }
}

enum HeaderParser {
    /// Parses the header starting at `range.lowerBound`. Returns the fields and where the body starts (after
    /// the blank line, or `range.upperBound` when there is none).
    static func parse(_ source: [UInt8], in range: Range<Int>, maxFields: Int) -> (fields: [HeaderField], bodyStart: Int) {
        var fields: [HeaderField] = []
        var position = range.lowerBound
        let end = range.upperBound
        // The field being collected: its start, and where its name ends (colon index), if it had one.
        var current: (start: Int, colon: Int)?

        func finish(at fieldEnd: Int, valueEnd: Int) {
            guard let field = current else { return }
            current = nil
            guard fields.count < maxFields else { return }
            var nameEnd = field.colon
            while nameEnd > field.start, ASCII.isWhitespace(source[nameEnd - 1]) { nameEnd -= 1 }
            let name = headerString(source[field.start..<nameEnd])
            fields.append(HeaderField(range: field.start..<fieldEnd, name: name, valueRange: (field.colon + 1)..<valueEnd))
        }

        var previousValueEnd = position
        while position < end {
            // One physical line: [position, lineEnd) without its line end, next is the following line.
            var lineEnd = position
            while lineEnd < end, source[lineEnd] != ASCII.lf { lineEnd += 1 }
            let next = lineEnd < end ? lineEnd + 1 : end
            let contentEnd = lineEnd > position && source[lineEnd - 1] == ASCII.cr ? lineEnd - 1 : lineEnd
            if contentEnd == position && lineEnd < end {
                // The blank line: the header ends, the body starts after it.
                finish(at: position, valueEnd: previousValueEnd)
                return (fields, next)
            }
            if ASCII.isWhitespace(source[position]), current != nil {
                previousValueEnd = contentEnd
            } else {
                finish(at: position, valueEnd: previousValueEnd)
                if let colon = source[position..<contentEnd].firstIndex(of: ASCII.colon) {
                    current = (position, colon)
                }
                previousValueEnd = contentEnd
            }
            position = next
        }
        finish(at: end, valueEnd: previousValueEnd)
        return (fields, end)
    }
}
