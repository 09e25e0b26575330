// A session's view of its selected mailbox: the UIDs in sequence-number order, as this client knows them. It
// moves only when the session reports a change (EXISTS, EXPUNGE/VANISHED), so sequence numbers stay consistent
// within the session whatever other sessions do (RFC 9051 §7.5.1, §5.5).

import TernIMAPCore
import TernStore

struct MailboxView: Sendable {
    let id: MailboxID
    var name: String
    let uidValidity: UIDValidity
    let readOnly: Bool
    /// UIDs in ascending order; sequence number n is `uids[n - 1]`.
    private(set) var uids: [UInt32]
    /// The MODSEQ up to which this session has seen (and, where required, reported) every change.
    var knownModSeq: ModSeq
    var uidNext: UID
    /// Expunged by someone but not reported yet (a FETCH, STORE or SEARCH was running): still hold their sequence
    /// numbers, their data is gone.
    var pendingExpunges: Set<UInt32> = []
    /// IMAP4rev1 \Recent: the UIDs this session is the first to be shown (empty for IMAP4rev2 sessions).
    var recent: Set<UInt32> = []
    var recentCount: Int { recent.isEmpty ? 0 : uids.reduce(0) { $0 + (recent.contains($1) ? 1 : 0) } }
    /// (UID → MODSEQ) of flag changes this session already reported itself (STORE replies), not to repeat them.
    var selfReported: [UInt32: UInt64] = [:]
    /// The keywords announced in `* FLAGS` (a new one is announced again before a FETCH shows it).
    var keywords: [String] = []
    /// RFC 5182 SEARCHRES: the UIDs of the last `SEARCH RETURN (SAVE)`.
    var savedSearch: [UInt32] = []

    init(snapshot: MailboxSnapshot, readOnly: Bool) {
        id = snapshot.info.id
        name = snapshot.info.name
        uidValidity = snapshot.info.uidValidity
        self.readOnly = readOnly
        uids = snapshot.messages.map(\.uid.rawValue)
        knownModSeq = snapshot.info.highestModSeq
        uidNext = snapshot.info.uidNext
    }

    var count: Int { uids.count }

    /// The sequence number of a UID, if the view holds it.
    func sequenceNumber(of uid: UInt32) -> Int? {
        var low = 0
        var high = uids.count
        while low < high {
            let mid = (low + high) / 2
            if uids[mid] < uid { low = mid + 1 } else { high = mid }
        }
        return low < uids.count && uids[low] == uid ? low + 1 : nil
    }

    /// New messages (UIDs above every known one), in order.
    mutating func appendNew(_ newUIDs: [UInt32]) {
        for uid in newUIDs where uid > (uids.last ?? 0) { uids.append(uid) }
    }

    /// Removes a UID; returns the sequence number it had.
    mutating func remove(_ uid: UInt32) -> Int? {
        guard let seq = sequenceNumber(of: uid) else { return nil }
        uids.remove(at: seq - 1)
        pendingExpunges.remove(uid)
        return seq
    }

    enum ResolveError: Error {
        case invalidSequence(String)
    }

    /// The UIDs a sequence set names, ascending, without duplicates. Sequence numbers out of range are a client
    /// error (RFC 9051 §9: `seq-number`); UIDs that do not exist are silently skipped.
    func resolve(_ set: SequenceSet, uid: Bool) throws(ResolveError) -> [UInt32] {
        let ranges: [SequenceRange]
        switch set {
        case .saved:
            // Saved UIDs still in the view, whichever way the command numbers messages.
            return savedSearch.filter { sequenceNumber(of: $0) != nil }
        case .ranges(let r):
            ranges = r
        }
        if uid {
            guard let largest = uids.last else { return [] }
            var result: [UInt32] = []
            for range in ranges {
                var a = value(range.first, star: largest)
                var b = value(range.last, star: largest)
                if a > b { swap(&a, &b) }
                // Binary search the first UID >= a, then walk.
                var low = 0
                var high = uids.count
                while low < high {
                    let mid = (low + high) / 2
                    if uids[mid] < a { low = mid + 1 } else { high = mid }
                }
                while low < uids.count, uids[low] <= b {
                    result.append(uids[low])
                    low += 1
                }
            }
            return Self.sortedUnique(result)
        }
        let count = UInt32(uids.count)
        var result: [UInt32] = []
        for range in ranges {
            if count == 0 { throw .invalidSequence("the mailbox is empty") }
            var a = value(range.first, star: count)
            var b = value(range.last, star: count)
            if a > b { swap(&a, &b) }
            guard a >= 1, b <= count else { throw .invalidSequence("message sequence number out of range (1:\(count))") }
            for seq in a...b { result.append(uids[Int(seq) - 1]) }
            if result.count > 10_000_000 { break }
        }
        return Self.sortedUnique(result)
    }

    private func value(_ number: SequenceNumber, star: UInt32) -> UInt32 {
        switch number {
        case .last: star
        case .number(let n): n
        }
    }

    static func sortedUnique(_ values: [UInt32]) -> [UInt32] {
        guard values.count > 1 else { return values }
        var sorted = values.sorted()
        var write = 1
        for read in 1..<sorted.count where sorted[read] != sorted[write - 1] {
            sorted[write] = sorted[read]
            write += 1
        }
        sorted.removeLast(sorted.count - write)
        return sorted
    }
}
