// The selected state: SELECT/EXAMINE (with CONDSTORE and QRESYNC), untagged updates (EXISTS, EXPUNGE, VANISHED,
// FETCH FLAGS) at the moments RFC 9051 §7.5.1 allows, IDLE, CLOSE/UNSELECT, EXPUNGE and UID EXPUNGE.
//
// How sessions learn of changes: every store commit publishes on the account's change bus; the session's waker
// marks `changesPending` (and reports at once while idling). Reporting asks the store for everything after the
// view's MODSEQ — one indexed query — so changes by any session, delivery or process look the same.

import Logging
import TernCore
import TernIMAPCore
import TernStore

extension IMAPSession {
    /// Called on the loop (through the waker) after any commit in this account.
    func storeChanged() {
        changesPending = true
        if notify != nil {
            deliverNotificationsIfQuiet()
            return
        }
        if case .idling = mode, !isBusy, view != nil { refreshWhileIdle() }
    }

    // MARK: Reporting changes

    /// Asks the store what changed since the view's MODSEQ and reports it. Expunges are held back (kept as
    /// pending, their sequence numbers unchanged) unless `allowExpunge`.
    func refresh(allowExpunge: Bool, then done: @escaping () -> Void) {
        guard let store, let current = view else {
            done()
            return
        }
        if let prefetched = prefetchedRefresh {
            prefetchedRefresh = nil
            // Made for this view as it still is, and nothing committed since it was read.
            if prefetched.mailbox == current.id, prefetched.since == current.knownModSeq,
               store.changes.sequence == prefetched.sequence {
                changesPending = false
                seenChangeSequence = prefetched.sequence
                apply(prefetched.delta, present: nil, allowExpunge: allowExpunge)
                done()
                return
            }
        }
        changesPending = false
        seenChangeSequence = store.changes.sequence
        let id = current.id
        let since = current.knownModSeq
        let lastKnown = current.uids.last ?? 0
        let claimsRecent = !current.readOnly && !rev2Enabled
        perform({ () throws -> (MailboxDelta, [UInt32]?, UID?) in
            let delta = try store.delta(id, since: since)
            // Rows that left for good while this session was not looking: compare UID lists instead.
            let present = delta.expungedIsComplete ? nil : try store.snapshot(id).messages.map(\.uid.rawValue)
            // New messages: the first session to be shown them gets them as \Recent.
            var recentFrom: UID?
            if claimsRecent, delta.changed.contains(where: { $0.uid.rawValue > lastKnown }) {
                recentFrom = try store.claimRecent(id, below: delta.uidNext)
            }
            return (delta, present, recentFrom)
        }) { [self] result in
            switch result {
            case .success(let (delta, present, recentFrom)):
                if let recentFrom, var view {
                    for message in delta.changed where message.uid >= recentFrom { view.recent.insert(message.uid.rawValue) }
                    self.view = view
                }
                apply(delta, present: present, allowExpunge: allowExpunge)
                done()
            case .failure(let error):
                if case .mailboxNotFound = error as? StoreError {
                    // Deleted by another session: the selection is over.
                    view = nil
                    state = .authenticated
                    send("* BYE [NONEXISTENT] The selected mailbox was deleted")
                    close()
                    return
                }
                logger.error("refresh failed", metadata: ["error": "\(error)"])
                done()
            }
        }
    }

    func apply(_ delta: MailboxDelta, present: [UInt32]?, allowExpunge: Bool) {
        guard var view else { return }
        for uid in delta.expunged.map(\.rawValue) where view.sequenceNumber(of: uid) != nil { view.pendingExpunges.insert(uid) }
        if let present {
            let alive = Set(present)
            for uid in view.uids where !alive.contains(uid) { view.pendingExpunges.insert(uid) }
        }
        if allowExpunge, !view.pendingExpunges.isEmpty {
            let gone = view.pendingExpunges.sorted()
            if qresyncEnabled {
                for uid in gone { _ = view.remove(uid) }
                send("* VANISHED \(IMAPEncoding.sequenceSet(fromSorted: gone))")
            } else {
                for uid in gone {
                    if let seq = view.remove(uid) { send("* \(seq) EXPUNGE") }
                }
            }
        }
        self.view = view
        announceKeywords(delta.changed.flatMap(\.keywords))
        view = self.view ?? view
        let last = view.uids.last ?? 0
        var newUIDs: [UInt32] = []
        for message in delta.changed {
            let uid = message.uid.rawValue
            if uid > last {
                newUIDs.append(uid)
                continue
            }
            guard !view.pendingExpunges.contains(uid), let seq = view.sequenceNumber(of: uid) else { continue }
            if view.selfReported[uid] == message.modSeq.rawValue { continue }
            var items = ["FLAGS \(FetchRenderer.flagList(message.flags, message.keywords, recent: view.recent.contains(uid)))"]
            if qresyncEnabled || rev2Enabled { items.insert("UID \(uid)", at: 0) }
            if condStoreEnabled { items.append("MODSEQ (\(message.modSeq))") }
            send("* \(seq) FETCH (\(items.joined(separator: " ")))")
        }
        if !newUIDs.isEmpty {
            view.appendNew(newUIDs)
            send("* \(view.count) EXISTS")
            if !rev2Enabled { send("* \(view.recentCount) RECENT") }
        }
        view.knownModSeq = delta.highestModSeq
        view.uidNext = delta.uidNext
        view.selfReported.removeAll()
        self.view = view
    }

    func refreshWhileIdle() {
        refresh(allowExpunge: true) { [self] in endWork() }
    }

    /// A CONDSTORE-enabling command (RFC 7162 §3.1): the first one in the selected state also reports
    /// HIGHESTMODSEQ, so the client knows where it stands.
    func enableCondStore() {
        guard !condStoreEnabled else { return }
        condStoreEnabled = true
        if let view { send("* OK [HIGHESTMODSEQ \(view.knownModSeq)] Highest") }
    }

    // MARK: Flags on the wire

    static let systemFlagNames = "\\Answered \\Flagged \\Deleted \\Seen \\Draft"

    func flagsLines(_ keywords: [String], readOnly: Bool) -> [String] {
        let all = keywords.isEmpty ? Self.systemFlagNames : Self.systemFlagNames + " " + keywords.joined(separator: " ")
        return ["* FLAGS (\(all))",
                readOnly ? "* OK [PERMANENTFLAGS ()] Read-only mailbox" : "* OK [PERMANENTFLAGS (\(all) \\*)] Flags permitted"]
    }

    /// Announces keywords the client has not been told about yet (a new `* FLAGS`, RFC 9051 §7.3.5), before a FETCH
    /// that shows them.
    func announceKeywords(_ keywords: [String]) {
        guard var view else { return }
        var added = false
        for keyword in keywords where !view.keywords.contains(where: { $0.lowercased() == keyword.lowercased() }) {
            view.keywords.append(keyword)
            added = true
        }
        guard added else { return }
        self.view = view
        for line in flagsLines(view.keywords, readOnly: view.readOnly) { send(line) }
    }

    /// Splits IMAP flags into the store's system flags and keywords; nil (after a BAD) for flags that cannot be set.
    func storeFlags(_ flags: [Flag], tag: Tag) -> (SystemFlags, [String])? {
        var system: SystemFlags = []
        var keywords: [String] = []
        for flag in flags {
            switch flag {
            case .answered: system.insert(.answered)
            case .flagged: system.insert(.flagged)
            case .deleted: system.insert(.deleted)
            case .seen: system.insert(.seen)
            case .draft: system.insert(.draft)
            case .keyword(let keyword): keywords.append(keyword)
            case .extension(let name):
                send("\(tag) BAD Flag \(name) cannot be set")
                return nil
            }
        }
        return (system, keywords)
    }

    // MARK: SELECT / EXAMINE

    static let commonKeywords = ["$Forwarded", "$MDNSent", "$Junk", "$NotJunk", "$Phishing"]

    func select(tag: Tag, _ bytes: [UInt8], _ parameters: SelectParameters, readOnly: Bool) {
        guard let store else { return }
        if parameters.qresync != nil, !qresyncEnabled {
            send("\(tag) BAD QRESYNC must be enabled first (ENABLE QRESYNC)")
            return
        }
        guard let name = decodeName(bytes, tag: tag) else { return }
        if parameters.condStore { condStoreEnabled = true }
        if view != nil {
            view = nil
            state = .authenticated
            if qresyncEnabled || rev2Enabled { send("* OK [CLOSED] Previous mailbox closed") }
        }
        let verb = readOnly ? "EXAMINE" : "SELECT"
        let qresync = parameters.qresync
        // Changes from here on are reported after the snapshot (by `finish`).
        seenChangeSequence = store.changes.sequence
        let tracksRecent = !rev2Enabled
        perform({ () throws -> (MailboxSnapshot, MailboxDelta?, [UInt32]?, UID?) in
            guard let info = try store.mailbox(named: name) else { throw StoreError.mailboxNotFound(name) }
            let snapshot = try store.snapshot(info.id)
            // \Recent: SELECT takes the messages no session has been shown; EXAMINE only looks (RFC 3501 §6.3.2).
            var recentFrom: UID?
            if tracksRecent {
                recentFrom = readOnly ? try store.firstRecentUID(info.id) : try store.claimRecent(info.id, below: snapshot.info.uidNext)
            }
            guard let qresync, qresync.uidValidity == snapshot.info.uidValidity.rawValue,
                  qresync.modSeq < snapshot.info.highestModSeq.rawValue else { return (snapshot, nil, nil, recentFrom) }
            let delta = try store.delta(info.id, since: ModSeq(qresync.modSeq))
            return (snapshot, delta, delta.expungedIsComplete ? nil : snapshot.messages.map(\.uid.rawValue), recentFrom)
        }) { [self] result in
            switch result {
            case .success(let (snapshot, delta, present, recentFrom)):
                selected(tag: tag, snapshot, readOnly: readOnly, qresync: qresync, delta: delta, present: present, verb: verb,
                         recentFrom: recentFrom)
            case .failure(let error):
                finish("\(tag) " + failureReply(error, context: verb))
            }
        }
    }

    private func selected(tag: Tag, _ snapshot: MailboxSnapshot, readOnly: Bool, qresync: SelectParameters.QResync?,
                          delta: MailboxDelta?, present: [UInt32]?, verb: String, recentFrom: UID?) {
        var view = MailboxView(snapshot: snapshot, readOnly: readOnly)
        if let recentFrom { view.recent = Set(view.uids.filter { $0 >= recentFrom.rawValue }) }
        var keywords = Self.commonKeywords
        for message in snapshot.messages {
            for keyword in message.keywords where !keywords.contains(where: { $0.lowercased() == keyword.lowercased() }) {
                keywords.append(keyword)
            }
        }
        view.keywords = keywords
        for line in flagsLines(keywords, readOnly: readOnly) { send(line) }
        send("* \(view.count) EXISTS")
        if !rev2Enabled {
            send("* \(view.recentCount) RECENT")
            if let first = snapshot.messages.firstIndex(where: { !$0.flags.contains(.seen) }) {
                send("* OK [UNSEEN \(first + 1)] First unseen message")
            }
        }
        send("* OK [UIDVALIDITY \(view.uidValidity)] UIDs valid")
        send("* OK [UIDNEXT \(view.uidNext)] Predicted next UID")
        send("* OK [HIGHESTMODSEQ \(view.knownModSeq)] Highest")
        send("* OK [MAILBOXID (F\(snapshot.info.objectID))] Ok")
        if let qresync, let delta {
            // RFC 7162 §3.2.5: what vanished since the client's MODSEQ, then what changed, as UID FETCHes.
            var vanished: [UInt32]
            if let present {
                let alive = Set(present)
                let top = snapshot.info.uidNext.rawValue
                vanished = top > 1 ? Array(1..<top).filter { !alive.contains($0) } : []
            } else {
                vanished = delta.expunged.map(\.rawValue)
            }
            if let known = qresync.knownUIDs, case .ranges(let ranges) = known {
                vanished = vanished.filter { uid in ranges.contains { Self.contains($0, uid) } }
            }
            if !vanished.isEmpty { send("* VANISHED (EARLIER) \(IMAPEncoding.sequenceSet(fromSorted: vanished))") }
            for message in delta.changed {
                guard let seq = view.sequenceNumber(of: message.uid.rawValue) else { continue }
                let flags = FetchRenderer.flagList(message.flags, message.keywords, recent: view.recent.contains(message.uid.rawValue))
                send("* \(seq) FETCH (UID \(message.uid) FLAGS \(flags) MODSEQ (\(message.modSeq)))")
            }
        }
        self.view = view
        state = .selected
        // `changesPending` stays as it is: a commit announced while the snapshot was read is reported by `finish`.
        finish("\(tag) OK [\(readOnly ? "READ-ONLY" : "READ-WRITE")] \(verb) completed")
    }

    static func contains(_ range: SequenceRange, _ uid: UInt32) -> Bool {
        func value(_ n: SequenceNumber) -> UInt32 { if case .number(let v) = n { v } else { .max } }
        let a = value(range.first)
        let b = value(range.last)
        return uid >= min(a, b) && uid <= max(a, b)
    }

    // MARK: CLOSE / UNSELECT

    func closeMailbox(tag: Tag, expunge: Bool) {
        guard let store, let view else { return }
        let verb = expunge ? "CLOSE" : "UNSELECT"
        self.view = nil
        state = .authenticated
        guard expunge, !view.readOnly else {
            send("\(tag) OK \(verb) completed")
            return
        }
        // CLOSE expunges silently (RFC 9051 §6.4.1).
        let id = view.id
        perform(catchUp: true, { () throws -> Void in
            let deleted = try store.snapshot(id).messages.filter { $0.flags.contains(.deleted) }.map(\.uid)
            if !deleted.isEmpty { try store.expunge(id, uids: deleted) }
        }) { [self] result in
            switch result {
            case .success: finish("\(tag) OK \(verb) completed")
            case .failure(let error): finish("\(tag) " + failureReply(error, context: verb))
            }
        }
    }

    // MARK: EXPUNGE / UID EXPUNGE

    func expunge(tag: Tag, uids set: SequenceSet?) {
        guard let store, let view else { return }
        guard !view.readOnly else {
            send("\(tag) NO [READ-ONLY] The mailbox is read-only")
            return
        }
        var resolved: Set<UInt32>? = nil
        if let set {
            do throws(MailboxView.ResolveError) {
                resolved = Set(try view.resolve(set, uid: true))
            } catch {
                if case .invalidSequence(let text) = error { send("\(tag) BAD \(text)") }
                return
            }
        }
        let limit = resolved
        let id = view.id
        let known = Set(view.uids)
        perform(catchUp: true, { () throws -> Void in
            let deleted = try store.snapshot(id).messages
                .filter { $0.flags.contains(.deleted) && known.contains($0.uid.rawValue) && (limit?.contains($0.uid.rawValue) ?? true) }
                .map(\.uid)
            if !deleted.isEmpty { try store.expunge(id, uids: deleted) }
        }) { [self] result in
            switch result {
            case .success: finish("\(tag) OK EXPUNGE completed", force: true)
            case .failure(let error): finish("\(tag) " + failureReply(error, context: "EXPUNGE"))
            }
        }
    }

    // MARK: IDLE (RFC 2177)

    func idle(tag: Tag) {
        mode = .idling(tag: tag)
        send("+ idling")
        if notify != nil, !notifyChanges.isEmpty {
            deliverNotificationsIfQuiet()
        } else if hasUnseenChanges, view != nil {
            refreshWhileIdle()
        }
    }

    func finishIdle(tag: Tag, frame: Frame) {
        mode = .commands
        guard case .line(let line) = frame, String(decoding: line, as: UTF8.self).uppercased() == "DONE" else {
            send("\(tag) BAD Expected DONE")
            return
        }
        finish("\(tag) OK IDLE terminated")
    }
}

/// A `refresh` read on the blocking pool at the end of a command's own work: the store's change count, then the
/// delta after the view's MODSEQ. Valid while the view is the one it was read for (same mailbox and MODSEQ) and
/// the change count has not moved since; otherwise `refresh` asks again.
struct PrefetchedRefresh: Sendable {
    let sequence: UInt64
    let mailbox: MailboxID
    let since: ModSeq
    let delta: MailboxDelta
}
