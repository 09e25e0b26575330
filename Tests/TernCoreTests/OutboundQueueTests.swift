import Testing
import TernCore

@Suite struct OutboundQueueTests {
    func pending(_ queue: OutboundQueue, maxChunks: Int = 64) -> [UInt8] {
        queue.withPendingSpans(maxChunks: maxChunks) { spans in spans.flatMap { Array($0) } }
    }

    @Test func partialWritesKeepOrder() {
        var queue = OutboundQueue()
        queue.append(Array("first ".utf8))
        queue.append([UInt8](repeating: 0x78, count: 10_000))
        queue.append(Array(" last".utf8))
        #expect(queue.byteCount == 10_011)
        queue.consume(3)
        #expect(pending(queue).prefix(3) == Array("st ".utf8)[...])
        queue.consume(10_004) // "st " and the x's and the space
        #expect(pending(queue) == Array("last".utf8))
        queue.consume(4)
        #expect(queue.isEmpty)
    }

    @Test func smallWritesCoalesceIntoOneSpan() {
        var queue = OutboundQueue()
        for index in 0..<100 { queue.append(Array("* \(index) EXISTS\r\n".utf8)) }
        let spanCount = queue.withPendingSpans(maxChunks: 64) { $0.count }
        #expect(spanCount == 1)
        #expect(String(decoding: pending(queue), as: UTF8.self).hasSuffix("* 99 EXISTS\r\n"))
    }

    @Test func firstSpanIsTheUnwrittenHead() {
        var queue = OutboundQueue()
        queue.append(Array("* OK ready\r\n".utf8))
        #expect(queue.chunkCount == 1)
        queue.consume(5)
        #expect(queue.withFirstSpan { Array($0) } == Array("ready\r\n".utf8))
        queue.consume(7)
        #expect(queue.isEmpty && queue.chunkCount == 0)
        #expect(queue.withFirstSpan { $0.count } == 0)
        queue.append(Array("next".utf8))
        #expect(queue.withFirstSpan { Array($0) } == Array("next".utf8))
    }

    @Test func spansAreLimited() {
        var queue = OutboundQueue()
        for _ in 0..<10 { queue.append([UInt8](repeating: 1, count: 5000)) }
        #expect(queue.withPendingSpans(maxChunks: 4) { $0.count } == 4)
    }
}

@Suite struct ListenAddressTests {
    @Test(arguments: [
        ("127.0.0.1:143", "127.0.0.1", UInt16(143)), ("0.0.0.0:25", "0.0.0.0", 25), ("[::1]:993", "::1", 993),
        ("[::]:0", "::", 0),
    ])
    func parses(_ text: String, _ host: String, _ port: UInt16) throws {
        let address = try ListenAddress(parsing: text)
        #expect(address.host == host)
        #expect(address.port == port)
        #expect(address.description == text)
    }

    @Test(arguments: ["localhost:143", "127.0.0.1", "127.0.0.1:99999", "[::1]", "::1:143", "1.2.3:4", "1.2.3.256:1",
                      "127.0.0.1:-1", "[zz]:1"])
    func rejects(_ text: String) {
        #expect(throws: ListenAddress.ParseError.self) { try ListenAddress(parsing: text) }
    }
}
