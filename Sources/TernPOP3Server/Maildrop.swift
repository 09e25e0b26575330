// The maildrop of one POP3 session (RFC 1939 §5): INBOX as a snapshot taken at login. Message numbers 1…N are fixed
// for the session; DELE only marks (RSET unmarks); the store changes only in the UPDATE state, after QUIT.
// A plain value: no I/O.

import TernPOP3Core
import TernStore

struct Maildrop {
    let mailbox: MailboxID
    let uidValidity: UIDValidity
    /// Visible messages at login, by UID: message number n is `messages[n - 1]`.
    let messages: [MessageInfo]
    /// Marked with DELE (indexes into `messages`).
    private(set) var deleted: Set<Int> = []
    /// Sent whole with RETR: marked \Seen at QUIT.
    private(set) var retrieved: Set<Int> = []

    init(_ snapshot: MailboxSnapshot) {
        mailbox = snapshot.info.id
        uidValidity = snapshot.info.uidValidity
        messages = snapshot.messages
    }

    enum Refusal: Error, Equatable {
        case noSuchMessage(POP3MessageNumber)
        case deleted(POP3MessageNumber)

        var text: String {
            switch self {
            case .noSuchMessage(let number): "There is no message \(number)"
            case .deleted(let number): "Message \(number) is deleted"
            }
        }
    }

    /// The message `number` refers to, unless it does not exist or is marked deleted (RFC 1939 §5: "may NOT
    /// refer to a message marked as deleted").
    func message(_ number: POP3MessageNumber) throws(Refusal) -> MessageInfo {
        guard number.rawValue >= 1, number.rawValue <= messages.count else { throw .noSuchMessage(number) }
        guard !deleted.contains(number.rawValue - 1) else { throw .deleted(number) }
        return messages[number.rawValue - 1]
    }

    /// Messages not marked deleted, with their numbers.
    var listing: [(number: POP3MessageNumber, info: MessageInfo)] {
        messages.indices.filter { !deleted.contains($0) }.map { (POP3MessageNumber($0 + 1), messages[$0]) }
    }

    /// STAT: count and octets of the messages not marked deleted.
    var totals: (count: Int, octets: Int) {
        let listing = listing
        return (listing.count, listing.reduce(0) { $0 + $1.info.size })
    }

    /// RFC 1939 §7 UIDL: unique per maildrop and never reused. UIDVALIDITY and UID together are: UIDs only grow
    /// within a UIDVALIDITY, and a mailbox that loses its UIDs gets a strictly higher UIDVALIDITY.
    func uniqueID(_ info: MessageInfo) -> String { "\(uidValidity.rawValue).\(info.uid.rawValue)" }

    mutating func markDeleted(_ number: POP3MessageNumber) throws(Refusal) {
        _ = try message(number)
        deleted.insert(number.rawValue - 1)
    }

    mutating func markRetrieved(_ number: POP3MessageNumber) {
        retrieved.insert(number.rawValue - 1)
    }

    mutating func reset() { deleted = [] }

    /// What QUIT commits: UIDs to expunge, and UIDs to mark \Seen (retrieved and kept).
    var update: (expunge: [UID], seen: [UID]) {
        let expunge = deleted.sorted().map { messages[$0].uid }
        let seen = retrieved.subtracting(deleted).sorted().map { messages[$0] }.filter { !$0.flags.contains(.seen) }.map(\.uid)
        return (expunge, seen)
    }
}
