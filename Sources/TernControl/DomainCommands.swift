import ArgumentParser
import TernAuth
import TernDaemon

struct DomainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "domain", abstract: "Domains whose mail Tern serves.", subcommands: [Add.self, List.self, Remove.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start serving a domain.")
        @OptionGroup var options: DataOptions
        @Argument(help: "The domain, e.g. example.net.") var name: String

        func run() throws {
            let context = try Context(options)
            try context.directory.addDomain(name)
            if context.json { try context.printJSON(["domain": name.lowercased()]) } else { print("added domain \(name.lowercased())") }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the domains and their account counts.")
        @OptionGroup var options: DataOptions

        func run() throws {
            let context = try Context(options)
            let domains = try context.directory.domains()
            if context.json {
                try context.printJSON(domains.map { ["domain": $0.name, "accounts": $0.accountCount] as [String: Any] })
            } else {
                for domain in domains { print("\(domain.name)\t\(domain.accountCount) account(s)") }
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop serving a domain (it must have no accounts or aliases).")
        @OptionGroup var options: DataOptions
        @Argument(help: "The domain.") var name: String

        func run() throws {
            let context = try Context(options)
            try context.directory.removeDomain(name)
            if context.json { try context.printJSON(["removed": name.lowercased()]) } else { print("removed domain \(name.lowercased())") }
        }
    }
}
