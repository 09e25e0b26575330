// Raw DEFLATE (RFC 1951) as a byte transform for IMAP COMPRESS=DEFLATE (RFC 4978): zlib's z_stream, owned here and
// nowhere else. Output is flushed with Z_SYNC_FLUSH after every burst, so the peer can decode everything sent so
// far without waiting for more (RFC 4978 §4).
//
// Memory: the compressor uses a 4 KiB window (windowBits 12) and memLevel 5, about 32 KiB per session instead of
// zlib's default ~270 KiB — RFC 4978 lets the sender choose its window, while the decompressor must accept the
// full 32 KiB window the client may use (~44 KiB).

internal import CTernZlib
public import TernCore

public enum DeflateError: Error, CustomStringConvertible {
    case initFailed(Int32)
    case corruptInput(String)
    case inflatedTooMuch

    public var description: String {
        switch self {
        case .initFailed(let code): "zlib init failed (\(code))"
        case .corruptInput(let message): "corrupt compressed input: \(message)"
        case .inflatedTooMuch: "compressed input expands beyond the limit"
        }
    }
}

/// Not Sendable: lives on its connection's loop, like the connection.
public final class DeflateCompression: StreamCompression {
    private let deflater: UnsafeMutablePointer<z_stream>
    private let inflater: UnsafeMutablePointer<z_stream>
    /// One input chunk may not inflate past this (a "zip bomb" ends the connection instead of the memory).
    private let maxInflatedChunk: Int

    public init(level: Int32 = 6, maxInflatedChunk: Int = 64 * 1024 * 1024) throws {
        self.maxInflatedChunk = maxInflatedChunk
        deflater = .allocate(capacity: 1)
        deflater.initialize(to: z_stream())
        inflater = .allocate(capacity: 1)
        inflater.initialize(to: z_stream())
        let d = c_tern_deflateInit2(deflater, level, -12, 5)
        guard d == Z_OK else {
            deflater.deallocate()
            inflater.deallocate()
            throw DeflateError.initFailed(d)
        }
        let i = c_tern_inflateInit2(inflater, -15)
        guard i == Z_OK else {
            deflateEnd(deflater)
            deflater.deallocate()
            inflater.deallocate()
            throw DeflateError.initFailed(i)
        }
    }

    deinit {
        deflateEnd(deflater)
        inflateEnd(inflater)
        deflater.deallocate()
        inflater.deallocate()
    }

    public func compress(_ input: [UInt8]) throws -> [UInt8] {
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: max(1024, input.count / 2 + 64))
        try input.withUnsafeBufferPointer { source in
            deflater.pointee.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
            deflater.pointee.avail_in = UInt32(source.count)
            repeat {
                let produced = try chunk.withUnsafeMutableBufferPointer { target -> Int in
                    deflater.pointee.next_out = target.baseAddress
                    deflater.pointee.avail_out = UInt32(target.count)
                    let result = deflate(deflater, Z_SYNC_FLUSH)
                    guard result == Z_OK || result == Z_BUF_ERROR else { throw DeflateError.corruptInput("deflate \(result)") }
                    return target.count - Int(deflater.pointee.avail_out)
                }
                output += chunk[0..<produced]
            } while deflater.pointee.avail_out == 0
            deflater.pointee.next_in = nil
        }
        return output
    }

    public func decompress(_ input: UnsafeRawBufferPointer) throws -> [UInt8] {
        guard input.count > 0 else { return [] }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        inflater.pointee.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: UInt8.self).baseAddress)
        inflater.pointee.avail_in = UInt32(input.count)
        defer { inflater.pointee.next_in = nil }
        repeat {
            let produced = try chunk.withUnsafeMutableBufferPointer { target -> Int in
                inflater.pointee.next_out = target.baseAddress
                inflater.pointee.avail_out = UInt32(target.count)
                let result = inflate(inflater, Z_SYNC_FLUSH)
                switch result {
                case Z_OK, Z_BUF_ERROR: break
                case Z_STREAM_END: throw DeflateError.corruptInput("the client ended the compressed stream")
                default:
                    let message = inflater.pointee.msg.map { String(cString: $0) } ?? "code \(result)"
                    throw DeflateError.corruptInput(message)
                }
                return target.count - Int(inflater.pointee.avail_out)
            }
            output += chunk[0..<produced]
            if output.count > maxInflatedChunk { throw DeflateError.inflatedTooMuch }
        } while inflater.pointee.avail_out == 0 || inflater.pointee.avail_in > 0
        return output
    }
}
