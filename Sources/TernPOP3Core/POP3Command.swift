// POP3 commands as values (RFC 1939 and the extensions Tern offers: CAPA RFC 2449, STLS RFC 2595, AUTH RFC 5034).
// One case per command; which command is allowed in which state is the session's business.

/// A message number of the maildrop (RFC 1939 §3): 1 is the first message of the session's listing. Its own type,
/// never a bare integer in an API.
public struct POP3MessageNumber: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: Int
    public init(_ rawValue: Int) { self.rawValue = rawValue }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { String(rawValue) }
}

public enum POP3Command: Equatable, Sendable {
    /// RFC 2449 §5: the capability list (any state).
    case capa
    /// RFC 2595 §4: start TLS (AUTHORIZATION state, plaintext listener only).
    case stls
    /// RFC 1939 §7: the mailbox name for USER/PASS.
    case user(String)
    /// RFC 1939 §7: the password, the rest of the line (it may contain spaces). A secret: never log it.
    case pass(String)
    /// RFC 5034 §4: SASL authentication. No mechanism: list the mechanisms (a common client probe). The initial
    /// response is base64 as sent (`=` is an empty one).
    case auth(mechanism: String?, initialResponse: [UInt8]?)
    /// RFC 1939 §6 (AUTHORIZATION: end; TRANSACTION: enter the UPDATE state).
    case quit
    /// RFC 1939 §5: number of messages and their total size.
    case stat
    /// RFC 1939 §5: one message's size, or every message's.
    case list(POP3MessageNumber?)
    /// RFC 1939 §7: one message's unique id, or every message's.
    case uidl(POP3MessageNumber?)
    /// RFC 1939 §5: the whole message.
    case retr(POP3MessageNumber)
    /// RFC 1939 §7: the header, the blank line and the first `lines` lines of the body.
    case top(POP3MessageNumber, lines: Int)
    /// RFC 1939 §5: mark a message deleted (removed in the UPDATE state).
    case dele(POP3MessageNumber)
    /// RFC 1939 §5.
    case noop
    /// RFC 1939 §5: unmark every message marked deleted.
    case rset
}

/// Every size a POP3 client controls, one named limit each.
public enum POP3Limits {
    /// RFC 2449 §4: a command is at most 255 octets including the CRLF, so 253 without it.
    public static let maxCommandLine = 253
    /// A SASL response line (RFC 5034 §4 sets no limit; PLAIN with a 1,024-byte password fits with room to spare).
    public static let maxAuthResponseLine = 12_288
    /// Message numbers and TOP line counts above this are refused as out of range (RFC 1939 §3: 1*DIGIT).
    public static let maxNumber = Int(Int32.max)
}

/// Why a line is not a command; `text` goes after `-ERR `.
public struct POP3ParseError: Error, Sendable, Equatable {
    public let text: String
    public init(_ text: String) { self.text = text }
}
