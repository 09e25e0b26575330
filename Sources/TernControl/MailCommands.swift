// ternctl's commands on an account's mail: mailboxes and soft-deleted messages.

import ArgumentParser
import Foundation
import TernAuth
import TernDaemon
import TernStore

extension Context {
    /// Opens the store of an existing account.
    func store(for address: String) throws -> (EmailAddress, AccountStore, Account) {
        let key = try parseAddress(address)
        guard let account = try directory.account(key) else { throw DirectoryError.unknownAccount(key.description) }
        do {
            return (key, try AccountStore(root: AccountLocation.root(dataDirectory: config.dataDirectory, account: key.description)), account)
        } catch {
            throw CommandError("cannot open the mail of \(key): \(error)")
        }
    }
}

struct MailboxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mailbox", abstract: "An account's mailboxes (folders).", subcommands: [List.self, Create.self, Remove.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List mailboxes with message counts and sizes.")
        @OptionGroup var options: DataOptions
        @Argument(help: "The account.") var account: String

        func run() throws {
            let context = try Context(options)
            let (_, store, _) = try context.store(for: account)
            var rows: [[String: Any]] = []
            for mailbox in try store.mailboxes() {
                let messages = try store.messages(in: mailbox.name)
                rows.append(["name": mailbox.name, "messages": messages.count, "bytes": messages.reduce(0) { $0 + $1.size },
                             "unseen": messages.filter { !$0.flags.contains(.seen) }.count,
                             "uidvalidity": Int(mailbox.uidValidity.rawValue), "uidnext": Int(mailbox.uidNext.rawValue)])
            }
            if context.json {
                try context.printJSON(rows)
            } else {
                for row in rows {
                    print("\(row["name"]!)\t\(row["messages"]!) message(s), \(row["unseen"]!) unseen, \(row["bytes"]!) bytes")
                }
            }
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a mailbox.")
        @OptionGroup var options: DataOptions
        @Argument(help: "The account.") var account: String
        @Argument(help: "The mailbox name (any Unicode; '/' separates levels).") var name: String

        func run() throws {
            let context = try Context(options)
            let (key, store, _) = try context.store(for: account)
            _ = try store.createMailbox(name)
            if context.json { try context.printJSON(["account": key.description, "created": name]) } else { print("created \(name) for \(key)") }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a mailbox; its messages stay restorable with `ternctl deleted` for the retention period.")
        @OptionGroup var options: DataOptions
        @Argument(help: "The account.") var account: String
        @Argument(help: "The mailbox name.") var name: String

        func run() throws {
            let context = try Context(options)
            let (key, store, _) = try context.store(for: account)
            try store.deleteMailbox(name)
            if context.json { try context.printJSON(["account": key.description, "removed": name]) } else { print("removed \(name) of \(key) (restorable with `ternctl deleted`)") }
        }
    }
}

struct DeletedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deleted", abstract: "Soft-deleted mail: list it, bring it back, or remove it for good.",
        subcommands: [List.self, Restore.self, Purge.self])

    /// Which deleted messages a command acts on.
    struct Selection: ParsableArguments {
        @Option(name: .customLong("id"), help: "A message id from `ternctl deleted list` (repeatable).") var ids: [Int64] = []
        @Option(help: "Only messages deleted from this mailbox.") var mailbox: String?
        @Option(help: "Only messages deleted on or after this day (YYYY-MM-DD, UTC).") var since: String?
        @Option(help: "Only messages deleted before the end of this day (YYYY-MM-DD, UTC).") var until: String?

        var isEmpty: Bool { ids.isEmpty && mailbox == nil && since == nil && until == nil }

        func filter(_ messages: [DeletedMessage]) throws -> [DeletedMessage] {
            let from = try since.map(parseDay)
            let to = try until.map { try parseDay($0) + 86400 }
            let known = Set(messages.map(\.id))
            for id in ids where !known.contains(id) { throw CommandError("no deleted message with id \(id)") }
            return messages.filter { message in
                (ids.isEmpty || ids.contains(message.id)) && (mailbox == nil || message.mailboxName == mailbox)
                    && (from == nil || message.expungedAt >= from!) && (to == nil || message.expungedAt < to!)
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List soft-deleted messages, newest first.")
        @OptionGroup var options: DataOptions
        @OptionGroup var selection: Selection
        @Argument(help: "The account.") var account: String

        func run() throws {
            let context = try Context(options)
            let (_, store, _) = try context.store(for: account)
            let messages = try selection.filter(try store.deletedMessages())
            if context.json {
                try context.printJSON(messages.map {
                    ["id": $0.id, "mailbox": $0.mailboxName, "size": $0.size, "deleted_at": $0.expungedAt,
                     "internal_date": $0.internalDate] as [String: Any]
                })
            } else {
                for message in messages {
                    print("\(message.id)\t\(message.mailboxName)\t\(message.size) bytes\tdeleted \(formatTime(message.expungedAt))")
                }
            }
        }
    }

    struct Restore: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Bring messages back into their mailbox (re-created if it was deleted), flags and dates kept.")
        @OptionGroup var options: DataOptions
        @OptionGroup var selection: Selection
        @Flag(help: "Restore every soft-deleted message.") var all = false
        @Argument(help: "The account.") var account: String

        func validate() throws {
            guard all || !selection.isEmpty else {
                throw ValidationError("say what to restore: --id, --mailbox, --since/--until, or --all")
            }
        }

        func run() throws {
            let context = try Context(options)
            let (key, store, _) = try context.store(for: account)
            let chosen = try selection.filter(try store.deletedMessages())
            let restored = try store.restore(chosen.map(\.id))
            // Restored rows whose full-text entry is written in the background: finish before this process exits.
            AccountStore.waitForTextIndex()
            if context.json {
                try context.printJSON(restored.map { ["mailbox": $0.mailbox, "uid": Int($0.uid.rawValue)] as [String: Any] })
            } else {
                print("restored \(restored.count) message(s) for \(key)")
            }
        }
    }

    struct Purge: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove for good what was deleted longer ago than the retention.")
        @OptionGroup var options: DataOptions
        @Option(help: "Days to keep (default: the account's retention, else the server's).") var olderThan: Int?
        @Argument(help: "The account.") var account: String

        func run() throws {
            let context = try Context(options)
            let (key, store, record) = try context.store(for: account)
            let days = olderThan ?? record.retentionDays ?? context.config.retentionDays
            guard days >= 0 else { throw CommandError("--older-than must not be negative") }
            let purged = try store.purge(retentionDays: days)
            if context.json { try context.printJSON(["account": key.description, "purged": purged]) } else { print("purged \(purged) message(s) of \(key) deleted more than \(days) day(s) ago") }
        }
    }
}

/// Parses YYYY-MM-DD (UTC) into seconds since 1970.
func parseDay(_ text: String) throws -> Int64 {
    let parts = text.split(separator: "-").compactMap { Int32($0) }
    guard parts.count == 3, (1...12).contains(parts[1]), (1...31).contains(parts[2]) else {
        throw CommandError("'\(text)' is not a date (write YYYY-MM-DD)")
    }
    var date = tm()
    date.tm_year = parts[0] - 1900
    date.tm_mon = parts[1] - 1
    date.tm_mday = parts[2]
    return Int64(timegm(&date))
}

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Accounts, messages, bytes and soft-deleted mail, per account and in total.")
    @OptionGroup var options: DataOptions

    func run() throws {
        let context = try Context(options)
        var rows: [[String: Any]] = []
        var totals = (accounts: 0, messages: Int64(0), bytes: Int64(0), deleted: 0, deletedBytes: 0)
        for account in try context.directory.accounts() {
            totals.accounts += 1
            let root = AccountLocation.root(dataDirectory: context.config.dataDirectory, account: account.address.description)
            // Accounts that never received mail have no store yet; do not create one just to count it.
            guard FileManager.default.fileExists(atPath: root + "/index.sqlite") else {
                rows.append(["account": account.address.description, "messages": 0, "bytes": 0, "deleted": 0, "deleted_bytes": 0])
                continue
            }
            let store: AccountStore
            do { store = try AccountStore(root: root) } catch { throw CommandError("cannot open the mail of \(account.address): \(error)") }
            let usage = try store.usage()
            let deleted = try store.deletedMessages()
            let deletedBytes = deleted.reduce(0) { $0 + $1.size }
            totals.messages += usage.messages
            totals.bytes += usage.bytes
            totals.deleted += deleted.count
            totals.deletedBytes += deletedBytes
            rows.append(["account": account.address.description, "messages": usage.messages, "bytes": usage.bytes,
                         "deleted": deleted.count, "deleted_bytes": deletedBytes])
        }
        if context.json {
            try context.printJSON([
                "accounts": rows,
                "total": ["accounts": totals.accounts, "messages": totals.messages, "bytes": totals.bytes,
                          "deleted": totals.deleted, "deleted_bytes": totals.deletedBytes] as [String: Any],
            ] as [String: Any])
        } else {
            for row in rows {
                print("\(row["account"]!)\t\(row["messages"]!) message(s), \(row["bytes"]!) bytes; \(row["deleted"]!) deleted (\(row["deleted_bytes"]!) bytes)")
            }
            print("total: \(totals.accounts) account(s), \(totals.messages) message(s), \(totals.bytes) bytes; "
                  + "\(totals.deleted) soft-deleted (\(totals.deletedBytes) bytes)")
        }
    }
}

struct ReindexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reindex",
        abstract: "Rebuild accounts' indexes from their mail files (the old index is kept beside it).",
        discussion: "Keeps mailbox names, UIDVALIDITY, UIDs and flags; a mailbox whose UID log is lost gets a new UIDVALIDITY.")
    @OptionGroup var options: DataOptions
    @Argument(help: "The account (or --all).") var account: String?
    @Flag(help: "Every account.") var all = false

    func validate() throws {
        guard (account == nil) == all else { throw ValidationError("give one account, or --all") }
    }

    func run() throws {
        let context = try Context(options)
        let targets = all ? try context.directory.accounts().map(\.address) : [try parseAddress(account!)]
        var rows: [[String: Any]] = []
        for address in targets {
            guard try context.directory.account(address) != nil else { throw DirectoryError.unknownAccount(address.description) }
            let root = AccountLocation.root(dataDirectory: context.config.dataDirectory, account: address.description)
            guard FileManager.default.fileExists(atPath: root + "/mail") else { continue }
            let store: AccountStore
            do { store = try AccountStore.reindex(root: root) } catch { throw CommandError("reindex of \(address) failed, old index kept: \(error)") }
            let mailboxes = try store.mailboxes()
            let messages = try mailboxes.reduce(0) { $0 + (try store.messages(in: $1.name).count) }
            rows.append(["account": address.description, "mailboxes": mailboxes.count, "messages": messages])
        }
        if context.json {
            try context.printJSON(rows)
        } else {
            for row in rows { print("reindexed \(row["account"]!): \(row["mailboxes"]!) mailbox(es), \(row["messages"]!) message(s)") }
        }
    }
}
