// RFC 4648 base64, as SASL (RFC 4422), IMAP AUTHENTICATE and SMTP AUTH use it: strict decoding (no whitespace, no
// missing padding, no stray characters, no non-zero padding bits), so a malformed client payload is an error, not
// a guess.

public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xff, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    public static func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index + 2 < bytes.count {
            let n = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            output += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]]
            index += 3
        }
        let rest = bytes.count - index
        if rest == 1 {
            let n = UInt32(bytes[index]) << 16
            output += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], UInt8(ascii: "="), UInt8(ascii: "=")]
        } else if rest == 2 {
            let n = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8
            output += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], UInt8(ascii: "=")]
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes strict base64; nil if `text` is not valid.
    public static func decode(_ text: some Collection<UInt8>) -> [UInt8]? {
        let input = Array(text)
        guard input.count % 4 == 0 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(input.count / 4 * 3)
        var index = 0
        while index < input.count {
            let isLast = index + 4 == input.count
            let a = values[Int(input[index])], b = values[Int(input[index + 1])]
            guard a != 0xff, b != 0xff else { return nil }
            let padC = input[index + 2] == UInt8(ascii: "="), padD = input[index + 3] == UInt8(ascii: "=")
            guard !padC || (padD && isLast), !padD || isLast else { return nil }
            let c = padC ? 0 : values[Int(input[index + 2])], d = padD ? 0 : values[Int(input[index + 3])]
            guard c != 0xff, d != 0xff else { return nil }
            // Canonical only (RFC 4648 §3.5): the bits the padding leaves over must be zero, so one byte string
            // has exactly one encoding.
            if padC && b & 0x0f != 0 { return nil }
            if padD && !padC && c & 0x03 != 0 { return nil }
            let n = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
            output.append(UInt8(n >> 16))
            if !padC { output.append(UInt8(n >> 8 & 0xff)) }
            if !padD { output.append(UInt8(n & 0xff)) }
            index += 4
        }
        return output
    }

    public static func decode(_ text: String) -> [UInt8]? { decode(Array(text.utf8)) }
}
