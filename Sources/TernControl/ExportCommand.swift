// `ternctl export USER --maildir PATH`: writes an account's mail as a standard Maildir++ tree that Dovecot,
// Courier or `ternctl import` read back: INBOX at the top, `.Parent.Child` subfolders in modified UTF-7, flags in
// the `:2,` info ($Forwarded as P), other keywords as Dovecot letters with `dovecot-keywords`, internal dates as
// modification times. Messages are written byte for byte.

import ArgumentParser
import Foundation
import TernAuth
import TernCore
import TernPosix
import TernStore

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Export an account's mail as a Maildir++ tree (messages byte for byte).")
    @OptionGroup var options: DataOptions
    @Argument(help: "The account.") var account: String
    @Option(help: "A new or empty folder to write the Maildir++ tree into.") var maildir: String

    func run() throws {
        let context = try Context(options)
        let (key, store, _) = try context.store(for: account)
        if let existing = try? FileManager.default.contentsOfDirectory(atPath: maildir), !existing.isEmpty {
            throw CommandError("\(maildir) is not empty; export into a new or empty folder")
        }
        let mailboxes = try store.mailboxes()
        let total = try mailboxes.reduce(0) { $0 + (try store.messages(in: $1.name).count) }
        let progress = Progress(total: total, onTerminal: Terminal.standardErrorIsTerminal)
        var notes: [String] = []
        var done = 0, bytes = 0
        for mailbox in mailboxes {
            // Maildir++ separates levels with '.', so a '.' inside a name cannot be kept.
            let components = mailbox.name.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            if components.contains(where: { $0.contains(".") }) {
                notes.append("mailbox \(mailbox.name): '.' written as '_' (Maildir++ uses '.' between levels)")
            }
            let folder = mailbox.name == "INBOX" ? maildir
                : maildir + "/." + components.map { ModifiedUTF7.encode($0.replacingOccurrences(of: ".", with: "_")) }.joined(separator: ".")
            for sub in ["cur", "new", "tmp"] {
                try FileManager.default.createDirectory(atPath: folder + "/" + sub, withIntermediateDirectories: true)
            }
            let messages = try store.messages(in: mailbox.name)
            // Keywords other than $Forwarded become Dovecot letters a…z (26 at most per folder).
            let keywords = Set(messages.flatMap(\.keywords)).subtracting(["$Forwarded"]).sorted()
            if keywords.count > 26 {
                notes.append("mailbox \(mailbox.name): \(keywords.count - 26) keyword(s) beyond 26 not exported")
            }
            let letters = Dictionary(uniqueKeysWithValues: keywords.prefix(26).enumerated().map {
                ($1, Character(Unicode.Scalar(UInt8(97 + $0))))
            })
            if !letters.isEmpty {
                try keywords.prefix(26).enumerated().map { "\($0) \($1)\n" }.joined()
                    .write(toFile: folder + "/dovecot-keywords", atomically: true, encoding: .utf8)
            }
            for message in messages {
                let body = try store.read(mailbox.name, uid: message.uid)
                var info = Array(message.flags.maildirLetters)
                if message.keywords.contains("$Forwarded") { info.append("P") }
                info += message.keywords.compactMap { letters[$0] }
                let name = "\(message.internalDate).M\(message.uid)P\(ProcessIdentity.processID).tern:2,\(String(info.sorted()))"
                let path = folder + "/cur/" + name
                try Data(body).write(to: URL(fileURLWithPath: path))
                try FileManager.default.setAttributes(
                    [.modificationDate: Date(timeIntervalSince1970: TimeInterval(message.internalDate))], ofItemAtPath: path)
                done += 1
                bytes += body.count
                progress.update(done: done, folder: mailbox.name)
            }
        }
        progress.finish()
        if context.json {
            try context.printJSON(["account": key.description, "mailboxes": mailboxes.count, "messages": done, "bytes": bytes,
                                   "notes": notes] as [String: Any])
        } else {
            print("exported \(done) message(s) in \(mailboxes.count) mailbox(es), \(bytes) bytes, from \(key) to \(maildir)")
            for note in notes { print("note: \(note)") }
        }
    }
}
