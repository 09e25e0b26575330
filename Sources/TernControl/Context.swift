// What every data command shares: load the config, run as the service user (so files keep one owner), open the
// directory, print text or JSON, and read passwords safely (a prompt without echo, or stdin; never argv).

import ArgumentParser
import Foundation
import TernAuth
import TernDaemon
import TernPosix

/// A one-line error for the admin; ternctl prints it as `Error: …` and exits with status 1.
struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

struct DataOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "The ternd config file (TOML). Without it, the embedded defaults apply.")
    var config: String?

    @Flag(help: "Print JSON (for scripts) instead of text.")
    var json = false
}

struct Context {
    let config: TernConfig
    let directory: Directory
    let json: Bool

    init(_ options: DataOptions) throws {
        let config: TernConfig
        do {
            config = try DaemonMain.loadConfig(options.config)
        } catch {
            throw CommandError("\(error)")
        }
        switch RunAs.decide(config) {
        case .asIs, .stayRoot:
            break
        case .drop:
            do { try ProcessIdentity.dropPrivileges(to: config.user) } catch {
                throw CommandError("cannot switch to user \(config.user): \(error)")
            }
        case .refuse(let why):
            throw CommandError(why)
        }
        do {
            try FileSystem.createDirectory(config.dataDirectory)
            directory = try Directory(path: config.directoryPath)
        } catch {
            throw CommandError("cannot open the directory \(config.directoryPath): \(error)")
        }
        self.config = config
        json = options.json
    }

    /// Prints `value` (arrays and dictionaries of strings, numbers, bools, nulls) as sorted JSON.
    func printJSON(_ value: Any) throws {
        let data = try JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        print(String(decoding: data, as: UTF8.self))
    }
}

func parseAddress(_ text: String) throws -> EmailAddress {
    do { return try EmailAddress(parsing: text) } catch { throw CommandError(error.description) }
}

/// Options for reading a new password.
struct PasswordInput: ParsableArguments {
    @Flag(help: "Read the password from the first line of standard input (for scripts).")
    var passwordStdin = false

    /// Reads and checks a new password against the policy; returns its yescrypt hash.
    func readNewPasswordHash(policy: PasswordPolicy) throws -> String {
        let password: String
        if passwordStdin {
            guard let line = readLine(strippingNewline: true) else { throw CommandError("no password on standard input") }
            password = line
        } else {
            guard Terminal.standardInputIsTerminal else {
                throw CommandError("standard input is not a terminal: use --password-stdin (passwords are never read from arguments)")
            }
            guard let first = Terminal.readHiddenLine(prompt: "New password: "),
                  let second = Terminal.readHiddenLine(prompt: "Repeat it: ") else {
                throw CommandError("no password entered")
            }
            guard first == second else { throw CommandError("the two passwords differ; nothing was changed") }
            password = first
        }
        if let violation = policy.violation(of: password) { throw CommandError("\(violation); nothing was changed") }
        do { return try PasswordHash.make(password) } catch { throw CommandError("\(error)") }
    }
}

func formatTime(_ seconds: Int64?) -> String {
    guard let seconds else { return "never" }
    var time = time_t(seconds)
    var parts = tm()
    gmtime_r(&time, &parts)
    return String(format: "%04d-%02d-%02d %02d:%02d UTC", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                  parts.tm_hour, parts.tm_min)
}

/// Parses sizes like 500M, 2G, 1048576, or "none".
func parseSize(_ text: String) throws -> Int64? {
    if text.lowercased() == "none" || text.lowercased() == "unlimited" { return nil }
    let units: [Character: Int64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
    var digits = Substring(text.uppercased())
    var multiplier: Int64 = 1
    if let last = digits.last, let unit = units[last] {
        multiplier = unit
        digits = digits.dropLast()
    }
    guard let value = Int64(digits), value >= 0, value <= Int64.max / multiplier else {
        throw CommandError("'\(text)' is not a size (write e.g. 500M, 2G, or none)")
    }
    return value * multiplier
}

/// JSON null for `printJSON`.
var jsonNull: Any { NSNull() }
