// ternd's life: read the config, start the server, drop root, tell systemd, then wait for signals
// (SIGHUP: reload; SIGTERM/SIGINT: graceful shutdown).

import Logging
import TernCore
import TernPosix

public enum DaemonMain {
    /// Exit codes (sysexits.h): 0 ok, 70 software error, 71 OS error, 78 configuration error.
    public static func run(configPath: String?) -> Int32 {
        let config: TernConfig
        do {
            config = try loadConfig(configPath)
        } catch {
            StandardError.write("ternd: \(error)\n")
            return 78
        }
        let levelSwitch = LogLevelSwitch(config.logLevel)
        LoggingSystem.bootstrap { KeyValueLogHandler(label: $0, levelSwitch: levelSwitch) }
        let logger = Logger(label: "ternd")

        // Before any thread starts, so every thread inherits the blocked signal mask.
        let signals: SignalReceiver
        do {
            signals = try SignalReceiver()
        } catch {
            logger.critical("cannot set up signal handling", metadata: ["error": "\(error)"])
            return 71
        }
        let fileLimit = ProcessIdentity.raiseOpenFileLimit()
        let dropToUser: Bool
        switch RunAs.decide(config) {
        case .asIs:
            dropToUser = false
        case .stayRoot(let why):
            logger.warning("running as root: \(why)")
            dropToUser = false
        case .drop:
            dropToUser = true
        case .refuse(let why):
            logger.critical("cannot start: \(why)", metadata: ["user": "\(config.user)"])
            return 78
        }

        let server = Server(config: config, logger: logger, levelSwitch: levelSwitch)
        do {
            try server.start()
        } catch {
            logger.critical("cannot start", metadata: ["error": "\(error)"])
            server.shutdown()
            return 71
        }
        if dropToUser {
            do {
                try ProcessIdentity.chown(config.dataDirectory, to: config.user)
                for path in [config.generatedCertificatePath, config.generatedKeyPath, config.dataDirectory + "/tls",
                             config.directoryPath, config.directoryPath + "-wal", config.directoryPath + "-shm",
                             config.queuePath, config.queuePath + "/messages", config.queuePath + "/queue.sqlite",
                             config.queuePath + "/queue.sqlite-wal", config.queuePath + "/queue.sqlite-shm", config.journalPath]
                where FileSystem.exists(path) {
                    try ProcessIdentity.chown(path, to: config.user)
                }
                try ProcessIdentity.dropPrivileges(to: config.user)
                logger.info("dropped root privileges", metadata: ["user": "\(config.user)"])
            } catch {
                logger.critical("cannot drop root privileges", metadata: ["error": "\(error)"])
                server.shutdown()
                return 71
            }
        }
        server.replayJournal()
        logger.info("ternd ready", metadata: [
            "pid": "\(ProcessIdentity.processID)", "loops": "\(server.group?.loops.count ?? 0)",
            "config": "\(configPath ?? "embedded defaults")", "open_files": "\(fileLimit)",
        ])
        if configPath == nil { StandardOutput.write(Banner.text(server: server)) }
        SystemdNotifier.notify("READY=1\nSTATUS=accepting connections")

        while true {
            let signal: ProcessSignal
            do {
                signal = try signals.wait()
            } catch {
                logger.critical("waiting for signals failed", metadata: ["error": "\(error)"])
                server.shutdown()
                return 71
            }
            switch signal {
            case .hangup:
                SystemdNotifier.notify("RELOADING=1")
                logger.info("SIGHUP: reloading")
                do {
                    server.reload(try configPath.map(loadConfig) ?? server.config)
                } catch {
                    logger.error("reload refused: the config has an error; keeping the running one",
                                 metadata: ["error": "\(error)"])
                }
                SystemdNotifier.notify("READY=1")
            case .terminate, .interrupt:
                SystemdNotifier.notify("STOPPING=1")
                logger.info("shutting down", metadata: [
                    "signal": "\(signal)", "grace_seconds": "\(server.config.limits.shutdownGraceSeconds)",
                    "connections": "\(server.group?.connectionCount ?? 0)",
                ])
                let clean = server.shutdown()
                logger.info("stopped", metadata: ["clean": "\(clean)"])
                return 0
            }
        }
    }

    /// Writes a message to stderr in one write.
    public static func printError(_ text: String) { StandardError.write(text) }

    /// Reads the config file, or returns the embedded defaults when there is none.
    public static func loadConfig(_ path: String?) throws -> TernConfig {
        guard let path else { return TernConfig() }
        let text: String
        do {
            text = try FileSystem.readText(path)
        } catch {
            throw ConfigError(file: path, line: nil, key: nil, message: "cannot read: \(error)")
        }
        return try TernConfig.load(path: path, contents: text)
    }
}

/// What a newcomer needs after `ternd` with no config: where the data is and how to set up a mail program.
enum Banner {
    static func text(server: Server) -> String {
        let config = server.config
        func first(_ name: String) -> String {
            guard let address = server.boundAddresses[name]?.first else { return "(off)" }
            return "\(address.host) port \(address.port)"
        }
        let certificate = config.tlsCertificate ?? FileSystem.absolutePath(config.generatedCertificatePath)
        return """

        Tern is running with its embedded defaults (loopback only). Stop it with Ctrl-C.
          Data folder:      \(FileSystem.absolutePath(config.dataDirectory))
          TLS certificate:  \(certificate)\(config.tlsCertificate == nil ? " (self-signed: accept it once in your mail program)" : "")

        Mail program settings:
          User name:        the full email address, e.g. alice@\(config.localDomains.first ?? config.hostname)
          Incoming (IMAP):  \(first("imaps")), SSL/TLS  — or \(first("imap")), STARTTLS
          Incoming (POP3):  \(first("pop3s")), SSL/TLS  — or \(first("pop3")), STARTTLS
          Outgoing (SMTP):  \(first("submissions")), SSL/TLS  — or \(first("submission")), STARTTLS; normal password
          Inbound SMTP for other servers: \(first("smtp"))

        Create a first account (accounts come with `ternctl user`; see docs/ for what is ready):
          ternctl domain add \(config.localDomains.first ?? config.hostname)
          ternctl user add alice@\(config.localDomains.first ?? config.hostname)


        """
    }
}

/// Which user ternd and ternctl run as. Both follow the same rule so every file in the data folder has one owner.
public enum RunAs: Equatable {
    /// Not root: run as we are.
    case asIs
    /// Root stays root (with the reason, to log).
    case stayRoot(String)
    /// Root switches to `config.user`.
    case drop
    /// Root cannot switch: the user is missing.
    case refuse(String)

    public static func decide(_ config: TernConfig) -> RunAs {
        guard ProcessIdentity.isRoot else { return .asIs }
        if config.user == "root" { return .stayRoot("the config says user = \"root\"; a dedicated user is safer") }
        if ProcessIdentity.lookupUser(config.user) != nil { return .drop }
        guard config.configFile != nil else {
            // A first try on a fresh machine: embedded defaults, loopback only. Say plainly what to fix.
            return .stayRoot("the user '\(config.user)' does not exist (create it with `useradd --system \(config.user)`, or set 'user' in a config file)")
        }
        return .refuse("the user '\(config.user)' to run as does not exist; create it or set 'user' in \(config.configFile!)")
    }
}
