// Submission to remote recipients through the real ternd: queued durably before 250, delivered by the outbound
// queue to an SMTP peer on loopback (via `[outbound] routes`), and a 5xx from the peer becomes a bounce in the
// sender's INBOX.

import Foundation
import Testing
import TernTestSupport

private func outbound(_ peer: SMTPTestPeer) -> String {
    "[outbound]\nroutes = [\"remote.test=127.0.0.1:\(peer.port)\"]\nretry_intervals_seconds = [1]"
}

@Suite struct OutboundSubmissionTests {
    @Test func submittedMailForARemoteDomainIsDelivered() throws {
        let peer = try SMTPTestPeer()
        let server = try SMTPServer(extra: outbound(peer))
        try server.addUsers()
        let client = try server.loggedIn()
        let message = mail(from: SMTPServer.alice, to: "carol@remote.test", subject: "outbound")
        let replies = try client.send(from: SMTPServer.alice, to: ["carol@remote.test", SMTPServer.bob], message)
        #expect(replies.map(\.code) == [250, 250, 250, 250], "\(replies)")
        let delivered = peer.waitForDeliveries(1)
        try #require(delivered.count == 1, "ternd log:\n\(server.process.log.joined(separator: "\n"))")
        #expect(delivered[0].recipients == ["<carol@remote.test>"], "the local recipient is not sent out")
        #expect(delivered[0].mailFrom.hasPrefix("<alice@example.com>"))
        let sent = String(decoding: delivered[0].message, as: UTF8.self)
        #expect(withoutTraceHeaders(sent) == message, "\(sent)")
        #expect(try server.messages(of: SMTPServer.bob).count == 1)
    }

    @Test func permanentRefusalBouncesIntoTheSendersInbox() throws {
        let peer = try SMTPTestPeer(script: .rejectRecipients)
        let server = try SMTPServer(extra: outbound(peer))
        try server.addUsers()
        let client = try server.loggedIn()
        let message = mail(from: SMTPServer.alice, to: "nobody@remote.test", subject: "doomed")
        #expect(try client.send(from: SMTPServer.alice, to: ["nobody@remote.test"], message).last?.code == 250)
        var inbox: [String] = []
        let deadline = ContinuousClock.now + .seconds(20)
        while inbox.isEmpty && ContinuousClock.now < deadline {
            inbox = try server.messages(of: SMTPServer.alice)
            if inbox.isEmpty { usleep(100_000) }
        }
        let bounce = try #require(inbox.first, "ternd log:\n\(server.process.log.joined(separator: "\n"))")
        #expect(bounce.hasPrefix("Return-Path: <>\r\n"), "\(bounce.prefix(300))")
        #expect(bounce.contains("From: Mail Delivery System <MAILER-DAEMON@mail.example.com>\r\n"))
        #expect(bounce.contains("Subject: Undelivered Mail Returned to Sender\r\n"))
        #expect(bounce.contains("Final-Recipient: rfc822; nobody@remote.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"))
        #expect(bounce.contains("Subject: doomed\r\n"), "the original comes back")
        #expect(peer.transactions.isEmpty)
    }
}
