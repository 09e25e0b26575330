// Character classes of the IMAP grammar (RFC 9051 §9), on bytes.

enum IMAPCharacter {
    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    static func isAlpha(_ c: UInt8) -> Bool { (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) }
    static func uppercased(_ c: UInt8) -> UInt8 { c >= 0x61 && c <= 0x7A ? c - 0x20 : c }

    /// `CTL = %x00-1F / %x7F`.
    static func isControl(_ c: UInt8) -> Bool { c < 0x20 || c == 0x7F }

    /// `ATOM-CHAR = <any CHAR except atom-specials>`;
    /// `atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards / quoted-specials / resp-specials`.
    static func isAtomChar(_ c: UInt8) -> Bool {
        guard c > 0x20, c < 0x7F else { return false }
        switch c {
        case UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "{"), UInt8(ascii: "%"), UInt8(ascii: "*"),
            UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "]"):
            return false
        default:
            return true
        }
    }

    /// `ASTRING-CHAR = ATOM-CHAR / resp-specials`.
    static func isAstringChar(_ c: UInt8) -> Bool { isAtomChar(c) || c == UInt8(ascii: "]") }

    /// `tag = 1*<any ASTRING-CHAR except "+">`.
    static func isTagChar(_ c: UInt8) -> Bool { isAstringChar(c) && c != UInt8(ascii: "+") }

    /// `list-char = ATOM-CHAR / list-wildcards / resp-specials`.
    static func isListChar(_ c: UInt8) -> Bool {
        isAstringChar(c) || c == UInt8(ascii: "%") || c == UInt8(ascii: "*")
    }
}

extension String {
    /// ASCII upper-casing of bytes known to be ASCII (atoms).
    init(asciiUppercased bytes: some Sequence<UInt8>) {
        self.init(decoding: bytes.map(IMAPCharacter.uppercased), as: UTF8.self)
    }
}
