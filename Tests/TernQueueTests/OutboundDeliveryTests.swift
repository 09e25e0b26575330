// The runner against a real SMTP peer on 127.0.0.1 started by the test: delivery (over STARTTLS), 4xx then
// success on retry, 5xx → a bounce for the sender, expiry, delay warnings, and a flush from another connection.

import Foundation
import Logging
import Synchronization
import Testing
import TernSMTPCore
import TernTLS
import TernTestSupport
@testable import TernQueue

/// Reports handed to `deliverLocally`.
final class LocalMailbox: Sendable {
    private let stored = Mutex<[(SMTPMailbox, [UInt8])]>([])
    let accepts: Bool
    init(accepts: Bool = true) { self.accepts = accepts }
    var handler: LocalDeliveryHandler {
        { [self] recipient, bytes in
            guard accepts else { return false }
            stored.withLock { $0.append((recipient, bytes)) }
            return true
        }
    }
    var messages: [(SMTPMailbox, [UInt8])] { stored.withLock { $0 } }

    func wait(for count: Int, timeout: Duration = .seconds(20)) -> [(SMTPMailbox, [UInt8])] {
        let deadline = ContinuousClock.now + timeout
        while messages.count < count && ContinuousClock.now < deadline { usleep(20_000) }
        return messages
    }
}

func waitUntil(timeout: Duration = .seconds(20), _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        usleep(20_000)
    }
    return try condition()
}

struct Outbound {
    let folder = QueueFolder()
    let queue: MailQueue
    let runner: QueueRunner
    let local: LocalMailbox

    init(peer: SMTPTestPeer, steps: [Int] = [1], local: LocalMailbox = LocalMailbox(),
         clock: @escaping @Sendable () -> Int64 = wallClockSeconds, start: Bool = true,
         schedule: RetrySchedule? = nil, configure: (inout QueueRunnerConfiguration) -> Void = { _ in }) throws {
        queue = try MailQueue(directory: folder.path, clock: clock)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        var configuration = QueueRunnerConfiguration(
            hostname: "mail.example.net", concurrency: 2,
            routing: OutboundRouting(routes: ["remote.test": RouteTarget(host: "127.0.0.1", port: peer.port)]),
            timeouts: .uniform(.seconds(5)),
            schedule: schedule ?? RetrySchedule(steps: steps, maxQueueTime: 86400, delayWarningAfter: 4 * 3600),
            pollInterval: .milliseconds(100))
        configure(&configuration)
        runner = try QueueRunner(queue: queue, configuration: configuration, logger: logger, resolver: TableResolver(),
                                 clock: clock, deliverLocally: local.handler)
        self.local = local
        if start { runner.start() }
    }

    func send(_ message: [UInt8], to recipients: [String] = ["bob@remote.test"],
              from sender: ReversePath = .mailbox(mailbox("alice@example.net")),
              notify: DSNNotify? = nil) throws -> QueueID {
        var parameters = RecipientParameters()
        parameters.notify = notify
        let envelope = MailEnvelope(sender: sender, recipients: recipients.map {
            EnvelopeRecipient(mailbox: mailbox($0), parameters: parameters)
        })
        let id = try queue.enqueue(envelope, message: message)
        runner.wake()
        return id
    }
}

let sampleMessage = Array("""
    From: Alice <alice@example.net>\r
    To: Bob <bob@remote.test>\r
    Subject: outbound\r
    \r
    Line one\r
    .a line starting with a dot\r
    \r
    Last line\r

    """.utf8)

@Suite(.serialized) struct OutboundDeliveryTests {
    @Test func deliversByteIdenticalOverSTARTTLS() throws {
        let scratch = QueueFolder()
        try FileManager.default.createDirectory(atPath: scratch.path, withIntermediateDirectories: true)
        try SelfSignedCertificate.generate(hostname: "peer.test", certificatePath: scratch.path + "/c.pem",
                                           keyPath: scratch.path + "/k.pem")
        var script = SMTPTestPeer.Script.accept
        script.tls = TLSServerTransportFactory(try TLSServerContext(certificateChainPath: scratch.path + "/c.pem",
                                                                    privateKeyPath: scratch.path + "/k.pem"))
        let peer = try SMTPTestPeer(script: script)
        let outbound = try Outbound(peer: peer)
        defer { outbound.runner.stop() }
        let id = try outbound.send(sampleMessage, to: ["bob@remote.test", "carol@remote.test"])
        let delivered = peer.waitForDeliveries(1)
        try #require(delivered.count == 1)
        #expect(delivered[0].message == sampleMessage)
        #expect(delivered[0].overTLS)
        #expect(delivered[0].helo == "mail.example.net")
        #expect(delivered[0].mailFrom.hasPrefix("<alice@example.net> SIZE=\(sampleMessage.count)"))
        #expect(delivered[0].recipients == ["<bob@remote.test>", "<carol@remote.test>"])
        #expect(try waitUntil { try outbound.queue.list().isEmpty })
        #expect(throws: QueueError.unknownMessage(id)) { try outbound.queue.message(id) }
        #expect(outbound.local.messages.isEmpty, "no DSN without NOTIFY=SUCCESS")
    }

    @Test func temporaryFailureThenSuccessOnRetry() throws {
        let peer = try SMTPTestPeer(script: .temporaryFailureOnce)
        let outbound = try Outbound(peer: peer, steps: [1])
        defer { outbound.runner.stop() }
        let id = try outbound.send(sampleMessage)
        let first = peer.waitForTransactions(1)
        try #require(first.count >= 1)
        #expect(first[0].finalReply.hasPrefix("451"))
        let delivered = peer.waitForDeliveries(1)
        try #require(delivered.count == 1)
        #expect(delivered[0].message == sampleMessage)
        #expect(peer.transactions.count == 2)
        #expect(try waitUntil { try outbound.queue.list().isEmpty })
        #expect(throws: QueueError.unknownMessage(id)) { try outbound.queue.message(id) }
        #expect(outbound.local.messages.isEmpty)
    }

    @Test func deferredRecipientKeepsItsHistory() throws {
        var script = SMTPTestPeer.Script.accept
        script.rcpt = { _ in "450 4.2.1 Mailbox temporarily unavailable" }
        let peer = try SMTPTestPeer(script: script)
        let outbound = try Outbound(peer: peer, steps: [3600])
        defer { outbound.runner.stop() }
        let id = try outbound.send(sampleMessage)
        #expect(try waitUntil { try outbound.queue.message(id).recipients[0].attempts == 1 })
        let recipient = try outbound.queue.message(id).recipients[0]
        #expect(recipient.state == .pending)
        #expect(recipient.lastReply == "450 4.2.1 Mailbox temporarily unavailable")
        #expect(recipient.status == "4.2.1")
        #expect(recipient.remoteMTA == "127.0.0.1")
        #expect(recipient.nextAttempt >= wallClockSeconds() + 3500)
        #expect(peer.transactions.isEmpty, "no DATA without an accepted recipient")
    }

    @Test func permanentFailureBouncesToTheSender() throws {
        let peer = try SMTPTestPeer(script: .rejectRecipients)
        let outbound = try Outbound(peer: peer)
        defer { outbound.runner.stop() }
        _ = try outbound.send(sampleMessage)
        let reports = outbound.local.wait(for: 1)
        try #require(reports.count == 1)
        #expect(reports[0].0 == mailbox("alice@example.net"))
        let text = String(decoding: reports[0].1, as: UTF8.self)
        #expect(text.contains("From: Mail Delivery System <MAILER-DAEMON@mail.example.net>\r\n"))
        #expect(text.contains("Subject: Undelivered Mail Returned to Sender\r\n"))
        #expect(text.contains("Content-Type: multipart/report; report-type=delivery-status;"))
        #expect(text.contains("Final-Recipient: rfc822; bob@remote.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"))
        #expect(text.contains("Diagnostic-Code: smtp; 550 5.1.1 <bob@remote.test>: Recipient address rejected: no such user\r\n"))
        #expect(text.contains("Content-Type: message/rfc822\r\n\r\n" + String(decoding: sampleMessage, as: UTF8.self)))
        #expect(try waitUntil { try outbound.queue.list().isEmpty })
        #expect(peer.transactions.isEmpty)
    }

    @Test func bounceForARemoteSenderIsQueuedWithANullSender() throws {
        let peer = try SMTPTestPeer(script: .rejectRecipients)
        let outbound = try Outbound(peer: peer, local: LocalMailbox(accepts: false), start: false)
        _ = try outbound.send(sampleMessage, from: .mailbox(mailbox("someone@remote.test")))
        outbound.runner.runDue()
        let queued = try outbound.queue.list()
        try #require(queued.count == 1)
        #expect(queued[0].sender == .null)
        #expect(queued[0].recipients.map(\.mailbox) == [mailbox("someone@remote.test")])
        // The bounce bounces too: a null sender never gets a report, so nothing more is queued.
        outbound.runner.runDue()
        #expect(try outbound.queue.list().isEmpty)
        #expect(outbound.local.messages.isEmpty)
    }

    @Test func notifyNeverSuppressesTheBounceAndSuccessIsReported() throws {
        let peer = try SMTPTestPeer(script: .rejectRecipients)
        let outbound = try Outbound(peer: peer, start: false)
        _ = try outbound.send(sampleMessage, notify: .never)
        outbound.runner.runDue()
        #expect(try outbound.queue.list().isEmpty)
        #expect(outbound.local.messages.isEmpty)

        peer.script = .accept
        _ = try outbound.send(sampleMessage, notify: [.success])
        outbound.runner.runDue()
        let reports = outbound.local.messages
        try #require(reports.count == 1)
        let text = String(decoding: reports[0].1, as: UTF8.self)
        #expect(text.contains("Subject: Successful Mail Delivery Report\r\n"))
        #expect(text.contains("Action: delivered\r\nStatus: 2.0.0\r\n"))
        #expect(text.contains("Content-Type: text/rfc822-headers"))
    }

    @Test func delayWarningOnceThenExpiryBounce() throws {
        let peer = try SMTPTestPeer(script: .temporaryFailureOnce)
        peer.script.data = { _ in "451 4.3.0 Try again later" }
        let clock = TestClock()
        let outbound = try Outbound(peer: peer, clock: clock.function, start: false,
                                    schedule: RetrySchedule(steps: [600], maxQueueTime: 3 * 3600, delayWarningAfter: 3600))
        let id = try outbound.send(sampleMessage)
        outbound.runner.runDue()
        #expect(try outbound.queue.message(id).recipients[0].nextAttempt == clock.now + 600)
        #expect(outbound.local.messages.isEmpty)
        clock.advance(3600)
        outbound.runner.runDue()
        clock.advance(600)
        outbound.runner.runDue()
        var reports = outbound.local.messages
        try #require(reports.count == 1, "one delay warning, not one per attempt")
        var text = String(decoding: reports[0].1, as: UTF8.self)
        #expect(text.contains("Subject: Delayed Mail (still being retried)\r\n"))
        #expect(text.contains("Action: delayed\r\nStatus: 4.3.0\r\n"))
        #expect(text.contains("Will-Retry-Until: \(DSNReport.rfc5322Date(clock.now - 4200 + 3 * 3600))\r\n"))
        #expect(try outbound.queue.message(id).delayWarningSent)

        clock.advance(3 * 3600)
        outbound.runner.runDue()
        reports = outbound.local.messages
        try #require(reports.count == 2)
        text = String(decoding: reports[1].1, as: UTF8.self)
        #expect(text.contains("Action: failed\r\nStatus: 4.4.7\r\n"))
        #expect(text.contains("Diagnostic-Code: smtp; 451 4.3.0 Try again later\r\n"))
        #expect(try outbound.queue.list().isEmpty)
        #expect(peer.transactions.count == 3)
    }

    @Test func unreachableHostIsRetriedNotBounced() throws {
        let peer = try SMTPTestPeer()
        peer.stop()
        usleep(200_000)
        let outbound = try Outbound(peer: peer, start: false)
        let id = try outbound.send(sampleMessage)
        outbound.runner.runDue()
        let recipient = try outbound.queue.message(id).recipients[0]
        #expect(recipient.state == .pending)
        #expect(recipient.status == "4.4.2")
        #expect(recipient.lastReply?.contains("cannot connect to 127.0.0.1:\(peer.port)") == true)
        #expect(outbound.local.messages.isEmpty)
    }

    @Test func flushFromAnotherConnectionIsPickedUp() throws {
        var script = SMTPTestPeer.Script.accept
        script.data = { $0 == 0 ? "421 4.3.2 busy" : "250 2.0.0 OK" }
        let peer = try SMTPTestPeer(script: script)
        let outbound = try Outbound(peer: peer, steps: [3600])
        defer { outbound.runner.stop() }
        let id = try outbound.send(sampleMessage)
        #expect(try waitUntil { try outbound.queue.message(id).recipients[0].attempts == 1 })
        // What `ternctl queue flush` does: a commit through its own connection.
        let admin = try MailQueue(directory: outbound.queue.directory)
        let started = ContinuousClock.now
        try admin.flush(id)
        try #require(peer.waitForDeliveries(1, timeout: .seconds(5)).count == 1)
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(try waitUntil { try admin.list().isEmpty })
    }

    @Test func relayHostWithAuthTakesEveryDomain() throws {
        var script = SMTPTestPeer.Script.accept
        script.credentials = ("relayuser", "relay-pass")
        let peer = try SMTPTestPeer(script: script)
        let relay = RouteTarget(host: "127.0.0.1", port: peer.port)
        let outbound = try Outbound(peer: peer, start: false) { configuration in
            configuration.routing.relay = relay
            configuration.relayCredentials = SMTPCredentials(user: "relayuser", password: "relay-pass")
        }
        _ = try outbound.send(sampleMessage, to: ["x@anywhere.test", "y@elsewhere.test"])
        outbound.runner.runDue()
        let delivered = peer.delivered
        try #require(delivered.count == 1, "one transaction for both domains through the relay")
        #expect(delivered[0].authenticatedUser == "relayuser")
        #expect(delivered[0].recipients == ["<x@anywhere.test>", "<y@elsewhere.test>"])
        #expect(try outbound.queue.list().isEmpty)

        // A wrong password is a 535: permanent, so the sender hears about it.
        let wrong = try Outbound(peer: peer, start: false) { configuration in
            configuration.routing.relay = relay
            configuration.relayCredentials = SMTPCredentials(user: "relayuser", password: "wrong")
        }
        _ = try wrong.send(sampleMessage, to: ["x@anywhere.test"])
        wrong.runner.runDue()
        let reports = wrong.local.messages
        try #require(reports.count == 1)
        #expect(String(decoding: reports[0].1, as: UTF8.self).contains("535 5.7.8 Authentication credentials invalid"))
        #expect(peer.delivered.count == 1)
    }
}
