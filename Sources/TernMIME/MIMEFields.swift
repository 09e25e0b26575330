// RFC 2045 structured MIME fields: Content-Type (§5), Content-Disposition (RFC 2183) and their parameters, with
// RFC 2231 continuations, charsets and languages.
//
// Parameters are kept twice over: `parameters` holds them as Dovecot renders them in BODYSTRUCTURE
// (continuations joined, a name ending in `*` when any piece was extended, value still %-encoded), and
// `parameter(_:)` gives the decoded value for people and search.

/// One `attribute=value` parameter as it goes into BODYSTRUCTURE: lower-cased name, value as written.
public struct MIMEParameter: Sendable, Equatable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// A parameter list (Content-Type or Content-Disposition).
public struct MIMEParameters: Sendable, Equatable {
    /// For BODYSTRUCTURE: RFC 2231 continuations joined (`title*` with its charset'language' prefix kept).
    public var rendered: [MIMEParameter]
    /// Decoded values by lower-cased name (RFC 2231 charsets converted, continuations joined).
    var decoded: [(name: String, value: String)]

    public static let empty = MIMEParameters(rendered: [], decoded: [])

    public static func == (lhs: MIMEParameters, rhs: MIMEParameters) -> Bool {
        lhs.rendered == rhs.rendered && lhs.decoded.map(\.name) == rhs.decoded.map(\.name)
            && lhs.decoded.map(\.value) == rhs.decoded.map(\.value)
    }

    /// The decoded value of parameter `name` (any case), RFC 2231 or plain; nil if absent.
    public func parameter(_ name: String) -> String? {
        let key = name.lowercased()
        return decoded.first { $0.name == key }?.value
    }

    var isEmpty: Bool { rendered.isEmpty }
}

/// `Content-Type: type/subtype; params` (RFC 2045 §5.1), with lower-cased type and subtype.
public struct ContentType: Sendable, Equatable {
    public var type: String
    public var subtype: String
    public var parameters: MIMEParameters

    public init(type: String, subtype: String, parameters: MIMEParameters = .empty) {
        self.type = type
        self.subtype = subtype
        self.parameters = parameters
    }

    /// RFC 2045 §5.2: text/plain; charset=us-ascii.
    public static let defaultText = ContentType(type: "text", subtype: "plain")
    /// RFC 2046 §5.1.5: the default in multipart/digest.
    public static let defaultDigestPart = ContentType(type: "message", subtype: "rfc822")

    public var isMultipart: Bool { type == "multipart" }
    /// message/rfc822 or message/global (RFC 6532 §3.5): a part holding a whole message.
    public var isMessage: Bool { type == "message" && (subtype == "rfc822" || subtype == "global") }
    public var isText: Bool { type == "text" }

    /// Parses a Content-Type value; nil when it has no `type/subtype` (RFC 2045 §5.2 then says use the default).
    public static func parse(_ value: some Collection<UInt8>) -> ContentType? {
        var scanner = MIMETokenScanner(Array(value))
        guard case .token(let type)? = scanner.next(), case .special(UInt8(ascii: "/"))? = scanner.next(),
            case .token(let subtype)? = scanner.next()
        else { return nil }
        return ContentType(type: type.lowercased(), subtype: subtype.lowercased(), parameters: scanner.parameters())
    }
}

/// `Content-Disposition: inline|attachment; params` (RFC 2183).
public struct ContentDisposition: Sendable, Equatable {
    /// The disposition type as written (BODYSTRUCTURE shows it so).
    public var type: String
    public var parameters: MIMEParameters

    public static func parse(_ value: some Collection<UInt8>) -> ContentDisposition? {
        var scanner = MIMETokenScanner(Array(value))
        guard case .token(let type)? = scanner.next() else { return nil }
        return ContentDisposition(type: type, parameters: scanner.parameters())
    }
}

/// Content-Language (RFC 3282): a comma-separated list of language tags.
func parseLanguages(_ value: some Collection<UInt8>) -> [String] {
    var scanner = MIMETokenScanner(Array(value))
    var tags: [String] = []
    while let token = scanner.next() {
        if case .token(let tag) = token { tags.append(tag) }
    }
    return tags
}

/// RFC 2045 §5.1 lexical tokens with CFWS skipped: `token`, `quoted-string` and tspecials.
struct MIMETokenScanner {
    enum Token: Equatable {
        case token(String)
        case quoted(String)
        case special(UInt8)
    }

    private let bytes: [UInt8]
    private var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// tspecials (RFC 2045 §5.1), which end a token.
    private static func isSpecial(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "@"),
            UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: ":"), UInt8(ascii: "\\"), UInt8(ascii: "\""),
            UInt8(ascii: "/"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "?"), UInt8(ascii: "="):
            return true
        default: return false
        }
    }

    mutating func skipWhitespaceAndComments() {
        while index < bytes.count {
            let byte = bytes[index]
            if ASCII.isLinearWhitespace(byte) {
                index += 1
            } else if byte == ASCII.openParen {
                // Nested comments (RFC 5322 §3.2.2), quoted-pairs inside; an unclosed one runs to the end.
                var depth = 0
                while index < bytes.count {
                    let current = bytes[index]
                    if current == ASCII.backslash {
                        index += 2
                        continue
                    }
                    if current == ASCII.openParen { depth += 1 }
                    if current == ASCII.closeParen {
                        depth -= 1
                        if depth == 0 {
                            index += 1
                            break
                        }
                    }
                    index += 1
                }
                index = min(index, bytes.count)
            } else {
                return
            }
        }
    }

    mutating func next() -> Token? {
        skipWhitespaceAndComments()
        guard index < bytes.count else { return nil }
        let byte = bytes[index]
        if byte == ASCII.quote {
            index += 1
            var content: [UInt8] = []
            while index < bytes.count, bytes[index] != ASCII.quote {
                if bytes[index] == ASCII.backslash, index + 1 < bytes.count { index += 1 }
                if bytes[index] != ASCII.cr && bytes[index] != ASCII.lf { content.append(bytes[index]) }
                index += 1
            }
            index = min(index + 1, bytes.count)
            return .quoted(headerString(content))
        }
        if Self.isSpecial(byte) {
            index += 1
            return .special(byte)
        }
        let start = index
        while index < bytes.count, !Self.isSpecial(bytes[index]), !ASCII.isLinearWhitespace(bytes[index]),
            bytes[index] > 0x1f, bytes[index] != 0x7f
        {
            index += 1
        }
        if index == start {
            // A control character: skip it as a special so the scan always advances.
            index += 1
            return .special(byte)
        }
        return .token(headerString(bytes[start..<index]))
    }

    /// `*(";" parameter)` up to the end; malformed parameters are skipped up to the next `;`.
    mutating func parameters() -> MIMEParameters {
        var raw: [(name: String, value: String)] = []
        var state: (name: String?, sawEquals: Bool) = (nil, false)
        while let token = next() {
            switch token {
            case .special(ASCII.semicolon):
                state = (nil, false)
            case .special(ASCII.equals):
                if state.name != nil { state.sawEquals = true }
            case .token(let text), .quoted(let text):
                if let name = state.name {
                    if state.sawEquals {
                        raw.append((name, text))
                        state = (nil, false)
                    }
                } else if case .token = token {
                    state = (text.lowercased(), false)
                }
            case .special:
                break
            }
            if raw.count >= 1_000 { break }
        }
        return RFC2231.merge(raw)
    }
}

/// RFC 2231 parameter value continuations (§3), charset and language (§4).
enum RFC2231 {
    private struct Piece {
        var number: Int
        var isExtended: Bool
        var value: String
    }

    static func merge(_ raw: [(name: String, value: String)]) -> MIMEParameters {
        // Base name → pieces, in first-seen order of base names.
        var order: [String] = []
        var pieces: [String: [Piece]] = [:]
        var plain: [String: String] = [:]
        for (name, value) in raw {
            guard let star = name.firstIndex(of: "*") else {
                if plain[name] == nil, pieces[name] == nil {
                    plain[name] = value
                    order.append(name)
                }
                continue
            }
            let base = String(name[..<star])
            var rest = name[name.index(after: star)...]
            let isExtended = rest.hasSuffix("*") || rest.isEmpty
            if rest.hasSuffix("*") { rest = rest.dropLast() }
            let number: Int
            if rest.isEmpty {
                number = 0
            } else if let parsed = Int(rest), parsed >= 0, parsed < 10_000 {
                number = parsed
            } else {
                continue
            }
            if plain[base] != nil { continue }
            if pieces[base] == nil {
                order.append(base)
                pieces[base] = []
            }
            if pieces[base]!.contains(where: { $0.number == number }) { continue }
            pieces[base]!.append(Piece(number: number, isExtended: isExtended, value: value))
        }

        var rendered: [MIMEParameter] = []
        var decoded: [(name: String, value: String)] = []
        for name in order {
            if let value = plain[name] {
                rendered.append(MIMEParameter(name: name, value: value))
                // Not RFC 2047 (§5 forbids encoded words in quoted strings), but common mailers write
                // filename="=?UTF-8?B?...?=" and every reader decodes it.
                decoded.append((name, value.contains("=?") ? EncodedWords.decode(Array(value.utf8)) : value))
                continue
            }
            let sorted = pieces[name]!.sorted { $0.number < $1.number }
            let anyExtended = sorted.contains { $0.isExtended }
            if !anyExtended {
                let value = sorted.map(\.value).joined()
                rendered.append(MIMEParameter(name: name, value: value))
                decoded.append((name, value))
                continue
            }
            // Extended: the first piece may carry charset'language'; unextended pieces are literal text.
            var charset = "us-ascii"
            var renderedValue = ""
            var bytes: [UInt8] = []
            for (position, piece) in sorted.enumerated() {
                var text = Substring(piece.value)
                if position == 0, piece.isExtended {
                    let parts = text.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
                    if parts.count == 3 {
                        charset = parts[0].isEmpty ? "us-ascii" : String(parts[0])
                        renderedValue += "\(parts[0])'\(parts[1])'"
                        text = parts[2]
                    }
                }
                if piece.isExtended {
                    renderedValue += text
                    bytes += percentDecode(text.utf8)
                } else {
                    renderedValue += percentEncode(text.utf8)
                    bytes += text.utf8
                }
            }
            rendered.append(MIMEParameter(name: name + "*", value: renderedValue))
            decoded.append((name, Charset.decode(bytes, charset: charset) ?? headerString(bytes)))
        }
        return MIMEParameters(rendered: rendered, decoded: decoded)
    }

    private static func percentDecode(_ text: some Collection<UInt8>) -> [UInt8] {
        let bytes = Array(text)
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count,
                let high = ASCII.hexValue(bytes[index + 1]), let low = ASCII.hexValue(bytes[index + 2])
            {
                output.append(high << 4 | low)
                index += 3
            } else {
                output.append(bytes[index])
                index += 1
            }
        }
        return output
    }

    private static func percentEncode(_ text: some Collection<UInt8>) -> String {
        var output = ""
        for byte in text {
            let isAttributeChar = byte > 0x20 && byte < 0x7f && !"*'%()<>@,;:\\\"/[]?=".utf8.contains(byte)
            if isAttributeChar {
                output.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = Array("0123456789ABCDEF".utf8)
                output += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 15)]], as: UTF8.self)
            }
        }
        return output
    }
}
