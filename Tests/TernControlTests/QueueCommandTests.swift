// ternctl queue through the real binary, on a queue filled by this process the way ternd fills it.

import Foundation
import Testing
import TernQueue
import TernSMTPCore
import TernTestSupport

@Suite struct QueueCommandTests {
    @Test func listShowFlushRemove() throws {
        let admin = try Admin()
        #expect(try admin.ok("queue", "list").isEmpty)
        let queue = try MailQueue(directory: admin.folder + "/data/queue")
        var envelope = MailEnvelope(sender: .mailbox(SMTPMailbox(localPart: "alice", domain: "mail.example.net")))
        envelope.parameters.envelopeID = "env-7"
        envelope.recipients = [EnvelopeRecipient(mailbox: SMTPMailbox(localPart: "bob", domain: "remote.test")),
                               EnvelopeRecipient(mailbox: SMTPMailbox(localPart: "carol", domain: "other.test"))]
        let id = try queue.enqueue(envelope, message: Array("Subject: x\r\n\r\nbody\r\n".utf8))
        let later = wallClockSeconds() + 3600
        try queue.update(id, [
            .init(position: 0, state: .pending, nextAttempt: later, reply: "451 4.3.0 later", status: "4.3.0",
                  remoteMTA: "mx.remote.test"),
            .init(position: 1, state: .delivered, nextAttempt: later, reply: "250 2.0.0 OK", status: "2.0.0",
                  remoteMTA: "mx.other.test"),
        ])

        let text = try admin.ok("queue", "list")
        #expect(text.hasPrefix("\(id)  "))
        #expect(text.contains("<alice@mail.example.net>  1/2 pending"))
        #expect(text.contains("451 4.3.0 later"))

        let list = try #require(try admin.json("queue", "list") as? [[String: Any]])
        #expect(list.map { $0["id"] as? String } == [id.rawValue])
        #expect(list.first?["size"] as? Int == 20)
        let shown = try #require(try admin.json("queue", "show", id.rawValue.uppercased()) as? [String: Any])
        #expect(shown["envid"] as? String == "env-7")
        let recipients = try #require(shown["recipients"] as? [[String: Any]])
        #expect(recipients.map { $0["address"] as? String } == ["bob@remote.test", "carol@other.test"])
        #expect(recipients.map { $0["state"] as? String } == ["pending", "delivered"])
        #expect(recipients[0]["next_attempt"] as? Int == Int(later))
        #expect(recipients[0]["remote_mta"] as? String == "mx.remote.test")
        let show = try admin.ok("queue", "show", id.rawValue)
        #expect(show.contains("recipient <bob@remote.test>: pending, 1 attempt(s)"))
        #expect(show.contains("last reply: 451 4.3.0 later (mx.remote.test)"))

        #expect(try admin.ok("queue", "flush", id.rawValue) == "1 recipient(s) due now; ternd tries them within a second\n")
        #expect(try queue.message(id).recipients[0].nextAttempt <= wallClockSeconds())
        let flushed = try #require(try admin.json("queue", "flush") as? [String: Any])
        #expect(flushed["flushed"] as? Int == 1)

        try admin.fails(["queue", "show", "00000000000000ff"], saying: "no queued message 00000000000000ff")
        try admin.fails(["queue", "flush", "00000000000000ff"], saying: "no queued message 00000000000000ff")
        try admin.fails(["queue", "remove", "nope"], saying: "'nope' is not a queue id")
        try admin.fails(["queue", "show"], saying: "Missing expected argument")

        #expect(try admin.ok("queue", "remove", id.rawValue) == "removed \(id)\n")
        try admin.fails(["queue", "remove", id.rawValue], saying: "no queued message \(id)")
        #expect(try admin.ok("queue", "list").isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: admin.folder + "/data/queue/messages").isEmpty)
        #expect(try admin.ok("queue", "--help").contains("flush"))
    }
}
