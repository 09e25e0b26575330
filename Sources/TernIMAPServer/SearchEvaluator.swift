// SEARCH key evaluation over a mailbox's messages (RFC 9051 §6.4.4). Metadata keys (flags, sizes, dates, UIDs,
// MODSEQ) use the index rows; header and text keys parse the message with TernMIME, once per message and only if
// a key needs it. String matching is case-insensitive substring matching on decoded text (RFC 9051: "contains").
// Runs on the blocking pool.

import TernIMAPCore
import TernMIME
import TernStore

struct SearchEvaluator {
    struct Candidate {
        let sequence: Int
        let record: MessageRecord
    }

    let now: Int64
    /// The view, for sequence sets and `$`.
    let view: MailboxView
    /// Search strings decoded with the command's CHARSET.
    let decode: ([UInt8]) -> String

    /// Full-text index answers for the text keys of this search (see `lookUpText`).
    typealias TextAnswers = [SearchKey: (matches: Set<UInt32>, unindexed: Set<UInt32>)]
    var textAnswers: TextAnswers = [:]
    /// The session's \Recent messages (IMAP4rev1).
    var recent: Set<UInt32> = []

    /// Asks the store's full-text index about every text key in `key` (SUBJECT, FROM, TO, CC, BCC, BODY, TEXT and
    /// HEADER of those fields). Messages without an index entry are left to the file parse.
    static func lookUpText(_ key: SearchKey, store: AccountStore, mailbox: MailboxID,
                           decode: ([UInt8]) -> String) throws -> TextAnswers {
        var answers: TextAnswers = [:]
        var stack = [key]
        while let current = stack.popLast() {
            let column: String??
            let needle: [UInt8]
            switch current {
            case .subject(let text): (column, needle) = ("subject", text)
            case .from(let text): (column, needle) = ("sender", text)
            case .to(let text): (column, needle) = ("recipient", text)
            case .cc(let text): (column, needle) = ("cc", text)
            case .bcc(let text): (column, needle) = ("bcc", text)
            case .body(let text): (column, needle) = ("body", text)
            case .text(let text): (column, needle) = (.some(nil), text)
            case .header(let name, let text):
                let mapped = ["subject": "subject", "from": "sender", "to": "recipient", "cc": "cc", "bcc": "bcc"][name.lowercased()]
                guard let mapped, !text.isEmpty else { continue }
                (column, needle) = (mapped, text)
            case .not(let inner): stack.append(inner); continue
            case .or(let a, let b): stack += [a, b]; continue
            case .and(let keys): stack += keys; continue
            default: continue
            }
            guard answers[current] == nil, let column else { continue }
            let result = try store.textSearch(mailbox, column: column, needle: decode(needle))
            answers[current] = (Set(result.matches.map(\.rawValue)), Set(result.unindexed.map(\.rawValue)))
        }
        return answers
    }

    /// The index's answer for a text key and message, or nil when the file must be checked.
    private func indexed(_ key: SearchKey, _ uid: UInt32) -> Bool? {
        guard let answer = textAnswers[key], !answer.unindexed.contains(uid) else { return nil }
        return answer.matches.contains(uid)
    }

    /// Sequence sets resolved once per SEARCH, not once per message.
    private final class SetCache {
        var resolved: [SequenceSet: Set<UInt32>] = [:]
        var resolvedSequences: [SequenceSet: Set<UInt32>] = [:]
    }
    private let sets = SetCache()

    init(now: Int64, view: MailboxView, decode: @escaping ([UInt8]) -> String) {
        self.now = now
        self.view = view
        self.decode = decode
    }

    private func members(_ set: SequenceSet, uid: Bool) -> Set<UInt32> {
        if uid, let known = sets.resolved[set] { return known }
        if !uid, let known = sets.resolvedSequences[set] { return known }
        let values = Set((try? view.resolve(set, uid: uid)) ?? [])
        if uid { sets.resolved[set] = values } else { sets.resolvedSequences[set] = values }
        return values
    }

    private final class Content {
        let message: MIMEMessage
        lazy var bodyText: String = message.searchableText.joined(separator: "\n").lowercased()
        init(_ message: MIMEMessage) { self.message = message }
    }

    /// The UIDs (ascending) of candidates matching `key`.
    func run(_ key: SearchKey, over candidates: [Candidate]) -> [UInt32] {
        var result: [UInt32] = []
        for candidate in candidates {
            var content: Content?
            func load() -> Content? {
                if content == nil, let bytes = try? candidate.record.contents() {
                    content = Content(MIMEMessage(parsing: bytes))
                }
                return content
            }
            if matches(key, candidate, load) { result.append(candidate.record.uid.rawValue) }
        }
        return result
    }

    /// True if `key` needs the message contents.
    static func needsContent(_ key: SearchKey) -> Bool {
        switch key {
        case .bcc, .body, .cc, .from, .subject, .text, .to, .header, .sentBefore, .sentOn, .sentSince: true
        case .not(let inner): needsContent(inner)
        case .or(let a, let b): needsContent(a) || needsContent(b)
        case .and(let keys): keys.contains(where: needsContent)
        default: false
        }
    }

    /// True if `key` uses MODSEQ (then the SEARCH response carries the highest one, RFC 7162 §3.1.5).
    static func usesModSeq(_ key: SearchKey) -> Bool {
        switch key {
        case .modSeq: true
        case .not(let inner): usesModSeq(inner)
        case .or(let a, let b): usesModSeq(a) || usesModSeq(b)
        case .and(let keys): keys.contains(where: usesModSeq)
        default: false
        }
    }

    private func day(_ seconds: Int64) -> Int64 { seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400 }

    private func contains(_ haystack: String?, _ needle: [UInt8]) -> Bool {
        let text = decode(needle).lowercased()
        if text.isEmpty { return haystack != nil }
        return haystack?.lowercased().contains(text) ?? false
    }

    private func headerText(_ content: Content?, _ name: String) -> String? {
        guard let content else { return nil }
        let values = content.message.root.header.decodedValues(name)
        return values.isEmpty ? nil : values.joined(separator: "\n")
    }

    private func sentDay(_ content: Content?) -> Int64? {
        guard let value = content?.message.root.header.unfoldedValue("Date"), let date = MessageDate.parse(value) else { return nil }
        // The date as written, disregarding time and zone (RFC 9051 §6.4.4 SENTBEFORE).
        return day(date.secondsSinceEpoch + Int64(date.zoneOffsetSeconds))
    }

    private func matches(_ key: SearchKey, _ candidate: Candidate, _ load: () -> Content?) -> Bool {
        let info = candidate.record.info
        if let answer = indexed(key, info.uid.rawValue) { return answer }
        switch key {
        case .all: return true
        case .answered: return info.flags.contains(.answered)
        case .deleted: return info.flags.contains(.deleted)
        case .draft: return info.flags.contains(.draft)
        case .flagged: return info.flags.contains(.flagged)
        case .seen: return info.flags.contains(.seen)
        case .recent: return recent.contains(info.uid.rawValue)
        case .new: return recent.contains(info.uid.rawValue) && !info.flags.contains(.seen)
        case .old: return !recent.contains(info.uid.rawValue)
        case .unanswered: return !info.flags.contains(.answered)
        case .undeleted: return !info.flags.contains(.deleted)
        case .undraft: return !info.flags.contains(.draft)
        case .unflagged: return !info.flags.contains(.flagged)
        case .unseen: return !info.flags.contains(.seen)
        case .keyword(let keyword): return info.keywords.contains { $0.lowercased() == keyword.lowercased() }
        case .unkeyword(let keyword): return !info.keywords.contains { $0.lowercased() == keyword.lowercased() }
        case .larger(let size): return info.size > Int(size)
        case .smaller(let size): return info.size < Int(size)
        case .before(let date): return day(info.internalDate) < day(date.epochSeconds)
        case .on(let date): return day(info.internalDate) == day(date.epochSeconds)
        case .since(let date): return day(info.internalDate) >= day(date.epochSeconds)
        case .saveDateBefore(let date): return day(candidate.record.saveDate) < day(date.epochSeconds)
        case .saveDateOn(let date): return day(candidate.record.saveDate) == day(date.epochSeconds)
        case .saveDateSince(let date): return day(candidate.record.saveDate) >= day(date.epochSeconds)
        case .saveDateSupported: return true
        case .younger(let seconds): return now - info.internalDate <= Int64(seconds)
        case .older(let seconds): return now - info.internalDate >= Int64(seconds)
        case .modSeq(let modSeq): return info.modSeq.rawValue >= modSeq
        case .uid(let set): return members(set, uid: true).contains(info.uid.rawValue)
        case .sequenceSet(let set): return members(set, uid: false).contains(info.uid.rawValue)
        case .not(let inner): return !matches(inner, candidate, load)
        case .or(let a, let b): return matches(a, candidate, load) || matches(b, candidate, load)
        case .and(let keys): return keys.allSatisfy { matches($0, candidate, load) }
        case .from(let text): return contains(headerText(load(), "From"), text)
        case .to(let text): return contains(headerText(load(), "To"), text)
        case .cc(let text): return contains(headerText(load(), "Cc"), text)
        case .bcc(let text): return contains(headerText(load(), "Bcc"), text)
        case .subject(let text): return contains(headerText(load(), "Subject"), text)
        case .header(let name, let text): return contains(headerText(load(), name), text)
        case .body(let text): return contains(load()?.bodyText, text)
        case .text(let text):
            guard let content = load() else { return false }
            let header = String(decoding: content.message.root.headerBytes, as: UTF8.self)
            let decodedHeader = content.message.root.header.fields.map { content.message.root.header.decodedValue($0.name) ?? "" }
            return contains(header + "\n" + decodedHeader.joined(separator: "\n"), text) || contains(content.bodyText, text)
        case .sentBefore(let date): return sentDay(load()).map { $0 < day(date.epochSeconds) } ?? false
        case .sentOn(let date): return sentDay(load()).map { $0 == day(date.epochSeconds) } ?? false
        case .sentSince(let date): return sentDay(load()).map { $0 >= day(date.epochSeconds) } ?? false
        case .emailID(let id): return "M" + candidate.record.emailID == id
        case .threadID: return false  // THREADID is NIL for every message: no thread matches
        }
    }
}
