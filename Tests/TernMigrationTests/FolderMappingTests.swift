import Testing
import TernMigration

/// Where an old server's folders go (FolderMapping.swift), and the old server's address and fingerprint forms.
@Suite struct FolderMappingTests {
    static let ours = ["\\Sent": "Sent", "\\Drafts": "Drafts", "\\Trash": "Trash", "\\Junk": "Junk", "\\Archive": "Archive"]

    func plan(_ folders: [OldFolder], prefix: String = "", special: [String: String] = ours) -> [String: FolderPlan] {
        let plans = FolderMapping.plan(folders, personalPrefix: prefix, specialFolders: special, standardNames: Self.ours)
        return Dictionary(uniqueKeysWithValues: plans.map { ($0.old.name, $0) })
    }

    func folder(_ name: String, _ delimiter: Character? = "/", _ attributes: [String] = []) -> OldFolder {
        OldFolder(name: name, delimiter: delimiter, attributes: attributes, subscribed: true)
    }

    @Test func courierStylePrefixAndDots() {
        let result = plan([folder("INBOX", "."), folder("INBOX.Sent", "."), folder("INBOX.Projects", "."),
                           folder("INBOX.Projects.Ärger", "."), folder("INBOX.Deleted Items", ".")], prefix: "INBOX.")
        #expect(result["INBOX"]?.target == "INBOX")
        #expect(result["INBOX.Sent"]?.target == "Sent" && result["INBOX.Sent"]?.specialUse == "\\Sent")
        #expect(result["INBOX.Projects"]?.target == "Projects")
        #expect(result["INBOX.Projects.Ärger"]?.target == "Projects/Ärger")
        #expect(result["INBOX.Deleted Items"]?.target == "Trash" && result["INBOX.Deleted Items"]?.specialUse == "\\Trash")
    }

    /// The attribute beats the name: "Sent Items" with \Sent is Sent even though a plain "Sent" exists, which then
    /// keeps its own name under a suffix (ours is taken).
    @Test func attributeBeatsName() {
        let result = plan([folder("INBOX"), folder("Sent"), folder("Sent Items", "/", ["\\HasNoChildren", "\\Sent"])])
        #expect(result["Sent Items"]?.target == "Sent")
        #expect(result["Sent"]?.target == "Sent (2)")
        #expect(result["Sent"]?.note != nil)
    }

    /// Exchange's names, children following their parent, and a use the account here renamed.
    @Test func namesAndChildren() {
        let result = plan([folder("INBOX"), folder("Deleted Items"), folder("Deleted Items/2019"), folder("Junk E-mail"),
                           folder("Drafts"), folder("Archives")], special: Self.ours.merging(["\\Trash": "Papierkorb"]) { $1 })
        #expect(result["Deleted Items"]?.target == "Papierkorb")
        #expect(result["Deleted Items/2019"]?.target == "Papierkorb/2019" && result["Deleted Items/2019"]?.specialUse == nil)
        #expect(result["Junk E-mail"]?.target == "Junk")
        #expect(result["Drafts"]?.target == "Drafts")
        #expect(result["Archives"]?.target == "Archive")
    }

    /// Only top-level folders are matched by name: "Projects/Sent" is just a folder.
    @Test func namesOnlyAtTheTop() {
        let result = plan([folder("INBOX"), folder("Projects"), folder("Projects/Sent")])
        #expect(result["Projects/Sent"]?.target == "Projects/Sent" && result["Projects/Sent"]?.specialUse == nil)
    }

    @Test func gmailVirtualFoldersAreSkipped() {
        let result = plan([folder("INBOX"), folder("[Gmail]", "/", ["\\Noselect"]), folder("[Gmail]/All Mail", "/", ["\\All"]),
                           folder("[Gmail]/Starred", "/", ["\\Flagged"]), folder("[Gmail]/Sent Mail", "/", ["\\Sent"]),
                           folder("[Gmail]/Trash", "/", ["\\Trash"])])
        #expect(result["[Gmail]/All Mail"]?.target == nil && result["[Gmail]/All Mail"]?.note?.contains("virtual") == true)
        #expect(result["[Gmail]/Starred"]?.target == nil)
        #expect(result["[Gmail]/Sent Mail"]?.target == "Sent")
        #expect(result["[Gmail]/Trash"]?.target == "Trash")
        #expect(result["[Gmail]"]?.target == "[Gmail]")
    }

    /// A "/" inside a name (possible where the old delimiter is ".") cannot be one here.
    @Test func slashesInNames() {
        let result = plan([folder("INBOX", "."), folder("Reports 2024/2025", "."), folder("a..b", ".")])
        #expect(result["Reports 2024/2025"]?.target == "Reports 2024_2025")
        #expect(result["Reports 2024/2025"]?.note?.contains("renamed") == true)
        #expect(result["a..b"]?.target == "a/_/b")
    }

    @Test func inboxInAnyCaseAndNoDelimiter() {
        let result = plan([OldFolder(name: "INBOX", delimiter: nil, attributes: [], subscribed: true),
                           OldFolder(name: "flat.name", delimiter: nil, attributes: [], subscribed: false)])
        #expect(result["INBOX"]?.target == "INBOX")
        #expect(result["flat.name"]?.target == "flat.name")
    }

    @Test func serverAddresses() throws {
        #expect(try OldServer(url: "imaps://old.example.net") == OldServer(host: "old.example.net", port: 993, security: .implicitTLS))
        #expect(try OldServer(url: "IMAP://old.example.net:1143/") == OldServer(host: "old.example.net", port: 1143, security: .startTLS))
        #expect(try OldServer(url: "imap://10.0.0.1", plaintext: true) == OldServer(host: "10.0.0.1", port: 143, security: .none))
        #expect(try OldServer(url: "imaps://[::1]:9993") == OldServer(host: "::1", port: 9993, security: .implicitTLS))
        for bad in ["old.example.net", "http://x", "imaps://", "imaps://x:0", "imaps://x:99999", "imaps://user@x",
                    "imaps://x/INBOX", "imaps://[::1", "imaps://x:abc"] {
            #expect(throws: MigrationError.self, "\(bad)") { try OldServer(url: bad) }
        }
        #expect(throws: MigrationError.self) { try OldServer(url: "imaps://x", plaintext: true) }
    }

    @Test func fingerprints() {
        let hex = String(repeating: "ab", count: 32)
        let bytes = [UInt8](repeating: 0xab, count: 32)
        #expect(CertificateTrust.parseFingerprint(hex) == bytes)
        #expect(CertificateTrust.parseFingerprint("SHA256:" + hex.uppercased()) == bytes)
        #expect(CertificateTrust.parseFingerprint(CertificateTrust.format(bytes)) == bytes)
        #expect(CertificateTrust.format(bytes).count == 95)
        #expect(CertificateTrust.parseFingerprint(String(hex.dropLast(2))) == nil)
        #expect(CertificateTrust.parseFingerprint(String(hex.dropLast(1)) + "g") == nil)
    }
}
