// SEARCH/SORT inputs: Date header parsing (RFC 5322 §3.3, §4.3), RFC 5256 base subjects, decoded text and the
// first address (RFC 5256 SORT FROM, RFC 5957 DISPLAYFROM).

import Testing
import TernMIME

@Suite struct SearchSupportTests {
    func date(_ text: String) -> MessageDate? { MessageDate.parse(Array(text.utf8)) }

    @Test func rfc5322Dates() {
        // RFC 5322 §A.1.1: Fri, 21 Nov 1997 09:55:06 -0600 is 1997-11-21T15:55:06Z.
        #expect(date("Fri, 21 Nov 1997 09:55:06 -0600") == MessageDate(secondsSinceEpoch: 880_127_706, zoneOffsetSeconds: -21_600))
        // RFC 5322 §A.6.3 (obsolete whitespace and comment): 1969-02-13 23:32 -0330.
        #expect(date("Thu,\r\n      13\r\n        Feb\r\n          1969\r\n      23:32\r\n               -0330 (Newfoundland Time)")
            == MessageDate(secondsSinceEpoch: -27_723_480, zoneOffsetSeconds: -12_600))
        // RFC 5322 §A.6.2: 21 Nov 97 09:55:06 GMT (2-digit year, obs-zone).
        #expect(date("21 Nov 97 09:55:06 GMT") == MessageDate(secondsSinceEpoch: 880_106_106, zoneOffsetSeconds: 0))
        #expect(date("1 Jan 1970 00:00 +0000") == MessageDate(secondsSinceEpoch: 0, zoneOffsetSeconds: 0))
        #expect(date("Mon, 1 Jan 2024 00:00:00 PST") == MessageDate(secondsSinceEpoch: 1_704_096_000, zoneOffsetSeconds: -28_800))
        #expect(date("1 Jan 2024 12:00:00 Z")?.zoneOffsetSeconds == 0)
    }

    @Test func garbageDatesAreNil() {
        for text in ["", "yesterday", "32 Jan 2024 00:00", "1 Foo 2024 00:00", "1 Jan 2024", "1 Jan 2024 25:00",
                     "1 Jan 2024 10:00 +9999", "Mon, 1 Jan 2024 10:"] {
            #expect(date(text) == nil, "\(text)")
        }
    }

    @Test(arguments: [
        // RFC 5256 §2.1 rules, one each.
        ("Re: hello", "hello"),
        ("RE: Re: re: hello", "hello"),
        ("Fwd: hello (fwd)", "hello"),
        ("[list] Re: hello", "hello"),
        ("Re [2]: hello", "hello"),
        ("[Fwd: hello]", "hello"),
        ("[Fwd: Re: [list] hello (fwd)]", "hello"),
        ("  hello \t world  ", "hello world"),
        ("[only blob]", "[only blob]"),
        ("Fw:hello", "hello"),
        ("", ""),
        ("Re:", ""),
    ])
    func baseSubject(subject: String, base: String) {
        #expect(BaseSubject.extract(subject) == base)
    }

    @Test func decodedTextOfTextParts() {
        let text = """
            Content-Type: multipart/mixed; boundary=x\r
            \r
            --x\r
            Content-Type: text/plain; charset=iso-8859-1\r
            Content-Transfer-Encoding: quoted-printable\r
            \r
            Caf=E9\r
            --x\r
            Content-Type: text/html; charset=koi8-r\r
            Content-Transfer-Encoding: base64\r
            \r
            8NLJ18XU\r
            --x\r
            Content-Type: image/png\r
            \r
            png\r
            --x--\r

            """
        let message = MIMEMessage(parsing: Array(text.utf8))
        #expect(message.searchableText == ["Café", "Привет"])
    }

    @Test func headerValuesDecodedAndFirstAddresses() {
        let text = "From: =?utf-8?q?J=C3=BCrgen?= <j@example.com>, b@example.com\r\n"
            + "To: Group: <t@example.com>;\r\nCc: c@example.com\r\nSubject: =?utf-8?B?w6k=?=\r\n folded\r\n\r\n"
        let header = MIMEMessage(parsing: Array(text.utf8)).root.header
        #expect(header.decodedValue("subject") == "é folded")
        #expect(header.firstAddress("From")?.mailbox == "j")
        #expect(header.displayAddress("From") == "Jürgen")
        #expect(header.firstAddress("To")?.addressSpec == "t@example.com")
        #expect(header.displayAddress("Cc") == "c@example.com")
        #expect(header.displayAddress("Bcc") == nil)
    }
}
