// Fuzzes InboundFramer: the input is cut into writes and mode switches by its own bytes; the framer must never
// crash, never buffer an overlong line, and must produce the same frames whole and byte by byte.
import TernCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let first = bytes.first else { return 0 }
    let maxLength = Int(first % 64) + 1
    let input = Array(bytes.dropFirst())

    func run(chunks: [[UInt8]]) -> [Frame] {
        var framer = InboundFramer(mode: .line(maxLength: maxLength))
        var frames: [Frame] = []
        for chunk in chunks {
            framer.append(chunk)
            while let frame = framer.nextFrame() {
                frames.append(frame)
                // A line starting with '{' switches to an exact-length read of its length byte, like a literal.
                if case .line(let line) = frame, line.first == UInt8(ascii: "{"), line.count > 1 {
                    framer.setMode(.bytes(count: Int(line[1] % 32)))
                } else if case .bytes(_, 0) = frame {
                    framer.setMode(.line(maxLength: maxLength))
                }
            }
            if case .line = framer.mode {
                precondition(framer.bufferedByteCount <= maxLength + 1 + chunk.count, "overlong line buffered")
            }
        }
        return frames
    }

    let whole = run(chunks: [input])
    let byteByByte = run(chunks: input.map { [$0] })
    // Chunked delivery may split exact-length reads differently; compare the bytes they carry and the lines.
    func flatten(_ frames: [Frame]) -> [[UInt8]] {
        var result: [[UInt8]] = []
        var pending: [UInt8] = []
        for frame in frames {
            switch frame {
            case .line(let line): result.append(line)
            case .lineTooLong(let length): result.append(Array("too long \(length)".utf8))
            case .bytes(let chunk, let remaining):
                pending += chunk
                if remaining == 0 {
                    result.append(pending)
                    pending = []
                }
            case .data:
                preconditionFailure("a DATA frame outside the dot-terminated mode")
            }
        }
        return result
    }
    precondition(flatten(whole) == flatten(byteByByte), "whole and byte-by-byte framing differ")
    return 0
}
