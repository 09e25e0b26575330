import ArgumentParser
import TernAuth
import TernCore
import TernDaemon

struct AliasCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alias", abstract: "Addresses that deliver to accounts; @domain is the domain's catch-all.",
        subcommands: [Add.self, List.self, Remove.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Deliver ADDRESS (or @domain) to one or more accounts.")
        @OptionGroup var options: DataOptions
        @Argument(help: "The alias, e.g. sales@example.net, or @example.net for a catch-all.") var address: String
        @Argument(help: "The accounts it delivers to.") var targets: [String]

        func validate() throws {
            guard !targets.isEmpty else { throw ValidationError("give at least one account to deliver to") }
        }

        func run() throws {
            let context = try Context(options)
            let accounts = try targets.map(parseAddress)
            // All or nothing: check every target before adding any.
            for account in accounts where try context.directory.account(account) == nil {
                if try context.directory.aliases().contains(where: { $0.address == account.description }) {
                    throw DirectoryError.aliasTargetIsAlias(alias: address.lowercased(), target: account.description)
                }
                throw DirectoryError.unknownAccount(account.description)
            }
            for account in accounts { try context.directory.addAlias(address, to: account) }
            if context.json {
                try context.printJSON(["alias": address.lowercased(), "targets": accounts.map(\.description)])
            } else {
                print("\(address.lowercased()) → \(accounts.map(\.description).joined(separator: ", "))")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List aliases.")
        @OptionGroup var options: DataOptions

        func run() throws {
            let context = try Context(options)
            let aliases = try context.directory.aliases()
            if context.json {
                try context.printJSON(aliases.map { ["alias": $0.address, "targets": $0.targets.map(\.description)] as [String: Any] })
            } else {
                for alias in aliases { print("\(alias.address)\t\(alias.targets.map(\.description).joined(separator: ", "))") }
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an alias, or only one of its targets.")
        @OptionGroup var options: DataOptions
        @Argument(help: "The alias.") var address: String
        @Argument(help: "Only this target.") var target: String?

        func run() throws {
            let context = try Context(options)
            try context.directory.removeAlias(address, target: try target.map(parseAddress))
            if context.json { try context.printJSON(["removed": address.lowercased()]) } else { print("removed \(address.lowercased())\(target.map { " → \($0.lowercased())" } ?? "")") }
        }
    }
}

struct IdentityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "identity", abstract: "Extra addresses an account may send as.",
        subcommands: [Add.self, List.self, Remove.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let ACCOUNT send as ADDRESS.")
        @OptionGroup var options: DataOptions
        @Argument(help: "The account.") var account: String
        @Argument(help: "The address it may send as.") var address: String

        func run() throws {
            let context = try Context(options)
            let owner = try parseAddress(account), sender = try parseAddress(address)
            try context.directory.addIdentity(sender, for: owner)
            if context.json { try context.printJSON(["account": owner.description, "identity": sender.description]) } else { print("\(owner) may send as \(sender)") }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List identities (of one account, or all).")
        @OptionGroup var options: DataOptions
        @Argument(help: "Only this account.") var account: String?

        func run() throws {
            let context = try Context(options)
            let identities = try context.directory.identities(of: try account.map(parseAddress))
            if context.json {
                try context.printJSON(identities.map { ["account": $0.account.description, "identity": $0.address.description] })
            } else {
                for identity in identities { print("\(identity.account)\t\(identity.address)") }
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop ACCOUNT sending as ADDRESS.")
        @OptionGroup var options: DataOptions
        @Argument(help: "The account.") var account: String
        @Argument(help: "The address.") var address: String

        func run() throws {
            let context = try Context(options)
            let owner = try parseAddress(account), sender = try parseAddress(address)
            try context.directory.removeIdentity(sender, for: owner)
            if context.json { try context.printJSON(["account": owner.description, "removed": sender.description]) } else { print("\(owner) may no longer send as \(sender)") }
        }
    }
}

struct SettingsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "settings", abstract: "What a user types into a mail program or phone for this server.")
    @OptionGroup var options: DataOptions
    @Argument(help: "The account.") var address: String

    func run() throws {
        let context = try Context(options)
        let key = try parseAddress(address)
        guard try context.directory.account(key) != nil else { throw DirectoryError.unknownAccount(key.description) }
        let listeners = context.config.listeners
        let host = context.config.hostname
        func port(_ addresses: [ListenAddress]) -> UInt16? { addresses.first?.port }
        var entries: [(String, String, UInt16?, String)] = [
            ("incoming", "IMAP", port(listeners.imaps), "SSL/TLS"),
            ("incoming", "IMAP", port(listeners.imap), "STARTTLS"),
            ("incoming", "POP3", port(listeners.pop3s), "SSL/TLS"),
            ("incoming", "POP3", port(listeners.pop3), "STARTTLS"),
            ("outgoing", "SMTP", port(listeners.submissions), "SSL/TLS"),
            ("outgoing", "SMTP", port(listeners.submission), "STARTTLS"),
        ]
        entries.removeAll { $0.2 == nil }
        if context.json {
            try context.printJSON([
                "user_name": key.description, "password": "the account's password",
                "servers": entries.map { ["direction": $0.0, "protocol": $0.1, "host": host, "port": Int($0.2!), "security": $0.3] as [String: Any] },
            ] as [String: Any])
        } else {
            print("Mail settings for \(key)")
            print("  User name:  \(key)   (the full address, for incoming and outgoing)")
            print("  Password:   the account's password; authentication: normal password")
            for (direction, proto, port, security) in entries {
                let label = direction == "incoming" ? "Incoming" : "Outgoing"
                print("  \(label) (\(proto)): \(host), port \(port!), \(security)")
            }
        }
    }
}
