// The one place where storage errors become SMTP replies. The user's mistakes (a full mailbox) say what is wrong;
// the server's own failures say little on the wire (4xx: the sender retries) and everything in the log.

import Logging
import TernSMTPCore
import TernStore

extension StoreError {
    func smtpReply(logger: Logger, context: String) -> SMTPReply {
        switch self {
        case .overQuota(let detail):
            logger.notice("\(context): over quota", metadata: ["detail": "\(detail)"])
            return SMTPReply(452, EnhancedStatus(4, 2, 2), "Mailbox full")
        case .noSpace:
            logger.error("\(context) failed: disk full")
            return SMTPReply(452, EnhancedStatus(4, 3, 1), "Insufficient system storage; try again later")
        case .mailboxNotFound, .mailboxExists, .invalidMailboxName, .messageNotFound, .invalidKeyword, .io, .corrupted:
            logger.error("\(context) failed", metadata: ["error": "\(self)"])
            return SMTPReply(451, EnhancedStatus(4, 3, 0), "Local delivery failed; try again later")
        }
    }
}
