// FETCH sections (RFC 9051 §6.4.5), using the RFC's own numbering example structure.

import Testing
import TernMIME

@Suite struct SectionTests {
    // The RFC 9051 §6.4.5 example: HEADER ([]), TEXT, 1 (text/plain), 2 (application/octet-stream), 3
    // (message/rfc822), 3.HEADER, 3.TEXT, 3.1, 3.2, 4 (multipart/mixed), 4.1, 4.1.MIME, 4.2, 4.2.HEADER, 4.2.TEXT,
    // 4.2.1, 4.2.2, 4.2.2.1, 4.2.2.2.
    static let message = """
        From: a@example.com\r
        Subject: parts\r
        Content-Type: MULTIPART/MIXED; boundary=top\r
        \r
        --top\r
        Content-Type: text/plain\r
        \r
        part 1\r
        --top\r
        Content-Type: application/octet-stream\r
        Content-Transfer-Encoding: base64\r
        \r
        AAEC\r
        --top\r
        Content-Type: message/rfc822\r
        \r
        Subject: part 3\r
        X-Extra: yes\r
        Content-Type: multipart/mixed; boundary=three\r
        \r
        --three\r
        Content-Type: text/plain\r
        \r
        part 3.1\r
        --three\r
        Content-Type: application/octet-stream\r
        Content-Transfer-Encoding: x-uuencode\r
        \r
        part 3.2\r
        --three--\r
        --top\r
        Content-Type: multipart/mixed; boundary=four\r
        \r
        --four\r
        Content-Type: image/gif\r
        \r
        part 4.1\r
        --four\r
        Content-Type: message/rfc822\r
        \r
        Subject: part 4.2\r
        Content-Type: multipart/mixed; boundary=inner\r
        \r
        --inner\r
        Content-Type: text/plain\r
        \r
        part 4.2.1\r
        --inner\r
        Content-Type: multipart/alternative; boundary=alt\r
        \r
        --alt\r
        Content-Type: text/plain\r
        \r
        part 4.2.2.1\r
        --alt\r
        Content-Type: text/richtext\r
        \r
        part 4.2.2.2\r
        --alt--\r
        --inner--\r
        --four--\r
        --top--\r

        """
    let parsed = MIMEMessage(parsing: Array(message.utf8))

    func text(_ path: [Int], _ section: SectionText? = nil) -> String? {
        parsed.section(path, section).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func rfc9051PartNumbers() {
        #expect(text([1]) == "part 1")
        #expect(text([2]) == "AAEC")
        #expect(text([3, 1]) == "part 3.1")
        #expect(text([3, 2]) == "part 3.2")
        #expect(text([4, 1]) == "part 4.1")
        #expect(text([4, 2, 1]) == "part 4.2.1")
        #expect(text([4, 2, 2, 1]) == "part 4.2.2.1")
        #expect(text([4, 2, 2, 2]) == "part 4.2.2.2")
        #expect(text([5]) == nil)
        #expect(text([1, 1]) == nil)
        #expect(text([0]) == nil)
        #expect(text([]) == Self.message)
    }

    @Test func headerTextAndMime() {
        #expect(text([], .header) == "From: a@example.com\r\nSubject: parts\r\nContent-Type: MULTIPART/MIXED; boundary=top\r\n\r\n")
        #expect(text([3], .header) == "Subject: part 3\r\nX-Extra: yes\r\nContent-Type: multipart/mixed; boundary=three\r\n\r\n")
        #expect(text([4, 2], .text)?.hasPrefix("--inner\r\n") == true)
        #expect(text([4, 1], .mime) == "Content-Type: image/gif\r\n\r\n")
        #expect(text([4, 1], .header) == nil)
        #expect(text([], .mime) == nil)
    }

    @Test func headerFieldsInMessageOrderWithFinalCRLF() {
        #expect(text([], .headerFields(["subject", "FROM"])) == "From: a@example.com\r\nSubject: parts\r\n\r\n")
        #expect(text([3], .headerFieldsNot(["Content-Type", "subject"])) == "X-Extra: yes\r\n\r\n")
        #expect(text([], .headerFields(["x-none"])) == "\r\n")
    }

    @Test func headerFieldsKeepFolding() {
        let parsed = MIMEMessage(parsing: Array("Subject: a\r\n b\r\nTo: x@y\r\nsubject: again\r\n\r\nbody".utf8))
        #expect(parsed.section([], .headerFields(["Subject"])) == Array("Subject: a\r\n b\r\nsubject: again\r\n\r\n".utf8))
    }

    @Test func binaryDecodesOrReportsUnknownEncoding() {
        #expect(parsed.binary([2]) == .decoded([0, 1, 2]))
        #expect(parsed.binary([3, 2]) == .unknownTransferEncoding)
        #expect(parsed.binary([1]) == .decoded(Array("part 1".utf8)))
        #expect(parsed.binary([9]) == nil)
    }

    @Test func singlePartMessageHasOnlyPartOne() {
        let parsed = MIMEMessage(parsing: Array("Subject: x\r\n\r\nbody\r\n".utf8))
        #expect(parsed.section([1]) == Array("body\r\n".utf8))
        #expect(parsed.section([1], .mime) == Array("Subject: x\r\n\r\n".utf8))
        #expect(parsed.section([2]) == nil)
        #expect(parsed.section([1, 1]) == nil)
    }

    @Test func headerWithoutBody() {
        let parsed = MIMEMessage(parsing: Array("Subject: x\r\nFrom: y".utf8))
        #expect(parsed.section([], .header) == Array("Subject: x\r\nFrom: y".utf8))
        #expect(parsed.section([], .text) == [])
        #expect(parsed.section([], .headerFields(["from"])) == Array("From: y\r\n\r\n".utf8))
    }
}
