// The values of the outbound queue: message ids, per-recipient states, what `list`/`show` return, and errors.

public import TernSMTPCore

/// A queued message's id: 16 lower-case hex digits, also the name of its file in `messages/`.
public struct QueueID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let rawValue: String

    /// Validates the text form (what an admin types for `ternctl queue show`); case-insensitive.
    public init?(_ text: String) {
        let lowered = text.lowercased()
        guard lowered.utf8.count == 16, lowered.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
        else { return nil }
        rawValue = lowered
    }

    /// A new random id.
    static func make() -> QueueID {
        var generator = SystemRandomNumberGenerator()
        let value = generator.next() as UInt64
        let hex = String(value, radix: 16)
        return QueueID(String(repeating: "0", count: 16 - hex.count) + hex)!
    }

    public var description: String { rawValue }
    public static func < (lhs: QueueID, rhs: QueueID) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Where one recipient of a queued message stands.
public enum RecipientState: String, Sendable, CaseIterable {
    /// Not delivered yet; tried again at `nextAttempt`.
    case pending
    /// Accepted by the remote server (2xx after DATA).
    case delivered
    /// Refused for good (5xx, null MX, unknown domain).
    case failed
    /// Still failing temporarily when `max_queue_days` ran out.
    case expired

    public var isFinal: Bool { self != .pending }
}

/// One recipient of a queued message, with its delivery history.
public struct QueuedRecipient: Sendable, Equatable {
    /// Position in the envelope (stable key within the message).
    public var position: Int
    public var mailbox: SMTPMailbox
    public var parameters: RecipientParameters
    public var state: RecipientState
    public var attempts: Int
    /// Unix seconds of the next try (meaningful while pending).
    public var nextAttempt: Int64
    public var lastAttempt: Int64?
    /// The last reply or error text (`451 4.3.0 try later`, `connection refused`…).
    public var lastReply: String?
    /// The enhanced status of the last outcome (`4.4.1`, `5.1.1`).
    public var status: String?
    /// The host that gave the last reply.
    public var remoteMTA: String?
}

/// A queued message: envelope, arrival, and every recipient.
public struct QueuedMessage: Sendable, Equatable {
    public var id: QueueID
    public var sender: ReversePath
    public var parameters: MailParameters
    public var size: Int
    /// Unix seconds when it was queued.
    public var arrival: Int64
    /// True once the delay warning DSN has been sent (or was not wanted).
    public var delayWarningSent: Bool
    public var recipients: [QueuedRecipient]

    public var pendingRecipients: [QueuedRecipient] { recipients.filter { $0.state == .pending } }

    /// The envelope as it was given to `enqueue`.
    public var envelope: MailEnvelope {
        MailEnvelope(sender: sender, parameters: parameters,
                     recipients: recipients.map { EnvelopeRecipient(mailbox: $0.mailbox, parameters: $0.parameters) })
    }
}

/// The result of one delivery attempt for one recipient.
public enum DeliveryOutcome: Sendable, Equatable {
    case delivered(reply: String, remoteMTA: String?)
    /// 4xx, a network error or a timeout: try again later.
    case temporary(reply: String, status: EnhancedStatus, remoteMTA: String?)
    /// 5xx or a destination that can never work.
    case permanent(reply: String, status: EnhancedStatus, remoteMTA: String?)

    public var text: String {
        switch self {
        case .delivered(let reply, _), .temporary(let reply, _, _), .permanent(let reply, _, _): reply
        }
    }

    public var remoteMTA: String? {
        switch self {
        case .delivered(_, let mta), .temporary(_, _, let mta), .permanent(_, _, let mta): mta
        }
    }
}

public enum QueueError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No message with this id is queued.
    case unknownMessage(QueueID)
    /// The envelope cannot be queued (no recipients…).
    case invalidEnvelope(String)
    /// A file or database operation failed; the text names the file and the cause.
    case storage(String)

    public var description: String {
        switch self {
        case .unknownMessage(let id): return "no queued message \(id)"
        case .invalidEnvelope(let why): return "cannot queue this message: \(why)"
        case .storage(let why): return "queue storage failed: \(why)"
        }
    }
}
