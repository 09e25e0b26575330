// The MIME tree of one message (RFC 2045–2049), as byte ranges into the message's bytes. Bodies are never copied:
// every part shares the one `[UInt8]` and knows its header and body ranges.
//
// Invariants:
// - Parsing never fails and never traps: anything malformed degrades to something renderable (see MIMELimits).
// - Recursion depth is bounded by `MIMELimits.maxNestingDepth`; work is at most that depth times the size.
// - A multipart part's children lie inside its body; a message/rfc822 part's `encapsulated` message is its body.
// - Sizes and line counts are of the raw bytes as stored (CRLF or bare LF), so they match the section bytes.

/// What a part holds.
public enum PartContent: Sendable {
    /// A leaf: text, image, application, ... (or a multipart/message part kept opaque: see `isOpaque`).
    case single
    /// A multipart's body parts (RFC 2046 §5.1), at least zero: a multipart without any boundary line has none.
    case multipart([MessagePart])
    /// A message/rfc822 or message/global part's embedded message (RFC 2046 §5.2.1).
    case message(MessagePart)
}

/// One MIME part, or the whole message (the root), over the message's bytes.
public final class MessagePart: Sendable {
    /// The whole message's bytes, shared by every part.
    public let source: [UInt8]
    /// The part: its MIME header and body.
    public let range: Range<Int>
    /// The header including the blank line that ends it (empty for a part without header).
    public let headerRange: Range<Int>
    /// The body (content), as encoded.
    public let bodyRange: Range<Int>
    public let header: MessageHeader
    /// The Content-Type in effect: the header's, or the default (text/plain, or message/rfc822 in a digest).
    public let contentType: ContentType
    /// Whether the part had a usable Content-Type field (BODYSTRUCTURE adds charset=us-ascii only to defaults
    /// and to text types without one).
    public let hasContentTypeField: Bool
    public let transferEncoding: TransferEncoding
    /// The Content-Transfer-Encoding value as written (BODYSTRUCTURE shows it), nil if absent.
    public let transferEncodingName: String?
    public let disposition: ContentDisposition?
    /// Content-Language tags, nil if absent.
    public let languages: [String]?
    public let content: PartContent
    /// Number of line feeds in the body of a text or message part (Dovecot's count: a last line without line end
    /// is not counted); 0 for other parts.
    public let bodyLineCount: Int
    /// Nesting level: 0 for the message, +1 per multipart child or embedded message.
    public let depth: Int

    init(
        source: [UInt8], range: Range<Int>, headerRange: Range<Int>, bodyRange: Range<Int>, header: MessageHeader,
        contentType: ContentType, hasContentTypeField: Bool, transferEncodingName: String?,
        disposition: ContentDisposition?, languages: [String]?, content: PartContent, depth: Int
    ) {
        self.source = source
        self.range = range
        self.headerRange = headerRange
        self.bodyRange = bodyRange
        self.header = header
        self.contentType = contentType
        self.hasContentTypeField = hasContentTypeField
        self.transferEncodingName = transferEncodingName
        self.transferEncoding = TransferEncoding(headerValue: transferEncodingName ?? "")
        self.disposition = disposition
        self.languages = languages
        self.content = content
        // Only text and message parts report lines; not counting multipart bodies keeps deep nesting cheap.
        var lines = 0
        if contentType.isText || contentType.isMessage {
            for index in bodyRange where source[index] == ASCII.lf { lines += 1 }
        }
        self.bodyLineCount = lines
        self.depth = depth
    }

    /// The multipart's body parts; empty for anything else.
    public var children: [MessagePart] {
        if case .multipart(let parts) = content { return parts }
        return []
    }

    /// The embedded message of a message/rfc822 (or message/global) part.
    public var encapsulated: MessagePart? {
        if case .message(let message) = content { return message }
        return nil
    }

    /// A multipart or message part left unparsed (limits reached, no boundary parameter, or an encoded
    /// message/rfc822): BODYSTRUCTURE shows it as application/octet-stream.
    public var isOpaque: Bool {
        if case .single = content { return contentType.isMultipart || contentType.isMessage }
        return false
    }

    /// Header values that are plain strings in BODYSTRUCTURE: unfolded, trimmed, raw (Content-ID, ...).
    public var contentID: [UInt8]? { header.lastUnfoldedValue("Content-ID") }
    public var contentDescription: [UInt8]? { header.lastUnfoldedValue("Content-Description") }
    public var contentMD5: [UInt8]? { header.lastUnfoldedValue("Content-MD5") }
    public var contentLocation: [UInt8]? { header.lastUnfoldedValue("Content-Location") }

    public var bodyBytes: ArraySlice<UInt8> { source[bodyRange] }
    public var headerBytes: ArraySlice<UInt8> { source[headerRange] }
}

/// A parsed message: the bytes and the root of its part tree.
public struct MIMEMessage: Sendable {
    public let bytes: [UInt8]
    public let root: MessagePart

    /// Parses `bytes` once; never fails (see `MIMELimits` for what happens past the limits).
    public init(parsing bytes: [UInt8], limits: MIMELimits = .default) {
        var parser = MIMEParser(source: bytes, limits: limits)
        self.bytes = bytes
        self.root = parser.parsePart(range: 0..<bytes.count, defaultType: .defaultText, depth: 0)
    }
}

struct MIMEParser {
    let source: [UInt8]
    let limits: MIMELimits
    private var partCount = 0

    init(source: [UInt8], limits: MIMELimits) {
        self.source = source
        self.limits = limits
    }

    mutating func parsePart(range: Range<Int>, defaultType: ContentType, depth: Int) -> MessagePart {
        partCount += 1
        let (fields, bodyStart) = HeaderParser.parse(source, in: range, maxFields: limits.maxHeaderFieldsPerPart)
        let header = MessageHeader(source: source, fields: fields)
        let headerRange = range.lowerBound..<bodyStart
        let bodyRange = bodyStart..<range.upperBound

        let declared = header.lastUnfoldedValue("Content-Type").flatMap { ContentType.parse($0) }
        let contentType = declared ?? defaultType
        let encodingName = header.lastUnfoldedValue("Content-Transfer-Encoding").map { headerString($0) }
        let encoding = TransferEncoding(headerValue: encodingName ?? "")
        let mayNest = depth < limits.maxNestingDepth && partCount < limits.maxParts

        var content = PartContent.single
        if contentType.isMultipart, mayNest, let boundary = contentType.parameters.parameter("boundary"),
            !boundary.isEmpty
        {
            let childDefault: ContentType = contentType.subtype == "digest" ? .defaultDigestPart : .defaultText
            var children: [MessagePart] = []
            for childRange in Self.bodyParts(source, in: bodyRange, boundary: Array(boundary.utf8)) {
                if partCount >= limits.maxParts { break }
                children.append(parsePart(range: childRange, defaultType: childDefault, depth: depth + 1))
            }
            content = .multipart(children)
        } else if contentType.isMessage, mayNest, encoding == .sevenBit || encoding == .eightBit || encoding == .binary {
            content = .message(parsePart(range: bodyRange, defaultType: .defaultText, depth: depth + 1))
        }

        return MessagePart(
            source: source, range: range, headerRange: headerRange, bodyRange: bodyRange, header: header,
            contentType: contentType, hasContentTypeField: declared != nil, transferEncodingName: encodingName,
            disposition: header.lastUnfoldedValue("Content-Disposition").flatMap { ContentDisposition.parse($0) },
            languages: header.lastUnfoldedValue("Content-Language").map { parseLanguages($0) },
            content: content, depth: depth)
    }

    /// RFC 2046 §5.1.1: the body parts between `--boundary` lines. The line end before a delimiter belongs to the
    /// delimiter; the preamble (before the first) and epilogue (after `--boundary--`) are dropped. A missing close
    /// delimiter ends the last part at the end of the body. Trailing whitespace after a delimiter is allowed.
    static func bodyParts(_ source: [UInt8], in body: Range<Int>, boundary: [UInt8]) -> [Range<Int>] {
        var parts: [Range<Int>] = []
        var partStart: Int?
        var lineStart = body.lowerBound
        while lineStart < body.upperBound {
            var lineEnd = lineStart
            while lineEnd < body.upperBound, source[lineEnd] != ASCII.lf { lineEnd += 1 }
            let next = lineEnd < body.upperBound ? lineEnd + 1 : body.upperBound
            if let kind = delimiterKind(source, line: lineStart..<lineEnd, boundary: boundary) {
                if let start = partStart {
                    // The CRLF (or LF) before the delimiter is part of it.
                    var end = lineStart
                    if end > start, source[end - 1] == ASCII.lf { end -= 1 }
                    if end > start, source[end - 1] == ASCII.cr { end -= 1 }
                    parts.append(start..<max(start, end))
                }
                if kind == .close { return parts }
                partStart = next
            }
            lineStart = next
        }
        if let start = partStart { parts.append(start..<body.upperBound) }
        return parts
    }

    private enum DelimiterKind { case open, close }

    private static func delimiterKind(_ source: [UInt8], line: Range<Int>, boundary: [UInt8]) -> DelimiterKind? {
        let needed = 2 + boundary.count
        guard line.count >= needed, source[line.lowerBound] == ASCII.dash, source[line.lowerBound + 1] == ASCII.dash
        else { return nil }
        for (offset, byte) in boundary.enumerated() where source[line.lowerBound + 2 + offset] != byte { return nil }
        var index = line.lowerBound + needed
        if index + 2 <= line.upperBound, source[index] == ASCII.dash, source[index + 1] == ASCII.dash {
            return .close
        }
        while index < line.upperBound, ASCII.isLinearWhitespace(source[index]) { index += 1 }
        return index == line.upperBound ? .open : nil
    }
}
