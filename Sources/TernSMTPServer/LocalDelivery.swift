// Delivery into our own mailboxes: who a recipient address is (account, alias, catch-all, or not ours), whether
// the account can take the message (quota), and the durable append into INBOX with the final-delivery headers
// (Return-Path, Delivered-To; RFC 5321 §4.4). Blocking throughout: sessions call it through `offload`.

public import Logging
public import TernAuth
public import TernSMTPCore
public import TernStore

/// What a recipient address is to us.
public enum RecipientRoute: Sendable, Equatable {
    /// One of our domains: the accounts it reaches (an alias may reach several).
    case local([EmailAddress])
    /// One of our domains, but nobody there by that name.
    case unknown
    /// Not one of our domains.
    case remote
}

public enum LocalDeliveryResult: Sendable, Equatable {
    case delivered
    /// Not an address of ours: the caller sends it elsewhere.
    case notLocal
    case failed(SMTPReply)
}

public final class LocalDelivery: Sendable {
    public let directory: Directory
    public let stores: StoreRegistry
    let hostname: String
    let logger: Logger

    public init(directory: Directory, stores: StoreRegistry, hostname: String, logger: Logger) {
        self.directory = directory
        self.stores = stores
        self.hostname = hostname
        self.logger = logger
    }

    /// Where mail for `path` goes. `<Postmaster>` without a domain is postmaster of the server's own name.
    public func route(_ path: ForwardPath) throws(DirectoryError) -> RecipientRoute {
        let mailbox: SMTPMailbox
        switch path {
        case .postmaster: mailbox = SMTPMailbox(localPart: "postmaster", domain: hostname.lowercased())
        case .mailbox(let given): mailbox = given
        }
        guard try directory.isLocalDomain(mailbox.domain) else { return .remote }
        guard let address = try? EmailAddress(parsing: mailbox.description) else { return .unknown }
        let accounts = try directory.resolveRecipient(address)
        return accounts.isEmpty ? .unknown : .local(accounts)
    }

    /// The account's quota from the directory (nil fields: unlimited).
    public func quota(of account: EmailAddress) -> Quota {
        guard let record = try? directory.account(account) else { return Quota() }
        return Quota(maxBytes: record.quotaBytes, maxMessages: record.quotaMessages)
    }

    /// RCPT-time check: a reply refusing `account` for a message of `size` bytes, or nil if it fits.
    /// 552 5.2.2 when the message is larger than the whole quota (it will never fit), 452 4.2.2 when the mailbox
    /// is full now (it may fit after the user deletes mail).
    public func quotaRefusal(_ account: EmailAddress, size: Int) -> SMTPReply? {
        let quota = quota(of: account)
        if let max = quota.maxBytes, Int64(size) > max {
            return SMTPReply(552, EnhancedStatus(5, 2, 2), "\(account) cannot take a message this large (mailbox quota)")
        }
        guard quota.maxBytes != nil || quota.maxMessages != nil else { return nil }
        do throws(StoreError) {
            let store = try stores.acquire(account.description)
            defer { stores.release(account.description) }
            if try store.quotaViolation(quota, adding: size) != nil {
                return SMTPReply(452, EnhancedStatus(4, 2, 2), "\(account)'s mailbox is full")
            }
            return nil
        } catch {
            return error.smtpReply(logger: logger, context: "quota check for \(account)")
        }
    }

    /// Stores `message` (without the final-delivery headers) in `account`'s INBOX, durably.
    /// `headers` are prepended as they are (Return-Path, Delivered-To, Received…).
    public func store(_ message: [UInt8], headers: [UInt8], in account: EmailAddress, mailbox: String = "INBOX") -> SMTPReply? {
        do throws(StoreError) {
            let store = try stores.acquire(account.description)
            defer { stores.release(account.description) }
            if mailbox != "INBOX" { try store.ensureStandardMailboxes() }
            try store.append(to: mailbox, headers + message, quota: quota(of: account))
            return nil
        } catch {
            return error.smtpReply(logger: logger, context: "delivery to \(account)")
        }
    }

    /// Delivers a message made here (a bounce from the outbound queue) to `recipient` if it is ours.
    public func deliver(_ message: [UInt8], from sender: ReversePath, to recipient: SMTPMailbox) -> LocalDeliveryResult {
        let route: RecipientRoute
        do throws(DirectoryError) {
            route = try self.route(.mailbox(recipient))
        } catch {
            logger.error("directory lookup failed", metadata: ["recipient": "\(recipient)", "error": "\(error)"])
            return .failed(SMTPReply(451, EnhancedStatus(4, 3, 0), "Directory lookup failed"))
        }
        switch route {
        case .remote: return .notLocal
        case .unknown: return .failed(SMTPReply(550, EnhancedStatus(5, 1, 1), "No such user here: \(recipient)"))
        case .local(let accounts):
            for account in accounts {
                let headers = TraceHeaders.finalDelivery(sender: sender, recipient: account)
                if let failure = store(message, headers: headers, in: account) { return .failed(failure) }
            }
            return .delivered
        }
    }
}
