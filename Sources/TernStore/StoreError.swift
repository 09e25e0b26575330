// Storage speaks storage: protocol modules map these to IMAP response codes and SMTP replies in one place each
// (StoreError+IMAP.swift, StoreError+SMTP.swift).

public enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    case mailboxNotFound(String)
    case mailboxExists(String)
    case invalidMailboxName(String, reason: String)
    case messageNotFound
    case invalidKeyword(String)
    case overQuota(String)
    /// The disk is full or over its limit: a temporary failure, nothing stored before is affected.
    case noSpace
    /// Any other I/O failure; `detail` is for the log, never for the client.
    case io(String)
    case corrupted(String)

    public var description: String {
        switch self {
        case .mailboxNotFound(let name): return "mailbox \(name) does not exist"
        case .mailboxExists(let name): return "mailbox \(name) already exists"
        case .invalidMailboxName(let name, let reason): return "mailbox name \(name) is not allowed: \(reason)"
        case .messageNotFound: return "no such message (expunged or never there)"
        case .invalidKeyword(let keyword): return "keyword \(keyword) is not allowed"
        case .overQuota(let detail): return "over quota: \(detail)"
        case .noSpace: return "the disk is full"
        case .io(let detail): return "I/O error: \(detail)"
        case .corrupted(let detail): return "index and files disagree: \(detail)"
        }
    }

    /// True when trying again later may succeed (SMTP 4xx, IMAP NO without a user error code).
    public var isTemporary: Bool {
        switch self {
        case .noSpace, .io: return true
        default: return false
        }
    }
}
