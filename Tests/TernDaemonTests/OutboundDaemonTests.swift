// The outbound queue inside the real ternd: mail queued while a remote server says 4xx survives a restart and
// goes out after `ternctl queue flush`, to an SMTP peer on loopback reached through `[outbound] routes`.

import Foundation
import Glibc
import Testing
import TernQueue
import TernSMTPCore
import TernTestSupport

func outboundConfig(peerPort: UInt16, retry: String) -> String {
    """
    data_dir = "$DIR/data"
    user = "root"
    hostname = "mail.example.net"
    [server]
    event_loops = 1
    [listeners]
    imap = ["127.0.0.1:0"]
    imaps = []
    submission = []
    submissions = []
    smtp = ["127.0.0.1:0"]
    pop3 = []
    pop3s = []
    [limits]
    shutdown_grace_seconds = 1
    [outbound]
    routes = ["remote.test=127.0.0.1:\(peerPort)"]
    retry_intervals_seconds = \(retry)
    """
}

@Suite(.serialized) struct OutboundDaemonTests {
    @Test func queuedMailSurvivesARestartAndIsDeliveredAfterAFlush() throws {
        var script = SMTPTestPeer.Script.accept
        script.data = { _ in "451 4.3.0 Try again later" }
        let peer = try SMTPTestPeer(script: script)
        let config = outboundConfig(peerPort: peer.port, retry: "[3600]")
        let first = try TerndProcess(config: config)
        first.removesDirectoryOnExit = false
        let folder = first.directory
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try first.waitForLog("ternd ready")
        try first.waitForLog("outbound queue started")

        // Queued the way the SMTP sessions do it, from this process: ternd notices the commit (data_version).
        let message = Array("From: <alice@mail.example.net>\r\nTo: <bob@remote.test>\r\nSubject: restart\r\n\r\nstill here\r\n".utf8)
        let queue = try MailQueue(directory: folder + "/data/queue")
        let envelope = MailEnvelope(sender: .mailbox(SMTPMailbox(localPart: "alice", domain: "mail.example.net")),
                                    recipients: [EnvelopeRecipient(mailbox: SMTPMailbox(localPart: "bob", domain: "remote.test"))])
        let id = try queue.enqueue(envelope, message: message)
        #expect(peer.waitForTransactions(1).count == 1, "ternd log:\n\(first.log.joined(separator: "\n"))")
        #expect(try waitUntil { try queue.message(id).recipients[0].attempts == 1 })

        first.signal(SIGTERM)
        #expect(first.waitForExit(timeout: .seconds(20)) == 0)
        let kept = try queue.message(id)
        #expect(kept.recipients[0].state == .pending)
        #expect(kept.recipients[0].lastReply == "451 4.3.0 Try again later")
        #expect(try queue.contents(of: id) == message)

        peer.script = .accept
        let second = try TerndProcess(config: config, reuseDirectory: folder)
        second.removesDirectoryOnExit = false
        try second.waitForLog("ternd ready")
        // Not due for an hour: nothing happens until the admin flushes.
        usleep(1_500_000)
        #expect(peer.delivered.isEmpty)
        let flush = try runCommand(Products.path(of: "ternctl"), ["queue", "flush", id.rawValue, "--config", second.configPath])
        #expect(flush.status == 0, "\(flush.error)")
        #expect(flush.output == "1 recipient(s) due now; ternd tries them within a second\n")
        let delivered = peer.waitForDeliveries(1, timeout: .seconds(10))
        try #require(delivered.count == 1, "ternd log:\n\(second.log.joined(separator: "\n"))")
        #expect(delivered[0].message == message)
        #expect(delivered[0].mailFrom.hasPrefix("<alice@mail.example.net>"))
        #expect(delivered[0].helo == "mail.example.net")
        #expect(try waitUntil { try queue.list().isEmpty })
        #expect(second.log.contains { $0.contains("delivered") && $0.contains(id.rawValue) })
        second.signal(SIGTERM)
        #expect(second.waitForExit(timeout: .seconds(20)) == 0)
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
