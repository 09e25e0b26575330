// Fuzzes the client side of the IMAP grammar (what an old server sends to `ternctl migrate` and to ternd's
// migration at first login): the response framer, fed in chunks whose sizes come from the input, and the response
// parser on every frame. Never crash; a frame ends with LF; parsed FETCH bodies come from within the frame.
import TernIMAPCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let first = bytes.first else { return 0 }
    let chunk = Int(first % 17) + 1
    var framer = ResponseFramer(maxLineLength: 8192, maxLiteral: 1 << 20)
    var index = 1
    var total = 0
    while index < bytes.count {
        let end = min(index + chunk, bytes.count)
        framer.append(Array(bytes[index..<end]))
        index = end
        while true {
            let frame: [UInt8]?
            do { frame = try framer.next() } catch { return 0 }
            guard let frame else { break }
            precondition(frame.last == 0x0A, "a frame must end with LF")
            total += frame.count
            precondition(total <= bytes.count, "frames hold more bytes than were fed")
            if case .success(.untagged(.fetch(_, let items))) = ResponseParser.parse(frame) {
                for case let body? in items.sections.values { precondition(body.count <= frame.count) }
            }
        }
    }
    // Also the whole input as one response (the parser alone, without framing guarantees).
    _ = ResponseParser.parse(Array(bytes.dropFirst()))
    return 0
}
