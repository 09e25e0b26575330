// The IMAP service: what every session of one listener shares (configuration, the directory and its login
// checks, the open account stores) and the factory the event loops call for each new connection.

public import Logging
public import TernAuth
public import TernCore
public import TernIMAPCore
public import TernStore

public struct IMAPConfiguration: Sendable {
    /// Shown in the greeting and logs.
    public var hostname: String = "localhost"
    public var limits: IMAPLimits = .default
    /// Before login (RFC 9051 §5.4 leaves it to the server; short, so idle probes do not hold slots).
    public var preLoginTimeout: Duration = .seconds(60)
    /// After login: at least 30 minutes (RFC 9051 §5.4); IDLE clients re-issue IDLE every 29 minutes.
    public var idleTimeout: Duration = .seconds(31 * 60)
    /// Sessions one account may have open at once (phones, laptops, mail programs open several each).
    public var maxSessionsPerAccount: Int = 50
    public init() {}
}

/// Shared by every session of the IMAP listeners.
public final class IMAPEnvironment: Sendable {
    public let configuration: IMAPConfiguration
    public let authenticator: Authenticator
    public let stores: StoreRegistry
    public let logger: Logger
    let sessionCounts = SessionCounter()

    public init(configuration: IMAPConfiguration, authenticator: Authenticator, stores: StoreRegistry, logger: Logger) {
        self.configuration = configuration
        self.authenticator = authenticator
        self.stores = stores
        self.logger = logger
    }
}

public struct IMAPService: ConnectionHandlerFactory {
    let environment: IMAPEnvironment

    public init(environment: IMAPEnvironment) { self.environment = environment }

    public func makeHandler() -> any ConnectionHandler { IMAPSession(environment: environment) }

    public func refusal(_ reason: ConnectionRefusal) -> [UInt8]? {
        switch reason {
        case .shuttingDown: Array("* BYE [UNAVAILABLE] Server shutting down\r\n".utf8)
        case .tooManyConnections, .tooManyConnectionsFromAddress:
            Array("* BYE [UNAVAILABLE] Too many connections, try again later\r\n".utf8)
        }
    }
}

import Synchronization

/// Open sessions per account, for the per-account limit.
final class SessionCounter: Sendable {
    private let counts = Mutex<[String: Int]>([:])

    /// Counts a new session unless the account is at `limit`.
    func enter(_ account: String, limit: Int) -> Bool {
        counts.withLock { counts in
            let current = counts[account, default: 0]
            guard current < limit else { return false }
            counts[account] = current + 1
            return true
        }
    }

    func leave(_ account: String) {
        counts.withLock { counts in
            let current = counts[account, default: 0]
            counts[account] = current > 1 ? current - 1 : nil
        }
    }
}
