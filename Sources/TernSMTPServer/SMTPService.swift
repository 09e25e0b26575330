// The SMTP services: what every session of one listener shares, and the factory the event loops call for each
// connection. Two modes share one session type: submission (587/465: AUTH required, senders checked, mail for
// anywhere) and inbound (25: mail from the internet for our own domains only, no AUTH, no relaying).

public import Logging
public import TernAuth
public import TernCore
public import TernSMTPCore

public enum SMTPMode: String, Sendable {
    /// RFC 6409 message submission: STARTTLS before AUTH, AUTH before MAIL, senders the account owns.
    case submission
    /// RFC 5321 relay-to-us: local recipients only.
    case inbound
}

public struct SMTPConfiguration: Sendable {
    /// The greeting, EHLO reply, Received headers and generated Message-IDs use it.
    public var hostname = "localhost"
    public var limits = SMTPLimits.default
    /// RFC 5321 §4.5.3.2.7: a server waits at least 5 minutes for the next command (and for each data block).
    public var commandTimeout: Duration = .seconds(300)
    /// Submission: leave the client's address and EHLO name out of the Received header (user privacy).
    public var hideClientAddress = false
    /// Submission: also store a copy of each sent message in the sender's Sent mailbox (most mail programs append
    /// it themselves, so this is off by default).
    public var saveSentCopy = false
    public init() {}
}

/// Where mail for other domains goes: the outbound queue (implemented by the daemon over `TernQueue`).
public protocol OutboundSpool: Sendable {
    /// Stores the message durably for remote delivery and returns the queue id. Blocking (fsync).
    func enqueue(_ envelope: MailEnvelope, message: [UInt8]) throws -> String
    /// Tells `envelope`'s sender that `failures` could not be delivered after the message was accepted (a DSN).
    /// Blocking.
    func bounce(_ envelope: MailEnvelope, failures: [(EnvelopeRecipient, SMTPReply)], message: [UInt8])
}

/// Shared by every session of the SMTP listeners.
public final class SMTPEnvironment: Sendable {
    public let configuration: SMTPConfiguration
    public let authenticator: Authenticator
    public let delivery: LocalDelivery
    public let spool: (any OutboundSpool)?
    public let logger: Logger

    public init(configuration: SMTPConfiguration, authenticator: Authenticator, delivery: LocalDelivery,
                spool: (any OutboundSpool)?, logger: Logger) {
        self.configuration = configuration
        self.authenticator = authenticator
        self.delivery = delivery
        self.spool = spool
        self.logger = logger
    }
}

public struct SMTPService: ConnectionHandlerFactory {
    let environment: SMTPEnvironment
    let mode: SMTPMode

    public init(environment: SMTPEnvironment, mode: SMTPMode) {
        self.environment = environment
        self.mode = mode
    }

    public func makeHandler() -> any ConnectionHandler { SMTPSession(environment: environment, mode: mode) }

    public func refusal(_ reason: ConnectionRefusal) -> [UInt8]? {
        let hostname = environment.configuration.hostname
        switch reason {
        case .shuttingDown: return SMTPReply(421, EnhancedStatus(4, 3, 2), "\(hostname) Server shutting down").encoded()
        case .tooManyConnections, .tooManyConnectionsFromAddress:
            return SMTPReply(421, EnhancedStatus(4, 7, 0), "\(hostname) Too many connections, try again later").encoded()
        }
    }
}
