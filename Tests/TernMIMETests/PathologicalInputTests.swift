// Hostile shapes stay fast (linear-ish) and within the limits: many parts, long headers, endless "Re:".

import Testing
import TernMIME

@Suite struct PathologicalInputTests {
    func measure(_ work: () -> Void) -> Duration { ContinuousClock().measure(work) }

    @Test func manyPartsStopAtTheLimit() {
        var text = "Content-Type: multipart/mixed; boundary=x\r\n\r\n"
        text += String(repeating: "--x\r\n\r\na\r\n", count: 20_000)
        let bytes = Array(text.utf8)
        var message: MIMEMessage?
        #expect(measure { message = MIMEMessage(parsing: bytes) } < .seconds(10))
        #expect(message?.root.children.count == MIMELimits.default.maxParts - 1)
        #expect(message?.section([9_999]) == Array("a".utf8))
    }

    @Test func manyHeaderFieldsStopAtTheLimit() {
        let text = String(repeating: "X-A: b\r\n", count: 5_000) + "Subject: late\r\n\r\nbody"
        let message = MIMEMessage(parsing: Array(text.utf8))
        #expect(message.root.header.fields.count == MIMELimits.default.maxHeaderFieldsPerPart)
        #expect(message.section([], .text) == Array("body".utf8))
    }

    @Test func longHeaderValuesAreLinear() {
        let addresses = "To: " + String(repeating: "a@b, ", count: 50_000) + "\r\n"
        let subject = "Subject: " + String(repeating: "Re: [x] ", count: 50_000) + "end\r\n"
        let words = "X-Words: " + String(repeating: "=?utf-8?q?a?= =?x", count: 10_000) + "\r\n"
        let message = MIMEMessage(parsing: Array((addresses + subject + words + "\r\n").utf8))
        #expect(measure { _ = IMAPRendering.envelope(of: message.root) } < .seconds(10))
        var base = ""
        #expect(measure { base = BaseSubject.extract(message.root.header.decodedValue("Subject") ?? "") } < .seconds(10))
        #expect(base == "end")
        #expect(measure { _ = message.root.header.decodedValue("X-Words") } < .seconds(10))
    }
}
