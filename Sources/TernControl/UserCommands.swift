import ArgumentParser
import Foundation
import TernAuth
import TernDaemon
import TernStore

struct UserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Accounts: the full address is the login name.",
        subcommands: [Add.self, Import.self, List.self, Show.self, Remove.self, Passwd.self, Set.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add an account. The password is asked twice (hidden), read with --password-stdin, or imported with --hash.")
        @OptionGroup var options: DataOptions
        @OptionGroup var password: PasswordInput
        @Argument(help: "The address, e.g. alice@example.net.") var address: String
        @Option(help: "The display name.") var name: String = ""
        @Option(help: "Import an existing crypt hash ($y$, $6$, $5$, $2b$, or Dovecot {SHA512-CRYPT}…) instead of a password.")
        var hash: String?
        @Flag(help: "The user must choose a new password before mail programs can log in.") var mustChangePassword = false

        func run() throws {
            let context = try Context(options)
            let account = try parseAddress(address)
            // Check what can be checked before asking for a password.
            guard try context.directory.isLocalDomain(account.domain) else { throw DirectoryError.unknownDomain(account.domain) }
            guard try context.directory.account(account) == nil else { throw DirectoryError.accountExists(account.description) }
            let stored: String
            if let hash {
                guard !password.passwordStdin else { throw CommandError("give either --hash or --password-stdin, not both") }
                do { stored = try PasswordHash.normalize(hash) } catch { throw CommandError(error.description) }
            } else {
                stored = try password.readNewPasswordHash(policy: context.config.passwordPolicy)
            }
            try context.directory.addAccount(account, passwordHash: stored, displayName: name,
                                             mustChangePassword: mustChangePassword)
            if context.json { try context.printJSON(["account": account.description]) } else { print("added \(account)") }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List accounts.")
        @OptionGroup var options: DataOptions
        @Option(help: "Only this domain.") var domain: String?

        func run() throws {
            let context = try Context(options)
            let accounts = try context.directory.accounts(inDomain: domain)
            if context.json {
                try context.printJSON(accounts.map(summary))
            } else {
                for account in accounts {
                    var flags: [String] = []
                    if account.isDisabled { flags.append("disabled") }
                    if account.mustChangePassword { flags.append("must-change-password") }
                    print([account.address.description, account.displayName, flags.joined(separator: ",")]
                        .joined(separator: "\t"))
                }
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one account.")
        @OptionGroup var options: DataOptions
        @Argument(help: "The address.") var address: String

        func run() throws {
            let context = try Context(options)
            let key = try parseAddress(address)
            guard let account = try context.directory.account(key) else { throw DirectoryError.unknownAccount(key.description) }
            let identities = try context.directory.identities(of: key).map(\.address.description)
            let aliases = try context.directory.aliases().filter { $0.targets.contains(key) }.map(\.address)
            if context.json {
                var object = summary(account)
                object["identities"] = identities
                object["aliases"] = aliases
                try context.printJSON(object)
            } else {
                print("""
                    address:              \(account.address)
                    name:                 \(account.displayName)
                    disabled:             \(account.isDisabled ? "yes" : "no")
                    must change password: \(account.mustChangePassword ? "yes" : "no")
                    password hash:        \(PasswordHash.scheme(of: account.passwordHash).map { "\($0)" } ?? "unknown")
                    quota:                \(account.quotaBytes.map { "\($0) bytes" } ?? "none"), \(account.quotaMessages.map { "\($0) messages" } ?? "no message limit")
                    retention:            \(account.retentionDays.map { "\($0) days" } ?? "server default (\(context.config.retentionDays) days)")
                    created:              \(formatTime(account.createdAt))
                    last login:           \(formatTime(account.lastLoginAt))
                    aliases:              \(aliases.isEmpty ? "none" : aliases.joined(separator: ", "))
                    send as:              \(identities.isEmpty ? "none" : identities.joined(separator: ", "))
                    """)
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an account, its aliases and identities.")
        @OptionGroup var options: DataOptions
        @Argument(help: "The address.") var address: String

        func run() throws {
            let context = try Context(options)
            let key = try parseAddress(address)
            try context.directory.removeAccount(key)
            // The mail is not deleted with the login: an admin may still want it.
            let mail = AccountLocation.root(dataDirectory: context.config.dataDirectory, account: key.description)
            if context.json {
                try context.printJSON(["removed": key.description, "mail_kept_at": mail])
            } else {
                print("removed \(key)" + (FileManager.default.fileExists(atPath: mail) ? "; its mail stays in \(mail) until you delete it" : ""))
            }
        }
    }

    struct Passwd: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set a new password (asked twice, hidden, or --password-stdin); clears must-change-password.")
        @OptionGroup var options: DataOptions
        @OptionGroup var password: PasswordInput
        @Argument(help: "The address.") var address: String
        @Flag(help: "Make the user choose another password at the next login.") var mustChangePassword = false

        func run() throws {
            let context = try Context(options)
            let key = try parseAddress(address)
            guard try context.directory.account(key) != nil else { throw DirectoryError.unknownAccount(key.description) }
            let hash = try password.readNewPasswordHash(policy: context.config.passwordPolicy)
            try context.directory.setPasswordHash(key, hash, mustChange: mustChangePassword)
            if context.json { try context.printJSON(["account": key.description]) } else { print("password changed for \(key)") }
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change quota, retention, disabled, must-change-password or name.")
        @OptionGroup var options: DataOptions
        @Argument(help: "The address.") var address: String
        @Option(help: "Storage quota: e.g. 500M, 2G, or none.") var quota: String?
        @Option(help: "Message count quota, or none.") var quotaMessages: String?
        @Option(help: "Days deleted mail stays recoverable, or default.") var retention: String?
        @Option(help: "true or false.") var disabled: Bool?
        @Option(help: "true or false.") var mustChangePassword: Bool?
        @Option(help: "The display name.") var name: String?

        func run() throws {
            let context = try Context(options)
            let key = try parseAddress(address)
            var changes = AccountChanges()
            if let quota { changes.quotaBytes = .some(try parseSize(quota)) }
            if let quotaMessages {
                if quotaMessages.lowercased() == "none" {
                    changes.quotaMessages = .some(nil)
                } else {
                    guard let count = Int64(quotaMessages), count >= 0 else {
                        throw CommandError("'\(quotaMessages)' is not a message count (or none)")
                    }
                    changes.quotaMessages = .some(count)
                }
            }
            if let retention {
                if retention.lowercased() == "default" {
                    changes.retentionDays = .some(nil)
                } else {
                    guard let days = Int(retention) else { throw CommandError("'\(retention)' is not a number of days (or default)") }
                    changes.retentionDays = .some(days)
                }
            }
            changes.isDisabled = disabled
            changes.mustChangePassword = mustChangePassword
            changes.displayName = name
            guard quota != nil || quotaMessages != nil || retention != nil || disabled != nil
                || mustChangePassword != nil || name != nil else {
                throw CommandError("nothing to change: give --quota, --quota-messages, --retention, --disabled, --must-change-password or --name")
            }
            try context.directory.updateAccount(key, changes)
            if context.json { try context.printJSON(["account": key.description]) } else { print("updated \(key)") }
        }
    }
}

func summary(_ account: Account) -> [String: Any] {
    [
        "address": account.address.description, "name": account.displayName, "disabled": account.isDisabled,
        "must_change_password": account.mustChangePassword, "quota_bytes": account.quotaBytes ?? jsonNull,
        "quota_messages": account.quotaMessages ?? jsonNull, "retention_days": account.retentionDays ?? jsonNull,
        "created_at": account.createdAt, "last_login_at": account.lastLoginAt ?? jsonNull,
    ]
}
