// Each kind of number its own type (RFC 9051 §2.3.1): never a bare integer in a store API.

/// A mailbox's stable id in its account's index; also the name of its folder on disk.
public struct MailboxID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: Int64
    public init(_ rawValue: Int64) { self.rawValue = rawValue }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { String(rawValue) }
}

/// A message's UID in its mailbox (RFC 9051 §2.3.1.1): unique and strictly increasing for a UIDVALIDITY.
public struct UID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { String(rawValue) }
}

/// A mailbox's UIDVALIDITY (RFC 9051 §2.3.1.1): changes only when UIDs cannot be kept (reindex without them).
public struct UIDValidity: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }
    public var description: String { String(rawValue) }
}

/// A modification sequence (RFC 7162): every change in an account gets a higher one.
public struct ModSeq: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { String(rawValue) }
}

/// IMAP system flags (RFC 9051 §2.3.2) as stored, and their maildir letters.
public struct SystemFlags: OptionSet, Hashable, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public static let seen = SystemFlags(rawValue: 1)
    public static let answered = SystemFlags(rawValue: 2)
    public static let flagged = SystemFlags(rawValue: 4)
    public static let deleted = SystemFlags(rawValue: 8)
    public static let draft = SystemFlags(rawValue: 16)

    /// Maildir info letters in ASCII order (D, F, R, S, T), as the maildir spec requires.
    public var maildirLetters: String {
        var letters = ""
        if contains(.draft) { letters += "D" }
        if contains(.flagged) { letters += "F" }
        if contains(.answered) { letters += "R" }
        if contains(.seen) { letters += "S" }
        if contains(.deleted) { letters += "T" }
        return letters
    }

    public init(maildirLetters: some StringProtocol) {
        var flags: SystemFlags = []
        for letter in maildirLetters {
            switch letter {
            case "D": flags.insert(.draft)
            case "F": flags.insert(.flagged)
            case "R": flags.insert(.answered)
            case "S": flags.insert(.seen)
            case "T": flags.insert(.deleted)
            default: break
            }
        }
        self = flags
    }
}
