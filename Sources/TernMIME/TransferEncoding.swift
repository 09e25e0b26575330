// Content-Transfer-Encoding (RFC 2045 §6) decoding. Mail in the wild breaks the rules, so both decoders are
// lenient: base64 skips anything outside its alphabet, quoted-printable keeps malformed `=` sequences as they are.
// Strict base64 for protocol payloads lives in TernCore.Base64.

/// RFC 2045 §6.1 mechanism, from the Content-Transfer-Encoding header.
public enum TransferEncoding: Sendable, Equatable {
    case sevenBit, eightBit, binary, base64, quotedPrintable
    /// Any other token (x-uuencode, garbage), lower-cased; its content cannot be decoded (IMAP UNKNOWN-CTE).
    case other(String)

    public init(headerValue: String) {
        switch headerValue.lowercased() {
        case "", "7bit": self = .sevenBit
        case "8bit": self = .eightBit
        case "binary": self = .binary
        case "base64": self = .base64
        case "quoted-printable": self = .quotedPrintable
        case let other: self = .other(other)
        }
    }

    /// Decodes `content`; nil for `.other` (unknown mechanism).
    public func decode(_ content: some Collection<UInt8>) -> [UInt8]? {
        switch self {
        case .sevenBit, .eightBit, .binary: return Array(content)
        case .base64: return TransferDecoding.base64(content)
        case .quotedPrintable: return TransferDecoding.quotedPrintable(content)
        case .other: return nil
        }
    }
}

public enum TransferDecoding {
    private static let base64Values: [UInt8] = {
        var table = [UInt8](repeating: 0xff, count: 256)
        for (index, byte) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            table[Int(byte)] = UInt8(index)
        }
        // RFC 4648 §5 URL alphabet, which some senders use by mistake.
        table[Int(UInt8(ascii: "-"))] = 62
        table[Int(UInt8(ascii: "_"))] = 63
        return table
    }()

    /// RFC 2045 §6.8, leniently: characters outside the alphabet (line ends, spaces, garbage) are skipped, `=`
    /// padding ends a quantum early, and a trailing partial quantum yields the whole bytes it holds.
    public static func base64(_ content: some Collection<UInt8>) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(content.count / 4 * 3)
        var accumulator: UInt32 = 0
        var bits = 0
        for byte in content {
            if byte == ASCII.equals {
                // Padding: drop the partial byte of this quantum; decoding continues after it (concatenated data).
                accumulator = 0
                bits = 0
                continue
            }
            let value = base64Values[Int(byte)]
            if value == 0xff { continue }
            accumulator = (accumulator << 6) | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
                accumulator &= (1 << UInt32(bits)) - 1
            }
        }
        return output
    }

    /// RFC 2045 §6.7: `=XX` (either case), soft line breaks (`=` then optional whitespace then a line end),
    /// trailing whitespace on a line removed (rule 3). A malformed `=` is kept literally (rule's "robust" note).
    public static func quotedPrintable(_ content: some Collection<UInt8>) -> [UInt8] {
        let bytes = Array(content)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = 0
        var lineStart = 0  // in output: where trailing whitespace trimming may go back to
        while index < bytes.count {
            let byte = bytes[index]
            if byte == ASCII.equals {
                if index + 2 < bytes.count, let high = ASCII.hexValue(bytes[index + 1]), let low = ASCII.hexValue(bytes[index + 2])
                {
                    output.append(high << 4 | low)
                    index += 3
                    lineStart = output.count
                    continue
                }
                // Soft line break: "=" [whitespace] CRLF / LF, or "=" at the very end.
                var next = index + 1
                while next < bytes.count, ASCII.isWhitespace(bytes[next]) { next += 1 }
                if next == bytes.count {
                    index = next
                    continue
                }
                if bytes[next] == ASCII.lf {
                    index = next + 1
                    lineStart = output.count
                    continue
                }
                if bytes[next] == ASCII.cr, next + 1 < bytes.count, bytes[next + 1] == ASCII.lf {
                    index = next + 2
                    lineStart = output.count
                    continue
                }
                output.append(byte)
                index += 1
                lineStart = output.count
                continue
            }
            if byte == ASCII.cr || byte == ASCII.lf {
                // Trailing whitespace before a hard line end was added in transport (rule 3): drop it.
                while output.count > lineStart, let last = output.last, ASCII.isWhitespace(last) { output.removeLast() }
                output.append(byte)
                index += 1
                lineStart = output.count
                continue
            }
            output.append(byte)
            if !ASCII.isWhitespace(byte) { lineStart = output.count }
            index += 1
        }
        return output
    }
}
