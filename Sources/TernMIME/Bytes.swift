// Byte-level helpers shared by the parsers. Header text is bytes: RFC 5322 says US-ASCII, real mail carries
// 8-bit bytes (raw UTF-8 under RFC 6532, or Latin-1 from old software), so conversion to String happens late and
// never fails (`headerString`).

enum ASCII {
    static let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n"), space = UInt8(ascii: " "), tab = UInt8(ascii: "\t")
    static let colon = UInt8(ascii: ":"), semicolon = UInt8(ascii: ";"), equals = UInt8(ascii: "=")
    static let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\"), dash = UInt8(ascii: "-")
    static let openParen = UInt8(ascii: "("), closeParen = UInt8(ascii: ")")

    /// RFC 5322 §2.2.2 WSP.
    static func isWhitespace(_ byte: UInt8) -> Bool { byte == space || byte == tab }
    /// Whitespace including line ends, for values already cut out of a header.
    static func isLinearWhitespace(_ byte: UInt8) -> Bool { byte == space || byte == tab || byte == cr || byte == lf }

    static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// Case-insensitive comparison of ASCII bytes with an ASCII string.
    static func equalsIgnoringCase(_ bytes: some Collection<UInt8>, _ text: String) -> Bool {
        let other = text.utf8
        guard bytes.count == other.count else { return false }
        return zip(bytes, other).allSatisfy { lowercased($0) == lowercased($1) }
    }
}

/// Bytes as a String: UTF-8 when valid, otherwise each byte as its ISO-8859-1 character (never fails).
func headerString(_ bytes: some Collection<UInt8>) -> String {
    if let text = String(validating: bytes, as: UTF8.self) { return text }
    return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
}

extension Collection<UInt8> {
    /// Without leading and trailing spaces, tabs, CRs and LFs.
    func trimmingLinearWhitespace() -> SubSequence {
        guard let first = firstIndex(where: { !ASCII.isLinearWhitespace($0) }) else { return self[endIndex..<endIndex] }
        var last = first
        var index = first
        while index != endIndex {
            if !ASCII.isLinearWhitespace(self[index]) { last = index }
            index = self.index(after: index)
        }
        return self[first...last]
    }
}

/// Removes folding from a header value: a line end followed by whitespace disappears (the whitespace stays,
/// RFC 5322 §2.2.3); a line end followed by anything else becomes a space (Dovecot's `imap_append_nstring_nolf`).
func unfold(_ value: some Collection<UInt8>) -> [UInt8] {
    let bytes = Array(value)
    var output: [UInt8] = []
    output.reserveCapacity(bytes.count)
    for (index, byte) in bytes.enumerated() {
        if byte == ASCII.cr || byte == ASCII.lf {
            let next = index + 1 < bytes.count ? bytes[index + 1] : nil
            if let next, !ASCII.isLinearWhitespace(next) { output.append(ASCII.space) }
        } else {
            output.append(byte)
        }
    }
    return output
}

/// Collapses runs of whitespace (and line ends) into one space and trims both ends; NUL becomes 0x80 as Dovecot's
/// `imap_append_string_for_humans` does. For ENVELOPE subjects and display names.
func collapsingWhitespace(_ value: some Collection<UInt8>) -> [UInt8] {
    var output: [UInt8] = []
    output.reserveCapacity(value.count)
    var pendingSpace = false
    for byte in value {
        if ASCII.isLinearWhitespace(byte) {
            pendingSpace = !output.isEmpty
            continue
        }
        if pendingSpace { output.append(ASCII.space) }
        pendingSpace = false
        output.append(byte == 0 ? 0x80 : byte)
    }
    return output
}
