// Commands on messages: FETCH (with CHANGEDSINCE/VANISHED), STORE (with UNCHANGEDSINCE), COPY/MOVE (COPYUID),
// APPEND (APPENDUID, MULTIAPPEND). Never an EXPUNGE response during FETCH or STORE (RFC 9051 §7.5.1): their
// refresh holds expunges back.

import TernCore
import TernIMAPCore
import TernStore

extension IMAPSession {
    /// Resolves a set against the view; on error the BAD is already written.
    func resolve(_ set: SequenceSet, uid: Bool, tag: Tag) -> [UInt32]? {
        guard let view else { return nil }
        do throws(MailboxView.ResolveError) {
            return try view.resolve(set, uid: uid)
        } catch {
            if case .invalidSequence(let text) = error { send("\(tag) BAD \(text)") }
            return nil
        }
    }

    // MARK: FETCH

    /// Messages rendered per trip to the blocking pool, so a FETCH 1:* of a big mailbox streams out in pieces…
    static let fetchBatch = 200
    /// …and at most about this many bytes of output per trip; the next trip waits until the client has taken most
    /// of it, so a slow client downloading a big mailbox never makes the server hold it all in memory.
    static let fetchOutputBudget = 4 * 1024 * 1024

    func fetch(tag: Tag, _ set: SequenceSet, _ attributes: [FetchAttribute], _ modifiers: FetchModifiers, uid: Bool) {
        guard let store, let view, let uids = resolve(set, uid: uid, tag: tag) else { return }
        if modifiers.vanished && (!uid || !qresyncEnabled || modifiers.changedSince == nil) {
            send("\(tag) BAD VANISHED needs UID FETCH, CHANGEDSINCE and ENABLE QRESYNC")
            return
        }
        if modifiers.changedSince != nil || attributes.contains(.modSeq) { enableCondStore() }
        var renderer = FetchRenderer(attributes: attributes, includeUID: uid, includeModSeq: condStoreEnabled)
        renderer.recent = view.recent
        let markSeen = renderer.setsSeen && !view.readOnly
        let id = view.id
        if modifiers.vanished, let since = modifiers.changedSince, case .ranges(let ranges) = set {
            // RFC 7162 §3.2.6: expunged UIDs in the set since CHANGEDSINCE, before the FETCH responses.
            perform({ try store.delta(id, since: ModSeq(since)) }) { [self] result in
                if case .success(let delta) = result {
                    let gone = delta.expunged.map(\.rawValue).filter { uid in ranges.contains { Self.contains($0, uid) } }
                    if !gone.isEmpty { send("* VANISHED (EARLIER) \(IMAPEncoding.sequenceSet(fromSorted: gone))") }
                }
                fetchBatch(tag: tag, uids: uids[...], renderer: renderer, markSeen: markSeen, changedSince: modifiers.changedSince,
                           missing: false)
            }
            return
        }
        fetchBatch(tag: tag, uids: uids[...], renderer: renderer, markSeen: markSeen, changedSince: modifiers.changedSince,
                   missing: false)
    }

    private func fetchBatch(tag: Tag, uids: ArraySlice<UInt32>, renderer: FetchRenderer, markSeen: Bool,
                            changedSince: UInt64?, missing: Bool) {
        guard let store, let view else { return }
        if uids.isEmpty {
            finish(missing ? "\(tag) NO [EXPUNGEISSUED] Some of the requested messages no longer exist" : "\(tag) OK FETCH completed",
                   allowExpunge: false)
            return
        }
        if connection.pendingOutputBytes > Self.fetchOutputBudget {
            // Wait for the client to read (input is paused meanwhile, as for any running command).
            isBusy = true
            connection.pauseReading()
            connection.schedule(after: .milliseconds(20)) { [self] in
                fetchBatch(tag: tag, uids: uids, renderer: renderer, markSeen: markSeen, changedSince: changedSince, missing: missing)
            }
            return
        }
        let batch = Array(uids.prefix(Self.fetchBatch).map(UID.init))
        let id = view.id
        let sequence = batch.map { view.sequenceNumber(of: $0.rawValue) ?? 0 }
        let withHeader = renderer.usesTopLevelHeader
        perform(catchUp: true, { () throws -> (output: [UInt8], seen: [UInt32: UInt64], missing: Bool, cte: Bool, consumed: Int, keywords: [String]) in
            var records = try store.records(id, uids: batch, withHeader: withHeader)
            let missing = records.count < batch.count
            var seenChanged: [UInt32: UInt64] = [:]
            if markSeen {
                let unseen = records.filter { !$0.info.flags.contains(.seen) }.map(\.uid)
                if !unseen.isEmpty {
                    let result = try store.updateFlags(id, uids: unseen, flags: .seen, keywords: [], .add)
                    for changed in result.changed { seenChanged[changed.uid.rawValue] = changed.modSeq.rawValue }
                    records = try store.records(id, uids: batch, withHeader: withHeader)
                }
            }
            var output: [UInt8] = []
            let sequenceOf = Dictionary(uniqueKeysWithValues: zip(batch.map(\.rawValue), sequence))
            var consumed = batch.count
            for record in records {
                if output.count > Self.fetchOutputBudget {
                    // The rest of the batch goes in the next trip; their \Seen change is reported as an update.
                    consumed = batch.firstIndex(of: record.uid) ?? batch.count
                    for uid in batch[consumed...] { seenChanged[uid.rawValue] = nil }
                    break
                }
                if let changedSince, record.info.modSeq.rawValue <= changedSince { continue }
                do throws(FetchRenderer.RenderError) {
                    output += try renderer.render(sequence: sequenceOf[record.uid.rawValue] ?? 0, record: record,
                                                  forceFlags: seenChanged[record.uid.rawValue] != nil)
                } catch {
                    switch error {
                    case .unknownTransferEncoding: return (output, seenChanged, missing, true, batch.count, [])
                    case .unreadable: continue  // expunged and purged meanwhile, or a file gone: reported as missing
                    }
                }
            }
            // Keywords the FETCH shows, so the session can announce new ones (* FLAGS) before it.
            var keywords = Set<String>()
            for record in records { keywords.formUnion(record.info.keywords) }
            return (output, seenChanged, missing, false, consumed, Array(keywords).sorted())
        }) { [self] result in
            switch result {
            case .success(let (output, seen, batchMissing, unknownCTE, consumed, keywords)):
                let rest = uids.dropFirst(consumed)
                announceKeywords(keywords)
                send(output)
                if var view = self.view {
                    for (uid, modSeq) in seen { view.selfReported[uid] = modSeq }
                    self.view = view
                }
                if !seen.isEmpty { changesPending = true }
                if unknownCTE {
                    finish("\(tag) NO [UNKNOWN-CTE] A part has a content transfer encoding the server cannot decode",
                           allowExpunge: false)
                    return
                }
                fetchBatch(tag: tag, uids: rest, renderer: renderer, markSeen: markSeen, changedSince: changedSince,
                           missing: missing || batchMissing)
            case .failure(let error):
                finish("\(tag) " + failureReply(error, context: "FETCH"), allowExpunge: false)
            }
        }
    }

    // MARK: STORE

    func storeFlags(tag: Tag, _ set: SequenceSet, unchangedSince: UInt64?, _ operation: StoreOperation, uid: Bool) {
        guard let store, let view else { return }
        guard !view.readOnly else {
            send("\(tag) NO [READ-ONLY] The mailbox is read-only")
            return
        }
        guard let uids = resolve(set, uid: uid, tag: tag), let (flags, keywords) = storeFlags(operation.flags, tag: tag) else { return }
        if unchangedSince != nil { enableCondStore() }
        let change: AccountStore.FlagChange = switch operation.mode {
        case .add: .add
        case .remove: .remove
        case .replace: .replace
        }
        let id = view.id
        let silent = operation.silent
        let knownModSeq = view.knownModSeq
        perform({ () throws -> (AccountStore.FlagUpdateResult, [MessageRecord], UInt64, MailboxDelta) in
            let result = try store.updateFlags(id, uids: uids.map(UID.init), flags: flags, keywords: keywords, change,
                                               unchangedSince: unchangedSince.map(ModSeq.init))
            // Not silent: every message of the set gets a FETCH FLAGS, changed or not (RFC 9051 §6.4.6).
            let changed = Set(result.changed.map(\.uid.rawValue))
            let modified = Set(result.modified.map(\.rawValue))
            let others = silent ? [] : uids.filter { !changed.contains($0) && !modified.contains($0) }
            let records = try store.records(id, uids: others.map(UID.init))
            // The catch-up that `finish` would do, in the same trip to the pool: the change count first, then the
            // delta, so nothing committed after the count was read can be missed.
            let sequence = store.changes.sequence
            return (result, records, sequence, try store.delta(id, since: knownModSeq))
        }) { [self] result in
            switch result {
            case .success(let (update, unchanged, sequence, delta)):
                announceKeywords(update.changed.flatMap(\.keywords) + unchanged.flatMap(\.info.keywords))
                guard var view = self.view else { return }
                var infos = update.changed
                infos += unchanged.map(\.info)
                infos.sort { $0.uid < $1.uid }
                for info in infos {
                    let isChange = update.changed.contains { $0.uid == info.uid }
                    if isChange { view.selfReported[info.uid.rawValue] = info.modSeq.rawValue }
                    guard let seq = view.sequenceNumber(of: info.uid.rawValue) else { continue }
                    var items: [String] = []
                    if uid { items.append("UID \(info.uid)") }
                    if !silent {
                        items.append("FLAGS \(FetchRenderer.flagList(info.flags, info.keywords, recent: view.recent.contains(info.uid.rawValue)))")
                    }
                    if condStoreEnabled { items.append("MODSEQ (\(info.modSeq))") }
                    // Silent without CONDSTORE: nothing to say (RFC 7162 §3.1.3 asks for MODSEQ only when enabled).
                    guard !silent || condStoreEnabled, isChange || !silent else { continue }
                    send("* \(seq) FETCH (\(items.joined(separator: " ")))")
                }
                self.view = view
                changesPending = false
                seenChangeSequence = sequence
                if delta.expungedIsComplete {
                    apply(delta, present: nil, allowExpunge: false)
                } else {
                    changesPending = true  // `finish` compares UID lists
                }
                guard let view = self.view else { return }
                var code: String? = nil
                if !update.modified.isEmpty {
                    let numbers = uid ? update.modified.map(\.rawValue)
                                      : update.modified.compactMap { view.sequenceNumber(of: $0.rawValue).map(UInt32.init) }.sorted()
                    code = "MODIFIED \(IMAPEncoding.sequenceSet(fromSorted: numbers))"
                }
                finish("\(tag) OK " + (code.map { "[\($0)] " } ?? "") + "STORE completed", allowExpunge: false)
            case .failure(let error):
                finish("\(tag) " + failureReply(error, context: "STORE"), allowExpunge: false)
            }
        }
    }

    // MARK: COPY / MOVE

    func copy(tag: Tag, _ set: SequenceSet, _ nameBytes: [UInt8], uid: Bool, move: Bool) {
        guard let store, let view else { return }
        let verb = move ? "MOVE" : "COPY"
        if move, view.readOnly {
            send("\(tag) NO [READ-ONLY] The mailbox is read-only")
            return
        }
        guard let uids = resolve(set, uid: uid, tag: tag), let target = decodeName(nameBytes, tag: tag) else { return }
        let id = view.id
        let quota = self.quota
        perform(catchUp: true, { () throws -> (UIDValidity, [(source: UID, copy: UID)]) in
            guard try store.mailbox(named: target) != nil else { throw StoreError.mailboxNotFound(target) }
            let result = try store.copy(from: id, uids: uids.map(UID.init), to: target, quota: quota)
            if move, !result.1.isEmpty { try store.expunge(id, uids: result.1.map(\.source)) }
            return result
        }) { [self] result in
            switch result {
            case .success(let (validity, pairs)):
                changesPending = true
                var code: String? = nil
                if !pairs.isEmpty {
                    let sources = IMAPEncoding.sequenceSet(fromSorted: pairs.map(\.source.rawValue))
                    let copies = IMAPEncoding.sequenceSet(fromSorted: pairs.map(\.copy.rawValue))
                    code = "COPYUID \(validity) \(sources) \(copies)"
                }
                if move {
                    // RFC 6851 §4.3: COPYUID in an untagged OK before the expunges.
                    if let code { send("* OK [\(code)] Moved") }
                    finish("\(tag) OK MOVE completed", force: true)
                } else {
                    finish("\(tag) OK " + (code.map { "[\($0)] " } ?? "") + "COPY completed")
                }
            case .failure(let error):
                if case .mailboxNotFound = error as? StoreError {
                    finish("\(tag) NO [TRYCREATE] No such mailbox")
                } else {
                    finish("\(tag) " + failureReply(error, context: verb))
                }
            }
        }
    }

    // MARK: REPLACE (RFC 8508)

    /// Appends the new message to the named mailbox, then expunges the old one from the selected mailbox, like an
    /// APPEND followed by a MOVE-style expunge: `* OK [APPENDUID …]` before the expunge responses.
    func replace(tag: Tag, _ number: UInt32, _ nameBytes: [UInt8], _ message: AppendMessage, uid: Bool) {
        guard let store, let view else { return }
        if view.readOnly {
            send("\(tag) NO [READ-ONLY] The mailbox is read-only")
            return
        }
        guard let old = resolve(.ranges([SequenceRange(.number(number), .number(number))]), uid: uid, tag: tag) else { return }
        guard let oldUID = old.first else {
            send("\(tag) " + (uid ? "NO [NONEXISTENT] No message with that UID" : "BAD No message with that sequence number"))
            return
        }
        guard let target = decodeName(nameBytes, tag: tag) else { return }
        guard !message.bytes.isEmpty else {
            send("\(tag) NO [CANNOT] An empty message cannot be stored")
            return
        }
        guard let (flags, keywords) = storeFlags(message.flags, tag: tag) else { return }
        let quota = self.quota
        let id = view.id
        perform({ () throws -> (UIDValidity, UID) in
            guard try store.mailbox(named: target) != nil else { throw StoreError.mailboxNotFound(target) }
            let result = try store.append(to: target, message.bytes, flags: flags, keywords: keywords,
                                          internalDate: message.internalDate?.epochSeconds, quota: quota)
            try store.expunge(id, uids: [UID(oldUID)])
            return result
        }) { [self] result in
            switch result {
            case .success(let (validity, newUID)):
                changesPending = true
                send("* OK [APPENDUID \(validity) \(newUID)] Replacement message stored")
                finish("\(tag) OK REPLACE completed", force: true)
            case .failure(let error):
                if case .mailboxNotFound = error as? StoreError {
                    finish("\(tag) NO [TRYCREATE] No such mailbox")
                } else {
                    finish("\(tag) " + failureReply(error, context: "REPLACE"))
                }
            }
        }
    }

    // MARK: APPEND

    func append(tag: Tag, _ nameBytes: [UInt8], _ messages: [AppendMessage]) {
        guard let store, let target = decodeName(nameBytes, tag: tag) else { return }
        guard !messages.isEmpty else {
            send("\(tag) BAD APPEND needs a message")
            return
        }
        var newMessages: [AccountStore.NewMessage] = []
        for message in messages {
            guard !message.bytes.isEmpty else {
                send("\(tag) NO [CANNOT] An empty message cannot be stored")
                return
            }
            guard let (flags, keywords) = storeFlags(message.flags, tag: tag) else { return }
            newMessages.append(AccountStore.NewMessage(bytes: message.bytes, flags: flags, keywords: keywords,
                                                 internalDate: message.internalDate?.epochSeconds))
        }
        let quota = self.quota
        let batch = newMessages
        perform(catchUp: true, { () throws -> (UIDValidity, [UID]) in
            guard let info = try store.mailbox(named: target) else { throw StoreError.mailboxNotFound(target) }
            if batch.count == 1, let message = batch.first {
                let (validity, uid) = try store.append(to: target, message.bytes, flags: message.flags, keywords: message.keywords,
                                                       internalDate: message.internalDate, quota: quota)
                return (validity, [uid])
            }
            return (info.uidValidity, try store.appendBatch(to: target, batch, quota: quota))
        }) { [self] result in
            switch result {
            case .success(let (validity, uids)):
                changesPending = true
                let set = IMAPEncoding.sequenceSet(fromSorted: uids.map(\.rawValue))
                finish("\(tag) OK [APPENDUID \(validity) \(set)] APPEND completed")
            case .failure(let error):
                if case .mailboxNotFound = error as? StoreError {
                    finish("\(tag) NO [TRYCREATE] No such mailbox")
                } else {
                    finish("\(tag) " + failureReply(error, context: "APPEND"))
                }
            }
        }
    }
}
