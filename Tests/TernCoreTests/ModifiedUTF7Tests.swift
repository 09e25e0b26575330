import Testing
import TernCore

@Suite struct ModifiedUTF7Tests {
    @Test(arguments: [
        ("INBOX", "INBOX"), ("Entw&APw-rfe", "Entwürfe"), ("&ZeVnLIqe-", "日本語"), ("Tom &- Jerry", "Tom & Jerry"),
        ("Gel&APY-schte Elemente", "Gelöschte Elemente"), ("&2D3eAA-", "😀"), ("~peter/mail/&U,BTFw-/&ZeVnLIqe-", "~peter/mail/台北/日本語"),
    ])
    func decodes(_ encoded: String, _ expected: String) {
        #expect(ModifiedUTF7.decode(encoded) == expected)
    }

    @Test(arguments: ["INBOX", "Entwürfe", "日本語", "Tom & Jerry", "Gelöschte Elemente", "😀", "~peter/mail/台北/日本語", "a\u{7f}b", "ÄÖÜ & äöü"])
    func encodesAndRoundTrips(_ text: String) {
        let encoded = ModifiedUTF7.encode(text)
        #expect(encoded.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value <= 0x7e })
        #expect(ModifiedUTF7.decode(encoded) == text)
    }

    @Test func encodesAsRFC3501Shows() {
        #expect(ModifiedUTF7.encode("~peter/mail/台北/日本語") == "~peter/mail/&U,BTFw-/&ZeVnLIqe-")
        #expect(ModifiedUTF7.encode("Entwürfe") == "Entw&APw-rfe")
    }

    @Test(arguments: ["&Jjo", "&Jjo!-", "&AGE-", "&2D0-", "tab\there", "&APx-"])
    func rejectsMalformed(_ encoded: String) {
        #expect(ModifiedUTF7.decode(encoded) == nil)
    }
}
