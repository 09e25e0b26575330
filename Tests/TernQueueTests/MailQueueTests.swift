// The spool: what enqueue leaves on disk, what a reopened queue sees, state transitions, admin operations and
// crash leftovers.

import Foundation
import Synchronization
import Testing
import TernSMTPCore
@testable import TernQueue

/// A temporary queue folder, removed at the end.
final class QueueFolder {
    let path = NSTemporaryDirectory() + "tern-queue-test-\(UUID().uuidString)"
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// A clock tests move by hand.
final class TestClock: Sendable {
    private let value: Mutex<Int64>
    init(_ start: Int64 = 1_750_000_000) { value = Mutex(start) }
    var now: Int64 { value.withLock { $0 } }
    func advance(_ seconds: Int64) { value.withLock { $0 += seconds } }
    var function: @Sendable () -> Int64 { { self.now } }
}

func mailbox(_ text: String) -> SMTPMailbox { MailQueue.mailbox(parsing: text) }

func sampleEnvelope() -> MailEnvelope {
    var envelope = MailEnvelope(sender: .mailbox(mailbox("alice@example.net")))
    envelope.parameters.ret = .headers
    envelope.parameters.envelopeID = "env-1"
    envelope.parameters.body = .eightBitMIME
    envelope.parameters.size = 42
    var bob = RecipientParameters()
    bob.notify = [.success, .failure]
    bob.originalRecipient = ("rfc822", "Bob@Remote.test")
    envelope.recipients = [
        EnvelopeRecipient(mailbox: mailbox("bob@remote.test"), parameters: bob),
        EnvelopeRecipient(mailbox: mailbox("\"odd@local\"@other.test")),
    ]
    return envelope
}

@Suite struct MailQueueTests {
    @Test func enqueueIsOnDiskAndSurvivesReopening() throws {
        let folder = QueueFolder()
        let clock = TestClock()
        let message = Array("Subject: test\r\n\r\nbody\r\n".utf8)
        let id: QueueID
        do {
            let queue = try MailQueue(directory: folder.path, clock: clock.function)
            id = try queue.enqueue(sampleEnvelope(), message: message)
        }
        // The file holds the exact bytes; no temp file is left.
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(folder.path)/messages/\(id)")) == Data(message))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path + "/messages") == [id.rawValue])

        let reopened = try MailQueue(directory: folder.path, clock: clock.function)
        let queued = try reopened.message(id)
        #expect(queued.envelope == sampleEnvelope())
        #expect(queued.size == message.count)
        #expect(queued.arrival == clock.now)
        #expect(queued.recipients.map(\.state) == [.pending, .pending])
        #expect(queued.recipients.allSatisfy { $0.nextAttempt == clock.now && $0.attempts == 0 })
        #expect(try reopened.contents(of: id) == message)
        #expect(try reopened.list().map(\.id) == [id])
        #expect(try reopened.dueMessages(now: clock.now) == [id])
    }

    @Test func recipientStatesAndRemovalWhenFinished() throws {
        let folder = QueueFolder()
        let clock = TestClock()
        let queue = try MailQueue(directory: folder.path, clock: clock.function)
        let id = try queue.enqueue(sampleEnvelope(), message: Array("x\r\n".utf8))
        try queue.update(id, [
            .init(position: 0, state: .delivered, nextAttempt: clock.now, reply: "250 2.0.0 OK", status: "2.0.0",
                  remoteMTA: "mx.remote.test"),
            .init(position: 1, state: .pending, nextAttempt: clock.now + 60, reply: "451 4.3.0 later", status: "4.3.0",
                  remoteMTA: "mx.other.test"),
        ])
        var queued = try queue.message(id)
        #expect(queued.recipients.map(\.state) == [.delivered, .pending])
        #expect(queued.recipients.map(\.attempts) == [1, 1])
        #expect(queued.recipients[1].lastReply == "451 4.3.0 later")
        #expect(queued.recipients[1].lastAttempt == clock.now)
        #expect(queued.recipients[1].remoteMTA == "mx.other.test")
        #expect(try queue.dueMessages(now: clock.now).isEmpty)
        #expect(try queue.nextAttemptTime() == clock.now + 60)
        #expect(try queue.removeIfFinished(id) == false)

        try queue.markDelayWarningSent(id)
        #expect(try queue.message(id).delayWarningSent)

        // Expiry is not an attempt.
        try queue.update(id, [.init(position: 1, state: .expired, nextAttempt: clock.now, reply: "451 4.3.0 later",
                                    status: "4.4.7", remoteMTA: nil, countsAsAttempt: false)])
        queued = try queue.message(id)
        #expect(queued.recipients.map(\.state) == [.delivered, .expired])
        #expect(queued.recipients[1].attempts == 1)
        #expect(try queue.removeIfFinished(id))
        #expect(throws: QueueError.unknownMessage(id)) { try queue.message(id) }
        #expect(!FileManager.default.fileExists(atPath: "\(folder.path)/messages/\(id)"))
    }

    @Test func flushAndRemove() throws {
        let folder = QueueFolder()
        let clock = TestClock()
        let queue = try MailQueue(directory: folder.path, clock: clock.function)
        let first = try queue.enqueue(sampleEnvelope(), message: Array("1\r\n".utf8))
        let second = try queue.enqueue(sampleEnvelope(), message: Array("2\r\n".utf8))
        for id in [first, second] {
            try queue.update(id, [0, 1].map { .init(position: $0, state: .pending, nextAttempt: clock.now + 3600,
                                                    reply: "421 busy", status: "4.0.0", remoteMTA: nil) })
        }
        #expect(try queue.dueMessages(now: clock.now).isEmpty)
        #expect(try queue.flush(first) == 2)
        #expect(try queue.dueMessages(now: clock.now) == [first])
        #expect(try queue.flush() == 4)
        #expect(Set(try queue.dueMessages(now: clock.now)) == [first, second])

        let unknown = QueueID("00000000000000ff")!
        #expect(throws: QueueError.unknownMessage(unknown)) { try queue.flush(unknown) }
        #expect(throws: QueueError.unknownMessage(unknown)) { try queue.remove(unknown) }
        try queue.remove(first)
        #expect(try queue.list().map(\.id) == [second])
        #expect(!FileManager.default.fileExists(atPath: "\(folder.path)/messages/\(first)"))
    }

    @Test func recoverRemovesLeftoversOfACrash() throws {
        let folder = QueueFolder()
        let queue = try MailQueue(directory: folder.path)
        let kept = try queue.enqueue(sampleEnvelope(), message: Array("x\r\n".utf8))
        // A file renamed into place whose commit never happened, and a half-written temp file.
        _ = FileManager.default.createFile(atPath: folder.path + "/messages/00000000deadbeef", contents: Data("x".utf8))
        _ = FileManager.default.createFile(atPath: folder.path + "/messages/.tmp-00000000deadbeee", contents: Data("x".utf8))
        #expect(Set(try queue.recover()) == ["00000000deadbeef", ".tmp-00000000deadbeee"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path + "/messages") == [kept.rawValue])
        #expect(try queue.list().map(\.id) == [kept])
    }

    @Test func refusesAnEnvelopeWithoutRecipients() throws {
        let folder = QueueFolder()
        let queue = try MailQueue(directory: folder.path)
        #expect(throws: QueueError.invalidEnvelope("no recipients")) {
            try queue.enqueue(MailEnvelope(sender: .null), message: [])
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path + "/messages").isEmpty)
    }

    @Test func queueIDs() {
        #expect(QueueID("0123456789ABCDEF")?.rawValue == "0123456789abcdef")
        #expect(QueueID("0123") == nil)
        #expect(QueueID("../../etc/passwd") == nil)
        #expect(QueueID("0123456789abcdeg") == nil)
        #expect(QueueID.make() != QueueID.make())
    }
}
