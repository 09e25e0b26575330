// `ternctl import USER --maildir PATH`: brings a Maildir++ tree (Dovecot, Courier, most servers' on-disk format)
// into an account: INBOX at the top, subfolders `.Name` or `.Parent.Child` (modified UTF-7), flags from the
// `:2,` info (P, "passed", becomes $Forwarded), Dovecot's keyword letters through `dovecot-keywords`, internal dates
// from the files' modification times. Messages are copied byte for byte.
// `ternctl import USER --mbox PATH [--mailbox NAME]`: one mbox file into one mailbox (INBOX by default), or a folder
// of mbox files (mutt, Thunderbird's `Name.sbd/` subfolders) into mailboxes named after them; flags and keywords
// from the Status / X-Status / X-Keywords / X-Mozilla-Status fields, internal dates from the "From " lines
// (see TernMIME/Mbox.swift). The file is read in chunks, never whole.

import ArgumentParser
import Foundation
import Synchronization
import TernAuth
import TernCore
import TernPosix
import TernStore

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Import a Maildir++ tree or mbox files into an account.")
    @OptionGroup var options: DataOptions
    @Argument(help: "The account.") var account: String
    @Option(help: "The Maildir++ folder (the one holding cur/, new/ and the .Folder subfolders).") var maildir: String?
    @Option(help: "An mbox file, or a folder of mbox files (one mailbox each).") var mbox: String?
    @Option(help: "With --mbox FILE: the mailbox to import into (default INBOX).") var mailbox: String?

    func validate() throws {
        guard (maildir == nil) != (mbox == nil) else { throw ValidationError("give exactly one of --maildir and --mbox") }
        if mailbox != nil && mbox == nil { throw ValidationError("--mailbox goes with --mbox") }
    }

    struct Folder {
        let name: String
        let path: String
    }

    func folders() throws -> [Folder] {
        guard let maildir else { return [] }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: maildir + "/cur", isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CommandError("\(maildir) is not a Maildir (no cur/ folder)")
        }
        var result = [Folder(name: "INBOX", path: maildir)]
        for entry in try FileManager.default.contentsOfDirectory(atPath: maildir).sorted()
        where entry.hasPrefix(".") && entry != "." && entry != ".." {
            guard FileManager.default.fileExists(atPath: "\(maildir)/\(entry)/cur") else { continue }
            let parts = entry.dropFirst().split(separator: ".", omittingEmptySubsequences: false).map { part in
                ModifiedUTF7.decode(String(part)) ?? String(part)
            }
            var name = parts.joined(separator: "/")
            if name.uppercased() == "INBOX" { name = "INBOX" }
            if name.uppercased().hasPrefix("INBOX/") { name = String(name.dropFirst(6)) } // Courier-style INBOX.Sent
            result.append(Folder(name: name, path: "\(maildir)/\(entry)"))
        }
        return result
    }

    /// Dovecot's keyword letters for a folder: a → the keyword on line 0 of dovecot-keywords, and so on.
    func keywordLetters(_ folder: Folder) -> [Character: String] {
        guard let text = try? String(contentsOfFile: folder.path + "/dovecot-keywords", encoding: .utf8) else { return [:] }
        var letters: [Character: String] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 1)
            guard fields.count == 2, let index = Int(fields[0]), (0..<26).contains(index) else { continue }
            letters[Character(Unicode.Scalar(UInt8(97 + index)))] = String(fields[1])
        }
        return letters
    }

    func run() throws {
        let context = try Context(options)
        let (key, store, _) = try context.store(for: account)
        if let mbox {
            try MboxImport(path: mbox, mailbox: mailbox, store: store, context: context, account: key.description).run()
            return
        }
        let folders = try folders()
        let files = try folders.map { folder in
            try ["cur", "new"].flatMap { sub in
                try FileManager.default.contentsOfDirectory(atPath: "\(folder.path)/\(sub)").filter { !$0.hasPrefix(".") }
                    .sorted().map { "\(folder.path)/\(sub)/\($0)" }
            }
        }
        let total = files.reduce(0) { $0 + $1.count }
        let progress = Progress(total: total, onTerminal: Terminal.standardErrorIsTerminal)
        var report: [[String: Any]] = []
        var skipped: [String] = []
        var imported = 0, bytes = 0
        for (folder, paths) in zip(folders, files) {
            if try store.mailbox(named: folder.name) == nil { _ = try store.createMailbox(folder.name) }
            let letters = keywordLetters(folder)
            var count = 0
            // Messages are committed 200 at a time (one flush per batch), in the old server's order.
            var batch: [AccountStore.NewMessage] = []
            func flush() throws {
                guard !batch.isEmpty else { return }
                try store.appendBatch(to: folder.name, batch)
                count += batch.count
                imported += batch.count
                progress.update(done: imported + skipped.count, folder: folder.name)
                batch = []
            }
            for path in paths {
                let file = (path as NSString).lastPathComponent
                let info = file.split(separator: ":", maxSplits: 1)
                var flags: SystemFlags = []
                var keywords: [String] = []
                if info.count == 2, info[1].hasPrefix("2,") {
                    for letter in info[1].dropFirst(2) {
                        switch letter {
                        case "P": keywords.append("$Forwarded")
                        case "a"..."z": if let keyword = letters[letter] { keywords.append(keyword) }
                        default: flags.formUnion(SystemFlags(maildirLetters: String(letter)))
                        }
                    }
                }
                do {
                    let data = try Data(contentsOf: URL(fileURLWithPath: path))
                    let attributes = try FileManager.default.attributesOfItem(atPath: path)
                    let date = (attributes[.modificationDate] as? Date).map { Int64($0.timeIntervalSince1970) }
                    batch.append(AccountStore.NewMessage(bytes: Array(data), flags: flags, keywords: keywords, internalDate: date))
                    bytes += data.count
                } catch {
                    skipped.append("\(path): \(error)")
                }
                if batch.count == 200 { try flush() }
            }
            try flush()
            report.append(["mailbox": folder.name, "messages": count])
        }
        progress.finish()
        if context.json {
            try context.printJSON(["account": key.description, "mailboxes": report, "messages": report.reduce(0) { $0 + ($1["messages"] as! Int) },
                                   "bytes": bytes, "skipped": skipped] as [String: Any])
        } else {
            for row in report { print("\(row["mailbox"]!)\t\(row["messages"]!) message(s)") }
            print("imported \(imported) of \(total) message(s), \(bytes) bytes, into \(key)")
            for line in skipped { print("skipped \(line)") }
        }
        if !skipped.isEmpty { throw CommandError("\(skipped.count) message(s) could not be imported (listed above)") }
    }
}

/// A progress bar on a terminal (redrawn in place on stderr); otherwise a plain line every 1,000 messages.
/// Shared with the thread doing the work (`ternctl migrate`).
final class Progress: Sendable {
    let onTerminal: Bool
    private struct State {
        var total: Int
        var lastLine = 0
    }
    private let state: Mutex<State>

    init(total: Int, onTerminal: Bool) {
        self.onTerminal = onTerminal
        state = Mutex(State(total: total))
    }

    var total: Int { state.withLock { $0.total } }

    /// For work whose size is learnt on the way.
    func set(total: Int, done: Int, folder: String) {
        state.withLock { $0.total = total }
        update(done: done, folder: folder)
    }

    func update(done: Int, folder: String) {
        state.withLock { state in
            let total = state.total
            if onTerminal {
                let width = 30
                let filled = total == 0 ? width : width * min(done, total) / total
                let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
                StandardError.write("\r[\(bar)] \(done)/\(total) \(folder.prefix(30))\u{1B}[K")
            } else if done - state.lastLine >= 1000 || done == total {
                guard done != state.lastLine else { return }
                state.lastLine = done
                StandardError.write("progress: \(done)/\(total) message(s)\n")
            }
        }
    }

    func finish() {
        if onTerminal { StandardError.write("\n") }
    }
}
