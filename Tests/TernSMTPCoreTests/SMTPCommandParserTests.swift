import Testing
import TernSMTPCore

private func parse(_ line: String, utf8: Bool = false) throws(SMTPParseError) -> SMTPCommand {
    try SMTPCommandParser.parse(Array(line.utf8), utf8Transaction: utf8)
}

private func refusal(_ line: String, utf8: Bool = false) -> SMTPReply? {
    do {
        _ = try parse(line, utf8: utf8)
        return nil
    } catch {
        return error.reply
    }
}

@Suite struct SMTPCommandParserTests {
    @Test func verbsAreCaseInsensitive() throws {
        #expect(try parse("ehlo client.example") == .ehlo("client.example"))
        #expect(try parse("HeLo [192.0.2.1]") == .helo("[192.0.2.1]"))
        #expect(try parse("data") == .data)
        #expect(try parse("RSET") == .rset)
        #expect(try parse("quit") == .quit)
        #expect(try parse("StartTLS") == .startTLS)
        #expect(try parse("NOOP anything at all") == .noop)
    }

    @Test func mailFromWithParameters() throws {
        // RFC 1870, RFC 6152, RFC 3461 §4.3-4.4 (ENVID in xtext: "+2B" is "+").
        let command = try parse("MAIL FROM:<Alice@Example.ORG> SIZE=12345 BODY=8BITMIME RET=HDRS ENVID=QQ314159+2Bx")
        guard case .mail(let path, let parameters) = command else { Issue.record("not MAIL: \(command)"); return }
        #expect(path == .mailbox(SMTPMailbox(localPart: "Alice", domain: "example.org")))
        #expect(parameters.size == 12345)
        #expect(parameters.body == .eightBitMIME)
        #expect(parameters.ret == .headers)
        #expect(parameters.envelopeID == "QQ314159+x")
    }

    @Test func nullReversePathAndLenientSpace() throws {
        #expect(try parse("MAIL FROM:<>") == .mail(.null, MailParameters()))
        guard case .mail(let path, _) = try parse("mail from: <bob@example.com>") else { Issue.record("not MAIL"); return }
        #expect(path.mailbox == SMTPMailbox(localPart: "bob", domain: "example.com"))
        guard case .mail(let bare, _) = try parse("MAIL FROM:bob@example.com") else { Issue.record("not MAIL"); return }
        #expect(bare.mailbox?.domain == "example.com")
    }

    @Test func sourceRoutesAreIgnored() throws {
        // RFC 5321 §4.1.2: "<@ONE,@TWO:JOE@THREE>"; the route is to be ignored (Appendix C).
        guard case .rcpt(let path, _) = try parse("RCPT TO:<@one.example,@two.example:joe@three.example>") else {
            Issue.record("not RCPT"); return
        }
        #expect(path == .mailbox(SMTPMailbox(localPart: "joe", domain: "three.example")))
    }

    @Test func quotedLocalPartAndAddressLiteral() throws {
        guard case .rcpt(let path, _) = try parse(#"RCPT TO:<"john doe"@[192.0.2.7]>"#) else { Issue.record("not RCPT"); return }
        #expect(path == .mailbox(SMTPMailbox(localPart: #""john doe""#, domain: "[192.0.2.7]")))
    }

    @Test func postmasterWithoutDomain() throws {
        #expect(try parse("RCPT TO:<Postmaster>") == .rcpt(.postmaster, RecipientParameters()))
    }

    @Test func dsnRecipientParameters() throws {
        // RFC 3461 §4.1-4.2.
        guard case .rcpt(_, let parameters) = try parse("RCPT TO:<a@b.example> NOTIFY=SUCCESS,delay ORCPT=rfc822;a+40b.example") else {
            Issue.record("not RCPT"); return
        }
        #expect(parameters.notify == [.success, .delay])
        #expect(parameters.originalRecipient?.type == "rfc822")
        #expect(parameters.originalRecipient?.address == "a@b.example")
        guard case .rcpt(_, let never) = try parse("RCPT TO:<a@b.example> NOTIFY=NEVER") else { Issue.record("not RCPT"); return }
        #expect(never.notify == .never)
        #expect(refusal("RCPT TO:<a@b.example> NOTIFY=NEVER,SUCCESS")?.code == 501)
    }

    @Test func utf8AddressesNeedSMTPUTF8() throws {
        // RFC 6531 §3.2: without SMTPUTF8, non-ASCII addresses are refused with 553 5.6.7.
        let refused = refusal("MAIL FROM:<jöran@example.com>")
        #expect(refused?.code == 553)
        #expect(refused?.status == EnhancedStatus(5, 6, 7))
        guard case .mail(let path, let parameters) = try parse("MAIL FROM:<jöran@bücher.example> SMTPUTF8") else {
            Issue.record("not MAIL"); return
        }
        #expect(parameters.smtpUTF8)
        #expect(path.mailbox?.isInternationalized == true)
        #expect(refusal("RCPT TO:<пример@example.com>")?.code == 553)
        #expect(try parse("RCPT TO:<пример@example.com>", utf8: true) != .data)
    }

    @Test func refusalsCarryTheRightCodes() {
        #expect(refusal("FROB")?.code == 500)
        #expect(refusal("")?.code == 500)
        #expect(refusal("MAIL TO:<a@b.example>")?.code == 501)
        #expect(refusal("MAIL FROM:<a@b.example")?.code == 501)
        #expect(refusal("MAIL FROM:<a@@b.example>")?.status == EnhancedStatus(5, 1, 7))
        #expect(refusal("RCPT TO:<a..b@example.com>")?.status == EnhancedStatus(5, 1, 3))
        #expect(refusal("RCPT TO:<a@-bad-.example>")?.code == 501)
        #expect(refusal("RCPT TO:<>")?.code == 501)
        #expect(refusal("MAIL FROM:<a@b.example> FOO=BAR")?.code == 555)
        #expect(refusal("MAIL FROM:<a@b.example> SIZE=12 SIZE=13")?.code == 501)
        #expect(refusal("MAIL FROM:<a@b.example> SIZE=lots")?.code == 501)
        #expect(refusal("MAIL FROM:<a@b.example> BODY=9BIT")?.code == 501)
        #expect(refusal("MAIL FROM:<a@b.example> ENVID=bad+zz")?.code == 501)
        #expect(refusal("DATA now")?.code == 501)
        #expect(refusal("STARTTLS x")?.code == 501)
        #expect(refusal("EHLO")?.code == 501)
        #expect(refusal("BDAT")?.code == 501)
        #expect(refusal("BDAT 10 NOW")?.code == 501)
        #expect(refusal("BDAT -1")?.code == 501)
        #expect(refusal("AUTH")?.code == 501)
        #expect(refusal("AUTH PLAIN a b")?.code == 501)
        #expect(refusal("MAIL:<a@b>")?.code == 500)
    }

    @Test func bdatAndAuth() throws {
        #expect(try parse("BDAT 1000") == .bdat(size: 1000, last: false))
        #expect(try parse("bdat 0 last") == .bdat(size: 0, last: true))
        #expect(try parse("AUTH plain AGFAYg==") == .auth(mechanism: "PLAIN", initialResponse: "AGFAYg=="))
        #expect(try parse("AUTH LOGIN") == .auth(mechanism: "LOGIN", initialResponse: nil))
        #expect(try parse("AUTH PLAIN =") == .auth(mechanism: "PLAIN", initialResponse: "="))
    }

    @Test func xtextRoundTrip() {
        for text in ["plain", "a+b=c", "with space", "ünï"] {
            #expect(XText.decode(XText.encode(text)) == text)
        }
        #expect(XText.encode("a+b") == "a+2Bb")
        #expect(XText.decode("+2b") == nil)  // hexchar is upper case only
    }
}

@Suite struct SMTPReplyTests {
    @Test func encodesSingleAndMultiLine() {
        #expect(SMTPReply(250, EnhancedStatus(2, 1, 0), "Sender OK").encoded() == Array("250 2.1.0 Sender OK\r\n".utf8))
        #expect(SMTPReply(250, nil, ["tern.example", "PIPELINING", "SIZE 100"]).encoded()
            == Array("250-tern.example\r\n250-PIPELINING\r\n250 SIZE 100\r\n".utf8))
    }

    @Test func textCannotInjectLines() {
        let reply = SMTPReply(550, EnhancedStatus(5, 1, 1), "no such user\r\n250 OK")
        #expect(reply.encoded() == Array("550 5.1.1 no such user  250 OK\r\n".utf8))
    }

    @Test func parsesWhatItEncodes() throws {
        var parser = SMTPReplyParser()
        let reply = SMTPReply(451, EnhancedStatus(4, 3, 0), ["try", "again"])
        var result: SMTPReply?
        for line in String(decoding: reply.encoded(), as: UTF8.self).split(separator: "\r\n") {
            result = try parser.feed(Array(line.utf8))
        }
        #expect(result == reply)
        #expect(try parser.feed(Array("220 mx.example ESMTP".utf8)) == SMTPReply(220, nil, "mx.example ESMTP"))
        // A code like 2.0.0 on a 5xx reply is not taken as the enhanced code.
        #expect(try parser.feed(Array("554 2.0.0 odd".utf8))?.status == nil)
    }

    /// Found by fuzz-smtp-command: text starting with a combining mark must not merge with the separator.
    @Test func combiningMarksAfterTheCodeStayText() throws {
        for reply in [SMTPReply(404, EnhancedStatus(4, 24, 97), "\u{301}a"), SMTPReply(404, nil, "\u{300}a")] {
            var parser = SMTPReplyParser()
            let line = Array(reply.encoded().dropLast(2))
            #expect(try parser.feed(line) == reply)
        }
    }

    @Test func refusesMalformedReplies() {
        var parser = SMTPReplyParser()
        #expect(throws: SMTPReplyParser.ParseError.self) { try parser.feed(Array("hello".utf8)) }
        var mixed = SMTPReplyParser()
        _ = try? mixed.feed(Array("250-one".utf8))
        #expect(throws: SMTPReplyParser.ParseError.self) { try mixed.feed(Array("251 two".utf8)) }
        var limited = SMTPReplyParser()
        limited.maxLines = 3
        #expect(throws: SMTPReplyParser.ParseError.self) {
            for _ in 0..<4 { _ = try limited.feed(Array("250-x".utf8)) }
        }
    }
}

@Suite struct DotStuffingTests {
    @Test func stuffsDotsAndNormalisesLineEnds() {
        #expect(DotStuffing.encode(Array("a\n.b\r\n..c".utf8)) == Array("a\r\n..b\r\n...c\r\n.\r\n".utf8))
        #expect(DotStuffing.encode(Array("x\r\n".utf8)) == Array("x\r\n.\r\n".utf8))
        #expect(DotStuffing.encode([]) == Array(".\r\n".utf8))
        #expect(DotStuffing.encode(Array(".\r\n".utf8)) == Array("..\r\n.\r\n".utf8))
    }
}
