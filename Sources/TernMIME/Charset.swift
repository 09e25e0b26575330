// Charset conversion to Swift String. The one place that touches iconv (Glibc): `IconvConverter` owns the
// descriptor and closes it on every path. Common charsets (US-ASCII, UTF-8, ISO-8859-1) never reach iconv.
//
// Invalid input never fails a conversion: an undecodable byte becomes U+FFFD and conversion goes on at the next
// byte. Only an unknown charset name gives nil.

import Glibc

public enum Charset {
    /// Decodes `bytes` in `charset` (a MIME charset name, any case) to a String; nil if the charset is unknown.
    public static func decode(_ bytes: some Collection<UInt8>, charset: String) -> String? {
        let name = canonicalName(charset)
        switch name {
        case "us-ascii", "ascii", "utf-8", "utf8", "ansi_x3.4-1968", "us", "646", "iso646-us", "unknown-8bit",
            "x-unknown", "":
            return String(decoding: Array(bytes), as: UTF8.self)
        case "iso-8859-1", "iso8859-1", "latin1", "l1", "iso_8859-1", "cp819", "ibm819":
            return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
        default:
            guard let converter = IconvConverter(from: iconvName(name)) else { return nil }
            return converter.convert(Array(bytes))
        }
    }

    /// Whether `decode` knows `charset`.
    public static func isKnown(_ charset: String) -> Bool { decode([], charset: charset) != nil }

    /// Lower-cased, without RFC 2231 §5 language suffix (`utf-8*en`), quotes and surrounding space.
    static func canonicalName(_ charset: String) -> String {
        var name = charset.lowercased().trimmingCharacters(in: " \t\"")
        if let star = name.firstIndex(of: "*") { name = String(name[..<star]) }
        return name
    }

    /// Names MIME mail uses that glibc iconv spells differently.
    private static func iconvName(_ name: String) -> String {
        switch name {
        case "ks_c_5601-1987", "ks_c_5601", "ksc5601", "euc-kr": return "CP949"
        case "gb2312", "x-gbk", "gbk": return "GB18030"
        case "x-sjis", "shift-jis": return "SHIFT_JIS"
        case "windows-874": return "CP874"
        case "unicode-1-1-utf-7": return "UTF-7"
        default: return name
        }
    }
}

private extension String {
    func trimmingCharacters(in set: String) -> String {
        let skip = Set(set)
        var scalars = Substring(self)
        while let first = scalars.first, skip.contains(first) { scalars = scalars.dropFirst() }
        while let last = scalars.last, skip.contains(last) { scalars = scalars.dropLast() }
        return String(scalars)
    }
}

/// One iconv descriptor converting from a charset to UTF-8 (RFC 2047/2231 charsets as glibc knows them).
struct IconvConverter: ~Copyable {
    private let descriptor: iconv_t

    /// Nil when iconv does not know `charset`. Names with characters outside `[A-Za-z0-9._:+-]` are refused
    /// before iconv sees them, so a message cannot pass glibc options such as `//TRANSLIT`.
    init?(from charset: String) {
        guard !charset.isEmpty, charset.utf8.count <= 64,
            charset.utf8.allSatisfy({ byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
                    || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ":")
                    || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-")
            })
        else { return nil }
        let descriptor = iconv_open("UTF-8", charset)
        guard let descriptor, descriptor != iconv_t(bitPattern: -1) else { return nil }
        self.descriptor = descriptor
    }

    deinit { iconv_close(descriptor) }

    /// Converts all of `input`; an invalid or truncated sequence becomes U+FFFD and conversion resumes after it.
    func convert(_ input: [UInt8]) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(input.count * 2 + 16)
        var chunk = [UInt8](repeating: 0, count: max(64, input.count * 4))
        var offset = 0
        while offset < input.count {
            var consumed = 0
            var produced = 0
            var failure: Int32 = 0
            input.withUnsafeBufferPointer { source in
                chunk.withUnsafeMutableBufferPointer { target in
                    var inPointer = UnsafeMutableRawPointer(mutating: source.baseAddress! + offset)
                        .assumingMemoryBound(to: CChar.self) as UnsafeMutablePointer<CChar>?
                    var inLeft = input.count - offset
                    var outPointer = UnsafeMutableRawPointer(target.baseAddress!)
                        .assumingMemoryBound(to: CChar.self) as UnsafeMutablePointer<CChar>?
                    var outLeft = target.count
                    let result = iconv(descriptor, &inPointer, &inLeft, &outPointer, &outLeft)
                    if result == -1 { failure = errno }
                    consumed = input.count - offset - inLeft
                    produced = target.count - outLeft
                }
            }
            output += chunk[0..<produced]
            offset += consumed
            if failure == 0 { break }
            if failure == E2BIG { continue }
            // EILSEQ (invalid) or EINVAL (truncated at the end): mark it, skip one byte, reset the shift state.
            output += [0xEF, 0xBF, 0xBD]
            offset += 1
            iconv(descriptor, nil, nil, nil, nil)
        }
        // Flush a stateful encoding's final shift sequence.
        chunk.withUnsafeMutableBufferPointer { target in
            var outPointer = UnsafeMutableRawPointer(target.baseAddress!)
                .assumingMemoryBound(to: CChar.self) as UnsafeMutablePointer<CChar>?
            var outLeft = target.count
            iconv(descriptor, nil, nil, &outPointer, &outLeft)
            output += target[0..<(target.count - outLeft)]
        }
        return String(decoding: output, as: UTF8.self)
    }
}
