import Foundation
import Testing
import TernStore
import TernTestSupport

@Suite struct ImportTests {
    /// Writes a message file into a Maildir++ folder with the given maildir name and modification time.
    func put(_ folder: String, _ name: String, _ body: String, modified: Date) throws {
        try FileManager.default.createDirectory(atPath: folder + "/cur", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: folder + "/new", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: folder + "/tmp", withIntermediateDirectories: true)
        let path = folder + "/" + name
        try Data(body.utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.modificationDate: modified], ofItemAtPath: path)
    }

    @Test func maildirPlusPlusTreeIsImportedByteForByte() throws {
        let admin = try Admin()
        try admin.ok("domain", "add", "example.net")
        try admin.ok("user", "add", "alice@example.net", "--password-stdin", input: "Summer2024x\n")
        let source = admin.folder + "/old-maildir"
        let date = Date(timeIntervalSince1970: 1_600_000_000)
        try put(source, "cur/1600000000.M1P1.old:2,S", "Subject: read\r\n\r\nhello\r\n", modified: date)
        try put(source, "cur/1600000001.M2P1.old:2,FRa", "Subject: flagged\r\n\r\nimportant\r\n", modified: date)
        try put(source, "new/1600000002.M3P1.old", "Subject: new\r\n\r\nunread\r\n", modified: date)
        try "0 $Junk\n1 Work\n".write(toFile: source + "/dovecot-keywords", atomically: true, encoding: .utf8)
        try put(source + "/.Sent", "cur/1600000003.M4P1.old:2,SP", "Subject: sent\r\n\r\nbye\r\n", modified: date)
        try put(source + "/.Entw&APw-rfe", "cur/1600000004.M5P1.old:2,D", "Subject: draft\r\n\r\n...\r\n", modified: date)
        try put(source + "/.Archive.2024", "cur/1600000005.M6P1.old:2,S", "Subject: old\r\n\r\narchived\r\n", modified: date)

        let output = try admin.ok("import", "alice@example.net", "--maildir", source)
        #expect(output.contains("imported 6 of 6 message(s)"))

        let store = try AccountStore(root: AccountLocation.root(dataDirectory: admin.folder + "/data", account: "alice@example.net"))
        #expect(Set(try store.mailboxes().map(\.name)) == ["INBOX", "Sent", "Entwürfe", "Archive/2024"])
        let inbox = try store.messages(in: "INBOX")
        #expect(inbox.count == 3)
        let bodies = try inbox.map { String(decoding: try store.read("INBOX", uid: $0.uid), as: UTF8.self) }
        #expect(Set(bodies) == ["Subject: read\r\n\r\nhello\r\n", "Subject: flagged\r\n\r\nimportant\r\n", "Subject: new\r\n\r\nunread\r\n"])
        let flagged = try #require(inbox.first { try String(decoding: store.read("INBOX", uid: $0.uid), as: UTF8.self).contains("flagged") })
        #expect(flagged.flags == [.flagged, .answered])
        #expect(flagged.keywords == ["$Junk"])
        #expect(inbox.allSatisfy { $0.internalDate == 1_600_000_000 })
        #expect(try store.messages(in: "Sent").first?.keywords == ["$Forwarded"])
        #expect(try store.messages(in: "Entwürfe").first?.flags == [.draft])

        try admin.fails(["import", "alice@example.net", "--maildir", admin.folder + "/nowhere"], saying: "is not a Maildir")
        try admin.fails(["import", "nobody@example.net", "--maildir", source], saying: "no account nobody@example.net")
    }

    /// mbox: one file into INBOX (or a named mailbox), and a Thunderbird-style folder of mbox files.
    @Test func mboxFilesAreImportedWithFlagsAndDates() throws {
        let admin = try Admin()
        try admin.ok("domain", "add", "example.net")
        try admin.ok("user", "add", "alice@example.net", "--password-stdin", input: "Summer2024x\n")
        let fixture = repositoryPath("Fixtures/mbox/three.mbox")
        let output = try admin.ok("import", "alice@example.net", "--mbox", fixture)
        #expect(output.contains("imported 3 message(s)"), "\(output)")
        let store = try AccountStore(root: AccountLocation.root(dataDirectory: admin.folder + "/data", account: "alice@example.net"))
        let inbox = try store.messages(in: "INBOX")
        #expect(inbox.count == 3)
        #expect(inbox.first?.flags == [.seen, .answered, .flagged])
        #expect(inbox.first?.keywords == ["$Label1", "work"])
        #expect(inbox.first?.internalDate == 1_795_255_200)
        #expect(String(decoding: try store.read("INBOX", uid: inbox[2].uid), as: UTF8.self) == "Subject: third, no blank line at the end\r\n\r\nlast\r\n")

        // A folder: Sent and Archives/2020 (Thunderbird's .sbd subfolders); .msf index files are skipped.
        let tree = admin.folder + "/Mail"
        try FileManager.default.createDirectory(atPath: tree + "/Archives.sbd", withIntermediateDirectories: true)
        try "From a@b Sat Nov 21 10:00:00 2026\nSubject: sent\n\nx\n".write(toFile: tree + "/Sent", atomically: true, encoding: .utf8)
        try "junk".write(toFile: tree + "/Sent.msf", atomically: true, encoding: .utf8)
        try "From a@b Sat Nov 21 10:00:00 2026\nSubject: old\n\ny\n\nFrom a@b Sat Nov 21 10:00:00 2026\nSubject: older\n\nz\n"
            .write(toFile: tree + "/Archives.sbd/2020", atomically: true, encoding: .utf8)
        let json = try admin.ok("import", "alice@example.net", "--mbox", tree, "--json")
        #expect(json.contains("\"messages\" : 3") || json.contains("\"messages\":3"), "\(json)")
        #expect(try store.messages(in: "Sent").count == 1)
        #expect(try store.messages(in: "Archives/2020").count == 2)

        try admin.fails(["import", "alice@example.net", "--mbox", admin.folder + "/nowhere"], saying: "does not exist")
        try "Subject: not an mbox\n\nbody\n".write(toFile: admin.folder + "/plain.eml", atomically: true, encoding: .utf8)
        try admin.fails(["import", "alice@example.net", "--mbox", admin.folder + "/plain.eml"], saying: "is not an mbox file")
        try admin.fails(["import", "alice@example.net", "--mbox", fixture, "--maildir", tree], saying: "exactly one of")
        try admin.fails(["import", "alice@example.net", "--mbox", tree, "--mailbox", "X"], saying: "needs an mbox file")
    }

    /// Export, then import into another account: the same mailboxes and byte-identical messages with the same
    /// flags, keywords and internal dates.
    @Test func exportThenReimportIsIdentical() throws {
        let admin = try Admin()
        try admin.ok("domain", "add", "example.net")
        try admin.ok("user", "add", "alice@example.net", "--password-stdin", input: "Summer2024x\n")
        try admin.ok("user", "add", "copy@example.net", "--password-stdin", input: "Summer2024x\n")
        let data = admin.folder + "/data"
        let original = try AccountStore(root: AccountLocation.root(dataDirectory: data, account: "alice@example.net"))
        _ = try original.createMailbox("Kunden/Müller & Söhne")
        _ = try original.createMailbox("Rechnungen")
        try original.append(to: "INBOX", Array("Subject: a\r\n\r\nbinary \u{1}\u{2} ü\r\n".utf8), flags: [.seen], keywords: ["$Forwarded", "Work"],
                            internalDate: 1_650_000_000)
        try original.append(to: "Kunden/Müller & Söhne", Array("Subject: b\r\n\r\nx\r\n".utf8), flags: [.flagged, .answered],
                            keywords: ["$Junk"], internalDate: 1_650_000_100)
        try original.append(to: "Rechnungen", Array(String(repeating: "line\r\n", count: 5000).utf8), internalDate: 1_650_000_200)

        let exported = admin.folder + "/export"
        #expect(try admin.ok("export", "alice@example.net", "--maildir", exported).contains("exported 3 message(s) in 3 mailbox(es)"))
        try admin.fails(["export", "alice@example.net", "--maildir", exported], saying: "is not empty")
        try admin.ok("import", "copy@example.net", "--maildir", exported)

        let copy = try AccountStore(root: AccountLocation.root(dataDirectory: data, account: "copy@example.net"))
        #expect(Set(try copy.mailboxes().map(\.name)) == Set(try original.mailboxes().map(\.name)))
        for mailbox in try original.mailboxes() {
            let left = try original.messages(in: mailbox.name), right = try copy.messages(in: mailbox.name)
            #expect(left.count == right.count)
            for (a, b) in zip(left, right) {
                #expect(try original.read(mailbox.name, uid: a.uid) == copy.read(mailbox.name, uid: b.uid))
                #expect(a.flags == b.flags && a.keywords == b.keywords && a.internalDate == b.internalDate, "\(mailbox.name)")
            }
        }
    }

    /// Progress lines when stderr is not a terminal.
    @Test func progressIsReportedInPlainLines() throws {
        let admin = try Admin()
        try admin.ok("domain", "add", "example.net")
        try admin.ok("user", "add", "bob@example.net", "--password-stdin", input: "Summer2024x\n")
        let source = admin.folder + "/md"
        for index in 0..<1200 {
            try put(source, "cur/\(1_600_000_000 + index).M\(index)P1.old:2,", "Subject: \(index)\r\n\r\nx\r\n", modified: Date())
        }
        let result = try admin.run("import", "bob@example.net", "--maildir", source)
        #expect(result.status == 0)
        #expect(result.error.contains("progress: 1000/1200 message(s)"))
        #expect(result.error.contains("progress: 1200/1200 message(s)"))
    }
}
