// A message nested 1,000 multiparts deep parses quickly, stops at MIMELimits.maxNestingDepth and renders.

import Testing
import TernMIME

@Suite struct DeepNestingTests {
    static func nestedMessage(depth: Int) -> [UInt8] {
        var text = "Subject: deep\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n"
        for level in 1..<depth {
            text += "--b\(level - 1)\r\nContent-Type: multipart/mixed; boundary=b\(level)\r\n\r\n"
        }
        text += "--b\(depth - 1)\r\nContent-Type: text/plain\r\n\r\nbottom\r\n"
        for level in stride(from: depth - 1, through: 0, by: -1) { text += "--b\(level)--\r\n" }
        return Array(text.utf8)
    }

    @Test func thousandLevelsFlattenAtTheCap() {
        let clock = ContinuousClock()
        var message: MIMEMessage?
        let elapsed = clock.measure { message = MIMEMessage(parsing: Self.nestedMessage(depth: 1_000)) }
        #expect(elapsed < .seconds(5))
        guard let message else { return }
        var depth = 0
        var part = message.root
        while let child = part.children.first {
            part = child
            depth += 1
        }
        #expect(depth == MIMELimits.default.maxNestingDepth)
        #expect(part.isOpaque)
        let structure = IMAPRendering.bodyStructure(of: message.root)
        #expect(structure.count > 0)
        // The innermost parsed part is rendered as application/octet-stream.
        #expect(String(decoding: structure, as: UTF8.self).contains("(\"APPLICATION\" \"OCTET-STREAM\" (\"boundary\" \"b100\") NIL NIL \"7BIT\""))
        #expect(message.part(at: Array(repeating: 1, count: 100)) === part)
        #expect(message.part(at: Array(repeating: 1, count: 101)) == nil)
    }

    @Test func smallerLimitsApply() {
        let limits = MIMELimits(maxNestingDepth: 3, maxParts: 2)
        let message = MIMEMessage(parsing: Self.nestedMessage(depth: 10), limits: limits)
        #expect(message.root.children.count == 1)
        #expect(message.root.children[0].isOpaque)
    }
}
