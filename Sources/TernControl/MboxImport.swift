// The --mbox half of `ternctl import` (see ImportCommand.swift).

import Foundation
import TernMIME
import TernPosix
import TernStore

struct MboxImport {
    let path: String
    let mailbox: String?
    let store: AccountStore
    let context: Context
    let account: String

    struct Source {
        let mailbox: String
        let path: String
        let size: Int
    }

    /// One file → one mailbox; a folder → every mbox file in it, named by its path (`A.sbd/B` is `A/B`).
    func sources() throws -> [Source] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CommandError("\(path) does not exist")
        }
        guard isDirectory.boolValue else { return [Source(mailbox: mailbox ?? "INBOX", path: path, size: Self.size(path))] }
        guard mailbox == nil else { throw CommandError("--mailbox needs an mbox file, and \(path) is a folder") }
        var result: [Source] = []
        guard let walker = FileManager.default.enumerator(atPath: path) else { throw CommandError("cannot read \(path)") }
        for case let relative as String in walker {
            let full = path + "/" + relative
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: full, isDirectory: &isFolder) else { continue }
            let name = (relative as NSString).lastPathComponent
            guard !isFolder.boolValue, !name.hasPrefix("."), !name.hasSuffix(".msf"), !name.hasSuffix(".dat"),
                  !name.hasSuffix(".json"), Self.size(full) > 0 else { continue }
            var mailboxName = relative.replacingOccurrences(of: ".sbd/", with: "/")
            if mailboxName.uppercased() == "INBOX" { mailboxName = "INBOX" }
            result.append(Source(mailbox: mailboxName, path: full, size: Self.size(full)))
        }
        guard !result.isEmpty else { throw CommandError("\(path) holds no mbox files") }
        return result.sorted { $0.mailbox < $1.mailbox }
    }

    static func size(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }

    func run() throws {
        let sources = try sources()
        let totalBytes = sources.reduce(0) { $0 + $1.size }
        // Progress in kilobytes read: the number of messages is known only at the end of each file.
        let progress = Progress(total: max(1, totalBytes / 1024), onTerminal: Terminal.standardErrorIsTerminal)
        var report: [[String: Any]] = []
        var imported = 0, bytes = 0, readBytes = 0
        for source in sources {
            guard let handle = FileHandle(forReadingAtPath: source.path) else { throw CommandError("cannot open \(source.path)") }
            defer { try? handle.close() }
            if try store.mailbox(named: source.mailbox) == nil { _ = try store.createMailbox(source.mailbox) }
            var reader = MboxReader()
            var batch: [AccountStore.NewMessage] = []
            var count = 0
            func add(_ messages: [MboxMessage]) throws {
                for message in messages {
                    var flags: SystemFlags = []
                    for flag in message.flags {
                        switch flag {
                        case "Seen": flags.formUnion(SystemFlags(maildirLetters: "S"))
                        case "Answered": flags.formUnion(SystemFlags(maildirLetters: "R"))
                        case "Flagged": flags.formUnion(SystemFlags(maildirLetters: "F"))
                        case "Deleted": flags.formUnion(SystemFlags(maildirLetters: "T"))
                        case "Draft": flags.formUnion(SystemFlags(maildirLetters: "D"))
                        default: break
                        }
                    }
                    let keywords = message.keywords.filter { Keywords.isValid($0) }
                    batch.append(AccountStore.NewMessage(bytes: message.bytes, flags: flags, keywords: keywords, internalDate: message.date))
                    bytes += message.bytes.count
                    if batch.count == 200 { try flush() }
                }
            }
            func flush() throws {
                guard !batch.isEmpty else { return }
                try store.appendBatch(to: source.mailbox, batch)
                count += batch.count
                imported += batch.count
                batch = []
            }
            while true {
                let chunk = handle.readData(ofLength: 1 << 20)
                if chunk.isEmpty { break }
                readBytes += chunk.count
                try add(reader.feed(chunk))
                progress.update(done: readBytes / 1024, folder: source.mailbox)
                if count == 0 && batch.isEmpty && reader.leadingGarbage > 0 {
                    throw CommandError("\(source.path) is not an mbox file (it does not start with a \"From \" line)")
                }
            }
            try add(reader.finish())
            try flush()
            report.append(["mailbox": source.mailbox, "messages": count, "file": source.path])
        }
        progress.finish()
        if context.json {
            try context.printJSON(["account": account, "mailboxes": report, "messages": imported, "bytes": bytes] as [String: Any])
        } else {
            for row in report { print("\(row["mailbox"]!)\t\(row["messages"]!) message(s)") }
            print("imported \(imported) message(s), \(bytes) bytes, into \(account)")
        }
    }
}
