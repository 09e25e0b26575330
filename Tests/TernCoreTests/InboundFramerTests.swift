import Testing
import TernCore

/// Parses Fixtures/framing/lines.txt: `case <input>|<max>` followed by expected frames.
struct FramingCase: CustomTestStringConvertible, Sendable {
    let input: [UInt8]
    let maxLength: Int
    let expected: [Frame]
    var testDescription: String { String(decoding: input, as: UTF8.self) }

    static func load() throws -> [FramingCase] {
        let text = try fixture("framing/lines.txt")
        var cases: [FramingCase] = []
        var current: (input: [UInt8], max: Int, frames: [Frame])?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) where !line.hasPrefix("#") {
            if line.hasPrefix("case ") {
                if let current { cases.append(FramingCase(input: current.input, maxLength: current.max, expected: current.frames)) }
                let body = line.dropFirst(5)
                let bar = body.lastIndex(of: "|")!
                current = (unescape(body[..<bar]), Int(body[body.index(after: bar)...])!, [])
            } else if line.hasPrefix("L:") {
                current?.frames.append(.line(unescape(line.dropFirst(2))))
            } else if line.hasPrefix("T:") {
                current?.frames.append(.lineTooLong(length: Int(line.dropFirst(2))!))
            }
        }
        if let current { cases.append(FramingCase(input: current.input, maxLength: current.max, expected: current.frames)) }
        return cases
    }

    static func unescape(_ text: Substring) -> [UInt8] {
        var out: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "\\"), let next = iterator.next() else {
                out.append(byte)
                continue
            }
            switch next {
            case UInt8(ascii: "r"): out.append(13)
            case UInt8(ascii: "n"): out.append(10)
            default: out.append(next)
            }
        }
        return out
    }
}

func drain(_ framer: inout InboundFramer) -> [Frame] {
    var frames: [Frame] = []
    while let frame = framer.nextFrame() { frames.append(frame) }
    return frames
}

@Suite struct InboundFramerTests {
    @Test(arguments: try FramingCase.load())
    func wholeInput(_ testCase: FramingCase) {
        var framer = InboundFramer(mode: .line(maxLength: testCase.maxLength))
        framer.append(testCase.input)
        #expect(drain(&framer) == testCase.expected)
    }

    /// "Need more bytes" is not an error: fed one byte at a time, the frames are the same.
    @Test(arguments: try FramingCase.load())
    func byteByByte(_ testCase: FramingCase) {
        var framer = InboundFramer(mode: .line(maxLength: testCase.maxLength))
        var frames: [Frame] = []
        for byte in testCase.input {
            framer.append([byte])
            frames += drain(&framer)
        }
        #expect(frames == testCase.expected)
    }

    @Test func incompleteLineStaysBuffered() {
        var framer = InboundFramer(mode: .line(maxLength: 100))
        framer.append(Array("A001 LOG".utf8))
        #expect(framer.nextFrame() == nil)
        #expect(framer.bufferedByteCount == 8)
        framer.append(Array("IN\r\n".utf8))
        #expect(framer.nextFrame() == .line(Array("A001 LOGIN".utf8)))
        #expect(framer.bufferedByteCount == 0)
    }

    /// An endless line never makes the buffer grow past the limit.
    @Test func overlongLineIsNotBuffered() {
        var framer = InboundFramer(mode: .line(maxLength: 1000))
        for _ in 0..<1000 {
            framer.append([UInt8](repeating: 0x41, count: 1000))
            #expect(framer.nextFrame() == nil)
            #expect(framer.bufferedByteCount <= 2001)
        }
        framer.append(Array("\r\nnext\r\n".utf8))
        #expect(framer.nextFrame() == .lineTooLong(length: 1_000_000))
        #expect(framer.nextFrame() == .line(Array("next".utf8)))
    }

    /// IMAP literal: a line announcing {n}, then exactly n bytes (which may contain CRLF), then lines again.
    @Test func exactLengthReadBetweenLines() {
        var framer = InboundFramer(mode: .line(maxLength: 100))
        framer.append(Array("A1 APPEND INBOX {11}\r\nhello\r\nworldA1 NEXT\r\n".utf8))
        #expect(framer.nextFrame() == .line(Array("A1 APPEND INBOX {11}".utf8)))
        framer.setMode(.bytes(count: 12))
        #expect(framer.nextFrame() == .bytes(Array("hello\r\nworld".utf8), remaining: 0))
        framer.setMode(.line(maxLength: 100))
        #expect(framer.nextFrame() == .line(Array("A1 NEXT".utf8)))
    }

    @Test func exactLengthReadArrivesInChunks() {
        var framer = InboundFramer(mode: .bytes(count: 10))
        framer.append(Array("abcd".utf8))
        #expect(framer.nextFrame() == .bytes(Array("abcd".utf8), remaining: 6))
        #expect(framer.nextFrame() == nil)
        framer.append(Array("efghijKL".utf8))
        #expect(framer.nextFrame() == .bytes(Array("efghij".utf8), remaining: 0))
        framer.setMode(.line(maxLength: 10))
        framer.append(Array("\r\n".utf8))
        #expect(framer.nextFrame() == .line(Array("KL".utf8)))
    }

    /// STARTTLS: whatever was pipelined before the handshake is dropped.
    @Test func discardDropsEverythingBuffered() {
        var framer = InboundFramer(mode: .line(maxLength: 100))
        framer.append(Array("STARTTLS\r\nA2 LOGIN x y\r\npartial".utf8))
        #expect(framer.nextFrame() == .line(Array("STARTTLS".utf8)))
        #expect(framer.discardBuffered() == 21) // "A2 LOGIN x y\r\n" + "partial"
        #expect(framer.nextFrame() == nil)
        framer.append(Array("A3 NOOP\r\n".utf8))
        #expect(framer.nextFrame() == .line(Array("A3 NOOP".utf8)))
    }
}
