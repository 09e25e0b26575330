// The delivery threads: a scheduler that finds due messages and a few workers (`concurrency`, default 4) that
// deliver them, each message by one worker at a time.
//
// - The scheduler looks at the spool every `pollInterval` (500 ms) but only queries when something may have
//   changed: `wake()` (a new message in this process, a finished attempt), `PRAGMA data_version` (a commit by
//   ternctl, e.g. `queue flush`), or the clock passing the earliest next attempt. A flush by ternctl is thus
//   picked up within one poll interval.
// - A worker takes a message's due recipients, groups them by destination (relay, static route, or recipient
//   domain's MX hosts) and sends each group in one SMTP transaction, trying hosts and addresses in order until
//   one settles the recipients. Outcomes: 2xx delivered, 5xx failed, 4xx / network / timeout / malformed reply
//   → pending with the next attempt from `RetrySchedule`.
// - DSNs (DSN.swift): failures (and successes when NOTIFY=SUCCESS) after each attempt, one delay warning after
//   `delay_warning_hours`, and failure reports for recipients still pending at expiry. A report is handed to
//   `deliverLocally`; if the sender is not local it is queued with a null sender for remote delivery.
// - A remote server can only make an attempt fail: every error becomes a recipient outcome and a log line.

public import Logging
public import TernSMTPCore
import TernPosix
import TernTLS

public struct QueueRunnerConfiguration: Sendable {
    /// EHLO name, Reporting-MTA, MAILER-DAEMON's domain.
    public var hostname: String
    /// Delivery threads.
    public var concurrency: Int
    public var routing: OutboundRouting
    public var relayCredentials: SMTPCredentials?
    /// Check the relay's certificate (MX hosts are never checked: RFC 7435 opportunistic TLS).
    public var relayVerifyCertificate: Bool
    public var timeouts: SMTPClientTimeouts
    public var schedule: RetrySchedule
    public var pollInterval: Duration

    public init(hostname: String, concurrency: Int = 4, routing: OutboundRouting = OutboundRouting(),
                relayCredentials: SMTPCredentials? = nil, relayVerifyCertificate: Bool = true,
                timeouts: SMTPClientTimeouts = .rfc5321, schedule: RetrySchedule = RetrySchedule(),
                pollInterval: Duration = .milliseconds(500)) {
        self.hostname = hostname
        self.concurrency = max(1, concurrency)
        self.routing = routing
        self.relayCredentials = relayCredentials
        self.relayVerifyCertificate = relayVerifyCertificate
        self.timeouts = timeouts
        self.schedule = schedule
        self.pollInterval = pollInterval
    }
}

/// Stores a report for a local sender; false if the sender is not local (then it is queued for remote delivery).
public typealias LocalDeliveryHandler = @Sendable (SMTPMailbox, [UInt8]) -> Bool

public final class QueueRunner: Sendable {
    private struct State {
        var running = false
        var woken = false
        var work: [QueueID] = []
        var inFlight: Set<QueueID> = []
        var threads = 0
    }

    public let queue: MailQueue
    public let configuration: QueueRunnerConfiguration
    private let logger: Logger
    private let resolver: any DNSResolver
    private let clock: @Sendable () -> Int64
    private let deliverLocally: LocalDeliveryHandler
    private let mxTLS: TLSClientContext
    private let relayTLS: TLSClientContext
    private let state = GuardedCondition(State())

    public init(queue: MailQueue, configuration: QueueRunnerConfiguration, logger: Logger,
                resolver: any DNSResolver = SystemResolver(), clock: @escaping @Sendable () -> Int64 = wallClockSeconds,
                deliverLocally: @escaping LocalDeliveryHandler) throws {
        self.queue = queue
        self.configuration = configuration
        self.logger = logger
        self.resolver = resolver
        self.clock = clock
        self.deliverLocally = deliverLocally
        mxTLS = try TLSClientContext(verifyPeer: false)
        relayTLS = try TLSClientContext(verifyPeer: configuration.relayVerifyCertificate)
    }

    // MARK: - Threads

    /// Starts the scheduler and the delivery threads.
    public func start() {
        let already = state.update { state in
            defer { state.running = true }
            return state.running
        }
        guard !already else { return }
        let count = configuration.concurrency
        state.update { $0.threads = count + 1 }
        startThread(name: "tern-queue") { [self] in
            scheduleLoop()
            state.update { $0.threads -= 1 }
        }
        for index in 0..<count {
            startThread(name: "tern-queue-\(index)") { [self] in
                workerLoop()
                state.update { $0.threads -= 1 }
            }
        }
    }

    /// A message was queued (or something changed) in this process: look now instead of at the next poll.
    public func wake() { state.update { $0.woken = true } }

    /// Stops the threads: no new attempt starts; attempts under way finish (bounded by the SMTP timeouts). Waits up
    /// to `timeout` for them; returns false if some were still busy (they stop on their own later).
    @discardableResult
    public func stop(timeout: Duration = .seconds(10)) -> Bool {
        state.update { $0.running = false }
        return state.wait(upTo: timeout, until: { $0.threads == 0 }, then: { $0.threads == 0 })
    }

    private func scheduleLoop() {
        var lastVersion: Int64 = -1
        var nextDue: Int64?
        // The first scan waits one interval (or a wake-up): ternd drops root right after starting, and files the
        // runner creates (queued bounces) must belong to the service user.
        state.wait(upTo: configuration.pollInterval, until: { $0.woken || !$0.running }, then: { _ in })
        while state.withLock({ $0.running }) {
            let woken = state.withLock { state in
                defer { state.woken = false }
                return state.woken
            }
            do {
                let version = try queue.externalChangeCounter()
                let now = clock()
                if woken || version != lastVersion || nextDue.map({ now >= $0 }) ?? true {
                    lastVersion = version
                    let due = try queue.dueMessages(now: now)
                    state.update { state in
                        for id in due where !state.inFlight.contains(id) && !state.work.contains(id) {
                            state.work.append(id)
                        }
                    }
                    nextDue = try queue.nextAttemptTime() ?? Int64.max
                }
            } catch {
                logger.error("queue scan failed", metadata: ["error": "\(error)"])
                nextDue = nil
            }
            state.wait(upTo: configuration.pollInterval, until: { $0.woken || !$0.running }, then: { _ in })
        }
    }

    private func workerLoop() {
        while true {
            let next: QueueID? = state.wait(upTo: .seconds(1), until: { !$0.work.isEmpty || !$0.running }) { state in
                guard state.running, !state.work.isEmpty else { return nil }
                let id = state.work.removeFirst()
                state.inFlight.insert(id)
                return id
            }
            guard state.withLock({ $0.running }) || next != nil else { return }
            guard let id = next else { continue }
            process(id)
            state.update { state in
                state.inFlight.remove(id)
                state.woken = true
            }
        }
    }

    /// Delivers every message due now on the calling thread (tests with an injected clock; not with `start`).
    public func runDue() {
        guard let due = try? queue.dueMessages(now: clock()) else { return }
        for id in due { process(id) }
    }

    // MARK: - One message

    /// One attempt for the due recipients of one message (or its expiry).
    public func process(_ id: QueueID) {
        let message: QueuedMessage
        let bytes: [UInt8]
        do {
            message = try queue.message(id)
            bytes = try queue.contents(of: id)
        } catch {
            if case .unknownMessage = error { return }  // removed by ternctl meanwhile
            logger.error("cannot read a queued message", metadata: ["id": "\(id)", "error": "\(error)"])
            return
        }
        let now = clock()
        let schedule = configuration.schedule
        if schedule.isExpired(arrival: message.arrival, now: now) {
            expire(message, bytes: bytes, now: now)
            return
        }
        let due = message.pendingRecipients.filter { $0.nextAttempt <= now }
        var groups: [Destination: [QueuedRecipient]] = [:]
        var order: [Destination] = []
        for recipient in due {
            let destination = configuration.routing.destination(for: recipient.mailbox.domain)
            if groups[destination] == nil { order.append(destination) }
            groups[destination, default: []].append(recipient)
        }
        var updates: [MailQueue.RecipientUpdate] = []
        var reports: [DSNRecipient] = []
        for destination in order {
            let recipients = groups[destination]!
            let outcomes = deliver(message, bytes: bytes, to: recipients, via: destination)
            for (recipient, outcome) in zip(recipients, outcomes) {
                let notify = recipient.parameters.notify ?? DSNNotify.implicit
                let attempts = recipient.attempts + 1
                let logMetadata: Logger.Metadata = [
                    "id": "\(id)", "to": "\(recipient.mailbox)", "via": "\(outcome.remoteMTA ?? destination.description)",
                    "reply": "\(outcome.text)", "attempt": "\(attempts)",
                ]
                switch outcome {
                case .delivered(let reply, let mta):
                    logger.info("delivered", metadata: logMetadata)
                    updates.append(.init(position: recipient.position, state: .delivered, nextAttempt: now, reply: reply,
                                         status: "2.0.0", remoteMTA: mta))
                    if notify.contains(.success) {
                        reports.append(report(recipient, action: .delivered, status: "2.0.0", reply: reply, mta: mta, now: now))
                    }
                case .permanent(let reply, let status, let mta):
                    logger.notice("delivery failed", metadata: logMetadata)
                    updates.append(.init(position: recipient.position, state: .failed, nextAttempt: now, reply: reply,
                                         status: "\(status)", remoteMTA: mta))
                    if notify.contains(.failure) {
                        reports.append(report(recipient, action: .failed, status: "\(status)", reply: reply, mta: mta, now: now))
                    }
                case .temporary(let reply, let status, let mta):
                    let next = schedule.nextAttempt(afterAttempts: attempts, now: now, arrival: message.arrival)
                    var metadata = logMetadata
                    metadata["retry_in"] = "\(next - now)s"
                    logger.info("delivery deferred", metadata: metadata)
                    updates.append(.init(position: recipient.position, state: .pending, nextAttempt: next, reply: reply,
                                         status: "\(status)", remoteMTA: mta))
                }
            }
        }
        do {
            try queue.update(id, updates)
        } catch {
            // The outcome is lost: the recipients stay due and are tried again (a possible duplicate, never a loss).
            logger.error("cannot record delivery results", metadata: ["id": "\(id)", "error": "\(error)"])
            return
        }
        if !reports.isEmpty { sendReport(for: message, recipients: reports, bytes: bytes, now: now) }
        if !message.delayWarningSent, schedule.isDelayWarningDue(arrival: message.arrival, now: now) {
            let settled = Set(updates.filter { $0.state != .pending }.map(\.position))
            let stillPending = message.pendingRecipients.filter { !settled.contains($0.position) }
            let warned = stillPending.filter { ($0.parameters.notify ?? DSNNotify.implicit).contains(.delay) }.map { recipient in
                let latest = updates.first { $0.position == recipient.position }
                var entry = report(recipient, action: .delayed, status: latest?.status ?? recipient.status ?? "4.0.0",
                                   reply: latest?.reply ?? recipient.lastReply, mta: latest?.remoteMTA ?? recipient.remoteMTA,
                                   now: now)
                entry.willRetryUntil = schedule.expiry(arrival: message.arrival)
                return entry
            }
            if !stillPending.isEmpty {
                if !warned.isEmpty { sendReport(for: message, recipients: warned, bytes: bytes, now: now) }
                try? queue.markDelayWarningSent(id)
            }
        }
        finish(id)
    }

    private func expire(_ message: QueuedMessage, bytes: [UInt8], now: Int64) {
        let pending = message.pendingRecipients
        let updates = pending.map { recipient in
            MailQueue.RecipientUpdate(position: recipient.position, state: .expired, nextAttempt: now,
                                      reply: recipient.lastReply ?? "delivery time expired", status: "4.4.7",
                                      remoteMTA: recipient.remoteMTA, countsAsAttempt: false)
        }
        do { try queue.update(message.id, updates) } catch {
            logger.error("cannot record expiry", metadata: ["id": "\(message.id)", "error": "\(error)"])
            return
        }
        for recipient in pending {
            logger.notice("delivery expired", metadata: [
                "id": "\(message.id)", "to": "\(recipient.mailbox)", "attempts": "\(recipient.attempts)",
                "reply": "\(recipient.lastReply ?? "")",
            ])
        }
        let reports = pending.filter { ($0.parameters.notify ?? DSNNotify.implicit).contains(.failure) }.map { recipient in
            var entry = report(recipient, action: .failed, status: "4.4.7", reply: recipient.lastReply,
                               mta: recipient.remoteMTA, now: now)
            entry.lastAttempt = recipient.lastAttempt
            return entry
        }
        if !reports.isEmpty { sendReport(for: message, recipients: reports, bytes: bytes, now: now) }
        finish(message.id)
    }

    private func finish(_ id: QueueID) {
        do {
            if try queue.removeIfFinished(id) { logger.debug("queued message done", metadata: ["id": "\(id)"]) }
        } catch {
            logger.error("cannot remove a finished message", metadata: ["id": "\(id)", "error": "\(error)"])
        }
    }

    private func report(_ recipient: QueuedRecipient, action: DSNAction, status: String, reply: String?, mta: String?,
                        now: Int64) -> DSNRecipient {
        DSNRecipient(finalRecipient: recipient.mailbox, originalRecipient: recipient.parameters.originalRecipient,
                     action: action, status: status, remoteMTA: mta, diagnostic: reply, lastAttempt: now)
    }

    /// A failure report for recipients that failed after their message was accepted but before it reached the
    /// queue (local delivery errors in an SMTP session). Honours NOTIFY; nothing for a null sender.
    public func reportFailures(of envelope: MailEnvelope, failures: [(EnvelopeRecipient, SMTPReply)], message: [UInt8]) {
        let now = clock()
        let reports = failures.filter { ($0.0.parameters.notify ?? DSNNotify.implicit).contains(.failure) }.map { failure in
            DSNRecipient(finalRecipient: failure.0.mailbox, originalRecipient: failure.0.parameters.originalRecipient,
                         action: .failed, status: "\(failure.1.effectiveStatus)", remoteMTA: configuration.hostname,
                         diagnostic: failure.1.oneLine, lastAttempt: now)
        }
        guard !reports.isEmpty else { return }
        sendReport(sender: envelope.sender, parameters: envelope.parameters, arrival: now, logID: "session",
                   recipients: reports, bytes: message, now: now)
    }

    private func sendReport(for message: QueuedMessage, recipients: [DSNRecipient], bytes: [UInt8], now: Int64) {
        sendReport(sender: message.sender, parameters: message.parameters, arrival: message.arrival,
                   logID: message.id.rawValue, recipients: recipients, bytes: bytes, now: now)
    }

    /// Sends a DSN to the message's sender: never for a null sender (RFC 3461 §6.2, no loops).
    private func sendReport(sender: ReversePath, parameters: MailParameters, arrival: Int64, logID: String,
                            recipients: [DSNRecipient], bytes: [UInt8], now: Int64) {
        guard let sender = sender.mailbox else { return }
        let token = QueueID.make()
        let report = DSNReport(
            reportingMTA: configuration.hostname, recipient: sender, envelopeID: parameters.envelopeID,
            arrival: arrival, recipients: recipients, ret: parameters.ret, originalMessage: bytes,
            date: now, boundary: "\(token)/\(configuration.hostname)", messageID: "<\(now).\(token)@\(configuration.hostname)>")
        let rendered = report.render()
        let metadata: Logger.Metadata = ["id": "\(logID)", "to": "\(sender)", "subject": "\(report.subject)"]
        if deliverLocally(sender, rendered) {
            logger.info("delivery report stored", metadata: metadata)
            return
        }
        do {
            var parameters = MailParameters()
            parameters.body = rendered.contains { $0 >= 0x80 } ? .eightBitMIME : nil
            let bounce = try queue.enqueue(MailEnvelope(sender: .null, parameters: parameters,
                                                        recipients: [EnvelopeRecipient(mailbox: sender)]), message: rendered)
            var queued = metadata
            queued["report_id"] = "\(bounce)"
            logger.info("delivery report queued", metadata: queued)
            wake()
        } catch {
            logger.error("cannot queue a delivery report", metadata: ["id": "\(logID)", "error": "\(error)"])
        }
    }

    // MARK: - SMTP

    /// One transaction for `recipients` (all with the same destination). Returns one outcome per recipient.
    private func deliver(_ message: QueuedMessage, bytes: [UInt8], to recipients: [QueuedRecipient],
                         via destination: Destination) -> [DeliveryOutcome] {
        func all(_ outcome: DeliveryOutcome) -> [DeliveryOutcome] { Array(repeating: outcome, count: recipients.count) }
        let hosts: [DeliveryHost]
        do {
            hosts = try configuration.routing.hosts(for: destination, resolver: resolver)
        } catch {
            return all(error.isPermanent ? .permanent(reply: error.description, status: error.status, remoteMTA: nil)
                       : .temporary(reply: error.description, status: error.status, remoteMTA: nil))
        }
        let envelope = MailEnvelope(sender: message.sender, parameters: message.parameters,
                                    recipients: recipients.map { EnvelopeRecipient(mailbox: $0.mailbox, parameters: $0.parameters) })
        let isRelay: Bool
        if case .relay = destination { isRelay = true } else { isRelay = false }
        var lastError = SMTPSessionError.network("no host to try")
        var lastHost: String?
        for host in hosts {
            let addresses: [SocketAddress]
            do {
                addresses = try resolver.lookupAddresses(host.name, port: host.port)
            } catch {
                lastError = .network(error.description)
                lastHost = host.name
                continue
            }
            for address in addresses {
                var useTLS = true
                while true {
                    lastHost = host.name
                    let socket: ClientSocket
                    do {
                        socket = try ClientSocket(connectingTo: address, timeout: configuration.timeouts.connect)
                    } catch {
                        lastError = .network(error.description)
                        break
                    }
                    let session = SMTPClientSession(
                        stream: socket, options: options(isRelay: isRelay, host: host.name, useTLS: useTLS),
                        remoteName: host.name)
                    do {
                        return try session.deliver(envelope, message: bytes)
                    } catch {
                        session.abort()
                        lastError = error
                        logger.debug("SMTP session failed", metadata: [
                            "id": "\(message.id)", "host": "\(host.name)", "address": "\(address)", "error": "\(error)",
                        ])
                        // Opportunistic TLS that fails its handshake: once more in plaintext (RFC 7435 §3).
                        if case .tlsFailed = error, useTLS, !isRelay {
                            useTLS = false
                            continue
                        }
                        break
                    }
                }
            }
        }
        return all(lastError.isPermanent
                   ? .permanent(reply: lastError.description, status: lastError.status, remoteMTA: lastHost)
                   : .temporary(reply: lastError.description, status: lastError.status, remoteMTA: lastHost))
    }

    private func options(isRelay: Bool, host: String, useTLS: Bool) -> SMTPClientOptions {
        let loopback = ["127.0.0.1", "::1", "localhost"].contains(host)
        return SMTPClientOptions(
            heloName: configuration.hostname, timeouts: configuration.timeouts,
            tls: useTLS ? .opportunistic(isRelay ? relayTLS : mxTLS) : .disabled,
            credentials: isRelay ? configuration.relayCredentials : nil, allowPlaintextAuth: loopback)
    }
}
