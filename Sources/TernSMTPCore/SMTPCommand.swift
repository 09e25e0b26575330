// SMTP commands as values (RFC 5321 §4.1 and the extensions Tern offers: SIZE RFC 1870, 8BITMIME RFC 6152,
// SMTPUTF8 RFC 6531, CHUNKING RFC 3030, DSN RFC 3461, AUTH RFC 4954, STARTTLS RFC 3207).

/// `local-part@domain` as it appeared in a path, with a quoted local part kept quoted.
public struct SMTPMailbox: Sendable, Hashable, CustomStringConvertible {
    /// Dot-string, or a quoted string including its quotes.
    public let localPart: String
    /// A domain (lower-cased), or an address literal in brackets.
    public let domain: String

    public init(localPart: String, domain: String) {
        self.localPart = localPart
        self.domain = domain
    }

    public var description: String { "\(localPart)@\(domain)" }

    /// True if any part is outside ASCII (needs SMTPUTF8 on the way out, too).
    public var isInternationalized: Bool { !description.utf8.allSatisfy { $0 < 0x80 } }
}

/// MAIL FROM's path: `<>` (bounces, DSNs) or a mailbox.
public enum ReversePath: Sendable, Hashable, CustomStringConvertible {
    case null
    case mailbox(SMTPMailbox)

    public var description: String {
        switch self {
        case .null: ""
        case .mailbox(let mailbox): mailbox.description
        }
    }

    public var mailbox: SMTPMailbox? {
        if case .mailbox(let mailbox) = self { return mailbox }
        return nil
    }
}

/// RCPT TO's path: a mailbox, or the bare `<Postmaster>` every server must accept (RFC 5321 §4.5.1).
public enum ForwardPath: Sendable, Hashable, CustomStringConvertible {
    case postmaster
    case mailbox(SMTPMailbox)

    public var description: String {
        switch self {
        case .postmaster: "postmaster"
        case .mailbox(let mailbox): mailbox.description
        }
    }
}

/// The BODY parameter (RFC 6152, RFC 3030).
public enum BodyType: String, Sendable, Hashable {
    case sevenBit = "7BIT"
    case eightBitMIME = "8BITMIME"
    case binaryMIME = "BINARYMIME"
}

/// RET (RFC 3461 §4.3): what a DSN carries of the message.
public enum DSNReturn: String, Sendable, Hashable {
    case full = "FULL"
    case headers = "HDRS"
}

/// NOTIFY (RFC 3461 §4.1).
public struct DSNNotify: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let success = DSNNotify(rawValue: 1)
    public static let failure = DSNNotify(rawValue: 2)
    public static let delay = DSNNotify(rawValue: 4)
    /// NOTIFY=NEVER is the empty set; no NOTIFY at all is nil where it is stored.
    public static let never: DSNNotify = []

    /// The parameter value (`SUCCESS,FAILURE`, `NEVER`).
    public var parameterValue: String {
        if isEmpty { return "NEVER" }
        var parts: [String] = []
        if contains(.success) { parts.append("SUCCESS") }
        if contains(.failure) { parts.append("FAILURE") }
        if contains(.delay) { parts.append("DELAY") }
        return parts.joined(separator: ",")
    }
}

/// MAIL FROM parameters.
public struct MailParameters: Sendable, Hashable {
    public var size: Int?
    public var body: BodyType?
    public var smtpUTF8 = false
    public var ret: DSNReturn?
    /// ENVID, decoded from xtext.
    public var envelopeID: String?
    /// AUTH= (RFC 4954 §5): the submitter's identity as claimed by a relaying client, decoded; `<>` is nil.
    public var auth: String?
    public init() {}
}

/// RCPT TO parameters.
public struct RecipientParameters: Sendable, Hashable {
    public var notify: DSNNotify?
    /// ORCPT (RFC 3461 §4.2): address type (`rfc822`, `utf-8`) and the original recipient, decoded.
    public var originalRecipient: (type: String, address: String)?
    public init() {}

    public static func == (lhs: RecipientParameters, rhs: RecipientParameters) -> Bool {
        lhs.notify == rhs.notify && lhs.originalRecipient?.type == rhs.originalRecipient?.type
            && lhs.originalRecipient?.address == rhs.originalRecipient?.address
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(notify)
        hasher.combine(originalRecipient?.type)
        hasher.combine(originalRecipient?.address)
    }
}

public enum SMTPCommand: Sendable, Hashable {
    case helo(String)
    case ehlo(String)
    case mail(ReversePath, MailParameters)
    case rcpt(ForwardPath, RecipientParameters)
    case data
    /// BDAT chunk-size [LAST] (RFC 3030).
    case bdat(size: Int, last: Bool)
    case rset
    case noop
    case quit
    case startTLS
    /// AUTH mechanism [initial-response]; the response is the base64 text as sent (`=` for empty).
    case auth(mechanism: String, initialResponse: String?)
    case vrfy(String)
    case expn(String)
    case help
}
