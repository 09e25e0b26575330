import Testing
import TernCore

/// Feeds `input` in pieces of `step` bytes and collects what `.dotTerminated` mode delivers up to the end.
private func collect(_ input: String, step: Int) -> (content: [UInt8], ended: Bool, left: [UInt8]) {
    var framer = InboundFramer(mode: .dotTerminated)
    let bytes = Array(input.utf8)
    var content: [UInt8] = []
    var ended = false
    var offset = 0
    while offset < bytes.count, !ended {
        framer.append(bytes[offset..<min(offset + step, bytes.count)])
        offset += step
        while !ended, let frame = framer.nextFrame() {
            guard case .data(let chunk, let end) = frame else { Issue.record("unexpected frame \(frame)"); break }
            content += chunk
            ended = end
        }
    }
    framer.setMode(.line(maxLength: 100))
    var left: [UInt8] = []
    framer.append(bytes[min(offset, bytes.count)...])
    while let frame = framer.nextFrame(), case .line(let line) = frame { left += line + [10] }
    return (content, ended, left)
}

@Suite struct DotTerminatedFramingTests {
    @Test(arguments: [1, 2, 3, 7, 1000])
    func unstuffsAndStopsAtTheTerminator(step: Int) {
        // RFC 5321 §4.5.2: a leading dot is removed; a line of one dot ends the data; what follows is commands.
        let result = collect("Subject: x\r\n\r\n..dotted\r\n.\r\nQUIT\r\n", step: step)
        #expect(result.ended)
        #expect(String(decoding: result.content, as: UTF8.self) == "Subject: x\r\n\r\n.dotted\r\n")
        #expect(String(decoding: result.left, as: UTF8.self) == "QUIT\n")
    }

    @Test(arguments: [1, 5, 1000])
    func bareLineFeedsBecomeCRLF(step: Int) {
        let result = collect("a\nb\r\n.\n", step: step)
        #expect(result.ended)
        #expect(String(decoding: result.content, as: UTF8.self) == "a\r\nb\r\n")
    }

    @Test func dotInsideALineIsContent() {
        let result = collect("x.\r\n .\r\n.\r\n", step: 1000)
        #expect(String(decoding: result.content, as: UTF8.self) == "x.\r\n .\r\n")
    }

    @Test func emptyMessage() {
        let result = collect(".\r\n", step: 1)
        #expect(result.ended)
        #expect(result.content.isEmpty)
    }

    @Test func longLinesArriveInPiecesWithoutLoss() {
        let long = String(repeating: "y", count: 200_000)
        for step in [4096, 100_000] {
            let result = collect(".\(long)\r\nend\r\n.\r\n", step: step)
            #expect(result.ended)
            #expect(result.content == Array("\(long)\r\nend\r\n".utf8))
        }
    }

    @Test func incompleteDataWaits() {
        var framer = InboundFramer(mode: .dotTerminated)
        framer.append(Array("line one\r\n.".utf8))
        #expect(framer.nextFrame() == .data(Array("line one\r\n".utf8), end: false))
        #expect(framer.nextFrame() == nil)
        framer.append(Array("\r\n".utf8))
        #expect(framer.nextFrame() == .data([], end: true))
    }
}
