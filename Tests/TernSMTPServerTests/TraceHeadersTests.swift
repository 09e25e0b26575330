import Testing
import TernAuth
import TernSMTPCore
@testable import TernSMTPServer

@Suite struct TraceHeadersTests {
    @Test(arguments: [
        (Int64(0), "Thu, 1 Jan 1970 00:00:00 +0000"),
        (Int64(951_782_400), "Tue, 29 Feb 2000 00:00:00 +0000"),
        (Int64(1_795_310_475), "Sun, 22 Nov 2026 01:21:15 +0000"),
        (Int64(-1), "Wed, 31 Dec 1969 23:59:59 +0000"),
        (Int64(4_102_444_799), "Thu, 31 Dec 2099 23:59:59 +0000"),
    ])
    func rfc5322Dates(seconds: Int64, expected: String) {
        #expect(TraceHeaders.rfc5322Date(seconds) == expected)
    }

    @Test func receivedHeaderNamesClientProtocolAndRecipient() {
        let header = TraceHeaders.received(.init(
            heloName: "laptop (evil)", clientAddress: "192.0.2.1", hostname: "mail.example.com", protocolName: "ESMTPSA",
            tlsDescription: "TLSv1.3 TLS_AES_256_GCM_SHA384", id: "ABC", recipient: "bob@example.com", date: 0))
        #expect(String(decoding: header, as: UTF8.self) == """
            Received: from laptop _evil_ ([192.0.2.1])\r
            \tby mail.example.com (Tern) with ESMTPSA\r
            \t(TLSv1.3 TLS_AES_256_GCM_SHA384)\r
            \tid ABC\r
            \tfor <bob@example.com>; Thu, 1 Jan 1970 00:00:00 +0000\r

            """)
        let hidden = TraceHeaders.received(.init(
            heloName: nil, clientAddress: nil, hostname: "mail.example.com", protocolName: "ESMTPSA", tlsDescription: nil,
            id: "X", recipient: nil, date: 0))
        #expect(String(decoding: hidden, as: UTF8.self) == "Received: by mail.example.com (Tern) with ESMTPSA\r\n\tid X; Thu, 1 Jan 1970 00:00:00 +0000\r\n")
    }

    @Test func inspectsFromDateAndMessageID() {
        let header = TraceHeaders.inspect(Array("From: \"Alice A.\" <Alice@Example.com>, bob@example.com\r\nSubject: x\r\n\r\nFrom: body@example.com\r\n".utf8))
        #expect(header.fromAddresses == ["alice@example.com", "bob@example.com"])
        #expect(!header.unreadableFrom && !header.hasDate && !header.hasMessageID)
        let garbage = TraceHeaders.inspect(Array("From: not an address\r\nDate: x\r\nMessage-ID: <a@b>\r\n\r\n".utf8))
        #expect(garbage.unreadableFrom, "\(garbage.fromAddresses)")
        #expect(garbage.hasDate && garbage.hasMessageID)
    }

    @Test func finalDeliveryHeaders() throws {
        let bob = try EmailAddress(parsing: "bob@example.com")
        #expect(String(decoding: TraceHeaders.finalDelivery(sender: .null, recipient: bob), as: UTF8.self)
            == "Return-Path: <>\r\nDelivered-To: bob@example.com\r\n")
    }
}
