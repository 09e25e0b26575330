// IMAP's modified UTF-7 for mailbox names (RFC 3501 §5.1.3): printable ASCII stands for itself except '&', which
// is written "&-"; other characters are UTF-16BE in base64 with ',' for '/', between '&' and '-'. Old servers and
// Maildir++ folder names use it; Tern keeps names as Unicode and decodes on import.

public enum ModifiedUTF7 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,".utf8)

    /// Encodes `text` (any Unicode) as modified UTF-7.
    public static func encode(_ text: String) -> String {
        var result = ""
        var pending: [UInt16] = []
        func flush() {
            guard !pending.isEmpty else { return }
            var bytes: [UInt8] = []
            for unit in pending { bytes += [UInt8(unit >> 8), UInt8(unit & 0xff)] }
            var encoded = "&"
            var index = 0
            while index < bytes.count {
                let chunk = Array(bytes[index..<min(index + 3, bytes.count)])
                let n = chunk.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << UInt32(16 - 8 * $1.offset) }
                let characters = chunk.count + 1
                for position in 0..<characters {
                    encoded.unicodeScalars.append(Unicode.Scalar(alphabet[Int(n >> UInt32(18 - 6 * position) & 63)]))
                }
                index += 3
            }
            result += encoded + "-"
            pending = []
        }
        for scalar in text.unicodeScalars {
            if scalar.value >= 0x20 && scalar.value <= 0x7e {
                flush()
                result += scalar == "&" ? "&-" : String(scalar)
            } else {
                pending += Array(String(scalar).utf16)
            }
        }
        flush()
        return result
    }

    /// Decodes `text`; nil if it is not valid modified UTF-7.
    public static func decode(_ text: String) -> String? {
        var values = [UInt8](repeating: 0xff, count: 256)
        for (index, byte) in alphabet.enumerated() { values[Int(byte)] = UInt8(index) }
        var result = ""
        var bytes = Array(text.utf8)[...]
        while let byte = bytes.popFirst() {
            guard byte >= 0x20 && byte <= 0x7e else { return nil }
            guard byte == UInt8(ascii: "&") else {
                result.unicodeScalars.append(Unicode.Scalar(byte))
                continue
            }
            guard let end = bytes.firstIndex(of: UInt8(ascii: "-")) else { return nil }
            let encoded = bytes[..<end]
            bytes = bytes[(end + 1)...]
            if encoded.isEmpty {
                result.append("&")
                continue
            }
            var bits: UInt32 = 0, count = 0
            var units: [UInt16] = []
            for character in encoded {
                let value = values[Int(character)]
                guard value != 0xff else { return nil }
                bits = bits << 6 | UInt32(value)
                count += 6
                if count >= 16 {
                    count -= 16
                    units.append(UInt16(truncatingIfNeeded: bits >> UInt32(count)))
                }
            }
            // Leftover bits must be zero padding, and a run must not encode plain ASCII.
            guard count < 6, bits & ((1 << UInt32(count)) - 1) == 0, !units.isEmpty,
                  !units.allSatisfy({ $0 >= 0x20 && $0 <= 0x7e }) else { return nil }
            var decoded = ""
            for scalar in UTF16View(units) {
                guard let scalar else { return nil }
                decoded.unicodeScalars.append(scalar)
            }
            result += decoded
        }
        return result
    }

    /// Decodes UTF-16 code units, nil for an unpaired surrogate.
    private struct UTF16View: Sequence, IteratorProtocol {
        var units: [UInt16]
        var index = 0
        init(_ units: [UInt16]) { self.units = units }
        mutating func next() -> Unicode.Scalar?? {
            guard index < units.count else { return nil }
            let unit = units[index]
            index += 1
            if unit < 0xd800 || unit > 0xdfff { return .some(Unicode.Scalar(unit)) }
            guard unit < 0xdc00, index < units.count, (0xdc00...0xdfff).contains(units[index]) else { return .some(nil) }
            let low = units[index]
            index += 1
            return .some(Unicode.Scalar(0x10000 + (UInt32(unit - 0xd800) << 10) + UInt32(low - 0xdc00)))
        }
    }
}
