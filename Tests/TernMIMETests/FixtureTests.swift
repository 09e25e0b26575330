// The corpus in Fixtures/mime: for each NAME.eml, NAME.envelope and NAME.bodystructure hold the exact bytes Tern
// must render (RFC 9051 §7.5.2). The expected files were reviewed by hand against the RFC grammar and Dovecot's
// rendering; set TERN_MIME_WRITE_FIXTURES=1 to rewrite them after a deliberate change, then review the diff.

import Foundation
import Testing
import TernMIME
import TernTestSupport

@Suite struct FixtureTests {
    static let names = [
        "plain", "alternative", "attachments", "forwarded", "nested", "encoded-words", "groups", "broken-boundary",
        "bare-lf", "eightbit-headers", "digest",
    ]

    static func load(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: repositoryPath("Fixtures/mime/\(name)"))))
    }

    static func check(_ actual: [UInt8], file name: String) throws {
        if ProcessInfo.processInfo.environment["TERN_MIME_WRITE_FIXTURES"] == "1" {
            try Data(actual).write(to: URL(fileURLWithPath: repositoryPath("Fixtures/mime/\(name)")))
        }
        let expected = try load(name)
        #expect(
            actual == expected,
            "\(name):\n\(String(decoding: actual, as: UTF8.self))\nexpected\n\(String(decoding: expected, as: UTF8.self))")
    }

    @Test(arguments: names)
    func envelope(name: String) throws {
        let message = MIMEMessage(parsing: try Self.load("\(name).eml"))
        try Self.check(IMAPRendering.envelope(of: message.root), file: "\(name).envelope")
    }

    @Test(arguments: names)
    func bodyStructure(name: String) throws {
        let message = MIMEMessage(parsing: try Self.load("\(name).eml"))
        try Self.check(IMAPRendering.bodyStructure(of: message.root), file: "\(name).bodystructure")
    }

    /// Every IMAP part number of `message` (RFC 9051 §6.4.5), computed from the tree.
    static func allPaths(_ message: MIMEMessage) -> [[Int]] {
        var paths: [[Int]] = []
        func visit(_ part: MessagePart, at path: [Int]) {
            paths.append(path)
            let container = path.isEmpty ? part : part.encapsulated
            guard let container else { return }
            if container.children.isEmpty {
                visit(container, at: path + [1])
            } else {
                for (index, child) in container.children.enumerated() { visit(child, at: path + [index + 1]) }
            }
        }
        visit(message.root, at: [])
        return paths
    }

    @Test(arguments: names)
    func everySectionExtracts(name: String) throws {
        // Every part the structure announces can be fetched, with its MIME header, and decoded for BINARY.
        let message = MIMEMessage(parsing: try Self.load("\(name).eml"))
        for path in Self.allPaths(message) {
            let part = try #require(message.part(at: path))
            #expect(message.section(path) != nil)
            #expect(message.binary(path) != nil)
            if path.isEmpty {
                #expect(message.section(path, .mime) == nil)
                #expect(message.section(path, .header) == Array(part.headerBytes))
            } else {
                #expect(message.section(path, .mime) == Array(part.headerBytes))
                #expect(message.section(path) == Array(part.bodyBytes))
            }
        }
    }
}

@Suite struct FixtureDecodingTests {
    @Test func encodedWordsFixtureDecodes() throws {
        // KOI8-R (B), windows-1252 and ISO-8859-1 (Q), UTF-8 (B) in one header; a KOI8-R base64 body.
        let message = MIMEMessage(parsing: try FixtureTests.load("encoded-words.eml"))
        let header = message.root.header
        // RFC 2047 §6.2: the space between the two encoded words goes; unfolding keeps the folded line's spaces.
        #expect(header.decodedValue("Subject") == "Café✓ done  and more")
        #expect(header.displayAddress("From") == "Иван Петров")
        let to = Envelope(header: header).to
        #expect(to.map(\.displayName) == ["Renée “Quotes”", "André Pirard"])
        #expect(message.searchableText == ["Привет, мир!\n"])
        #expect(MessageDate.parse(header.unfoldedValue("Date") ?? [])
            == MessageDate(secondsSinceEpoch: 1_709_622_000, zoneOffsetSeconds: 10_800))
    }

    @Test func eightBitHeadersDecode() throws {
        // Raw UTF-8 (RFC 6532) and raw Latin-1 bytes in header fields.
        let header = MIMEMessage(parsing: try FixtureTests.load("eightbit-headers.eml")).root.header
        #expect(header.decodedValue("Subject") == "Grüße aus Köln")
        #expect(header.displayAddress("From") == "José Müller")
        #expect(header.displayAddress("To") == "Jürgen")
    }

    @Test func bareLineFeedSections() throws {
        let message = MIMEMessage(parsing: try FixtureTests.load("bare-lf.eml"))
        #expect(message.section([1]) == Array("one\ntwo".utf8))
        #expect(message.section([1], .mime) == Array("Content-Type: text/plain\n\n".utf8))
        #expect(message.section([], .headerFields(["subject"])) == Array("Subject: Bare LF\n  folded\n\r\n".utf8))
        #expect(message.root.header.decodedValue("Subject") == "Bare LF  folded")
    }

    @Test func attachmentFixtureDecodes() throws {
        let message = MIMEMessage(parsing: try FixtureTests.load("attachments.eml"))
        let pdf = try #require(message.part(at: [2]))
        #expect(pdf.disposition?.parameters.parameter("filename") == "Résumé.pdf")
        guard case .decoded(let bytes)? = message.binary([2]) else {
            Issue.record("no content")
            return
        }
        #expect(bytes.prefix(9) == Array("%PDF-1.4\n".utf8)[...])
        #expect(bytes.count == 9 + 512)
        #expect(message.part(at: [3])?.contentType.parameters.parameter("title") == "This is even more ***fun*** isn't it!")
    }
}

@Suite struct TopLevelHeaderSectionTests {
    /// The header-only path FETCH uses for a header sync gives the same bytes as the full parse, for every message
    /// of the corpus (bare LF, 8-bit headers, broken MIME included) and for the header alone as stored.
    @Test(arguments: FixtureTests.names)
    func sameBytesAsTheFullParse(name: String) throws {
        let bytes = try FixtureTests.load("\(name).eml")
        let message = MIMEMessage(parsing: bytes)
        let headerOnly = Array(message.root.headerBytes)
        let texts: [SectionText] = [
            .header, .headerFields(["FROM", "to", "Subject", "DATE", "message-id"]), .headerFieldsNot(["Received", "content-TYPE"]),
            .headerFields(["X-Nothing"]),
        ]
        for text in texts {
            let expected = message.section([], text)
            #expect(expected != nil)
            #expect(MIMEMessage.topLevelHeaderSection(bytes, text) == expected, "\(name) \(text)")
            #expect(MIMEMessage.topLevelHeaderSection(headerOnly, text) == expected, "\(name) \(text), header alone")
        }
        #expect(MIMEMessage.topLevelHeaderSection(bytes, .text) == nil)
    }

    /// Field names match case-insensitively in ASCII only where the letters fold (`@` is not `` ` ``).
    @Test func fieldNamesFoldOnlyLetters() {
        let (header, _) = MessageHeader.parse(Array("Subject: a\r\nX-A@: b\r\n\r\n".utf8))
        #expect(header.fields[0].hasName("SUBJECT") && header.fields[0].hasName("subject"))
        #expect(!header.fields[0].hasName("Subjecu"))
        #expect(header.fields[1].hasName("x-a@") && !header.fields[1].hasName("x-a`"))
    }
}
