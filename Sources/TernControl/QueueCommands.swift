// ternctl queue: the outbound queue as ternd sees it (same SQLite file, WAL, busy timeout): list, show, flush,
// remove. A flush is picked up by ternd's runner within a second (it watches the file's data_version).

import ArgumentParser
import Foundation
import TernDaemon
import TernQueue
import TernSMTPCore

extension Context {
    func openQueue() throws -> MailQueue {
        do { return try MailQueue(directory: config.queuePath) } catch {
            throw CommandError("cannot open the queue \(config.queuePath): \(error)")
        }
    }
}

func parseQueueID(_ text: String) throws -> QueueID {
    guard let id = QueueID(text) else { throw CommandError("'\(text)' is not a queue id (16 hex digits, as `ternctl queue list` shows)") }
    return id
}

/// A queued message for --json.
func queueJSON(_ message: QueuedMessage, details: Bool) -> [String: Any] {
    var object: [String: Any] = [
        "id": message.id.rawValue, "sender": message.sender.description, "arrival": Int(message.arrival),
        "size": message.size,
        "recipients": message.recipients.map { recipient -> [String: Any] in
            var entry: [String: Any] = [
                "address": recipient.mailbox.description, "state": recipient.state.rawValue,
                "attempts": recipient.attempts, "last_reply": recipient.lastReply ?? jsonNull,
                "status": recipient.status ?? jsonNull, "remote_mta": recipient.remoteMTA ?? jsonNull,
                "last_attempt": recipient.lastAttempt.map { Int($0) } ?? jsonNull,
            ]
            entry["next_attempt"] = recipient.state == .pending ? Int(recipient.nextAttempt) : jsonNull
            if details {
                entry["notify"] = recipient.parameters.notify?.parameterValue ?? jsonNull
                entry["orcpt"] = recipient.parameters.originalRecipient.map { "\($0.type);\($0.address)" } ?? jsonNull
            }
            return entry
        },
    ]
    if details {
        object["ret"] = message.parameters.ret?.rawValue ?? jsonNull
        object["envid"] = message.parameters.envelopeID ?? jsonNull
        object["body"] = message.parameters.body?.rawValue ?? jsonNull
        object["smtputf8"] = message.parameters.smtpUTF8
        object["delay_warning_sent"] = message.delayWarningSent
    }
    return object
}

struct QueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue", abstract: "The outbound mail queue.",
        subcommands: [List.self, Show.self, Flush.self, Remove.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List queued messages: id, arrival, size, sender, recipients still pending, next try, last reply.")
        @OptionGroup var options: DataOptions

        func run() throws {
            let context = try Context(options)
            let messages = try context.openQueue().list()
            if context.json {
                try context.printJSON(messages.map { queueJSON($0, details: false) })
                return
            }
            for message in messages {
                let pending = message.pendingRecipients
                let next = pending.map(\.nextAttempt).min()
                let reply = pending.compactMap(\.lastReply).first ?? "-"
                print("\(message.id)  \(formatTime(message.arrival))  \(message.size) bytes  <\(message.sender)>  "
                      + "\(pending.count)/\(message.recipients.count) pending  next \(formatTime(next))  \(reply)")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one queued message and each recipient's state.")
        @OptionGroup var options: DataOptions
        @Argument(help: "The queue id (from `ternctl queue list`).") var id: String

        func run() throws {
            let context = try Context(options)
            let id = try parseQueueID(id)
            let message = try context.openQueue().message(id)
            if context.json {
                try context.printJSON(queueJSON(message, details: true))
                return
            }
            print("id: \(message.id)")
            print("sender: <\(message.sender)>")
            print("arrival: \(formatTime(message.arrival))")
            print("size: \(message.size) bytes")
            if let envid = message.parameters.envelopeID { print("envid: \(envid)") }
            if let ret = message.parameters.ret { print("ret: \(ret.rawValue)") }
            for recipient in message.recipients {
                var line = "recipient <\(recipient.mailbox)>: \(recipient.state.rawValue), \(recipient.attempts) attempt(s)"
                if recipient.state == .pending { line += ", next \(formatTime(recipient.nextAttempt))" }
                if let reply = recipient.lastReply { line += ", last reply: \(reply)" }
                if let mta = recipient.remoteMTA { line += " (\(mta))" }
                print(line)
            }
        }
    }

    struct Flush: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Try pending recipients now: of one message, or of every message without an id.")
        @OptionGroup var options: DataOptions
        @Argument(help: "A queue id; without it, the whole queue.") var id: String?

        func run() throws {
            let context = try Context(options)
            let id = try id.map(parseQueueID)
            let count = try context.openQueue().flush(id)
            if context.json {
                try context.printJSON(["flushed": count, "id": id?.rawValue ?? jsonNull])
            } else {
                print("\(count) recipient(s) due now; ternd tries them within a second")
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a queued message without delivering it and without telling the sender.")
        @OptionGroup var options: DataOptions
        @Argument(help: "The queue id.") var id: String

        func run() throws {
            let context = try Context(options)
            let id = try parseQueueID(id)
            try context.openQueue().remove(id)
            if context.json { try context.printJSON(["removed": id.rawValue]) } else { print("removed \(id)") }
        }
    }
}
