// The SMTP client against a scripted in-memory server: each test reads as the transcript it checks.

import Testing
import TernCore
import TernSMTPCore
@testable import TernQueue

/// A server that answers each client line with the next scripted reply and records what the client sent.
final class TranscriptStream: BlockingByteStream {
    struct Timeout: Error {}
    private var replies: [String]
    private var input: [UInt8] = []
    private var output: [UInt8] = []
    private var inData = false
    /// Command lines the client sent, without CRLF.
    private(set) var lines: [String] = []
    /// The DATA payload as sent (dot-stuffed, with the final dot line).
    private(set) var data: [UInt8] = []
    private(set) var closed = false

    /// `replies[0]` is the greeting; every later reply answers one command line (or the data). `|` separates
    /// the lines of a multi-line reply.
    init(_ replies: [String]) {
        self.replies = replies
        queueNextReply()
    }

    private func queueNextReply() {
        guard !replies.isEmpty else { return }
        output += Array((replies.removeFirst().split(separator: "|").joined(separator: "\r\n") + "\r\n").utf8)
    }

    func read(maxBytes: Int, deadline: ContinuousClock.Instant) throws -> [UInt8] {
        guard !output.isEmpty else { throw Timeout() }
        let chunk = Array(output.prefix(maxBytes))
        output.removeFirst(chunk.count)
        return chunk
    }

    func write(_ bytes: [UInt8], deadline: ContinuousClock.Instant) throws {
        input += bytes
        while let newline = input.firstIndex(of: 10) {
            let line = Array(input[...newline])
            input.removeFirst(newline + 1)
            if inData {
                data += line
                if line == Array(".\r\n".utf8) {
                    inData = false
                    queueNextReply()
                }
                continue
            }
            let text = String(decoding: line.dropLast(2), as: UTF8.self)
            lines.append(text)
            let isData = text == "DATA"
            let reply = replies.first ?? ""
            queueNextReply()
            if isData && reply.hasPrefix("354") { inData = true }
        }
    }

    func close() { closed = true }
}

private let fast = SMTPClientOptions(heloName: "mail.example.net", timeouts: .uniform(.seconds(2)))

@Suite struct SMTPClientTests {
    @Test func deliversWithDSNParametersAndPerRecipientResults() throws {
        let stream = TranscriptStream([
            "220 mx.remote.test ESMTP",
            "250-mx.remote.test|250-SIZE 1000000|250-8BITMIME|250-DSN|250 ENHANCEDSTATUSCODES",
            "250 2.1.0 OK",
            "250 2.1.5 OK",
            "550 5.1.1 No such user",
            "451 4.2.0 Mailbox busy",
            "354 go ahead",
            "250 2.0.0 Queued as 1234",
            "221 2.0.0 Bye",
        ])
        var envelope = MailEnvelope(sender: .mailbox(mailbox("alice@example.net")))
        envelope.parameters.ret = .headers
        envelope.parameters.envelopeID = "QQ 1+2"
        var bob = RecipientParameters()
        bob.notify = [.failure, .delay]
        bob.originalRecipient = ("rfc822", "Bob@remote.test")
        envelope.recipients = [
            EnvelopeRecipient(mailbox: mailbox("bob@remote.test"), parameters: bob),
            EnvelopeRecipient(mailbox: mailbox("nobody@remote.test")),
            EnvelopeRecipient(mailbox: mailbox("carol@remote.test")),
        ]
        let message = Array("Subject: hi\r\n\r\n.leading dot\r\nbody\r\n".utf8)
        let session = SMTPClientSession(stream: stream, options: fast, remoteName: "mx.remote.test")
        let outcomes = try session.deliver(envelope, message: message)
        #expect(stream.lines == [
            "EHLO mail.example.net",
            "MAIL FROM:<alice@example.net> SIZE=\(message.count) RET=HDRS ENVID=QQ+201+2B2",
            "RCPT TO:<bob@remote.test> NOTIFY=FAILURE,DELAY ORCPT=rfc822;Bob@remote.test",
            "RCPT TO:<nobody@remote.test>",
            "RCPT TO:<carol@remote.test>",
            "DATA",
            "QUIT",
        ])
        // RFC 5321 §4.5.2: the leading dot is doubled; the data ends with CRLF . CRLF.
        #expect(stream.data == Array("Subject: hi\r\n\r\n..leading dot\r\nbody\r\n.\r\n".utf8))
        #expect(outcomes == [
            .delivered(reply: "250 2.0.0 Queued as 1234", remoteMTA: "mx.remote.test"),
            .permanent(reply: "550 5.1.1 No such user", status: EnhancedStatus(5, 1, 1), remoteMTA: "mx.remote.test"),
            .temporary(reply: "451 4.2.0 Mailbox busy", status: EnhancedStatus(4, 2, 0), remoteMTA: "mx.remote.test"),
        ])
        #expect(stream.closed)
    }

    @Test func dsnAndSizeParametersOnlyWhenAdvertised() throws {
        let stream = TranscriptStream([
            "220 old.remote.test", "250 old.remote.test", "250 OK", "250 OK", "354 go", "250 OK", "221 Bye",
        ])
        var envelope = MailEnvelope(sender: .mailbox(mailbox("alice@example.net")))
        envelope.parameters.ret = .full
        envelope.parameters.envelopeID = "x"
        var parameters = RecipientParameters()
        parameters.notify = .never
        envelope.recipients = [EnvelopeRecipient(mailbox: mailbox("bob@remote.test"), parameters: parameters)]
        let outcomes = try SMTPClientSession(stream: stream, options: fast, remoteName: "old.remote.test")
            .deliver(envelope, message: Array("a\r\n".utf8))
        #expect(stream.lines == ["EHLO mail.example.net", "MAIL FROM:<alice@example.net>", "RCPT TO:<bob@remote.test>",
                                 "DATA", "QUIT"])
        // Replies without enhanced codes get the class default.
        #expect(outcomes == [.delivered(reply: "250 OK", remoteMTA: "old.remote.test")])
    }

    @Test func fallsBackToHELOWhenEHLOIsRefused() throws {
        let stream = TranscriptStream([
            "220 ancient.test", "502 Command not implemented", "250 ancient.test", "250 OK", "250 OK", "354 go",
            "250 OK", "221 Bye",
        ])
        let envelope = MailEnvelope(sender: .null, recipients: [EnvelopeRecipient(mailbox: mailbox("bob@ancient.test"))])
        let outcomes = try SMTPClientSession(stream: stream, options: fast, remoteName: "ancient.test")
            .deliver(envelope, message: Array("x\r\n".utf8))
        #expect(stream.lines.prefix(3) == ["EHLO mail.example.net", "HELO mail.example.net", "MAIL FROM:<>"])
        #expect(outcomes.count == 1)
        if case .delivered = outcomes[0] {} else { Issue.record("expected delivery, got \(outcomes[0])") }
    }

    @Test func noDataWhenEveryRecipientIsRefused() throws {
        let stream = TranscriptStream(["220 x", "250 x", "250 OK", "550 5.1.1 unknown", "221 Bye"])
        let envelope = MailEnvelope(sender: .null, recipients: [EnvelopeRecipient(mailbox: mailbox("a@x.test"))])
        let outcomes = try SMTPClientSession(stream: stream, options: fast, remoteName: "x")
            .deliver(envelope, message: Array("x\r\n".utf8))
        #expect(stream.lines == ["EHLO mail.example.net", "MAIL FROM:<>", "RCPT TO:<a@x.test>", "QUIT"])
        #expect(outcomes == [.permanent(reply: "550 5.1.1 unknown", status: EnhancedStatus(5, 1, 1), remoteMTA: "x")])
    }

    @Test func temporaryReplyToDataDefersTheAcceptedRecipients() throws {
        let stream = TranscriptStream(["220 x", "250 x", "250 OK", "250 OK", "452 4.3.1 Insufficient storage", "221 Bye"])
        let envelope = MailEnvelope(sender: .null, recipients: [EnvelopeRecipient(mailbox: mailbox("a@x.test"))])
        let outcomes = try SMTPClientSession(stream: stream, options: fast, remoteName: "x")
            .deliver(envelope, message: Array("x\r\n".utf8))
        #expect(outcomes == [.temporary(reply: "452 4.3.1 Insufficient storage", status: EnhancedStatus(4, 3, 1), remoteMTA: "x")])
    }

    @Test func sessionFailuresAreErrorsNotCrashes() {
        let envelope = MailEnvelope(sender: .null, recipients: [EnvelopeRecipient(mailbox: mailbox("a@x.test"))])
        let cases: [([String], (SMTPSessionError) -> Bool)] = [
            // A greeting that is not a reply at all.
            (["HELLO there"], { if case .malformed = $0 { return true }; return false }),
            // A continuation line that changes the code.
            (["220-x|221 x"], { if case .malformed = $0 { return true }; return false }),
            // 554 greeting: refused, permanent.
            (["554 5.7.1 go away"], { if case .rejected(_, let reply) = $0 { return reply.code == 554 && $0.isPermanent }; return false }),
            // The server stops answering after EHLO: a timeout, temporary.
            (["220 x", "250 x"], { if case .network = $0 { return !$0.isPermanent }; return false }),
            // MAIL FROM refused with 4xx.
            (["220 x", "250 x", "421 4.3.2 shutting down"], { $0 == .rejected(stage: "MAIL FROM", reply: SMTPReply(421, EnhancedStatus(4, 3, 2), "shutting down")) }),
        ]
        for (replies, check) in cases {
            let stream = TranscriptStream(replies)
            do {
                let outcomes = try SMTPClientSession(stream: stream, options: fast, remoteName: "x").deliver(envelope, message: [])
                Issue.record("\(replies) gave \(outcomes) instead of an error")
            } catch {
                #expect(check(error), "\(replies): \(error)")
            }
        }
    }

    @Test func authIsNotSentInClearUnlessAllowed() throws {
        var options = fast
        options.credentials = SMTPCredentials(user: "relayuser", password: "s3cret")
        let envelope = MailEnvelope(sender: .null, recipients: [EnvelopeRecipient(mailbox: mailbox("a@x.test"))])
        let refused = TranscriptStream(["220 relay", "250-relay|250 AUTH PLAIN"])
        #expect(throws: SMTPSessionError.self) {
            _ = try SMTPClientSession(stream: refused, options: options, remoteName: "relay.test")
                .deliver(envelope, message: [])
        }
        #expect(!refused.lines.contains { $0.hasPrefix("AUTH") })

        options.allowPlaintextAuth = true
        let stream = TranscriptStream(["220 relay", "250-relay|250 AUTH PLAIN LOGIN", "235 2.7.0 OK", "250 OK", "250 OK",
                                       "354 go", "250 OK", "221 Bye"])
        _ = try SMTPClientSession(stream: stream, options: options, remoteName: "127.0.0.1")
            .deliver(envelope, message: Array("x\r\n".utf8))
        #expect(stream.lines[1] == "AUTH PLAIN " + Base64.encode(Array("\0relayuser\0s3cret".utf8)))
        #expect(SMTPCredentials(user: "u", password: "s3cret").description.contains("s3cret") == false)
    }

    @Test func internationalizedAddressesNeedSMTPUTF8() {
        let stream = TranscriptStream(["220 x", "250 x", "221 Bye"])
        let envelope = MailEnvelope(sender: .null, recipients: [EnvelopeRecipient(mailbox: mailbox("jörg@x.test"))])
        do {
            _ = try SMTPClientSession(stream: stream, options: fast, remoteName: "x").deliver(envelope, message: [])
            Issue.record("expected an error")
        } catch {
            #expect(error.isPermanent)
            #expect(error.status == EnhancedStatus(5, 6, 7))
        }
    }
}
