// Content-Type and Content-Disposition parameters: RFC 2045 §5.1 syntax and RFC 2231 continuations/charsets.

import Testing
import TernMIME

@Suite struct ParameterTests {
    func contentType(_ text: String) -> ContentType? { ContentType.parse(Array(text.utf8)) }

    @Test func rfc2045Syntax() throws {
        let type = try #require(contentType("Text/HTML (comment) ; Charset = \"UTF-8\"; format=flowed"))
        #expect(type.type == "text" && type.subtype == "html")
        #expect(type.parameters.parameter("charset") == "UTF-8")
        #expect(type.parameters.rendered
            == [MIMEParameter(name: "charset", value: "UTF-8"), MIMEParameter(name: "format", value: "flowed")])
        #expect(contentType("text") == nil)
        #expect(contentType("") == nil)
    }

    @Test func rfc2231Section3Continuations() throws {
        // RFC 2231 §3 example.
        let type = try #require(contentType(
            "message/external-body; access-type=URL;\r\n URL*0=\"ftp://\";\r\n URL*1=\"cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar\""))
        #expect(type.parameters.parameter("url") == "ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar")
        #expect(type.parameters.rendered.last == MIMEParameter(name: "url", value: "ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"))
    }

    @Test func rfc2231Section4CharsetAndLanguage() throws {
        // RFC 2231 §4 and §4.1 examples.
        let single = try #require(contentType("application/x-stuff;\r\n title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A"))
        #expect(single.parameters.parameter("title") == "This is ***fun***")
        #expect(single.parameters.rendered == [MIMEParameter(name: "title*", value: "us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A")])
        let mixed = try #require(contentType(
            "application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2=\"isn't it!\""))
        #expect(mixed.parameters.parameter("title") == "This is even more ***fun*** isn't it!")
    }

    @Test func rfc2231Charsets() throws {
        let disposition = try #require(ContentDisposition.parse(Array("attachment; filename*=UTF-8''R%C3%A9sum%C3%A9.pdf".utf8)))
        #expect(disposition.type == "attachment")
        #expect(disposition.parameters.parameter("FILENAME") == "Résumé.pdf")
        let latin = try #require(ContentDisposition.parse(Array("inline; filename*=iso-8859-1''caf%E9.txt".utf8)))
        #expect(latin.parameters.parameter("filename") == "café.txt")
    }

    @Test func encodedWordsInQuotedValuesAreDecodedForPeople() throws {
        let disposition = try #require(ContentDisposition.parse(Array("attachment; filename=\"=?UTF-8?B?w6k=?=.txt\"".utf8)))
        #expect(disposition.parameters.parameter("filename") == "é.txt")
        #expect(disposition.parameters.rendered == [MIMEParameter(name: "filename", value: "=?UTF-8?B?w6k=?=.txt")])
    }

    @Test func malformedParametersAreSkipped() throws {
        let type = try #require(contentType("text/plain; ; =x; novalue; a=1; a=2; b*x=3; c=\"unclosed"))
        #expect(type.parameters.parameter("a") == "1")
        #expect(type.parameters.parameter("novalue") == nil)
        #expect(type.parameters.parameter("c") == "unclosed")
    }
}
