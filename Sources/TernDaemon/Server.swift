// The running server: TLS context, event loops, listeners and services built from a `TernConfig`. It knows
// nothing of signals or processes (see DaemonMain), so tests can run it in-process on port 0.

public import Logging
public import TernCore
public import TernPosix
public import TernTLS
public import TernAuth
public import TernStore
import TernIMAPCore
import TernIMAPServer
public import TernQueue
import TernMigration
import TernSMTPCore
import TernSMTPServer
import TernPOP3Server
import Glibc
import Synchronization

public final class Server: @unchecked Sendable {
    // Invariant: `config` and `listenerSettings` are mutated only by `start()` and `reload(_:)`, which the daemon
    // calls from its one control thread; `controlThreadCheck` traps if two run at once.
    public private(set) var config: TernConfig
    public let logger: Logger
    public let levelSwitch: LogLevelSwitch
    public private(set) var group: EventLoopGroup?
    public private(set) var tls: TLSServerTransportFactory?
    /// Bound addresses per service name (`imap`, `imaps`, `echo`, …), with real ports.
    public private(set) var boundAddresses: [String: [ListenAddress]] = [:]
    private var listenerSettings: [ListenerSettings] = []
    /// The account directory and the open mail stores, shared by every protocol.
    public private(set) var authenticator: Authenticator?
    public private(set) var stores: StoreRegistry?
    /// The outbound spool (`<data_dir>/queue`) and its delivery threads; SMTP sessions queue remote mail here.
    public private(set) var queue: MailQueue?
    public private(set) var queueRunner: QueueRunner?
    private var localDelivery: LocalDelivery?
    private let watching = RunFlag()
    private let controlThreadCheck = ControlGuard()

    public init(config: TernConfig, logger: Logger, levelSwitch: LogLevelSwitch) {
        self.config = config
        self.logger = logger
        self.levelSwitch = levelSwitch
    }

    /// Migration at first login, when `[migration] old_server` is set.
    private func firstLoginMigration(directory: Directory, stores: StoreRegistry) throws -> FirstLoginMigration? {
        guard let url = config.migration.oldServer else { return nil }
        var settings = FirstLoginSettings(server: try OldServer(url: url, plaintext: config.migration.plaintext))
        settings.caFile = config.migration.caFile
        settings.pinnedSHA256 = config.migration.fingerprint.flatMap(CertificateTrust.parseFingerprint)
        settings.loginIsLocalPart = config.migration.loginIsLocalPart
        settings.concurrency = config.migration.concurrency
        logger.info("migration at first login", metadata: ["server": "\(settings.server)"])
        return try FirstLoginMigration(settings: settings, directory: directory, stores: stores, policy: config.passwordPolicy,
                                       logger: logger)
    }

    /// Creates the data folder and TLS context, starts the loops and binds every listener.
    public func start() throws {
        try controlThreadCheck.run {
            try FileSystem.createDirectory(config.dataDirectory)
            let directory = try Directory(path: config.directoryPath)
            let journal = config.deliveryJournalMB > 0
                ? try DeliveryJournal.open(path: config.journalPath, capacityMB: config.deliveryJournalMB) : nil
            let registry = StoreRegistry(dataDirectory: config.dataDirectory, journal: journal)
            let authenticator = try Authenticator(directory: directory, throttle: AuthThrottle(policy: config.throttle),
                                                  provisioner: try firstLoginMigration(directory: directory, stores: registry))
            self.authenticator = authenticator
            stores = registry
            let delivery = LocalDelivery(directory: authenticator.directory, stores: registry, hostname: config.hostname,
                                         logger: logger)
            localDelivery = delivery
            try startQueue(delivery: delivery)
            // The retention purge: mail expunged longer ago than its account's retention goes for good.
            let purgeDirectory = authenticator.directory
            let purgeLogger = logger
            let defaultRetention = config.retentionDays
            let purgeInterval = config.purgeIntervalMinutes
            startThread(name: "tern-purge") { [watching] in
                var next = ContinuousClock.now + .seconds(60)
                while watching.isSet {
                    usleep(200_000)
                    guard ContinuousClock.now >= next else { continue }
                    next = ContinuousClock.now + .seconds(purgeInterval * 60)
                    Self.purgeExpired(directory: purgeDirectory, stores: registry, defaultRetention: defaultRetention,
                                      logger: purgeLogger)
                }
            }
            // Changes committed by other processes (ternctl) reach sessions within half a second.
            let watching = self.watching
            watching.set(true)
            startThread(name: "tern-store-watch") {
                while watching.isSet {
                    registry.checkExternalChanges()
                    usleep(500_000)
                }
            }
            let context = try loadTLS(config)
            let factory = TLSServerTransportFactory(context)
            tls = factory
            let logger = self.logger
            let limiter = ConnectionLimiter(
                maxTotal: config.limits.maxConnections, maxPerHost: config.limits.maxConnectionsPerIP)
            let group = try EventLoopGroup(
                loopCount: config.eventLoops, blockingThreads: config.blockingThreads, limiter: limiter,
                report: { event in Self.log(event, logger) })
            self.group = group
            do {
                for (name, addresses, service, implicitTLS) in services(config) {
                    let settings = ListenerSettings(connectionOptions(config))
                    listenerSettings.append(settings)
                    let binding = ServiceBinding(
                        name: name, factory: service, settings: settings, tls: factory, implicitTLS: implicitTLS)
                    for address in addresses {
                        let bound = try group.bind(address, service: binding)
                        boundAddresses[name, default: []].append(bound)
                        logger.info("listening", metadata: ["service": "\(name)", "address": "\(bound)"])
                    }
                }
            } catch {
                group.shutdownNow()
                self.group = nil
                throw error
            }
        }
    }

    private func services(_ config: TernConfig) -> [(String, [ListenAddress], any ConnectionHandlerFactory, Bool)] {
        var imapConfiguration = IMAPConfiguration()
        imapConfiguration.hostname = config.hostname
        imapConfiguration.limits.maxLineLength = config.limits.maxLineLength
        imapConfiguration.limits.maxAppendLiteral = config.maxMessageSize
        let imap = IMAPService(environment: IMAPEnvironment(
            configuration: imapConfiguration, authenticator: authenticator!, stores: stores!, logger: logger))
        var smtpConfiguration = SMTPConfiguration()
        smtpConfiguration.hostname = config.hostname
        smtpConfiguration.limits.maxMessageSize = config.maxMessageSize
        smtpConfiguration.limits.maxRecipients = config.smtp.maxRecipients
        smtpConfiguration.hideClientAddress = config.smtp.hideClientAddress
        smtpConfiguration.saveSentCopy = config.smtp.saveSentCopy
        let spool = queue.flatMap { queue in queueRunner.map { QueueSpool(queue: queue, runner: $0) } }
        let smtpEnvironment = SMTPEnvironment(configuration: smtpConfiguration, authenticator: authenticator!,
                                              delivery: localDelivery!, spool: spool, logger: logger)
        let submission = SMTPService(environment: smtpEnvironment, mode: .submission)
        let inbound = SMTPService(environment: smtpEnvironment, mode: .inbound)
        var pop3Configuration = POP3Configuration()
        pop3Configuration.hostname = config.hostname
        // One environment for both listeners: the maildrop lock covers 110 and 995 together.
        let pop3 = POP3Service(environment: POP3Environment(
            configuration: pop3Configuration, authenticator: authenticator!, stores: stores!, logger: logger))
        let echo = EchoService(logger: logger)
        return [
            ("imap", config.listeners.imap, imap, false),
            ("imaps", config.listeners.imaps, imap, true),
            ("submission", config.listeners.submission, submission, false),
            ("submissions", config.listeners.submissions, submission, true),
            ("smtp", config.listeners.smtp, inbound, false),
            ("pop3", config.listeners.pop3, pop3, false),
            ("pop3s", config.listeners.pop3s, pop3, true),
            ("echo", config.echo, echo, false),
            ("echo_tls", config.echoTLS, echo, true),
        ]
    }

    /// Opens the outbound queue, removes what a crash left half-written (nothing can be enqueueing yet: the
    /// listeners are not bound), and starts the delivery threads.
    private func startQueue(delivery: LocalDelivery) throws {
        let queue = try MailQueue(directory: config.queuePath)
        let leftovers = try queue.recover()
        if !leftovers.isEmpty {
            logger.warning("removed unfinished queue files", metadata: ["files": "\(leftovers.joined(separator: ","))"])
        }
        let outbound = config.outbound
        var credentials: SMTPCredentials?
        if let user = outbound.relayUser, let file = outbound.relayPasswordFile {
            let password: String
            do {
                password = String(try FileSystem.readText(file).split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
            } catch {
                throw ConfigError(file: config.configFile ?? "(defaults)", line: nil, key: "outbound.relay_password_file",
                                  message: "cannot read \(file): \(error)")
            }
            credentials = SMTPCredentials(user: user, password: password)
        }
        let configuration = QueueRunnerConfiguration(
            hostname: config.hostname, concurrency: outbound.concurrency, routing: outbound.routing,
            relayCredentials: credentials, relayVerifyCertificate: outbound.relayVerifyCertificate,
            schedule: outbound.schedule)
        let logger = self.logger
        let runner = try QueueRunner(queue: queue, configuration: configuration, logger: logger) { recipient, report in
            switch delivery.deliver(report, from: .null, to: recipient) {
            case .delivered:
                return true
            case .notLocal:
                return false
            case .failed(let reply):
                // A local sender whose mailbox refuses its own report (unknown, over quota): nowhere else to send
                // it, and queueing it would route it back here. The log keeps what happened.
                logger.error("delivery report not stored", metadata: ["to": "\(recipient)", "reply": "\(reply.text)"])
                return true
            }
        }
        runner.start()
        self.queue = queue
        queueRunner = runner
        logger.info("outbound queue started", metadata: [
            "path": "\(config.queuePath)", "queued": "\((try? queue.list().count) ?? 0)",
            "route": "\(outbound.relayHost.map { "relay \($0)" } ?? "MX")",
        ])
    }

    private func connectionOptions(_ config: TernConfig) -> ConnectionOptions {
        ConnectionOptions(
            maxLineLength: config.limits.maxLineLength,
            idleTimeout: .seconds(config.limits.idleTimeoutSeconds),
            writeTimeout: .seconds(config.limits.writeTimeoutSeconds))
    }

    /// The configured certificate, or a self-signed one in the data folder (made on first start).
    private func loadTLS(_ config: TernConfig) throws -> TLSServerContext {
        if let certificate = config.tlsCertificate, let key = config.tlsKey {
            return try TLSServerContext(
                certificateChainPath: certificate, privateKeyPath: key, minimumVersion: config.tlsMinimumVersion)
        }
        let certificate = config.generatedCertificatePath
        let key = config.generatedKeyPath
        if !FileSystem.exists(certificate) || !FileSystem.exists(key) {
            try FileSystem.createDirectory(config.dataDirectory + "/tls")
            try SelfSignedCertificate.generate(hostname: config.hostname, certificatePath: certificate, keyPath: key)
            logger.warning("no TLS certificate configured: created a self-signed one; mail programs will warn about it",
                           metadata: ["certificate": "\(certificate)", "hostname": "\(config.hostname)"])
        } else {
            logger.notice("no TLS certificate configured: using the self-signed one",
                          metadata: ["certificate": "\(certificate)"])
        }
        return try TLSServerContext(
            certificateChainPath: certificate, privateKeyPath: key, minimumVersion: config.tlsMinimumVersion)
    }

    /// Applies a new config without dropping connections: log level, limits, timeouts and the TLS certificate
    /// apply at once (new connections use the new certificate); listener, data folder, user and thread changes
    /// are reported as needing a restart.
    public func reload(_ new: TernConfig) {
        controlThreadCheck.run {
            levelSwitch.level = new.logLevel
            group?.limiter.update(maxTotal: new.limits.maxConnections, maxPerHost: new.limits.maxConnectionsPerIP)
            for settings in listenerSettings { settings.options = connectionOptions(new) }
            do {
                tls?.reload(try loadTLS(new))
                logger.info("TLS certificate reloaded", metadata: ["certificate": "\(tls?.context.certificatePath ?? "")"])
            } catch {
                logger.error("TLS reload failed; keeping the previous certificate", metadata: ["error": "\(error)"])
            }
            var needRestart: [String] = []
            if new.listeners != config.listeners || new.echo != config.echo || new.echoTLS != config.echoTLS {
                needRestart.append("listeners")
            }
            if new.dataDirectory != config.dataDirectory { needRestart.append("data_dir") }
            if new.outbound != config.outbound { needRestart.append("outbound") }
            if new.user != config.user { needRestart.append("user") }
            if new.eventLoops != config.eventLoops || new.blockingThreads != config.blockingThreads {
                needRestart.append("server")
            }
            if !needRestart.isEmpty {
                logger.warning("changes that take effect only after a restart",
                               metadata: ["keys": "\(needRestart.joined(separator: ","))"])
            }
            var applied = new
            applied.listeners = config.listeners
            applied.echo = config.echo
            applied.echoTLS = config.echoTLS
            applied.dataDirectory = config.dataDirectory
            applied.outbound = config.outbound
            applied.user = config.user
            applied.eventLoops = config.eventLoops
            applied.blockingThreads = config.blockingThreads
            config = applied
            logger.info("configuration reloaded")
        }
    }

    /// Puts back the deliveries the delivery journal holds from the last run (after a power loss their files or
    /// rows may be gone), then empties it. Called once ternd runs as its own user, before it reports ready. An
    /// account that cannot be opened is logged and keeps its records for its next open; the server starts anyway.
    public func replayJournal() {
        guard let stores, let journal = stores.journal else { return }
        let pending = journal.pendingRoots.count
        let (replayed, skipped, failures) = stores.replayJournal()
        if replayed > 0 {
            logger.notice("delivery journal replayed", metadata: ["deliveries": "\(replayed)", "accounts": "\(pending)"])
        }
        if skipped > 0 {
            logger.warning("delivery journal: account folders gone, deliveries not replayed", metadata: ["deliveries": "\(skipped)"])
        }
        for (root, error) in failures {
            logger.error("delivery journal: replay failed; retried when the account is next opened",
                         metadata: ["folder": "\(root)", "error": "\(error)"])
        }
    }

    /// Stops accepting, lets running commands finish, closes what is left after the grace period.
    /// Returns true if every connection closed on its own within the grace period.
    /// One pass of the retention purge over every account that has a mail folder.
    static func purgeExpired(directory: Directory, stores: StoreRegistry, defaultRetention: Int, logger: Logger) {
        guard let accounts = try? directory.accounts() else { return }
        for account in accounts {
            let address = account.address.description
            let root = AccountLocation.root(dataDirectory: stores.dataDirectory, account: address)
            guard FileSystem.exists(root + "/index.sqlite") else { continue }
            do throws(StoreError) {
                let store = try stores.acquire(address)
                defer { stores.release(address) }
                let purged = try store.purge(retentionDays: account.retentionDays ?? defaultRetention)
                if purged > 0 {
                    logger.info("purged mail past retention", metadata: ["account": "\(address)", "messages": "\(purged)"])
                }
            } catch {
                logger.error("purge failed", metadata: ["account": "\(address)", "error": "\(error)"])
            }
        }
    }

    @discardableResult
    public func shutdown() -> Bool {
        watching.set(false)
        // Deliveries under way finish or time out; what is left stays queued for the next start.
        if let queueRunner, !queueRunner.stop(timeout: .seconds(5)) {
            logger.warning("outbound deliveries still running at shutdown; they stay queued")
        }
        guard let group else { return true }
        let grace = Duration.seconds(config.limits.shutdownGraceSeconds)
        group.beginGracefulShutdown(grace: grace)
        let clean = group.waitUntilIdle(timeout: grace + .seconds(2))
        group.shutdownNow()
        self.group = nil
        return clean
    }

    private static func log(_ event: TransportEvent, _ logger: Logger) {
        switch event {
        case .refused(let service, let peer, let reason):
            logger.warning("connection refused", metadata: [
                "service": "\(service)", "client": "\(peer)", "reason": "\(reason)",
            ])
        case .acceptFailed(let service, let error):
            logger.error("accept failed", metadata: ["service": "\(service)", "error": "\(error)"])
        }
    }
}

/// Traps if two control operations (start, reload) overlap: they are meant to run on one thread in turn.
private final class ControlGuard: Sendable {
    private let busy = Mutex(false)
    func run<R>(_ body: () throws -> R) rethrows -> R {
        busy.withLock { busy in
            precondition(!busy, "Server.start/reload called concurrently")
            busy = true
        }
        defer { busy.withLock { $0 = false } }
        return try body()
    }
}

/// A flag one thread sets and another polls (the store watch runs while it is set).
private final class RunFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set(_ on: Bool) { value.store(on, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}

/// The SMTP sessions' view of the outbound queue.
struct QueueSpool: OutboundSpool {
    let queue: MailQueue
    let runner: QueueRunner

    func enqueue(_ envelope: MailEnvelope, message: [UInt8]) throws -> String {
        let id = try queue.enqueue(envelope, message: message)
        runner.wake()
        return id.rawValue
    }

    func bounce(_ envelope: MailEnvelope, failures: [(EnvelopeRecipient, SMTPReply)], message: [UInt8]) {
        runner.reportFailures(of: envelope, failures: failures, message: message)
    }
}
