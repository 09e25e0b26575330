// ENVELOPE and BODYSTRUCTURE details against RFC 9051 §7.5.2 / RFC 3501 §7.4.2 grammar, one rule per test.

import Testing
import TernMIME

@Suite struct RenderingTests {
    func render(_ text: String, extended: Bool = true) -> String {
        let message = MIMEMessage(parsing: Array(text.utf8))
        return String(decoding: IMAPRendering.bodyStructure(of: message.root, extended: extended), as: UTF8.self)
    }

    func envelope(_ text: String) -> String {
        String(decoding: IMAPRendering.envelope(of: MIMEMessage(parsing: Array(text.utf8)).root), as: UTF8.self)
    }

    @Test func rfc3501ExampleSinglePart() {
        // RFC 3501 §7.4.2 BODYSTRUCTURE example: ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92);
        // parameter names are lower-cased as Dovecot does, values kept as written.
        let body = String(repeating: "x\r\n", count: 92)
        let text = "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\n" + body
        #expect(render(text, extended: false) == "(\"TEXT\" \"PLAIN\" (\"charset\" \"US-ASCII\") NIL NIL \"7BIT\" 276 92)")
    }

    @Test func defaultContentTypeIsTextPlainUSASCII() {
        // RFC 2045 §5.2.
        #expect(render("Subject: x\r\n\r\nhi\r\n") == "(\"TEXT\" \"PLAIN\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 4 1 NIL NIL NIL NIL)")
    }

    @Test func nonTextHasNoLineCountAndNilParameters() {
        #expect(render("Content-Type: image/gif\r\nContent-Transfer-Encoding: base64\r\n\r\nR0lG\r\n")
            == "(\"IMAGE\" \"GIF\" NIL NIL NIL \"BASE64\" 6 NIL NIL NIL NIL)")
    }

    @Test func stringsNeedingLiteralsAreLiterals() {
        // CR/LF and 8-bit bytes cannot be quoted (RFC 9051 §4.3); quotes and backslashes are escaped.
        let text = "Content-Type: text/plain; name=\"a\\\"b\"\r\nContent-Description: Gr\u{fc}\u{df}e\r\n\r\n"
        #expect(render(text, extended: false)
            == "(\"TEXT\" \"PLAIN\" (\"name\" \"a\\\"b\" \"charset\" \"us-ascii\") NIL {7}\r\nGr\u{fc}\u{df}e \"7BIT\" 0 0)")
    }

    @Test func emptyMultipartGetsAnEmptyTextPart() {
        let text = "Content-Type: multipart/mixed; boundary=x\r\n\r\nno parts here\r\n"
        #expect(render(text, extended: false)
            == "((\"TEXT\" \"PLAIN\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 0 0) \"MIXED\")")
    }

    @Test func encodedMessageRFC822IsOpaque() {
        // A base64 message/rfc822 cannot be parsed as a message (RFC 2046 §5.2.1 allows only 7bit/8bit/binary).
        let text = "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n"
        #expect(render(text, extended: false) == "(\"APPLICATION\" \"OCTET-STREAM\" NIL NIL NIL \"BASE64\" 6)")
    }

    @Test func envelopeNilAndEmpty() {
        // Absent fields are NIL, an empty Subject is "", Sender and Reply-To default to From.
        #expect(envelope("From: a@b.c\r\nSubject:\r\n\r\n")
            == "(NIL \"\" ((NIL NIL \"a\" \"b.c\")) ((NIL NIL \"a\" \"b.c\")) ((NIL NIL \"a\" \"b.c\")) NIL NIL NIL NIL NIL)")
        #expect(envelope("") == "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)")
    }

    @Test func envelopeSubjectIsRawAndUnfolded() {
        #expect(envelope("Subject: =?utf-8?q?x?=\r\n  folded\ttab\r\n\r\n")
            == "(NIL \"=?utf-8?q?x?= folded tab\" NIL NIL NIL NIL NIL NIL NIL NIL)")
    }

    @Test func longStringsAreLiterals() {
        let long = String(repeating: "a", count: IMAPRendering.quotedStringMaxLength + 1)
        #expect(envelope("Subject: \(long)\r\n\r\n")
            == "(NIL {\(long.count)}\r\n\(long) NIL NIL NIL NIL NIL NIL NIL NIL)")
    }
}
