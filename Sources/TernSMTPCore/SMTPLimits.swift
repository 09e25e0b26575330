// Every size an SMTP client controls, as one named limit each (STYLE.md §4).

public struct SMTPLimits: Sendable, Equatable {
    /// The longest command line without CRLF. RFC 5321 §4.5.3.1.4 asks for at least 512; AUTH initial responses
    /// may be 12,288 (RFC 4954 §4), so that is the floor here.
    public var maxCommandLine: Int
    /// Recipients in one transaction (RFC 5321 §4.5.3.1.8 asks for at least 100).
    public var maxRecipients: Int
    /// The largest message, advertised with SIZE (RFC 1870) and enforced while the data streams in.
    public var maxMessageSize: Int
    /// Commands that are not MAIL/RCPT/DATA/BDAT (NOOP, RSET, HELP, VRFY, errors…) before the session is closed,
    /// so a connection cannot be held forever by a client that does nothing useful.
    public var maxJunkCommands: Int

    public init(maxCommandLine: Int = 12_288 + 64, maxRecipients: Int = 1000, maxMessageSize: Int = 50 * 1024 * 1024,
                maxJunkCommands: Int = 100) {
        self.maxCommandLine = maxCommandLine
        self.maxRecipients = maxRecipients
        self.maxMessageSize = maxMessageSize
        self.maxJunkCommands = maxJunkCommands
    }

    public static let `default` = SMTPLimits()
}

/// Dot-stuffing for sending DATA (RFC 5321 §4.5.2): line endings made CRLF, a dot doubled at the start of each
/// line, the content ended with CRLF if it was not, and the terminating `.CRLF` appended.
public enum DotStuffing {
    public static func encode(_ message: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(message.count + message.count / 64 + 5)
        var atLineStart = true
        var index = 0
        while index < message.count {
            let byte = message[index]
            if atLineStart && byte == UInt8(ascii: ".") { out.append(UInt8(ascii: ".")) }
            if byte == UInt8(ascii: "\n") {
                if out.last != UInt8(ascii: "\r") { out.append(UInt8(ascii: "\r")) }
                out.append(byte)
                atLineStart = true
            } else {
                out.append(byte)
                atLineStart = false
            }
            index += 1
        }
        if !atLineStart || out.isEmpty { out.append(contentsOf: [13, 10]) }
        if out == [13, 10] && message.isEmpty { out = [] }
        out.append(contentsOf: Array(".\r\n".utf8))
        return out
    }
}
