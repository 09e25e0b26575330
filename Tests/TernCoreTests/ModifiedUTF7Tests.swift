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

    @Test(arguments: ["&Jjo", "&Jjo!-", "&AGE-", "&2D0-", "tab\there", "&APx-"])
    func rejectsMalformed(_ encoded: String) {
        #expect(ModifiedUTF7.decode(encoded) == nil)
    }
}
