// The POP3 service: what every session of the POP3 listeners (110 with STLS, 995 implicit TLS) shares — the
// configuration, the directory and its login checks, the open account stores and the maildrop locks — and the
// factory the event loops call for each new connection.

public import Logging
public import TernAuth
public import TernCore
import TernPOP3Core
public import TernStore
import Synchronization

public struct POP3Configuration: Sendable {
    /// Shown in the greeting and logs.
    public var hostname = "localhost"
    /// Before login: short, so idle probes do not hold connection slots.
    public var preLoginTimeout: Duration = .seconds(60)
    /// After login: RFC 1939 §3 asks for an inactivity autologout timer of at least 10 minutes.
    public var idleTimeout: Duration = .seconds(10 * 60)
    /// Bad commands in a row before the session is closed.
    public var maxBadCommands = 20
    public init() {}
}

/// RFC 1939 §8: "the POP3 server acquires an exclusive-access lock on the maildrop" after login. In process: one
/// POP3 session per account at a time over all POP3 listeners of this ternd (IMAP sessions are not locked out).
public final class MaildropLocks: Sendable {
    private let held = Mutex<Set<String>>([])

    public init() {}

    /// Takes the lock of `account`; false if another session holds it.
    public func lock(_ account: String) -> Bool {
        held.withLock { $0.insert(account).inserted }
    }

    public func unlock(_ account: String) {
        _ = held.withLock { $0.remove(account) }
    }

    public func isLocked(_ account: String) -> Bool { held.withLock { $0.contains(account) } }
}

/// Shared by every session of the POP3 listeners.
public final class POP3Environment: Sendable {
    public let configuration: POP3Configuration
    public let authenticator: Authenticator
    public let stores: StoreRegistry
    public let logger: Logger
    public let locks = MaildropLocks()

    public init(configuration: POP3Configuration, authenticator: Authenticator, stores: StoreRegistry, logger: Logger) {
        self.configuration = configuration
        self.authenticator = authenticator
        self.stores = stores
        self.logger = logger
    }
}

public struct POP3Service: ConnectionHandlerFactory {
    let environment: POP3Environment

    public init(environment: POP3Environment) { self.environment = environment }

    public func makeHandler() -> any ConnectionHandler { POP3Session(environment: environment) }

    public func refusal(_ reason: ConnectionRefusal) -> [UInt8]? {
        switch reason {
        case .shuttingDown: POP3Response.error(.sysTemp, "Server shutting down")
        case .tooManyConnections, .tooManyConnectionsFromAddress:
            POP3Response.error(.sysTemp, "Too many connections, try again later")
        }
    }
}
