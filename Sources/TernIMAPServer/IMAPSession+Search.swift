// SEARCH and UID SEARCH: classic `* SEARCH` replies, ESEARCH (RFC 4731) with MIN/MAX/COUNT/ALL, SEARCHRES
// (RFC 5182) SAVE, CHARSET, and the MODSEQ of the result (RFC 7162). Never an EXPUNGE response during SEARCH.

import Glibc
import TernIMAPCore
import TernMIME
import TernStore

extension IMAPSession {
    /// How SEARCH/SORT/THREAD strings become text: UTF-8 (and US-ASCII) as they are, other charsets through
    /// TernMIME's converter. Nil after `NO [BADCHARSET]` for a charset Tern cannot convert.
    func searchStringDecoder(_ charset: String?, tag: Tag) -> (@Sendable ([UInt8]) -> String)? {
        guard let charset, charset != "UTF-8", charset != "US-ASCII" else {
            return { String(decoding: $0, as: UTF8.self) }
        }
        guard Charset.isKnown(charset) else {
            send("\(tag) NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset \(charset)")
            return nil
        }
        return { Charset.decode($0, charset: charset) ?? String(decoding: $0, as: UTF8.self) }
    }

    func search(tag: Tag, _ command: SearchCommand, uid: Bool) {
        guard let store, let view else { return }
        guard let decode = searchStringDecoder(command.charset, tag: tag) else { return }
        if SearchEvaluator.usesModSeq(command.key) { enableCondStore() }
        let id = view.id
        let pending = view.pendingExpunges
        let snapshotView = view
        let key = command.key
        // One trip to the blocking pool: the rows (without the cached MIME metadata, which no search key reads),
        // the full-text lookups and the evaluation (file reads for unindexed text).
        perform(catchUp: true, { () throws -> ([UInt32], [UInt32: UInt64]) in
            let live = snapshotView.uids.filter { !pending.contains($0) }
            let records = try store.records(id, uids: live.map(UID.init), withMetadata: false)
            let candidates = records.map {
                SearchEvaluator.Candidate(sequence: snapshotView.sequenceNumber(of: $0.uid.rawValue) ?? 0, record: $0)
            }
            var evaluator = SearchEvaluator(now: Int64(time(nil)), view: snapshotView, decode: decode)
            evaluator.textAnswers = try SearchEvaluator.lookUpText(key, store: store, mailbox: id, decode: decode)
            evaluator.recent = snapshotView.recent
            let matched = evaluator.run(key, over: candidates)
            let set = Set(matched)
            var modSeqs: [UInt32: UInt64] = [:]
            for record in records where set.contains(record.uid.rawValue) { modSeqs[record.uid.rawValue] = record.info.modSeq.rawValue }
            return (matched, modSeqs)
        }) { [self] result in
            switch result {
            case .success(let (matched, modSeqs)):
                respond(tag: tag, command, uid: uid, matched: matched, modSeqs: modSeqs)
            case .failure(let error as StoreError):
                finish("\(tag) " + failureReply(error, context: "SEARCH"), allowExpunge: false)
            case .failure:
                finish("\(tag) NO [SERVERBUG] Search failed", allowExpunge: false)
            }
        }
    }

    /// SORT and THREAD: the SEARCH key's matches, ordered or threaded.
    func sortOrThread(tag: Tag, sort criteria: [SortCriterion]?, thread algorithm: ThreadAlgorithm?, charset: String,
                      key: SearchKey, returnOptions: [SearchReturnOption]?, uid: Bool) {
        guard let store, let view else { return }
        let verb = criteria != nil ? "SORT" : "THREAD"
        guard let decode = searchStringDecoder(charset, tag: tag) else { return }
        let id = view.id
        let snapshotView = view
        let live = view.uids.filter { !view.pendingExpunges.contains($0) }
        let needsHeaders = criteria.map { $0.contains { ![.arrival, .size].contains($0.key) } } ?? true
        perform({ () throws -> String in
            let records = try store.records(id, uids: live.map(UID.init))
            let candidates = records.map {
                SearchEvaluator.Candidate(sequence: snapshotView.sequenceNumber(of: $0.uid.rawValue) ?? 0, record: $0)
            }
            var evaluator = SearchEvaluator(now: Int64(time(nil)), view: snapshotView, decode: decode)
            evaluator.textAnswers = try SearchEvaluator.lookUpText(key, store: store, mailbox: id, decode: decode)
            evaluator.recent = snapshotView.recent
            let matched = Set(evaluator.run(key, over: candidates))
            let fields = candidates.filter { matched.contains($0.record.uid.rawValue) }
                .map { SortFields(record: $0.record, sequence: $0.sequence, readHeaders: needsHeaders) }
            if let criteria {
                let ordered = Sorter.sort(fields, by: criteria).map { uid ? UInt32($0.uid) : UInt32($0.sequence) }
                if let returnOptions {
                    // RFC 5267 ESORT: ESEARCH response; ALL keeps the sorted order (not a compressed set).
                    var line = "* ESEARCH (TAG \"\(tag)\")" + (uid ? " UID" : "")
                    for option in returnOptions.isEmpty ? [.all] : returnOptions {
                        switch option {
                        case .min: if let value = ordered.min() { line += " MIN \(value)" }
                        case .max: if let value = ordered.max() { line += " MAX \(value)" }
                        case .count: line += " COUNT \(ordered.count)"
                        case .all: if !ordered.isEmpty { line += " ALL " + Self.orderedSet(ordered) }
                        case .save: break
                        }
                    }
                    return line
                }
                return "* SORT" + ordered.map { " \($0)" }.joined()
            }
            let roots = algorithm == .orderedSubject ? Threader.orderedSubject(fields) : Threader.references(fields)
            return "* THREAD " + Threader.render(roots, uid: uid)
        }) { [self] result in
            switch result {
            case .success(let line):
                send(line)
                finish("\(tag) OK \(verb) completed", allowExpunge: false)
            case .failure(let error):
                finish("\(tag) " + failureReply(error, context: verb), allowExpunge: false)
            }
        }
    }

    /// A sequence set that keeps the given order, with ascending consecutive runs written as `a:b` (ESORT ALL).
    static func orderedSet(_ numbers: [UInt32]) -> String {
        var parts: [String] = []
        var index = 0
        while index < numbers.count {
            var end = index
            while end + 1 < numbers.count, numbers[end + 1] == numbers[end] &+ 1 { end += 1 }
            parts.append(end > index ? "\(numbers[index]):\(numbers[end])" : "\(numbers[index])")
            index = end + 1
        }
        return parts.joined(separator: ",")
    }

    private func respond(tag: Tag, _ command: SearchCommand, uid: Bool, matched: [UInt32], modSeqs: [UInt32: UInt64]) {
        guard var view else { return }
        let highestModSeq = modSeqs.values.max() ?? 0
        let numbers = uid ? matched : matched.compactMap { view.sequenceNumber(of: $0).map(UInt32.init) }
        let modSeqSuffix = SearchEvaluator.usesModSeq(command.key) && !numbers.isEmpty ? " (MODSEQ \(highestModSeq))" : ""
        guard let options = command.returnOptions ?? (rev2Enabled ? [.all] : nil) else {
            send("* SEARCH" + numbers.map { " \($0)" }.joined() + modSeqSuffix)
            finish("\(tag) OK SEARCH completed", allowExpunge: false)
            return
        }
        let effective = options.isEmpty ? [SearchReturnOption.all] : options
        if effective.contains(.save) {
            // RFC 5182 §2.4: with MIN or MAX (and not ALL/COUNT), only those are saved.
            var saved = matched
            if !effective.contains(.all), !effective.contains(.count),
               effective.contains(.min) || effective.contains(.max) {
                saved = []
                if effective.contains(.min), let first = matched.first { saved.append(first) }
                if effective.contains(.max), let last = matched.last, last != saved.first { saved.append(last) }
            }
            view.savedSearch = saved
            self.view = view
        }
        let reported = effective.filter { $0 != .save }
        if !reported.isEmpty {
            var line = "* ESEARCH (TAG \"\(tag)\")" + (uid ? " UID" : "")
            for option in reported {
                switch option {
                case .min: if let first = numbers.first { line += " MIN \(first)" }
                case .max: if let last = numbers.last { line += " MAX \(last)" }
                case .count: line += " COUNT \(numbers.count)"
                case .all: if !numbers.isEmpty { line += " ALL \(IMAPEncoding.sequenceSet(fromSorted: numbers))" }
                case .save: break
                }
            }
            if !modSeqSuffix.isEmpty {
                // RFC 4731 §3.2 / RFC 7162 §3.1.5: with only MIN and/or MAX, the MODSEQ of the messages returned.
                var reportedModSeq = highestModSeq
                if !reported.contains(.all), !reported.contains(.count) {
                    var chosen: [UInt32] = []
                    if reported.contains(.min), let first = matched.first { chosen.append(first) }
                    if reported.contains(.max), let last = matched.last { chosen.append(last) }
                    reportedModSeq = chosen.compactMap { modSeqs[$0] }.max() ?? highestModSeq
                }
                line += " MODSEQ \(reportedModSeq)"
            }
            send(line)
        }
        finish("\(tag) OK SEARCH completed", allowExpunge: false)
    }
}
