// ternd's configuration: a TOML file (parsed by TOMLKit) mapped onto `TernConfig`, with every key documented in
// etc/tern.toml. Without a file, the embedded defaults run a loopback-only server on unprivileged ports.
//
// Validation is strict: an unknown key (a typo) is an error, not a silent default, and every error names the
// file, the line and the key.

public import Logging
public import TernCore
public import TernAuth
public import TernTLS
public import TernQueue
import TernMigration
import TOMLKit

public struct TernConfig: Sendable, Equatable {
    public struct Listeners: Sendable, Equatable {
        /// IMAP with STARTTLS (standard port 143).
        public var imap: [ListenAddress]
        /// IMAP over implicit TLS (993).
        public var imaps: [ListenAddress]
        /// Message submission with STARTTLS (587).
        public var submission: [ListenAddress]
        /// Message submission over implicit TLS (465, RFC 8314).
        public var submissions: [ListenAddress]
        /// Inbound SMTP from other servers (25).
        public var smtp: [ListenAddress]
        /// POP3 with STLS (110).
        public var pop3: [ListenAddress]
        /// POP3 over implicit TLS (995).
        public var pop3s: [ListenAddress]

        public init(imap: [ListenAddress], imaps: [ListenAddress], submission: [ListenAddress],
                    submissions: [ListenAddress], smtp: [ListenAddress], pop3: [ListenAddress] = [],
                    pop3s: [ListenAddress] = []) {
            self.imap = imap
            self.imaps = imaps
            self.submission = submission
            self.submissions = submissions
            self.smtp = smtp
            self.pop3 = pop3
            self.pop3s = pop3s
        }
    }

    public struct Limits: Sendable, Equatable {
        public var maxConnections: Int = 5000
        public var maxConnectionsPerIP: Int = 100
        public var maxLineLength: Int = 64 * 1024
        public var idleTimeoutSeconds: Int = 1800
        public var writeTimeoutSeconds: Int = 120
        public var shutdownGraceSeconds: Int = 10
    }

    /// `[outbound]`: how queued mail leaves (see etc/tern.toml and docs/architecture.md, "Outbound queue").
    public struct Outbound: Sendable, Equatable {
        /// Delivery threads.
        public var concurrency = 4
        /// A smarthost for all outbound mail; nil = each domain's MX hosts.
        public var relayHost: RouteTarget?
        public var relayUser: String?
        /// A file whose first line is the relay password (kept out of the config, which many can read).
        public var relayPasswordFile: String?
        public var relayVerifyCertificate = true
        /// The port of MX hosts.
        public var smtpPort: UInt16 = 25
        /// Lower-cased domain (or "*") → host:port, bypassing DNS.
        public var routes: [String: RouteTarget] = [:]
        public var maxQueueDays = 5
        /// 0 = no delay warnings.
        public var delayWarningHours = 4
        /// Seconds between tries after the 1st, 2nd… failure; the last repeats.
        public var retryIntervals: [Int] = RetrySchedule.defaultSteps

        public init() {}

        public var routing: OutboundRouting { OutboundRouting(relay: relayHost, routes: routes, mxPort: smtpPort) }
        public var schedule: RetrySchedule {
            RetrySchedule(steps: retryIntervals, maxQueueTime: maxQueueDays * 86400,
                          delayWarningAfter: delayWarningHours * 3600)
        }
    }

    public struct SMTPSettings: Sendable, Equatable {
        public var maxRecipients: Int = 1000
        public var hideClientAddress = false
        public var saveSentCopy = false
    }

    /// `[migration]`: migration at first login from an old IMAP server (TernMigration/FirstLoginMigration.swift).
    public struct Migration: Sendable, Equatable {
        /// `imaps://host[:port]` or `imap://host[:port]`; nil: off (unknown accounts just fail to log in).
        public var oldServer: String?
        /// `imap://` without TLS (trusted networks only).
        public var plaintext = false
        /// SHA-256 of the old server's certificate, accepted instead of verifying it.
        public var fingerprint: String?
        public var caFile: String?
        /// The old login is the address's local part rather than the whole address.
        public var loginIsLocalPart = false
        public var concurrency = 4
    }

    public var configFile: String?
    public var dataDirectory: String = "./tern-data"
    public var hostname: String = "localhost"
    public var localDomains: [String] = ["localhost"]
    /// The unprivileged user ternd switches to after binding its ports when started as root.
    public var user: String = "tern"
    public var logLevel: Logger.Level = .info
    public var retentionDays: Int = 30
    /// How often ternd removes mail past its retention (`purge_interval_minutes`).
    public var purgeIntervalMinutes: Int = 60
    public var maxMessageSize: Int = 50 * 1024 * 1024
    /// The delivery journal's largest size in MiB (`delivery_journal_mb`; 0: no journal, every delivery waits for a
    /// syncfs of the store's file system). See TernStore/DeliveryJournal.swift.
    public var deliveryJournalMB: Int = 64
    public var eventLoops: Int = 0
    /// Threads for disk work. They spend much of their time waiting (a commit's syncfs, a file read), so more of
    /// them than cores keep the CPU busy: at 100 IMAP clients 16 gave about 15% more operations per second than 4
    /// (bench/imap), at the cost of a few idle threads.
    public var blockingThreads: Int = 16
    public var tlsCertificate: String?
    public var tlsKey: String?
    public var tlsMinimumVersion: TLSVersion = .v1_2
    public var listeners = Listeners(
        imap: [.loopback(1143)], imaps: [.loopback(1993)], submission: [.loopback(1587)],
        submissions: [.loopback(1465)], smtp: [.loopback(1025)], pop3: [.loopback(1110)], pop3s: [.loopback(1995)]
    )
    public var limits = Limits()
    /// The outbound queue (`[outbound]`).
    public var outbound = Outbound()
    /// Rules for every password set (`[passwords]`).
    public var passwordPolicy = PasswordPolicy()
    /// Failed-login throttling shared by IMAP and SMTP (`[auth]`).
    public var throttle = ThrottlePolicy()
    /// SMTP session settings (`[smtp]`).
    public var smtp = SMTPSettings()
    /// Migration at first login (`[migration]`).
    public var migration = Migration()
    /// Test-only line-echo services (see EchoService.swift). Empty in production.
    public var echo: [ListenAddress] = []
    public var echoTLS: [ListenAddress] = []

    public init() {}

    /// Where the self-signed certificate goes when none is configured.
    public var generatedCertificatePath: String { dataDirectory + "/tls/self-signed.pem" }
    public var generatedKeyPath: String { dataDirectory + "/tls/self-signed.key" }
    /// Domains, accounts, aliases and identities, shared by ternd and ternctl.
    public var directoryPath: String { dataDirectory + "/directory.sqlite" }
    public var journalPath: String { dataDirectory + "/delivery.journal" }
    /// The outbound queue's folder (queue.sqlite and messages/), shared by ternd and ternctl.
    public var queuePath: String { dataDirectory + "/queue" }
}

extension ListenAddress {
    static func loopback(_ port: UInt16) -> ListenAddress { ListenAddress(host: "127.0.0.1", port: port, family: .ipv4) }
}

public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let line: Int?
    public let key: String?
    public let message: String

    public var description: String {
        var place = file
        if let line { place += ":\(line)" }
        if let key { return "\(place): key '\(key)': \(message)" }
        return "\(place): \(message)"
    }
}

extension TernConfig {
    /// Reads and validates a config file.
    public static func load(path: String, contents: String) throws(ConfigError) -> TernConfig {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: contents)
        } catch let error as TOMLParseError {
            throw ConfigError(file: path, line: error.source.begin.line, key: nil,
                              message: "TOML syntax error: \(error.description)")
        } catch {
            throw ConfigError(file: path, line: nil, key: nil, message: "cannot parse: \(error)")
        }
        var reader = ConfigReader(file: path, lines: KeyLines(contents))
        var config = TernConfig()
        config.configFile = path
        try reader.apply(table, to: &config)
        return config
    }
}

/// Maps TOML values onto the config, one rule per key.
private struct ConfigReader {
    let file: String
    let lines: KeyLines

    func fail(_ key: String, _ message: String) -> ConfigError {
        ConfigError(file: file, line: lines.line(of: key), key: key, message: message)
    }

    mutating func apply(_ root: TOMLTable, to config: inout TernConfig) throws(ConfigError) {
        try checkKeys(root, prefix: "", allowed: [
            "data_dir", "hostname", "local_domains", "user", "log_level", "retention_days", "purge_interval_minutes", "max_message_size",
            "delivery_journal_mb",
            "server", "tls", "listeners", "limits", "passwords", "auth", "smtp", "outbound", "migration", "testing",
        ])
        if let value = try string(root, "data_dir") {
            guard !value.isEmpty else { throw fail("data_dir", "must not be empty") }
            config.dataDirectory = value
        }
        if let value = try string(root, "hostname") {
            guard Self.isHostname(value) else { throw fail("hostname", "'\(value)' is not a valid host name") }
            config.hostname = value
            config.localDomains = [value]
        }
        if let values = try strings(root, "local_domains") {
            for value in values where !Self.isHostname(value) {
                throw fail("local_domains", "'\(value)' is not a valid domain name")
            }
            config.localDomains = values.map { $0.lowercased() }
        }
        if let value = try string(root, "user") {
            guard !value.isEmpty else { throw fail("user", "must not be empty") }
            config.user = value
        }
        if let value = try string(root, "log_level") {
            guard let level = Logger.Level(rawValue: value) else {
                throw fail("log_level", "'\(value)' is not one of trace, debug, info, notice, warning, error, critical")
            }
            config.logLevel = level
        }
        if let value = try int(root, "retention_days", in: 0...3650) { config.retentionDays = value }
        if let value = try int(root, "purge_interval_minutes", in: 1...10080) { config.purgeIntervalMinutes = value }
        if let value = try int(root, "max_message_size", in: 1024...(2 << 30)) { config.maxMessageSize = value }
        if let value = try int(root, "delivery_journal_mb", in: 0...4096) { config.deliveryJournalMB = value }

        if let server = try table(root, "server") {
            try checkKeys(server, prefix: "server.", allowed: ["event_loops", "blocking_threads"])
            if let value = try int(server, "event_loops", prefix: "server.", in: 0...256) { config.eventLoops = value }
            if let value = try int(server, "blocking_threads", prefix: "server.", in: 1...256) {
                config.blockingThreads = value
            }
        }
        if let tls = try table(root, "tls") {
            try checkKeys(tls, prefix: "tls.", allowed: ["certificate", "key", "min_version"])
            config.tlsCertificate = try string(tls, "certificate", prefix: "tls.").flatMap { $0.isEmpty ? nil : $0 }
            config.tlsKey = try string(tls, "key", prefix: "tls.").flatMap { $0.isEmpty ? nil : $0 }
            if (config.tlsCertificate == nil) != (config.tlsKey == nil) {
                // Name the key that is there (it has a line); say which one is missing.
                throw config.tlsCertificate == nil
                    ? fail("tls.key", "tls.certificate must be set too (certificate and key go together)")
                    : fail("tls.certificate", "tls.key must be set too (certificate and key go together)")
            }
            if let value = try string(tls, "min_version", prefix: "tls.") {
                guard value == "1.2" || value == "1.3", let version = TLSVersion(rawValue: value) else {
                    throw fail("tls.min_version", "'\(value)' is not allowed: use \"1.2\" or \"1.3\"")
                }
                config.tlsMinimumVersion = version
            }
        }
        if let listeners = try table(root, "listeners") {
            try checkKeys(listeners, prefix: "listeners.",
                          allowed: ["imap", "imaps", "submission", "submissions", "smtp", "pop3", "pop3s"])
            let p = "listeners."
            if let value = try addresses(listeners, "imap", prefix: p) { config.listeners.imap = value }
            if let value = try addresses(listeners, "imaps", prefix: p) { config.listeners.imaps = value }
            if let value = try addresses(listeners, "submission", prefix: p) { config.listeners.submission = value }
            if let value = try addresses(listeners, "submissions", prefix: p) { config.listeners.submissions = value }
            if let value = try addresses(listeners, "smtp", prefix: p) { config.listeners.smtp = value }
            if let value = try addresses(listeners, "pop3", prefix: p) { config.listeners.pop3 = value }
            if let value = try addresses(listeners, "pop3s", prefix: p) { config.listeners.pop3s = value }
        }
        if let limits = try table(root, "limits") {
            let p = "limits."
            try checkKeys(limits, prefix: p, allowed: [
                "max_connections", "max_connections_per_ip", "max_line_length", "idle_timeout_seconds",
                "write_timeout_seconds", "shutdown_grace_seconds",
            ])
            if let v = try int(limits, "max_connections", prefix: p, in: 1...1_000_000) { config.limits.maxConnections = v }
            if let v = try int(limits, "max_connections_per_ip", prefix: p, in: 1...1_000_000) {
                config.limits.maxConnectionsPerIP = v
            }
            if let v = try int(limits, "max_line_length", prefix: p, in: 1024...(16 << 20)) { config.limits.maxLineLength = v }
            if let v = try int(limits, "idle_timeout_seconds", prefix: p, in: 1...86400) {
                config.limits.idleTimeoutSeconds = v
            }
            if let v = try int(limits, "write_timeout_seconds", prefix: p, in: 1...86400) {
                config.limits.writeTimeoutSeconds = v
            }
            if let v = try int(limits, "shutdown_grace_seconds", prefix: p, in: 0...3600) {
                config.limits.shutdownGraceSeconds = v
            }
        }
        if let passwords = try table(root, "passwords") {
            let p = "passwords."
            try checkKeys(passwords, prefix: p, allowed: ["min_length", "min_digits", "min_lowercase"])
            if let v = try int(passwords, "min_length", prefix: p, in: 8...256) { config.passwordPolicy.minimumLength = v }
            if let v = try int(passwords, "min_digits", prefix: p, in: 0...64) { config.passwordPolicy.minimumDigits = v }
            if let v = try int(passwords, "min_lowercase", prefix: p, in: 0...64) {
                config.passwordPolicy.minimumLowercase = v
            }
        }
        if let auth = try table(root, "auth") {
            let p = "auth."
            try checkKeys(auth, prefix: p, allowed: [
                "failure_delay_ms", "max_failure_delay_ms", "block_after_ip_failures", "block_after_account_failures",
                "block_seconds",
            ])
            if let v = try int(auth, "failure_delay_ms", prefix: p, in: 0...60_000) { config.throttle.baseDelay = .milliseconds(v) }
            if let v = try int(auth, "max_failure_delay_ms", prefix: p, in: 0...600_000) { config.throttle.maxDelay = .milliseconds(v) }
            if let v = try int(auth, "block_after_ip_failures", prefix: p, in: 1...100_000) { config.throttle.addressBlockThreshold = v }
            if let v = try int(auth, "block_after_account_failures", prefix: p, in: 1...100_000) {
                config.throttle.accountBlockThreshold = v
            }
            if let v = try int(auth, "block_seconds", prefix: p, in: 1...31_536_000) { config.throttle.blockDuration = .seconds(v) }
        }
        if let outbound = try table(root, "outbound") {
            try applyOutbound(outbound, to: &config.outbound)
        }
        if let smtp = try table(root, "smtp") {
            let p = "smtp."
            try checkKeys(smtp, prefix: p, allowed: ["max_recipients", "hide_client_address", "save_sent_copy"])
            if let v = try int(smtp, "max_recipients", prefix: p, in: 100...100_000) { config.smtp.maxRecipients = v }
            if let v = try bool(smtp, "hide_client_address", prefix: p) { config.smtp.hideClientAddress = v }
            if let v = try bool(smtp, "save_sent_copy", prefix: p) { config.smtp.saveSentCopy = v }
        }
        if let migration = try table(root, "migration") {
            let p = "migration."
            try checkKeys(migration, prefix: p, allowed: ["old_server", "plaintext", "fingerprint", "ca_file", "login", "concurrency"])
            if let v = try bool(migration, "plaintext", prefix: p) { config.migration.plaintext = v }
            if let text = try string(migration, "old_server", prefix: p), !text.isEmpty {
                do { _ = try OldServer(url: text, plaintext: config.migration.plaintext) } catch {
                    throw fail(p + "old_server", error.description)
                }
                config.migration.oldServer = text
            }
            if let text = try string(migration, "fingerprint", prefix: p), !text.isEmpty {
                guard CertificateTrust.parseFingerprint(text) != nil else {
                    throw fail(p + "fingerprint", "must be a SHA-256 fingerprint: 64 hex digits, colons allowed")
                }
                config.migration.fingerprint = text
            }
            config.migration.caFile = try string(migration, "ca_file", prefix: p).flatMap { $0.isEmpty ? nil : $0 }
            if let text = try string(migration, "login", prefix: p) {
                switch text {
                case "address": config.migration.loginIsLocalPart = false
                case "local_part": config.migration.loginIsLocalPart = true
                default: throw fail(p + "login", "must be \"address\" or \"local_part\"")
                }
            }
            if let v = try int(migration, "concurrency", prefix: p, in: 1...64) { config.migration.concurrency = v }
        }
        if let testing = try table(root, "testing") {
            try checkKeys(testing, prefix: "testing.", allowed: ["echo", "echo_tls"])
            if let value = try addresses(testing, "echo", prefix: "testing.") { config.echo = value }
            if let value = try addresses(testing, "echo_tls", prefix: "testing.") { config.echoTLS = value }
        }
        try checkDuplicatePorts(config)
    }

    private func applyOutbound(_ table: TOMLTable, to outbound: inout TernConfig.Outbound) throws(ConfigError) {
        let p = "outbound."
        try checkKeys(table, prefix: p, allowed: [
            "concurrency", "relay_host", "relay_user", "relay_password_file", "relay_verify_certificate", "smtp_port",
            "routes", "max_queue_days", "delay_warning_hours", "retry_intervals_seconds",
        ])
        if let v = try int(table, "concurrency", prefix: p, in: 1...64) { outbound.concurrency = v }
        if let text = try string(table, "relay_host", prefix: p), !text.isEmpty {
            do { outbound.relayHost = try RouteTarget(parsing: text) } catch { throw fail(p + "relay_host", error.description) }
        }
        outbound.relayUser = try string(table, "relay_user", prefix: p).flatMap { $0.isEmpty ? nil : $0 }
        outbound.relayPasswordFile = try string(table, "relay_password_file", prefix: p).flatMap { $0.isEmpty ? nil : $0 }
        if (outbound.relayUser == nil) != (outbound.relayPasswordFile == nil) {
            throw outbound.relayUser == nil
                ? fail(p + "relay_password_file", "outbound.relay_user must be set too (user and password file go together)")
                : fail(p + "relay_user", "outbound.relay_password_file must be set too (user and password file go together)")
        }
        if outbound.relayUser != nil && outbound.relayHost == nil {
            throw fail(p + "relay_user", "a relay login needs outbound.relay_host")
        }
        if let v = try bool(table, "relay_verify_certificate", prefix: p) { outbound.relayVerifyCertificate = v }
        if let v = try int(table, "smtp_port", prefix: p, in: 1...65535) { outbound.smtpPort = UInt16(v) }
        if let entries = try strings(table, "routes", prefix: p) {
            var routes: [String: RouteTarget] = [:]
            for entry in entries {
                let route: (domain: String, target: RouteTarget)
                do { route = try OutboundRouting.parseRoute(entry) } catch { throw fail(p + "routes", error.description) }
                guard routes[route.domain] == nil else { throw fail(p + "routes", "'\(route.domain)' has two routes") }
                routes[route.domain] = route.target
            }
            outbound.routes = routes
        }
        if let v = try int(table, "max_queue_days", prefix: p, in: 1...60) { outbound.maxQueueDays = v }
        if let v = try int(table, "delay_warning_hours", prefix: p, in: 0...1440) { outbound.delayWarningHours = v }
        if let value = table["retry_intervals_seconds"] {
            guard let array = value.array, !array.isEmpty, array.count <= 50 else {
                throw fail(p + "retry_intervals_seconds", "must be a list of 1 to 50 numbers of seconds")
            }
            var steps: [Int] = []
            for element in array {
                guard let seconds = element.int, (1...86400).contains(seconds) else {
                    throw fail(p + "retry_intervals_seconds", "every interval must be a whole number of seconds in 1...86400")
                }
                steps.append(seconds)
            }
            outbound.retryIntervals = steps
        }
    }

    private func checkDuplicatePorts(_ config: TernConfig) throws(ConfigError) {
        let all: [(String, [ListenAddress])] = [
            ("listeners.imap", config.listeners.imap), ("listeners.imaps", config.listeners.imaps),
            ("listeners.submission", config.listeners.submission),
            ("listeners.submissions", config.listeners.submissions), ("listeners.smtp", config.listeners.smtp),
            ("listeners.pop3", config.listeners.pop3), ("listeners.pop3s", config.listeners.pop3s),
            ("testing.echo", config.echo), ("testing.echo_tls", config.echoTLS),
        ]
        var seen: [ListenAddress: String] = [:]
        for (key, addresses) in all {
            for address in addresses where address.port != 0 {
                if let other = seen[address] {
                    throw fail(key, "\(address) is also used by \(other)")
                }
                seen[address] = key
            }
        }
    }

    private func checkKeys(_ table: TOMLTable, prefix: String, allowed: Set<String>) throws(ConfigError) {
        for key in table.keys.sorted() where !allowed.contains(key) {
            throw fail(prefix + key, "unknown key (known here: \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    private func table(_ table: TOMLTable, _ key: String) throws(ConfigError) -> TOMLTable? {
        guard let value = table[key] else { return nil }
        guard let result = value.table else { throw fail(key, "must be a table ([\(key)])") }
        return result
    }

    private func string(_ table: TOMLTable, _ key: String, prefix: String = "") throws(ConfigError) -> String? {
        guard let value = table[key] else { return nil }
        guard let result = value.string else { throw fail(prefix + key, "must be a string") }
        return result
    }

    private func strings(_ table: TOMLTable, _ key: String, prefix: String = "") throws(ConfigError) -> [String]? {
        guard let value = table[key] else { return nil }
        guard let array = value.array else { throw fail(prefix + key, "must be an array of strings") }
        var result: [String] = []
        for element in array {
            guard let text = element.string else { throw fail(prefix + key, "must be an array of strings") }
            result.append(text)
        }
        return result
    }

    private func int(
        _ table: TOMLTable, _ key: String, prefix: String = "", in range: ClosedRange<Int>
    ) throws(ConfigError) -> Int? {
        guard let value = table[key] else { return nil }
        guard let result = value.int else { throw fail(prefix + key, "must be an integer") }
        guard range.contains(result) else {
            throw fail(prefix + key, "\(result) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return result
    }

    private func bool(_ table: TOMLTable, _ key: String, prefix: String = "") throws(ConfigError) -> Bool? {
        guard let value = table[key] else { return nil }
        guard let result = value.bool else { throw fail(prefix + key, "must be true or false") }
        return result
    }

    private func addresses(_ table: TOMLTable, _ key: String, prefix: String) throws(ConfigError) -> [ListenAddress]? {
        guard let texts = try strings(table, key, prefix: prefix) else { return nil }
        var result: [ListenAddress] = []
        for text in texts {
            do {
                result.append(try ListenAddress(parsing: text))
            } catch {
                throw fail(prefix + key, error.description)
            }
        }
        return result
    }

    static func isHostname(_ text: String) -> Bool { EmailAddress.isDomain(text) }
}

/// Finds the line of `table.key` in the TOML text for error messages. TOMLKit parses the file; this only scans
/// lines for `[table]` headers and `key =` assignments, which is what etc/tern.toml and hand-written configs use.
struct KeyLines {
    private var lineOfKey: [String: Int] = [:]

    init(_ text: String) {
        var table = ""
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.drop { $0 == " " || $0 == "\t" }
            if line.hasPrefix("[") {
                let name = line.dropFirst().prefix { $0 != "]" }.trimmingSpaces
                table = name.isEmpty ? "" : name + "."
                if lineOfKey[name] == nil { lineOfKey[name] = index + 1 }
            } else if let equals = line.firstIndex(of: "="), !line.hasPrefix("#") {
                let key = table + line[..<equals].trimmingSpaces
                if lineOfKey[key] == nil { lineOfKey[key] = index + 1 }
            }
        }
    }

    func line(of key: String) -> Int? { lineOfKey[key] }
}

extension Substring {
    fileprivate var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
