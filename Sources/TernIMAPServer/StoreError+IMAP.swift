// The one place where storage errors become IMAP replies (RFC 5530 response codes). The user's mistakes say what
// is wrong; the server's own failures say little on the wire and everything in the log.

import Logging
import TernStore

extension StoreError {
    /// `NO [CODE] text` without the tag.
    func imapReply(logger: Logger, context: String) -> String {
        switch self {
        case .mailboxNotFound:
            return "NO [NONEXISTENT] No such mailbox"
        case .mailboxExists:
            return "NO [ALREADYEXISTS] Mailbox already exists"
        case .invalidMailboxName(_, let reason):
            return "NO [CANNOT] Invalid mailbox name: \(reason)"
        case .messageNotFound:
            return "NO [EXPUNGEISSUED] Some of the requested messages no longer exist"
        case .invalidKeyword(let keyword):
            return "NO [CANNOT] Keyword not allowed: \(keyword)"
        case .overQuota(let detail):
            return "NO [OVERQUOTA] Quota exceeded: \(detail)"
        case .noSpace:
            logger.error("\(context) failed: disk full")
            return "NO [UNAVAILABLE] The server is out of disk space; try again later"
        case .io, .corrupted:
            logger.error("\(context) failed", metadata: ["error": "\(self)"])
            return "NO [SERVERBUG] Internal error; the details are in the server log"
        }
    }
}

extension IMAPSession {
    /// Tagged reply for a failure from `perform`.
    func failureReply(_ error: any Error, context: String) -> String {
        if let error = error as? StoreError { return error.imapReply(logger: logger, context: context) }
        logger.error("\(context) failed", metadata: ["error": "\(error)"])
        return "NO [UNAVAILABLE] The server is busy; try again"
    }
}
