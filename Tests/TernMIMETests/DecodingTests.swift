// RFC 2047 encoded words, transfer encodings (RFC 2045 §6.7, §6.8) and charset conversion through iconv.

import Testing
import TernMIME

@Suite struct EncodedWordTests {
    // RFC 2047 §8, the table of examples: encoded text, then how it displays.
    @Test(arguments: [
        ("(=?ISO-8859-1?Q?a?=)", "(a)"),
        ("(=?ISO-8859-1?Q?a?= b)", "(a b)"),
        ("(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)"),
        ("(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)", "(ab)"),
        ("(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)", "(ab)"),
        ("(=?ISO-8859-1?Q?a_b?=)", "(a b)"),
        ("(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a b)"),
    ])
    func rfc2047Examples(encoded: String, decoded: String) {
        #expect(EncodedWords.decode(Array(encoded.utf8)) == decoded)
    }

    @Test func rfc2047Section8Names() {
        #expect(EncodedWords.decode(Array("=?US-ASCII?Q?Keith_Moore?=".utf8)) == "Keith Moore")
        #expect(EncodedWords.decode(Array("=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?=".utf8)) == "Keld Jørn Simonsen")
        #expect(EncodedWords.decode(Array("=?ISO-8859-1?Q?Andr=E9?= Pirard".utf8)) == "André Pirard")
        #expect(EncodedWords.decode(Array(
            "=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?= =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?="
                .utf8)) == "If you can read this you understand the example.")
    }

    @Test func charsetsThroughIconv() {
        #expect(EncodedWords.decode(Array("=?KOI8-R?B?8NLJ18XU?=".utf8)) == "Привет")
        #expect(EncodedWords.decode(Array("=?windows-1252?Q?=93quoted=94_=80?=".utf8)) == "\u{201C}quoted\u{201D} €")
        // RFC 2231 §5 language suffix on the charset.
        #expect(EncodedWords.decode(Array("=?US-ASCII*EN?Q?Keith_Moore?=".utf8)) == "Keith Moore")
    }

    @Test func splitMultibyteCharacterJoinsAcrossWords() {
        // "é" (C3 A9) split across two adjacent words in the same charset.
        #expect(EncodedWords.decode(Array("=?UTF-8?Q?Caf=C3?= =?UTF-8?Q?=A9?=".utf8)) == "Café")
    }

    @Test func malformedWordsStayAsWritten() {
        for text in ["=?unknown-charset?Q?x?=", "=?utf-8?X?x?=", "=?utf-8?Q?unterminated", "=??Q?x?=", "=?"] {
            #expect(EncodedWords.decode(Array(text.utf8)) == text)
        }
    }
}

@Suite struct TransferDecodingTests {
    @Test func quotedPrintable() {
        // RFC 2045 §6.7: hex escapes, soft line breaks, trailing whitespace removed, bad escapes kept.
        let input = "Caf=C3=A9 =3D sign=\r\ncontinued   \r\nline two=20\r\nbad =ZZ and =\nsoft\r\n="
        #expect(TransferDecoding.quotedPrintable(Array(input.utf8))
            == Array("Café = signcontinued\r\nline two \r\nbad =ZZ and soft\r\n".utf8))
    }

    @Test func quotedPrintableLowerCaseHex() {
        #expect(TransferDecoding.quotedPrintable(Array("=e9".utf8)) == [0xE9])
    }

    @Test func base64IsLenient() {
        // Line breaks, spaces and stray characters are skipped (RFC 2045 §6.8 says to ignore them).
        #expect(TransferDecoding.base64(Array("SGVs\r\nbG8g\td29y*bGQ=\r\n".utf8)) == Array("Hello world".utf8))
        #expect(TransferDecoding.base64(Array("SGVsbG8".utf8)) == Array("Hello".utf8))
        #expect(TransferDecoding.base64(Array("".utf8)) == [])
        #expect(TransferDecoding.base64(Array("====".utf8)) == [])
    }

    @Test func unknownEncodingCannotDecode() {
        #expect(TransferEncoding(headerValue: "x-uuencode").decode([1, 2]) == nil)
        #expect(TransferEncoding(headerValue: "BASE64") == .base64)
        #expect(TransferEncoding(headerValue: "8Bit").decode([0xff]) == [0xff])
    }
}

@Suite struct CharsetTests {
    @Test func commonCharsets() {
        #expect(Charset.decode([0x63, 0x61, 0x66, 0xE9], charset: "ISO-8859-1") == "café")
        #expect(Charset.decode(Array("café".utf8), charset: "utf-8") == "café")
        #expect(Charset.decode([0xF0, 0xD2, 0xC9], charset: "koi8-r") == "При")
        #expect(Charset.decode([0x80], charset: "windows-1252") == "€")
        #expect(Charset.decode([0xA4], charset: "iso-8859-15") == "€")
        #expect(Charset.decode([0x82, 0xA0], charset: "Shift_JIS") == "あ")
    }

    @Test func unknownCharsetIsNil() {
        #expect(Charset.decode([0x41], charset: "x-no-such-charset") == nil)
        // glibc options are not charset names.
        #expect(Charset.decode([0x41], charset: "UTF-16//IGNORE") == nil)
    }

    @Test func invalidSequencesBecomeReplacementCharacters() {
        #expect(Charset.decode([0x41, 0xFF, 0x42], charset: "utf-8") == "A\u{FFFD}B")
        #expect(Charset.decode([0x41, 0x82], charset: "Shift_JIS") == "A\u{FFFD}")
        #expect(Charset.decode([0xC3, 0x28, 0x41], charset: "euc-jp")?.hasSuffix("A") == true)
    }
}
