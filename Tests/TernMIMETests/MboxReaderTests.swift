import Foundation
import Testing
import TernMIME
import TernTestSupport

@Suite struct MboxReaderTests {
    static func read(_ bytes: [UInt8], step: Int) -> [MboxMessage] {
        var reader = MboxReader()
        var messages: [MboxMessage] = []
        var offset = 0
        while offset < bytes.count {
            messages += reader.feed(bytes[offset..<min(offset + step, bytes.count)])
            offset += step
        }
        return messages + reader.finish()
    }

    @Test(arguments: [1, 7, 64, 100_000])
    func splitsUnescapesAndReadsFlags(step: Int) throws {
        let file = Array(try Data(contentsOf: URL(fileURLWithPath: repositoryPath("Fixtures/mbox/three.mbox"))))
        let messages = Self.read(file, step: step)
        #expect(messages.count == 3)
        guard messages.count == 3 else { return }
        #expect(String(decoding: messages[0].bytes, as: UTF8.self) == """
            From: Alice <alice@example.com>\r
            Subject: first\r
            \r
            Hello.\r
            From the start of a line, escaped.\r
            >From twice escaped.\r

            """)
        #expect(messages[0].flags == ["Seen", "Answered", "Flagged"])
        #expect(messages[0].keywords == ["$Label1", "work"])
        #expect(messages[0].date == 1_795_255_200)  // 2026-11-21 10:00:00 UTC
        #expect(String(decoding: messages[1].bytes, as: UTF8.self) == """
            From: Bob <bob@example.com>\r
            Subject: second\r
            \r
            Body without trailing blank line\r
            From a line that is not a separator\r

            """)
        #expect(messages[1].flags == ["Seen", "Answered"])
        #expect(messages[1].keywords == ["$Forwarded"])
        #expect(String(decoding: messages[2].bytes, as: UTF8.self) == "Subject: third, no blank line at the end\r\n\r\nlast\r\n")
        #expect(messages[2].date == 1_767_600_550)  // 2026-01-05 08:09:10 UTC
        #expect(messages[2].flags.isEmpty)
    }

    @Test func notAnMboxHasLeadingGarbage() {
        var reader = MboxReader()
        let messages = reader.feed(Array("Subject: plain message\n\nbody\n".utf8)) + reader.finish()
        #expect(messages.isEmpty)
        #expect(reader.leadingGarbage > 0)
    }
}
