// Mail transactions: MAIL, RCPT, DATA and BDAT (RFC 5321 §3.3, RFC 3030), and the end of a message — checks,
// trace headers, durable local delivery and hand-off to the outbound queue — before the one reply that
// acknowledges it. Nothing is acknowledged before it is on disk.

import Logging
import TernAuth
import TernCore
import TernSMTPCore
import TernStore

struct Transaction {
    let id: String
    var envelope: MailEnvelope
    /// Accepted local recipients and the accounts each reaches.
    var local: [(recipient: EnvelopeRecipient, accounts: [EmailAddress])] = []
    var remote: [EnvelopeRecipient] = []
    var content: [UInt8] = []
    /// Received (and, on submission, Date / Message-ID) added at the end of the message; kept apart from `content` so
    /// the event loop never copies a large message to prepend them.
    var addedHeaders: [UInt8] = []
    /// The message as delivered and queued. Blocking-pool side only: it copies the content.
    var withAddedHeaders: [UInt8] { addedHeaders + content }
    /// The content went over the size limit; the rest is read and dropped, then 552.
    var tooBig = false
    var usedBDAT = false

    var recipientCount: Int { local.count + remote.count }

    static func makeID() -> String {
        let alphabet = Array("0123456789BCDFGHJKLMNPQRSTVWXYZ")
        var generator = SystemRandomNumberGenerator()
        return String((0..<14).map { _ in alphabet[Int(generator.next(upperBound: UInt32(alphabet.count)))] })
    }
}

/// What happened to each part of a delivery, computed on the blocking pool.
struct DeliveryOutcome: Sendable {
    var failures: [(EnvelopeRecipient, SMTPReply)] = []
    var delivered = 0
    var queueID: String?
}

extension SMTPSession {
    func mail(_ path: ReversePath, _ parameters: MailParameters) {
        guard heloName != nil else {
            junk(SMTPReply(503, EnhancedStatus(5, 5, 1), "Send EHLO first"))
            return
        }
        if mode == .submission && account == nil {
            let text = connection.isSecure ? "Authentication required" : "Must issue a STARTTLS command first, then AUTH"
            junk(SMTPReply(530, EnhancedStatus(5, 7, 0), text))
            return
        }
        guard transaction == nil else {
            junk(SMTPReply(503, EnhancedStatus(5, 5, 1), "Nested MAIL command"))
            return
        }
        if let size = parameters.size, size > limits.maxMessageSize {
            junk(SMTPReply(552, EnhancedStatus(5, 3, 4), "Message size exceeds the limit of \(limits.maxMessageSize) bytes"))
            return
        }
        if parameters.body == .binaryMIME {
            junk(SMTPReply(555, EnhancedStatus(5, 5, 4), "BINARYMIME is not supported"))
            return
        }
        if mode == .submission, let account {
            guard case .mailbox(let mailbox) = path else {
                junk(SMTPReply(553, EnhancedStatus(5, 7, 1), "A null sender is not allowed for submission"))
                return
            }
            guard let sender = try? EmailAddress(parsing: mailbox.description), allowedSenders.contains(sender.description) else {
                logger.notice("sender refused", metadata: ["account": "\(account)", "sender": "\(mailbox)"])
                junk(SMTPReply(553, EnhancedStatus(5, 7, 1), "Sender address <\(mailbox)> is not owned by \(account)"))
                return
            }
        }
        transaction = Transaction(id: Transaction.makeID(), envelope: MailEnvelope(sender: path, parameters: parameters))
        junkCommands = 0
        reply(SMTPReply(250, EnhancedStatus(2, 1, 0), "Sender OK"))
    }

    func recipient(_ path: ForwardPath, _ parameters: RecipientParameters) {
        guard let current = transaction else {
            junk(SMTPReply(503, EnhancedStatus(5, 5, 1), "Need MAIL before RCPT"))
            return
        }
        guard current.recipientCount < limits.maxRecipients else {
            junk(SMTPReply(452, EnhancedStatus(4, 5, 3), "Too many recipients"))
            return
        }
        let delivery = environment.delivery
        let size = current.envelope.parameters.size ?? 0
        perform({ () -> (RecipientRoute, SMTPReply?) in
            let route = try delivery.route(path)
            if case .local(let accounts) = route {
                for account in accounts {
                    if let refusal = delivery.quotaRefusal(account, size: size) { return (route, refusal) }
                }
            }
            return (route, nil)
        }) { [self] result in
            guard transaction != nil else { return }
            let route: RecipientRoute
            switch result {
            case .success(let (found, refusal)):
                if let refusal {
                    junk(refusal)
                    return
                }
                route = found
            case .failure(let error):
                logger.error("recipient lookup failed", metadata: ["recipient": "\(path)", "error": "\(error)"])
                reply(SMTPReply(451, EnhancedStatus(4, 3, 0), "Cannot check the recipient now; try again later"))
                return
            }
            let mailbox: SMTPMailbox
            switch path {
            case .mailbox(let given): mailbox = given
            case .postmaster: mailbox = SMTPMailbox(localPart: "postmaster", domain: hostname.lowercased())
            }
            let accepted = EnvelopeRecipient(mailbox: mailbox, parameters: parameters)
            switch route {
            case .local(let accounts):
                transaction!.local.append((accepted, accounts))
            case .unknown:
                junk(SMTPReply(550, EnhancedStatus(5, 1, 1), "No such user here: <\(mailbox)>"))
                return
            case .remote:
                guard mode == .submission else {
                    junk(SMTPReply(554, EnhancedStatus(5, 7, 1), "Relay access denied: <\(mailbox)> is not a domain of this server"))
                    return
                }
                guard environment.spool != nil else {
                    reply(SMTPReply(451, EnhancedStatus(4, 3, 2), "Outbound mail is not available right now"))
                    return
                }
                transaction!.remote.append(accepted)
            }
            transaction!.envelope.recipients.append(accepted)
            reply(SMTPReply(250, EnhancedStatus(2, 1, 5), "Recipient OK"))
        }
    }

    /// Why the current transaction cannot take content, or nil if it can.
    private func contentRefusal() -> SMTPReply? {
        guard let transaction else { return SMTPReply(503, EnhancedStatus(5, 5, 1), "Need MAIL and RCPT first") }
        guard transaction.recipientCount > 0 else { return SMTPReply(554, EnhancedStatus(5, 5, 1), "No valid recipients") }
        return nil
    }

    func data() {
        if let refusal = contentRefusal() {
            junk(refusal)
            return
        }
        guard transaction?.usedBDAT == false else {
            junk(SMTPReply(503, EnhancedStatus(5, 5, 1), "DATA cannot follow BDAT"))
            return
        }
        input = .data
        connection.readMode = .dotTerminated
        reply(SMTPReply(354, nil, "End data with <CR><LF>.<CR><LF>"))
    }

    func receiveData(_ chunk: [UInt8], end: Bool) {
        append(chunk)
        guard end else { return }
        input = .commands
        connection.readMode = .line(maxLength: limits.maxCommandLine)
        endOfMessage()
    }

    private func append(_ chunk: [UInt8]) {
        guard transaction != nil, !transaction!.tooBig else { return }
        if transaction!.content.count + chunk.count > limits.maxMessageSize {
            transaction!.tooBig = true
            transaction!.content = []
        } else {
            transaction!.content.append(contentsOf: chunk)
        }
    }

    func bdat(size: Int, last: Bool) {
        let refusal = contentRefusal()
        if refusal == nil {
            transaction!.usedBDAT = true
            if size > limits.maxMessageSize { transaction!.tooBig = true }
        }
        pendingChunkRefusal = refusal
        if size == 0 {
            endOfChunk(last: last)
        } else {
            input = .chunk(last: last)
            connection.readMode = .bytes(count: size)
        }
    }

    func receiveChunk(_ chunk: [UInt8], remaining: Int, last: Bool) {
        if pendingChunkRefusal == nil { append(chunk) }
        guard remaining == 0 else { return }
        input = .commands
        connection.readMode = .line(maxLength: limits.maxCommandLine)
        endOfChunk(last: last)
    }

    private func endOfChunk(last: Bool) {
        if let refusal = pendingChunkRefusal {
            // RFC 3030 §2: the chunk was read; the transaction is void.
            pendingChunkRefusal = nil
            transaction = nil
            junk(refusal)
            return
        }
        guard let current = transaction else { return }
        if last {
            endOfMessage()
        } else if current.tooBig {
            transaction = nil
            reply(SMTPReply(552, EnhancedStatus(5, 3, 4), "Message size exceeds the limit of \(limits.maxMessageSize) bytes"))
        } else {
            reply(SMTPReply(250, EnhancedStatus(2, 0, 0), "\(current.content.count) octets received"))
        }
    }

    // MARK: The end of a message

    private func endOfMessage() {
        guard var current = transaction else { return }
        transaction = nil
        if current.tooBig {
            logger.notice("message refused: too big", metadata: ["id": "\(current.id)"])
            reply(SMTPReply(552, EnhancedStatus(5, 3, 4), "Message size exceeds the limit of \(limits.maxMessageSize) bytes"))
            return
        }
        let header = TraceHeaders.inspect(current.content)
        if mode == .submission, let account {
            if header.unreadableFrom {
                reply(SMTPReply(553, EnhancedStatus(5, 7, 1), "The From: header cannot be read as an address"))
                return
            }
            if let stranger = header.fromAddresses.first(where: { !allowedSenders.contains($0) }) {
                logger.notice("message refused: From not owned", metadata: ["account": "\(account)", "from": "\(stranger)"])
                reply(SMTPReply(553, EnhancedStatus(5, 7, 1), "From: address <\(stranger)> is not owned by \(account)"))
                return
            }
        }
        let now = AccountStore.systemClock()
        var added = TraceHeaders.received(.init(
            heloName: hideClient ? nil : heloName, clientAddress: hideClient ? nil : connection.peerHost,
            hostname: hostname, protocolName: protocolName, tlsDescription: connection.tlsDescription, id: current.id,
            recipient: current.envelope.recipients.count == 1 ? current.envelope.recipients[0].mailbox.description : nil,
            date: now))
        if mode == .submission {
            if !header.hasDate { added += Array("Date: \(TraceHeaders.rfc5322Date(now))\r\n".utf8) }
            if !header.hasMessageID { added += Array("Message-ID: <\(current.id).\(now)@\(hostname)>\r\n".utf8) }
        }
        current.addedHeaders = added
        let message = current
        let delivery = environment.delivery
        let spool = environment.spool
        let sentCopyAccount = mode == .submission && environment.configuration.saveSentCopy ? account : nil
        let logger = logger
        perform({ () -> DeliveryOutcome in
            Self.deliver(message, delivery: delivery, spool: spool, sentCopyTo: sentCopyAccount, logger: logger)
        }) { [self] result in
            guard case .success(let outcome) = result else {
                reply(SMTPReply(451, EnhancedStatus(4, 3, 0), "The server is busy; try again later"))
                return
            }
            let total = message.recipientCount
            if outcome.failures.count == total, let first = outcome.failures.first {
                logger.notice("message not delivered", metadata: ["id": "\(message.id)", "reply": "\(first.1.code) \(first.1.text)"])
                reply(first.1)
                return
            }
            if !outcome.failures.isEmpty, let spool {
                let failures = outcome.failures
                connection.offload({ spool.bounce(message.envelope, failures: failures, message: message.withAddedHeaders) },
                                   completion: { _ in })
            }
            logger.info("message accepted", metadata: [
                "id": "\(message.id)", "from": "<\(message.envelope.sender)>", "size": "\(message.addedHeaders.count + message.content.count)",
                "local": "\(outcome.delivered)", "remote": "\(message.remote.count)",
                "queue": "\(outcome.queueID ?? "-")", "failed": "\(outcome.failures.count)",
            ])
            junkCommands = 0
            reply(SMTPReply(250, EnhancedStatus(2, 0, 0), "OK: queued as \(message.id)"))
        }
    }

    private var hideClient: Bool { mode == .submission && environment.configuration.hideClientAddress }

    /// RFC 3848: ESMTP, plus S for TLS and A for an authenticated client.
    private var protocolName: String {
        (isExtended ? "ESMTP" : "SMTP") + (connection.isSecure ? "S" : "") + (account != nil ? "A" : "")
    }

    /// Delivers to every local account once (aliases can name one account twice), then queues the remote part.
    /// Blocking.
    static func deliver(_ message: Transaction, delivery: LocalDelivery, spool: (any OutboundSpool)?,
                        sentCopyTo account: EmailAddress?, logger: Logger) -> DeliveryOutcome {
        var outcome = DeliveryOutcome()
        var done: [EmailAddress: SMTPReply?] = [:]
        for (recipient, accounts) in message.local {
            var failure: SMTPReply?
            for target in accounts {
                if let previous = done[target] {
                    failure = failure ?? previous
                    continue
                }
                let result = delivery.store(message.content, headers: TraceHeaders.finalDelivery(sender: message.envelope.sender, recipient: target)
                                                + message.addedHeaders,
                                            in: target)
                done[target] = result
                if result == nil { outcome.delivered += 1 }
                failure = failure ?? result
            }
            if let failure { outcome.failures.append((recipient, failure)) }
        }
        if !message.remote.isEmpty {
            if let spool {
                var envelope = message.envelope
                envelope.recipients = message.remote
                do {
                    outcome.queueID = try spool.enqueue(envelope, message: message.withAddedHeaders)
                } catch {
                    logger.error("queueing failed", metadata: ["id": "\(message.id)", "error": "\(error)"])
                    let reply = SMTPReply(451, EnhancedStatus(4, 3, 0), "Cannot queue the message now; try again later")
                    outcome.failures += message.remote.map { ($0, reply) }
                }
            } else {
                let reply = SMTPReply(451, EnhancedStatus(4, 3, 2), "Outbound mail is not available right now")
                outcome.failures += message.remote.map { ($0, reply) }
            }
        }
        if let account, outcome.failures.count < message.recipientCount {
            if let failure = delivery.store(message.content, headers: message.addedHeaders, in: account, mailbox: "Sent") {
                logger.warning("sent copy not stored", metadata: ["account": "\(account)", "reply": "\(failure.text)"])
            }
        }
        return outcome
    }
}
