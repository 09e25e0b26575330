// DSN composition against exact fixtures (Fixtures/dsn/*.eml): fixed clock, boundary and Message-ID.

import Foundation
import Testing
import TernSMTPCore
import TernTestSupport
@testable import TernQueue

private let original = Array("""
    From: Alice <alice@example.net>\r
    To: bob@remote.test\r
    Subject: Lunch?\r
    Message-ID: <1@example.net>\r
    \r
    Are you free at noon?\r

    """.utf8)

private func report(_ recipients: [DSNRecipient], ret: DSNReturn? = nil, envelopeID: String? = "env-42") -> DSNReport {
    DSNReport(reportingMTA: "mail.example.net", recipient: mailbox("alice@example.net"), envelopeID: envelopeID,
              arrival: 1_750_000_000, recipients: recipients, ret: ret, originalMessage: original, date: 1_750_003_600,
              boundary: "0123456789abcdef/mail.example.net", messageID: "<1750003600.0123456789abcdef@mail.example.net>")
}

private func fixture(_ name: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: repositoryPath("Fixtures/dsn/\(name)"))))
}

/// Compares with the fixture; `TERN_WRITE_FIXTURES=1` rewrites it instead (then review the diff).
private func expectFixture(_ bytes: [UInt8], _ name: String) throws {
    if ProcessInfo.processInfo.environment["TERN_WRITE_FIXTURES"] == "1" {
        try Data(bytes).write(to: URL(fileURLWithPath: repositoryPath("Fixtures/dsn/\(name)")))
        return
    }
    let expected = try fixture(name)
    #expect(bytes == expected, "\(name) differs:\n\(String(decoding: bytes, as: UTF8.self))")
}

@Suite struct DSNTests {
    @Test func permanentFailureReturnsTheWholeMessage() throws {
        let bytes = report([
            DSNRecipient(finalRecipient: mailbox("bob@remote.test"), originalRecipient: ("rfc822", "Bob@remote.test"),
                         action: .failed, status: "5.1.1", remoteMTA: "mx.remote.test",
                         diagnostic: "550 5.1.1 <bob@remote.test>: no such user", lastAttempt: 1_750_003_500),
        ]).render()
        try expectFixture(bytes, "failed-full.eml")
    }

    @Test func headersOnlyWithRETHDRSAndMixedResults() throws {
        let bytes = report([
            DSNRecipient(finalRecipient: mailbox("bob@remote.test"), action: .failed, status: "5.2.2",
                         remoteMTA: "mx.remote.test", diagnostic: "552 5.2.2 mailbox full\r\ninjected: header",
                         lastAttempt: 1_750_003_500),
            DSNRecipient(finalRecipient: mailbox("carol@remote.test"), action: .delivered, status: "2.0.0",
                         remoteMTA: "mx.remote.test", diagnostic: "250 2.0.0 OK", lastAttempt: 1_750_003_500),
        ], ret: .headers, envelopeID: nil).render()
        try expectFixture(bytes, "failed-headers.eml")
    }

    @Test func delayWarning() throws {
        let bytes = report([
            DSNRecipient(finalRecipient: mailbox("bob@remote.test"), action: .delayed, status: "4.4.1",
                         remoteMTA: "mx.remote.test", diagnostic: "connection refused", lastAttempt: 1_750_003_500,
                         willRetryUntil: 1_750_432_000),
        ]).render()
        try expectFixture(bytes, "delayed.eml")
        #expect(report([]).subject == "Successful Mail Delivery Report")
    }

    @Test func dates() {
        #expect(DSNReport.rfc5322Date(0) == "Thu, 01 Jan 1970 00:00:00 +0000")
        #expect(DSNReport.rfc5322Date(1_750_000_000) == "Sun, 15 Jun 2025 15:06:40 +0000")
    }
}
