// The corpus on its own (no server): deterministic, well-formed, and covering what it promises.

import Testing
import TernCore
import TernTestSupport

@Suite struct OldServerCorpusTests {
    static let corpus = OldServerCorpus()

    @Test func sameSeedSameCorpusOtherSeedOtherCorpus() {
        let again = OldServerCorpus()
        #expect(again.messages.map(\.expected) == Self.corpus.messages.map(\.expected))
        #expect(again.messages.map(\.folder) == Self.corpus.messages.map(\.folder))
        #expect(again.messages.map(\.internalDateText) == Self.corpus.messages.map(\.internalDateText))
        let other = OldServerCorpus(messageCount: 100, seed: 7)
        #expect(other.messages.map(\.expected.sha256) != Array(Self.corpus.messages.prefix(100).map(\.expected.sha256)))
    }

    @Test func messagesAreUniqueCRLFAndWithinLineLimits() {
        #expect(Self.corpus.messages.count == 1_000)
        #expect(Set(Self.corpus.messages.map(\.expected.sha256)).count == 1_000)
        for message in Self.corpus.messages {
            let bytes = message.bytes
            let (longest, bareLineEnd, hasNUL) = Self.lineFacts(bytes)
            #expect(!hasNUL, "message \(message.index) holds NUL")
            #expect(!bareLineEnd, "message \(message.index) (\(message.shape)) has a bare CR or LF")
            #expect(bytes.suffix(2) == [13, 10], "message \(message.index) does not end with CRLF")
            // RFC 5322 §2.1.1: at most 998 characters per line, CRLF excluded.
            #expect(longest <= 998, "message \(message.index) (\(message.shape)) has a \(longest)-byte line")
            #expect(String(decoding: bytes, as: UTF8.self).contains("X-Corpus-Index: \(message.index)\r\n"))
        }
    }

    /// The longest line (without its CRLF), and whether there is a CR or LF not in a CRLF pair, or a NUL. One raw
    /// loop: the corpus is megabytes and tests run unoptimized.
    static func lineFacts(_ bytes: [UInt8]) -> (longest: Int, bareLineEnd: Bool, hasNUL: Bool) {
        bytes.withUnsafeBufferPointer { buffer in
            var longest = 0
            var lineStart = 0
            var bare = false
            var nul = false
            var offset = 0
            while offset < buffer.count {
                let byte = buffer[offset]
                if byte == 10 {
                    if offset == 0 || buffer[offset - 1] != 13 { bare = true }
                    longest = max(longest, offset - 1 - lineStart)
                    lineStart = offset + 1
                } else if byte == 13 {
                    if offset + 1 == buffer.count || buffer[offset + 1] != 10 { bare = true }
                } else if byte == 0 {
                    nul = true
                }
                offset += 1
            }
            return (longest, bare, nul)
        }
    }

    @Test func coversEveryShapeFlagFolderAndSize() {
        let corpus = Self.corpus
        for shape in OldServerCorpus.Shape.allCases {
            #expect(corpus.messages.contains { $0.shape == shape }, "no \(shape) message")
        }
        for (flag, count) in corpus.flagCounts { #expect(count > 0, "no message with \(flag)") }
        #expect(corpus.messages.contains { $0.flags.isEmpty })
        for folder in corpus.folders where folder.path != ["Empty"] {
            #expect(folder.messageCount > 0, "\(folder.name) is empty")
        }
        #expect(corpus.folders.first { $0.path == ["Empty"] }?.messageCount == 0)
        #expect(corpus.folders.filter { !$0.isSubscribed }.map(\.path) == [["Lists", "swift.evolution"]])
        #expect(corpus.messages.map(\.bytes.count).max()! > 250_000)
        #expect(corpus.messages.map(\.bytes.count).min()! < 2_000)
        #expect(Set(corpus.messages.map { $0.internalDateText.suffix(5) }).count >= 10)
        let years = corpus.messages.map { $0.internalDate / 31_556_952 + 1970 }
        #expect(years.min()! < 2003 && years.max()! >= 2024)
        #expect(corpus.messages.filter { $0.folder == "Drafts" }.allSatisfy { $0.flags.contains("\\Draft") })
        #expect(corpus.messages.filter { $0.folder == "Junk" }.allSatisfy { $0.flags.contains("$Junk") })
        #expect(corpus.messages.filter { $0.folder == "Sent" }.allSatisfy { $0.flags.contains("\\Seen") })
    }

    @Test func namesFollowTheSeparatorAndPrefix() {
        let dotted = OldServerCorpus(messageCount: 20, hierarchySeparator: ".", namespacePrefix: "INBOX.")
        #expect(dotted.folders.map(\.name) == [
            "INBOX", "INBOX.Sent", "INBOX.Drafts", "INBOX.Junk", "INBOX.Deleted Items", "INBOX.Archive",
            "INBOX.Archive.2023", "INBOX.Archive.2023.Q1", "INBOX.Projects", "INBOX.Projects.Ärger",
            "INBOX.Projects.日本語", "INBOX.Lists.swift-evolution", "INBOX.Empty",
        ])
        #expect(dotted.nonSelectableParents == ["INBOX.Lists"])
        #expect(dotted.folders.first { $0.path == ["Projects", "Ärger"] }?.encodedName == "INBOX.Projects.&AMQ-rger")
        #expect(dotted.folders.first { $0.path == ["Projects", "日本語"] }?.encodedName == "INBOX.Projects.&ZeVnLIqe-")
        let slashed = OldServerCorpus(messageCount: 20)
        #expect(slashed.folders.map(\.name).contains("Lists/swift.evolution"))
        #expect(slashed.nonSelectableParents == ["Lists"])
        // Fewer messages than folders with mail: the first folders get one each.
        #expect(OldServerCorpus(messageCount: 3).messages.map(\.folder) == ["INBOX", "Sent", "Drafts"])
    }

    @Test func describesWhatItHolds() {
        let text = Self.corpus.description
        #expect(text.contains("1000 messages"))
        #expect(text.contains("Projects/Ärger: "))
        #expect(text.contains("Lists/swift.evolution: ") && text.contains("not subscribed"))
        #expect(text.contains("Lists: never created"))
    }
}
