// SMTP replies (RFC 5321 §4.2) with enhanced status codes (RFC 3463, RFC 2034): encoding for the server side,
// incremental parsing for the client side (the outbound queue, tests).

/// An RFC 3463 enhanced status code, `class.subject.detail` (`5.1.1`).
public struct EnhancedStatus: Sendable, Hashable, CustomStringConvertible {
    public let statusClass: Int
    public let subject: Int
    public let detail: Int

    public init(_ statusClass: Int, _ subject: Int, _ detail: Int) {
        self.statusClass = statusClass
        self.subject = subject
        self.detail = detail
    }

    /// Parses `2.1.0` style text; nil unless it is three dot-separated numbers with a class of 2, 4 or 5.
    public init?(parsing text: some StringProtocol) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isASCIIDigit) }),
              let statusClass = Int(parts[0]), [2, 4, 5].contains(statusClass),
              let subject = Int(parts[1]), let detail = Int(parts[2]) else { return nil }
        self.init(statusClass, subject, detail)
    }

    public var description: String { "\(statusClass).\(subject).\(detail)" }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

/// One reply: a three-digit code, an optional enhanced status and one or more lines of text.
public struct SMTPReply: Sendable, Equatable, Error, CustomStringConvertible {
    public var code: Int
    public var status: EnhancedStatus?
    public var lines: [String]

    public init(_ code: Int, _ status: EnhancedStatus?, _ lines: [String]) {
        precondition((200...599).contains(code), "SMTP reply codes are 2xx to 5xx")
        self.code = code
        self.status = status
        self.lines = lines.isEmpty ? [""] : lines
    }

    public init(_ code: Int, _ status: EnhancedStatus?, _ text: String) {
        self.init(code, status, [text])
    }

    /// 2xx and 3xx.
    public var isPositive: Bool { code < 400 }
    /// 4xx: try again later.
    public var isTransient: Bool { (400..<500).contains(code) }
    /// 5xx: do not retry.
    public var isPermanent: Bool { code >= 500 }

    /// The text of every line, joined with a space (for logs and bounces).
    public var text: String { lines.joined(separator: " ") }

    /// `550 5.1.1 text` on one line, or `250-first`…`250 last`. CR and LF inside a text line are replaced by spaces
    /// so a text taken from elsewhere (an address, a remote server's reply) cannot inject a reply line.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(lines.reduce(0) { $0 + $1.utf8.count + 12 })
        let prefix = status.map { "\($0) " } ?? ""
        for (index, line) in lines.enumerated() {
            out.append(contentsOf: String(code).utf8)
            out.append(index == lines.count - 1 ? UInt8(ascii: " ") : UInt8(ascii: "-"))
            out.append(contentsOf: prefix.utf8)
            for byte in line.utf8 {
                out.append(byte == 13 || byte == 10 ? UInt8(ascii: " ") : byte)
            }
            out.append(contentsOf: [13, 10])
        }
        return out
    }

    public var description: String {
        lines.enumerated().map { "\(code)\($0.offset == lines.count - 1 ? " " : "-")\(status.map { "\($0) " } ?? "")\($0.element)" }
            .joined(separator: "\n")
    }
}

/// Reads replies line by line (client side). Lines arrive without CRLF.
public struct SMTPReplyParser: Sendable {
    public enum ParseError: Error, Equatable, Sendable {
        /// The line does not start with a reply code, or a continuation changed the code.
        case malformed(String)
        /// More continuation lines than anyone sends (a server feeding us forever).
        case tooManyLines
    }

    private var code: Int?
    private var lines: [String] = []
    public var maxLines = 1000

    public init() {}

    /// Feeds one line; returns the reply once its last line has arrived.
    public mutating func feed(_ line: [UInt8]) throws(ParseError) -> SMTPReply? {
        let text = String(decoding: line, as: UTF8.self)
        let bytes = Array(line.prefix(4))
        guard bytes.count >= 3, bytes[0...2].allSatisfy({ (0x30...0x39).contains($0) }),
              let lineCode = Int(String(decoding: bytes[0...2], as: UTF8.self)), (200...599).contains(lineCode) else {
            throw .malformed(text)
        }
        if let code, code != lineCode { throw .malformed(text) }
        code = lineCode
        let separator = bytes.count > 3 ? bytes[3] : UInt8(ascii: " ")
        guard separator == UInt8(ascii: " ") || separator == UInt8(ascii: "-") else { throw .malformed(text) }
        // Bytes, not Characters: a combining mark after the separator must not merge with it.
        lines.append(line.count > 4 ? String(decoding: line[4...], as: UTF8.self) : "")
        guard lines.count <= maxLines else { throw .tooManyLines }
        guard separator == UInt8(ascii: " ") else { return nil }

        defer {
            code = nil
            lines = []
        }
        // The enhanced code, when the first word of every line is one whose class matches the reply's.
        var status: EnhancedStatus?
        var texts = lines
        /// The first word of a line and the rest after its space, split on the space byte.
        func split(_ line: String) -> (head: String, rest: String?) {
            let bytes = Array(line.utf8)
            guard let space = bytes.firstIndex(of: UInt8(ascii: " ")) else { return (line, nil) }
            return (String(decoding: bytes[..<space], as: UTF8.self), String(decoding: bytes[(space + 1)...], as: UTF8.self))
        }
        if let first = lines.first, let parsed = EnhancedStatus(parsing: split(first).head), parsed.statusClass == lineCode / 100 {
            status = parsed
            texts = lines.map { line in
                let (head, rest) = split(line)
                return EnhancedStatus(parsing: head) == parsed ? rest ?? "" : line
            }
        }
        return SMTPReply(lineCode, status, texts)
    }
}
