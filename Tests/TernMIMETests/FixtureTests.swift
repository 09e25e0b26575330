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
