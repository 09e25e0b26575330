// Commands on mailboxes as a whole: LIST (with LIST-EXTENDED, LIST-STATUS, SPECIAL-USE), LSUB, CREATE, DELETE,
// RENAME, SUBSCRIBE, UNSUBSCRIBE, STATUS, GETQUOTA, GETQUOTAROOT.

import TernCore
import TernIMAPCore
import TernStore

extension IMAPSession {
    /// The wire form of a store mailbox name: a quoted string or a literal.
    func wireName(_ name: String) -> String {
        let bytes = MailboxNames.encode(name, utf8: utf8Enabled)
        // RFC 6855 §3: once UTF8=ACCEPT is enabled, quoted strings carry UTF-8.
        if utf8Enabled, bytes.count <= IMAPString.maxQuotedLength, !bytes.contains(where: { $0 < 0x20 || $0 == 0x7f }) {
            return String(decoding: IMAPString.quoted(bytes), as: UTF8.self)
        }
        return String(decoding: IMAPString.quotedOrLiteral(bytes), as: UTF8.self)
    }

    func decodeName(_ bytes: [UInt8], tag: Tag) -> String? {
        guard let name = MailboxNames.decode(bytes, utf8: utf8Enabled), !name.isEmpty else {
            send("\(tag) NO [CANNOT] Invalid mailbox name (not valid modified UTF-7, or 8-bit without UTF8=ACCEPT)")
            return nil
        }
        return name
    }

    /// Ends a command (exactly once per command): reports pending changes of the selected mailbox first, then
    /// writes the tagged line and lets the next command in.
    func finish(_ line: String, allowExpunge: Bool = true, force: Bool = false) {
        let expungesWaiting = allowExpunge && !(view?.pendingExpunges.isEmpty ?? true)
        if state == .selected, view != nil, hasUnseenChanges || force || expungesWaiting {
            refresh(allowExpunge: allowExpunge) { [self] in
                send(line)
                endWork()
            }
        } else {
            send(line)
            if isBusy { endWork() }
        }
    }

    // MARK: LIST / LSUB

    func list(tag: Tag, _ command: ListCommand, lsub: Bool = false) {
        guard let store else { return }
        let verb = lsub ? "LSUB" : "LIST"
        guard let reference = String(validating: command.reference, as: UTF8.self) else {
            send("\(tag) BAD Invalid reference")
            return
        }
        var patterns: [MailboxPattern] = []
        for bytes in command.patterns {
            // A pattern that is not valid modified UTF-7 matches no mailbox (every name we list is valid).
            guard let text = String(validating: bytes, as: UTF8.self),
                  let decoded = utf8Enabled ? text : ModifiedUTF7.decode(text) else { continue }
            patterns.append(MailboxPattern(reference: reference, pattern: decoded))
        }
        // `LIST "" ""`: the hierarchy delimiter and root (RFC 9051 §6.3.9).
        if patterns.isEmpty {
            finish("\(tag) OK \(verb) completed")
            return
        }
        if patterns.count == 1, patterns[0].isEmpty, command.selectionOptions.isEmpty {
            send("* \(verb) (\\Noselect) \"/\" \"\"")
            finish("\(tag) OK " + "\(verb) completed")
            return
        }
        var statusItems: [StatusAttribute]? = nil
        var returnSubscribed = lsub
        var returnSpecialUse = true
        for option in command.returnOptions {
            switch option {
            case .status(let items): statusItems = items
            case .subscribed: returnSubscribed = true
            case .specialUse: returnSpecialUse = true
            case .children: break
            }
        }
        let subscribedOnly = command.selectionOptions.contains(.subscribed)
        let specialUseOnly = command.selectionOptions.contains(.specialUse)
        if subscribedOnly { returnSubscribed = true }
        if lsub { returnSpecialUse = false }
        let requestedStatus = statusItems
        let extended = !command.selectionOptions.isEmpty || !command.returnOptions.isEmpty || command.patterns.count > 1
        let recursiveMatch = command.selectionOptions.contains(.recursiveMatch)
        perform({ () throws -> ([MailboxInfo], [String], [MailboxID: MailboxCounts]) in
            let boxes = try store.mailboxes()
            var counts: [MailboxID: MailboxCounts] = [:]
            if requestedStatus != nil {
                for box in boxes { counts[box.id] = try store.counts(box.id) }
            }
            return (boxes, try store.subscriptions(), counts)
        }) { [self] result in
            guard case .success(let (boxes, subscriptionList, counts)) = result else {
                if case .failure(let error) = result { finish("\(tag) " + failureReply(error, context: verb)) }
                return
            }
            let existing = Dictionary(boxes.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            let subscriptions = Set(subscriptionList)
            // Names to consider: mailboxes and the parents their names imply; with SUBSCRIBED, subscriptions too
            // (they may name mailboxes that no longer exist) and their parents.
            var names = Set(existing.keys)
            if subscribedOnly || lsub { names.formUnion(subscriptions) }
            for name in Array(names) { names.formUnion(MailboxNames.parents(of: name)) }
            let sorted = names.sorted { a, b in
                if a == "INBOX" { return b != "INBOX" }
                if b == "INBOX" { return false }
                return a < b
            }
            let withChildren = Set(existing.keys.flatMap { MailboxNames.parents(of: $0) })
            let withSubscribedChildren = Set(subscriptions.flatMap { MailboxNames.parents(of: $0) })
            // RFC 5258 §3.5: CHILDINFO only for a subscribed descendant the patterns do not list themselves.
            let withUnlistedSubscribedChildren = Set(subscriptions.filter { name in !patterns.contains { $0.matches(name) } }
                .flatMap { MailboxNames.parents(of: $0) })
            for name in sorted {
                guard patterns.contains(where: { $0.matches(name) }) else { continue }
                let info = existing[name]
                let isSubscribed = subscriptions.contains(name)
                var childInfo = false
                if subscribedOnly || lsub {
                    if !isSubscribed {
                        if lsub {
                            // A parent of subscribed mailboxes, for `%` (RFC 3501 §6.3.9 LSUB).
                            if patterns.contains(where: \.endsWithPercent), withSubscribedChildren.contains(name) {
                                send("* LSUB (\\Noselect) \"/\" \(wireName(name))")
                            }
                            continue
                        }
                        // RFC 5258 RECURSIVEMATCH: a parent whose children are subscribed, with CHILDINFO.
                        guard recursiveMatch, withUnlistedSubscribedChildren.contains(name) else { continue }
                        childInfo = true
                    }
                }
                if specialUseOnly, info?.specialUse == nil { continue }
                var attributes: [String] = []
                if info == nil {
                    if lsub {
                        attributes.append("\\Noselect")
                    } else {
                        attributes.append(extended || rev2Enabled ? "\\NonExistent" : "\\Noselect")
                    }
                }
                if !lsub, info != nil || withChildren.contains(name) {
                    attributes.append(withChildren.contains(name) ? "\\HasChildren" : "\\HasNoChildren")
                }
                if returnSubscribed, !lsub, isSubscribed { attributes.append("\\Subscribed") }
                if returnSpecialUse, let use = info?.specialUse { attributes.append(use) }
                var line = "* \(verb) (\(attributes.joined(separator: " "))) \"/\" \(wireName(name))"
                if childInfo { line += " (CHILDINFO (\"SUBSCRIBED\"))" }
                send(line)
                if let statusItems, let info, let count = counts[info.id] {
                    send("* STATUS \(wireName(name)) (\(statusLine(info, count, statusItems)))")
                }
            }
            finish("\(tag) OK " + "\(verb) completed")
        }
    }

    // MARK: CREATE / DELETE / RENAME / SUBSCRIBE

    func create(tag: Tag, _ bytes: [UInt8], specialUse: [String]) {
        guard let store, let name = decodeName(bytes, tag: tag) else { return }
        let known = Set(AccountStore.standardMailboxes.map(\.specialUse) + ["\\All", "\\Flagged"])
        var use: String?
        for attribute in specialUse {
            guard let match = known.first(where: { $0.lowercased() == attribute.lowercased() }) else {
                send("\(tag) NO [USEATTR] Unsupported special-use attribute \(attribute)")
                return
            }
            guard use == nil else {
                send("\(tag) NO [USEATTR] Only one special-use attribute per mailbox")
                return
            }
            use = match
        }
        if name == "INBOX" {
            send("\(tag) NO [ALREADYEXISTS] INBOX always exists")
            return
        }
        let specialUse = use
        perform({ try store.createMailbox(name, specialUse: specialUse) }) { [self] result in
            switch result {
            case .success(let info): finish("\(tag) OK [MAILBOXID (F\(info.objectID))] CREATE completed")
            case .failure(let error): finish("\(tag) " + failureReply(error, context: "CREATE"))
            }
        }
    }

    func delete(tag: Tag, _ bytes: [UInt8]) {
        guard let store, let name = decodeName(bytes, tag: tag) else { return }
        if name == "INBOX" {
            send("\(tag) NO [CANNOT] INBOX cannot be deleted")
            return
        }
        perform({ try store.deleteMailbox(name) }) { [self] result in
            switch result {
            case .success:
                // Deleting the selected mailbox ends the selection (RFC 9051 §6.3.4 leaves the choice; Dovecot agrees).
                if let view, view.name == name {
                    self.view = nil
                    state = .authenticated
                    send("* OK [CLOSED] Mailbox deleted")
                }
                finish("\(tag) OK " + "DELETE completed (messages stay recoverable for the retention period)")
            case .failure(let error): finish("\(tag) " + failureReply(error, context: "DELETE"))
            }
        }
    }

    func rename(tag: Tag, _ fromBytes: [UInt8], _ toBytes: [UInt8]) {
        guard let store, let from = decodeName(fromBytes, tag: tag), let to = decodeName(toBytes, tag: tag) else { return }
        if to == "INBOX" {
            send("\(tag) NO [ALREADYEXISTS] INBOX always exists")
            return
        }
        if to.hasPrefix(from + "/") {
            send("\(tag) NO [CANNOT] A mailbox cannot be moved under itself")
            return
        }
        perform({ () throws -> Void in
            if from == "INBOX" {
                // RFC 9051 §6.3.6: renaming INBOX moves its messages to the new name; INBOX stays, empty.
                let inbox = try store.requireInbox()
                _ = try store.createMailbox(to)
                let uids = try store.messages(in: "INBOX").map(\.uid)
                _ = try store.copy(from: inbox.id, uids: uids, to: to, quota: nil)
                _ = try store.expunge("INBOX", uids: uids)
                return
            }
            let boxes = try store.mailboxes()
            let exists = boxes.contains(where: { $0.name == from })
            // A name that only exists as the parent of others (\Noselect) can be renamed too: its children move.
            guard exists || boxes.contains(where: { $0.name.hasPrefix(from + "/") }) else {
                throw StoreError.mailboxNotFound(from)
            }
            if boxes.contains(where: { $0.name == to || $0.name.hasPrefix(to + "/") }) { throw StoreError.mailboxExists(to) }
            if exists { try store.renameMailbox(from, to: to) }
            // Children move with their parent.
            for child in boxes where child.name.hasPrefix(from + "/") {
                try store.renameMailbox(child.name, to: to + child.name.dropFirst(from.count))
            }
        }) { [self] result in
            switch result {
            case .success:
                if var view, view.name == from || view.name.hasPrefix(from + "/") {
                    view.name = to + view.name.dropFirst(from.count)
                    self.view = view
                }
                finish("\(tag) OK " + "RENAME completed", force: from == "INBOX")
            case .failure(let error): finish("\(tag) " + failureReply(error, context: "RENAME"))
            }
        }
    }

    func subscribe(tag: Tag, _ bytes: [UInt8], _ subscribed: Bool) {
        guard let store, let name = decodeName(bytes, tag: tag) else { return }
        let verb = subscribed ? "SUBSCRIBE" : "UNSUBSCRIBE"
        perform({ try store.setSubscribed(name, subscribed) }) { [self] result in
            switch result {
            case .success: finish("\(tag) OK " + "\(verb) completed")
            case .failure(let error): finish("\(tag) " + failureReply(error, context: verb))
            }
        }
    }

    // MARK: STATUS

    func statusLine(_ info: MailboxInfo, _ counts: MailboxCounts, _ items: [StatusAttribute]) -> String {
        items.map { item -> String in
            switch item {
            case .messages: "MESSAGES \(counts.messages)"
            case .uidNext: "UIDNEXT \(info.uidNext)"
            case .uidValidity: "UIDVALIDITY \(info.uidValidity)"
            case .unseen: "UNSEEN \(counts.unseen)"
            case .deleted: "DELETED \(counts.deleted)"
            case .size: "SIZE \(counts.size)"
            case .highestModSeq: "HIGHESTMODSEQ \(info.highestModSeq)"
            case .recent: "RECENT \(counts.recent)"
            case .appendLimit: "APPENDLIMIT \(limits.maxAppendLiteral)"
            case .mailboxID: "MAILBOXID (F\(info.objectID))"
            }
        }.joined(separator: " ")
    }

    func status(tag: Tag, _ bytes: [UInt8], _ items: [StatusAttribute]) {
        guard let store, let name = decodeName(bytes, tag: tag) else { return }
        if items.contains(.highestModSeq) { enableCondStore() }
        perform({ () throws -> (MailboxInfo, MailboxCounts) in
            guard let info = try store.mailbox(named: name) else { throw StoreError.mailboxNotFound(name) }
            return (info, try store.counts(info.id))
        }) { [self] result in
            switch result {
            case .success(let (info, counts)):
                send("* STATUS \(wireName(info.name)) (\(statusLine(info, counts, items)))")
                finish("\(tag) OK " + "STATUS completed")
            case .failure(let error): finish("\(tag) " + failureReply(error, context: "STATUS"))
            }
        }
    }

    // MARK: QUOTA (RFC 9208): one root, "", for the whole account.

    private func quotaLine(_ usage: Usage) -> String {
        var resources: [String] = []
        if let max = quota?.maxBytes { resources.append("STORAGE \(usage.bytes / 1024) \(max / 1024)") }
        if let max = quota?.maxMessages { resources.append("MESSAGE \(usage.messages) \(max)") }
        return "* QUOTA \"\" (\(resources.joined(separator: " ")))"
    }

    private var hasQuota: Bool { quota?.maxBytes != nil || quota?.maxMessages != nil }

    func getQuota(tag: Tag, _ root: [UInt8]) {
        guard let store else { return }
        guard root.isEmpty, hasQuota else {
            send("\(tag) NO [NONEXISTENT] No such quota root")
            return
        }
        perform({ try store.usage() }) { [self] result in
            switch result {
            case .success(let usage):
                send(quotaLine(usage))
                finish("\(tag) OK " + "GETQUOTA completed")
            case .failure(let error): finish("\(tag) " + failureReply(error, context: "GETQUOTA"))
            }
        }
    }

    func getQuotaRoot(tag: Tag, _ bytes: [UInt8]) {
        guard let store, let name = decodeName(bytes, tag: tag) else { return }
        perform({ () throws -> Usage in
            guard try store.mailbox(named: name) != nil else { throw StoreError.mailboxNotFound(name) }
            return try store.usage()
        }) { [self] result in
            switch result {
            case .success(let usage):
                send("* QUOTAROOT \(wireName(name))" + (hasQuota ? " \"\"" : ""))
                if hasQuota { send(quotaLine(usage)) }
                finish("\(tag) OK " + "GETQUOTAROOT completed")
            case .failure(let error): finish("\(tag) " + failureReply(error, context: "GETQUOTAROOT"))
            }
        }
    }
}

extension AccountStore {
    func requireInbox() throws(StoreError) -> MailboxInfo {
        guard let inbox = try mailbox(named: "INBOX") else { throw .mailboxNotFound("INBOX") }
        return inbox
    }
}
