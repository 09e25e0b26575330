import Testing
@testable import TernStore

@Suite struct FullTextTests {
    /// The index's lower-casing (ASCII fast path, non-ASCII runs through `lowercased()`) gives what `lowercased()`
    /// gives, so the index and the needles of SEARCH agree for any text.
    @Test(arguments: [
        "", "Hello World", "ALL CAPS 123 []{}@^_`~", "Grüße aus MÜNCHEN", "ΟΔΟΣ ΟΔΟΣ", "İstanbul DİYARBAKIR",
        "Straße STRASSE", "日本語 Text ÄÖÜ\tx", "mixed🙂EMOJI🙂End", "\u{0041}\u{030A}ngström",
    ])
    func lowerCasingMatchesTheStandardLibrary(_ text: String) {
        #expect(lowercasedForSearch(text) == text.lowercased())
        #expect(Array(lowercasedForSearch(text).utf8) == Array(text.lowercased().utf8))
    }

    /// A message's indexed text is lower-cased in every column, non-ASCII included.
    @Test func searchableTextIsLowerCased() {
        let bytes = Array("From: Jörg <JOERG@Example.NET>\r\nSubject: =?utf-8?q?Gr=C3=9CSSE?= FROM Berlin\r\n\r\nBODY Text ÄÖÜ\r\n".utf8)
        let text = SearchableText(parsing: bytes)
        #expect(text.values[0] == "grüsse from berlin")
        #expect(text.values[1].contains("joerg@example.net") && text.values[1].contains("jörg"))
        #expect(text.values[5].contains("subject: grüsse from berlin"))
        #expect(text.values[6].contains("body text äöü"))
    }
}
