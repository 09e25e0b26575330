// ternctl: the admin CLI. Every command takes --config (the same file as ternd) and --help; exit status is 0 only
// on success. mbox import is still to come.

public import ArgumentParser
import Logging
import TernCore
import TernDaemon
import TernTLS

public struct TernCtl: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "ternctl",
        abstract: "Administer a Tern mail server.",
        subcommands: [
            DomainCommand.self, UserCommand.self, AliasCommand.self, IdentityCommand.self, SettingsCommand.self,
            MailboxCommand.self, DeletedCommand.self, StatsCommand.self, ReindexCommand.self, ImportCommand.self,
            ExportCommand.self, MigrateCommand.self, QueueCommand.self,
            ConfigCommand.self,
        ]
    )

    public init() {}
}

/// Options every command shares.
struct GlobalOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "The ternd config file (TOML). Without it, the embedded defaults apply.")
    var config: String?

    func loadConfig() throws -> TernConfig {
        do {
            return try DaemonMain.loadConfig(config)
        } catch {
            throw ValidationError("\(error)")
        }
    }
}

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check and show the configuration.",
        subcommands: [Check.self, Show.self]
    )

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate the config file; prints the file, line and key of the first error.")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            _ = try global.loadConfig()
            print("\(global.config ?? "embedded defaults"): ok")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the effective settings, defaults included.")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Print JSON instead of text.") var json = false

        func run() throws {
            let config = try global.loadConfig()
            let pairs: [(String, String)] = [
                ("config_file", config.configFile ?? ""),
                ("data_dir", config.dataDirectory),
                ("hostname", config.hostname),
                ("local_domains", config.localDomains.joined(separator: ",")),
                ("user", config.user),
                ("log_level", config.logLevel.rawValue),
                ("retention_days", "\(config.retentionDays)"),
                ("max_message_size", "\(config.maxMessageSize)"),
                ("tls.certificate", config.tlsCertificate ?? "(self-signed: \(config.generatedCertificatePath))"),
                ("tls.min_version", config.tlsMinimumVersion.rawValue),
                ("listeners.imap", config.listeners.imap.map(\.description).joined(separator: ",")),
                ("listeners.imaps", config.listeners.imaps.map(\.description).joined(separator: ",")),
                ("listeners.submission", config.listeners.submission.map(\.description).joined(separator: ",")),
                ("listeners.submissions", config.listeners.submissions.map(\.description).joined(separator: ",")),
                ("listeners.smtp", config.listeners.smtp.map(\.description).joined(separator: ",")),
                ("listeners.pop3", config.listeners.pop3.map(\.description).joined(separator: ",")),
                ("listeners.pop3s", config.listeners.pop3s.map(\.description).joined(separator: ",")),
                ("limits.max_connections", "\(config.limits.maxConnections)"),
                ("limits.max_connections_per_ip", "\(config.limits.maxConnectionsPerIP)"),
            ]
            if json {
                let body = pairs.map { "  \(jsonString($0.0)): \(jsonString($0.1))" }.joined(separator: ",\n")
                print("{\n\(body)\n}")
            } else {
                for (key, value) in pairs { print("\(key) = \(value)") }
            }
        }
    }
}

func jsonString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

/// The entry point for the `ternctl` executable.
public enum TernCtlMain {
    public static func run() { TernCtl.main() }
}
