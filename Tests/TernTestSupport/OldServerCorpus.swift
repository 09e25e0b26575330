// A deterministic mailbox for migration tests: N messages (default 1,000) of varied MIME shapes, spread over nested
// and non-ASCII folders with every flag and keyword a migration must keep, and internal dates over two decades in
// many time zones. `populate` puts it into any IMAP server (CREATE, SUBSCRIBE, APPEND with flags and date-time:
// MULTIAPPEND or pipelined with LITERAL+ when offered); `expectedMailboxes` says what a snapshot must then show.
//
// Invariants:
// - Same seed, count, separator and prefix → the same bytes, flags, dates and folders (one SplitMix64 stream, no
//   hashing or dictionary order involved, no clock).
// - Every message is unique (its Message-ID and X-Corpus-Index header hold its index), uses CRLF line ends only
//   (a server may store LF and convert back: only pure CRLF survives byte for byte), has no NUL and no line over
//   998 bytes.
// - Folder names are valid for the separator in use: a "." only appears in a name when the separator is "/".
// - \Recent is never appended (a server sets it); \Deleted messages are appended, never expunged.

import Foundation
import TernCore

public struct OldServerCorpus: Sendable, CustomStringConvertible {
    /// The kinds of message the corpus holds.
    public enum Shape: String, Sendable, CaseIterable {
        /// text/plain us-ascii, 7bit (some with no MIME headers at all, RFC 822 style).
        case plainASCII
        /// text/plain UTF-8, Content-Transfer-Encoding 8bit (German, Japanese, Greek, emoji).
        case eightBitUTF8
        /// text/plain UTF-8 in quoted-printable (soft breaks, "=3D", encoded trailing spaces).
        case quotedPrintable
        /// text/html only.
        case html
        /// multipart/alternative: text/plain and text/html.
        case alternative
        /// multipart/mixed: a text part and 1-3 base64 attachments of 1 KB to ~300 KB.
        case attachments
        /// multipart/mixed with a message/rfc822 part (a forwarded message, itself sometimes multipart).
        case forwarded
        /// RFC 2047 encoded words (UTF-8 "B", ISO-8859-1 "Q") in Subject, From and To.
        case encodedWords
        /// RFC 2231 parameters: a UTF-8 percent-encoded filename, and one split into continuations.
        case rfc2231Filename
        /// Long header lines: References folded over many lines, a ~950-byte unfolded line, a long To list.
        case longHeaders
        /// A hand-written message from Fixtures/mime (digest, groups, 8-bit headers…), with an X-Corpus-Index line.
        case fixture
    }

    public struct Folder: Sendable, Hashable, CustomStringConvertible {
        /// The path below the namespace prefix (`["Archive", "2023", "Q1"]`); INBOX is `["INBOX"]`.
        public let path: [String]
        /// The full mailbox name in Unicode: prefix + path joined with the separator ("INBOX" for INBOX).
        public let name: String
        /// `name` in modified UTF-7, as it goes over the wire.
        public var encodedName: String { ModifiedUTF7.encode(name) }
        /// The special-use attribute Dovecot's configuration gives it (DovecotServer: \Sent, \Drafts, \Junk).
        public let specialUse: String?
        public let isSubscribed: Bool
        /// How many of the corpus's messages it holds.
        public let messageCount: Int

        public var description: String {
            var notes: [String] = []
            if let specialUse { notes.append(specialUse) }
            if !isSubscribed { notes.append("not subscribed") }
            return "\(name): \(messageCount) messages" + (notes.isEmpty ? "" : " (\(notes.joined(separator: ", ")))")
        }
    }

    public struct Message: Sendable {
        /// 0..<count; also in the Message-ID (`<corpus.SEED.INDEX@old.example>`) and the `X-Corpus-Index` header.
        public let index: Int
        /// The `Folder.name` it is appended to.
        public let folder: String
        public let shape: Shape
        public let bytes: [UInt8]
        /// As appended, normalized (IMAPMailSnapshot.normalizedFlags).
        public let flags: [String]
        /// INTERNALDATE in seconds since the epoch.
        public let internalDate: Int64
        /// The APPEND date-time argument (without quotes), in the time zone the message was "received" in.
        public let internalDateText: String
        /// What a snapshot of a server holding it must show.
        public let expected: IMAPMailSnapshot.Message
    }

    public let seed: UInt64
    public let hierarchySeparator: Character
    public let namespacePrefix: String
    /// In creation order, parents before children; INBOX first.
    public let folders: [Folder]
    /// Names LIST shows as \Noselect parents because a child exists but they were never created.
    public let nonSelectableParents: [String]
    /// In index order.
    public let messages: [Message]

    /// The keywords the corpus uses (besides the system flags \Seen \Answered \Flagged \Draft \Deleted).
    public static let keywords = ["$Forwarded", "$MDNSent", "$Junk", "NonJunk", "Project-X"]

    public init(messageCount: Int = 1_000, seed: UInt64 = 2_024, hierarchySeparator: Character = "/",
                namespacePrefix: String = "") {
        precondition(messageCount >= 0)
        self.seed = seed
        self.hierarchySeparator = hierarchySeparator
        self.namespacePrefix = namespacePrefix
        let separator = String(hierarchySeparator)
        func name(_ path: [String]) -> String {
            path == ["INBOX"] ? "INBOX" : namespacePrefix + path.joined(separator: separator)
        }
        // A name with a dot where "." is not the separator; with ".", a dash instead.
        let listName = hierarchySeparator == "." ? "swift-evolution" : "swift.evolution"
        let plans: [FolderPlan] = [
            FolderPlan(path: ["INBOX"], role: .inbox, weight: 380),
            FolderPlan(path: ["Sent"], role: .sent, specialUse: "\\Sent", weight: 120),
            FolderPlan(path: ["Drafts"], role: .drafts, specialUse: "\\Drafts", weight: 25),
            FolderPlan(path: ["Junk"], role: .junk, specialUse: "\\Junk", weight: 45),
            FolderPlan(path: ["Deleted Items"], role: .deletedItems, weight: 50),
            FolderPlan(path: ["Archive"], role: .archive, weight: 90),
            FolderPlan(path: ["Archive", "2023"], role: .archive, weight: 80),
            FolderPlan(path: ["Archive", "2023", "Q1"], role: .archive, weight: 50),
            FolderPlan(path: ["Projects"], role: .projects, weight: 20),
            FolderPlan(path: ["Projects", "Ärger"], role: .projects, weight: 50),
            FolderPlan(path: ["Projects", "日本語"], role: .projects, weight: 50),
            FolderPlan(path: ["Lists", listName], role: .list, subscribed: false, weight: 40),
            FolderPlan(path: ["Empty"], role: .empty, weight: 0),
        ]
        nonSelectableParents = [name(["Lists"])]

        var random = SplitMix64(seed: seed)
        let filled = plans.indices.filter { plans[$0].weight > 0 }
        let totalWeight = plans.reduce(0) { $0 + $1.weight }
        let generator = MessageGenerator(seed: seed)
        var messages: [Message] = []
        var counts = [Int](repeating: 0, count: plans.count)
        var shapeCounts: [Shape: Int] = [:]
        for index in 0..<messageCount {
            // Every folder that holds mail gets one first, then they fill by weight.
            var folderIndex = 0
            if index < filled.count {
                folderIndex = filled[index]
            } else {
                var pick = random.below(totalWeight)
                while pick >= plans[folderIndex].weight {
                    pick -= plans[folderIndex].weight
                    folderIndex += 1
                }
            }
            let plan = plans[folderIndex]
            counts[folderIndex] += 1
            // Every shape twice first, then by weight.
            let shape = index < Shape.allCases.count * 2
                ? Shape.allCases[index % Shape.allCases.count] : MessageGenerator.pickShape(&random)
            // The first two messages with attachments carry one of 200-300 KB, as do 5 % of the others.
            let large = shape == .attachments && (shapeCounts[.attachments, default: 0] < 2 || random.permille(50))
            shapeCounts[shape, default: 0] += 1
            let date = MessageGenerator.internalDate(&random, role: plan.role)
            let flags = IMAPMailSnapshot.normalizedFlags(MessageGenerator.flags(&random, role: plan.role))
            let bytes = generator.message(index: index, shape: shape, role: plan.role, date: date, large: large,
                                          random: &random)
            messages.append(Message(
                index: index, folder: name(plan.path), shape: shape, bytes: bytes, flags: flags,
                internalDate: date.epoch, internalDateText: date.imapText,
                expected: IMAPMailSnapshot.Message(bytes: bytes, flags: flags, internalDate: date.epoch)))
        }
        self.messages = messages
        folders = plans.indices.map { index in
            Folder(path: plans[index].path, name: name(plans[index].path), specialUse: plans[index].specialUse,
                   isSubscribed: plans[index].subscribed, messageCount: counts[index])
        }
    }

    /// A corpus whose folder names suit `server`'s separator and namespace prefix.
    public init(for server: DovecotServer, messageCount: Int = 1_000, seed: UInt64 = 2_024) {
        self.init(messageCount: messageCount, seed: seed, hierarchySeparator: server.hierarchySeparator,
                  namespacePrefix: server.namespacePrefix)
    }

    public func messages(in folder: String) -> [Message] { messages.filter { $0.folder == folder } }

    /// For every folder created (empty ones included): its messages in APPEND order, as a snapshot must show them.
    public var expectedMailboxes: [String: [IMAPMailSnapshot.Message]] {
        var result: [String: [IMAPMailSnapshot.Message]] = [:]
        for folder in folders { result[folder.name] = [] }
        for message in messages { result[message.folder, default: []].append(message.expected) }
        return result
    }

    public var totalBytes: Int { messages.reduce(0) { $0 + $1.bytes.count } }

    /// How many messages carry each flag and keyword.
    public var flagCounts: [(flag: String, count: Int)] {
        let all = ["\\Seen", "\\Answered", "\\Flagged", "\\Draft", "\\Deleted"] + Self.keywords
        return all.map { flag in (flag, messages.filter { $0.flags.contains(flag) }.count) }
    }

    public var description: String {
        var lines = ["OldServerCorpus seed \(seed): \(messages.count) messages, \(totalBytes) bytes, separator "
                     + "\"\(hierarchySeparator)\", prefix \"\(namespacePrefix)\""]
        lines.append("folders (created in this order; every one subscribed unless said):")
        lines += folders.map { "  " + $0.description }
        lines.append("  \(nonSelectableParents.joined(separator: ", ")): never created, a \\Noselect parent")
        lines.append("shapes: " + Shape.allCases.map { shape in
            "\(shape.rawValue) \(messages.filter { $0.shape == shape }.count)"
        }.joined(separator: ", "))
        lines.append("flags: " + flagCounts.map { "\($0.flag) \($0.count)" }.joined(separator: ", ")
                     + ", none \(messages.filter { $0.flags.isEmpty }.count)")
        if let oldest = messages.min(by: { $0.internalDate < $1.internalDate }),
           let newest = messages.max(by: { $0.internalDate < $1.internalDate }) {
            lines.append("internal dates: \(oldest.internalDateText) … \(newest.internalDateText), "
                         + "\(Set(messages.map { $0.internalDateText.suffix(5) }).count) time zones")
        }
        if let largest = messages.max(by: { $0.bytes.count < $1.bytes.count }) {
            lines.append("largest message: \(largest.bytes.count) bytes (index \(largest.index))")
        }
        return lines.joined(separator: "\n")
    }

    // MARK: - Putting it into a server

    /// How `populate` sends the messages.
    public enum AppendMode: Sendable {
        /// One APPEND per folder run of up to `batchSize` messages (RFC 3502 MULTIAPPEND), literals with LITERAL+:
        /// one transaction per batch on the server, so the fastest.
        case multiAppend
        /// One APPEND per message, `batchSize` of them sent before reading the replies (LITERAL+, RFC 7888).
        case pipelined
        /// One APPEND per message with a synchronizing literal, waiting for "+" each time (plain RFC 9051).
        case synchronizing
    }

    /// Creates the folders, subscribes them (all but the unsubscribed one) and appends every message with its flags
    /// and internal date, over a logged-in `client`, folder by folder in index order (so UIDs follow the indexes).
    /// `mode` nil: the fastest the server's CAPABILITY allows.
    public func populate(_ client: IMAPTestClient, mode: AppendMode? = nil, batchSize: Int = 50) throws {
        precondition(batchSize > 0)
        let capabilities = try client.checked("CAPABILITY").untagged
            .first { $0.uppercased().hasPrefix("* CAPABILITY ") }?.uppercased().split(separator: " ") ?? []
        let literalPlus = capabilities.contains("LITERAL+")
        let mode = mode ?? (!literalPlus ? .synchronizing : capabilities.contains("MULTIAPPEND") ? .multiAppend : .pipelined)
        for folder in folders where folder.name != "INBOX" {
            try client.checked("CREATE " + IMAPTestClient.quoted(folder.encodedName))
        }
        for folder in folders where folder.isSubscribed {
            try client.checked("SUBSCRIBE " + IMAPTestClient.quoted(folder.encodedName))
        }
        // RFC 9051 §6.3.12: APPEND mailbox [flag-list] [date-time] literal
        func arguments(_ message: Message, synchronizing: Bool = false) -> String {
            let flags = message.flags.isEmpty ? "" : "(\(message.flags.joined(separator: " "))) "
            return "\(flags)\"\(message.internalDateText)\" {\(message.bytes.count)\(synchronizing ? "" : "+")}"
        }
        for folder in folders {
            let mailbox = "APPEND " + IMAPTestClient.quoted(folder.encodedName) + " "
            let run = messages.filter { $0.folder == folder.name }
            var start = 0
            while start < run.count {
                let batch = run[start..<min(start + batchSize, run.count)]
                start += batch.count
                switch mode {
                case .synchronizing:
                    for item in batch {
                        let response = try client.command(mailbox + arguments(item, synchronizing: true),
                                                          continuations: [item.bytes + [13, 10]])
                        guard response.ok else { throw IMAPTestClientError.refused("APPEND of message \(item.index)", response.tagged) }
                    }
                case .pipelined:
                    var wire: [UInt8] = []
                    var tags: [(String, Int)] = []
                    for item in batch {
                        let tag = client.makeTag()
                        tags.append((tag, item.index))
                        wire += Array("\(tag) \(mailbox)\(arguments(item))\r\n".utf8) + item.bytes + [13, 10]
                    }
                    try client.client.send(wire)
                    for (tag, index) in tags {
                        let response = try client.readUntilTagged(tag)
                        guard response.ok else { throw IMAPTestClientError.refused("APPEND of message \(index)", response.tagged) }
                    }
                case .multiAppend:
                    // RFC 3502 §6.3.11: append = "APPEND" SP mailbox 1*append-message
                    let tag = client.makeTag()
                    var wire = Array("\(tag) \(mailbox)".utf8)
                    for (number, item) in batch.enumerated() {
                        wire += Array("\(number > 0 ? " " : "")\(arguments(item))\r\n".utf8) + item.bytes
                    }
                    wire += [13, 10]
                    try client.client.send(wire)
                    let response = try client.readUntilTagged(tag)
                    guard response.ok else {
                        throw IMAPTestClientError.refused("APPEND of messages \(batch.first!.index)…", response.tagged)
                    }
                }
            }
        }
    }

    /// Logs in to `server` as `login` over its plaintext port, populates, logs out.
    public func populate(_ server: DovecotServer, login: String, password: String, mode: AppendMode? = nil) throws {
        let client = try IMAPTestClient.connect(port: server.imapPort, security: .plaintext)
        try client.login(astring: login, password: password)
        try populate(client, mode: mode)
        _ = try? client.command("LOGOUT")
    }
}

// MARK: - Generation

private enum FolderRole { case inbox, sent, drafts, junk, deletedItems, archive, projects, list, empty }

private struct FolderPlan {
    var path: [String]
    var role: FolderRole
    var specialUse: String? = nil
    var subscribed = true
    var weight: Int
}

/// Sebastiano Vigna's SplitMix64: small, fast, and the same sequence everywhere.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// 0..<bound (bound > 0).
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
    mutating func between(_ range: ClosedRange<Int>) -> Int { range.lowerBound + below(range.count) }
    /// True with probability `permille` / 1000.
    mutating func permille(_ permille: Int) -> Bool { below(1000) < permille }
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    mutating func bytes(_ count: Int) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: count)
        result.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset + 8 <= count {
                buffer.storeBytes(of: next().littleEndian, toByteOffset: offset, as: UInt64.self)
                offset += 8
            }
            var last = next()
            while offset < count {
                buffer[offset] = UInt8(truncatingIfNeeded: last)
                last >>= 8
                offset += 1
            }
        }
        return result
    }
}

private struct DateChoice {
    var epoch: Int64
    var zoneMinutes: Int
    var imapText: String
    var headerText: String
}

private struct MessageGenerator {
    let seed: UInt64

    init(seed: UInt64) { self.seed = seed }

    static let shapeWeights: [(OldServerCorpus.Shape, Int)] = [
        (.plainASCII, 22), (.eightBitUTF8, 12), (.quotedPrintable, 10), (.html, 6), (.alternative, 14),
        (.attachments, 12), (.forwarded, 5), (.encodedWords, 7), (.rfc2231Filename, 4), (.longHeaders, 4), (.fixture, 4),
    ]

    static func pickShape(_ random: inout SplitMix64) -> OldServerCorpus.Shape {
        var pick = random.below(shapeWeights.reduce(0) { $0 + $1.1 })
        for (shape, weight) in shapeWeights {
            if pick < weight { return shape }
            pick -= weight
        }
        return .plainASCII
    }

    // MARK: Flags and dates

    static func flags(_ random: inout SplitMix64, role: FolderRole) -> [String] {
        var flags: [String] = []
        switch role {
        case .sent:
            flags.append("\\Seen")
            if random.permille(60) { flags.append("$MDNSent") }
        case .drafts:
            flags.append("\\Draft")
            if random.permille(500) { flags.append("\\Seen") }
        case .junk:
            flags.append("$Junk")
            if random.permille(400) { flags.append("\\Seen") }
        case .deletedItems:
            if random.permille(900) { flags.append("\\Seen") }
            if random.permille(300) { flags.append("\\Deleted") }
        case .inbox, .archive, .projects, .list, .empty:
            if random.permille(role == .inbox ? 600 : 850) { flags.append("\\Seen") }
            if random.permille(150) { flags.append("\\Answered") }
            if random.permille(80) { flags.append("$Forwarded") }
            if random.permille(30) { flags.append("$MDNSent") }
            if role == .inbox && random.permille(60) { flags.append("NonJunk") }
        }
        if role != .drafts && random.permille(80) { flags.append("\\Flagged") }
        if role != .deletedItems && random.permille(30) { flags.append("\\Deleted") }
        if random.permille(role == .projects ? 600 : 20) { flags.append("Project-X") }
        return flags
    }

    /// Zones with whole, half and three-quarter hours on both sides of UTC.
    static let zones = [0, -480, -420, -300, -210, 60, 120, 330, 345, 540, 600, 765, -660, 840]
    private static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    private static let dayNames = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]

    static func internalDate(_ random: inout SplitMix64, role: FolderRole) -> DateChoice {
        let (from, to): (Int64, Int64)
        if role == .drafts {
            (from, to) = (1_672_531_200, 1_735_603_200) // 2023-01-01 … 2024-12-31
        } else if random.permille(30) {
            (from, to) = (820_454_400, 1_041_379_200) // 1996-01-01 … 2003-01-01
        } else {
            (from, to) = (1_041_379_200, 1_735_603_200) // 2003-01-01 … 2024-12-31
        }
        let epoch = from + Int64(random.below(Int(to - from)))
        let zone = random.pick(zones)
        let local = epoch + Int64(zone) * 60
        let days = local >= 0 ? local / 86_400 : (local - 86_399) / 86_400
        let seconds = local - days * 86_400
        let (year, month, day) = CivilDate.civil(daysSinceEpoch: days)
        let time = "\(two(seconds / 3_600)):\(two(seconds % 3_600 / 60)):\(two(seconds % 60))"
        let sign = zone < 0 ? "-" : "+"
        let zoneText = sign + two(Int64(abs(zone) / 60)) + two(Int64(abs(zone) % 60))
        // RFC 9051 date-day-fixed: (SP DIGIT) / 2DIGIT; both forms are used.
        let fixedDay = day < 10 && random.permille(500) ? " \(day)" : two(day)
        let imap = "\(fixedDay)-\(monthNames[Int(month - 1)])-\(year) \(time) \(zoneText)"
        // The Date header: written a little before it arrived, same zone.
        let sentLocal = local - Int64(random.between(5...3_600))
        let sentDays = sentLocal >= 0 ? sentLocal / 86_400 : (sentLocal - 86_399) / 86_400
        let sentSeconds = sentLocal - sentDays * 86_400
        let sent = CivilDate.civil(daysSinceEpoch: sentDays)
        let weekday = dayNames[Int(((sentDays % 7) + 11) % 7)]
        let header = "\(weekday), \(sent.day) \(monthNames[Int(sent.month - 1)]) \(sent.year) "
            + "\(two(sentSeconds / 3_600)):\(two(sentSeconds % 3_600 / 60)):\(two(sentSeconds % 60)) \(zoneText)"
        return DateChoice(epoch: epoch, zoneMinutes: zone, imapText: imap, headerText: header)
    }

    private static func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }

    // MARK: Text

    private static let words = [
        "meeting", "report", "budget", "review", "draft", "release", "server", "migration", "schedule", "invoice",
        "quarter", "design", "proposal", "feedback", "update", "deadline", "customer", "support", "ticket", "network",
        "backup", "archive", "project", "contract", "summary", "agenda", "notes", "travel", "training", "holiday",
        "lunch", "coffee", "office", "launch", "roadmap", "metrics", "storage", "mailbox", "folder", "message",
        "question", "answer", "status", "weekly", "monthly", "team", "plan", "issue", "patch", "the", "a", "for",
        "with", "about", "and", "our", "next", "please", "thanks", "soon",
    ]
    private static let international = [
        "Grüße aus Köln – die Änderungen an der Übersicht sind fertig.",
        "Straße, Maß und Fuß: ß bleibt ß, auch in Großbuchstaben ẞ.",
        "日本語のテキストです。よろしくお願いします。",
        "会議は来週の火曜日に変更になりました。",
        "Ελληνικά: καλημέρα σε όλους, τα νέα είναι καλά.",
        "Русский текст: привет, как дела?",
        "Emoji: 📬 ✉️ 🚀 — and a zero-width joiner: 👩‍💻.",
        "Çà et là, déjà vu: l'été à Noël, naïve façade.",
    ]
    private static let people: [(name: String, address: String)] = [
        ("Alice Martin", "alice@old.example"), ("Bob Keller", "bob@partner.example"),
        ("Jörg Müller", "joerg@beispiel.example"), ("Renée Dubois", "renee@exemple.example"),
        ("山田 太郎", "yamada@example.jp"), ("Σοφία Παπαδοπούλου", "sofia@example.gr"),
        ("Carol O'Neil", "carol@example.org"), ("Dave (ops) Smith", "dave@ops.example"),
        ("", "noreply@lists.example"), ("Eve Zhang", "eve@example.cn"),
    ]
    static let owner = (name: "Old User", address: "user@old.example")

    private static func sentence(_ random: inout SplitMix64) -> String {
        let count = random.between(6...14)
        var text = (0..<count).map { _ in random.pick(words) }.joined(separator: " ")
        text = text.prefix(1).uppercased() + text.dropFirst()
        return text + random.pick([".", ".", ".", "?", "!"])
    }

    private static func paragraphs(_ random: inout SplitMix64, count: ClosedRange<Int>, international: Bool) -> [String] {
        (0..<random.between(count)).map { _ in
            (0..<random.between(2...5)).map { _ in
                international && random.permille(400) ? random.pick(Self.international) : sentence(&random)
            }.joined(separator: " ")
        }
    }

    /// Lines of at most `width` bytes (words are never split; none is longer than a few dozen).
    private static func wrap(_ paragraph: String, width: Int = 72) -> [String] {
        var lines: [String] = []
        var line = ""
        for word in paragraph.split(separator: " ") {
            if !line.isEmpty && line.utf8.count + 1 + word.utf8.count > width {
                lines.append(line)
                line = ""
            }
            line += line.isEmpty ? String(word) : " " + word
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }

    private static func textBody(_ paragraphs: [String]) -> String {
        paragraphs.map { wrap($0).joined(separator: "\r\n") }.joined(separator: "\r\n\r\n") + "\r\n"
    }

    // MARK: Encodings

    /// RFC 2047 "B" encoded words of UTF-8 text, each at most 75 characters, folded between words.
    static func encodedWords(_ text: String) -> String {
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in text {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > 45 {
                words.append("=?UTF-8?B?\(Base64.encode(chunk))?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append("=?UTF-8?B?\(Base64.encode(chunk))?=") }
        return words.joined(separator: "\r\n ")
    }

    /// RFC 2047 "Q" encoding of Latin-1 text (every character must be in ISO-8859-1).
    static func qEncodedLatin1(_ text: String) -> String {
        var result = "=?ISO-8859-1?Q?"
        for scalar in text.unicodeScalars {
            precondition(scalar.value <= 0xFF)
            let byte = UInt8(scalar.value)
            switch byte {
            case UInt8(ascii: " "): result += "_"
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                result.unicodeScalars.append(scalar)
            default: result += "=" + hexUpper(byte)
            }
        }
        return result + "?="
    }

    /// Quoted-printable (RFC 2045 §6.7) of UTF-8 text with CRLF line ends: lines of at most 76 characters with
    /// soft breaks, "=" and non-ASCII as =XX, a space or tab before a line end encoded.
    static func quotedPrintable(_ text: String) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count * 2)
        let bytes = Array(text.utf8)
        var lineLength = 0
        for (offset, byte) in bytes.enumerated() {
            if byte == 13 { continue }
            if byte == 10 {
                output += [13, 10]
                lineLength = 0
                continue
            }
            let atLineEnd = offset + 1 == bytes.count || bytes[offset + 1] == 10 || bytes[offset + 1] == 13
            let encode = byte == UInt8(ascii: "=") || byte >= 0x80 || byte < 0x20 && byte != 9
                || (byte == 32 || byte == 9) && atLineEnd
            let width = encode ? 3 : 1
            if lineLength + width > 75 {
                output += [UInt8(ascii: "="), 13, 10]
                lineLength = 0
            }
            if encode {
                output += [UInt8(ascii: "="), hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0xf)]]
            } else {
                output.append(byte)
            }
            lineLength += width
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static let hexDigits = Array("0123456789ABCDEF".utf8)
    private static let base64Alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Base64 (RFC 2045 §6.8) in lines of 76 characters joined by CRLF, without a final line end. Written for speed
    /// in debug builds (the corpus encodes megabytes): one pass over raw buffers.
    static func base64Lines(_ bytes: [UInt8]) -> String {
        let encodedCount = (bytes.count + 2) / 3 * 4
        let capacity = encodedCount + max(0, (encodedCount - 1) / 76) * 2
        let output = [UInt8](unsafeUninitializedCapacity: capacity) { out, initialized in
            base64Alphabet.withUnsafeBufferPointer { alphabet in
                bytes.withUnsafeBufferPointer { input in
                    // 76 characters per line: 19 groups of four.
                    var written = 0
                    var group = 0
                    var index = 0
                    while index < input.count {
                        if group == 19 {
                            out[written] = 13
                            out[written + 1] = 10
                            written += 2
                            group = 0
                        }
                        let remaining = input.count - index
                        let n = UInt32(input[index]) << 16 | (remaining > 1 ? UInt32(input[index + 1]) << 8 : 0)
                            | (remaining > 2 ? UInt32(input[index + 2]) : 0)
                        out[written] = alphabet[Int(n >> 18)]
                        out[written + 1] = alphabet[Int(n >> 12 & 63)]
                        out[written + 2] = remaining > 1 ? alphabet[Int(n >> 6 & 63)] : UInt8(ascii: "=")
                        out[written + 3] = remaining > 2 ? alphabet[Int(n & 63)] : UInt8(ascii: "=")
                        written += 4
                        group += 1
                        index += 3
                    }
                    initialized = written
                }
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// RFC 2231 §4 extended value: charset'' then attr-chars as they are, every other byte %XX.
    static func percentEncoded(_ text: String) -> String {
        let safe = Set("!#$&+-.^_`|~".utf8)
        var result = ""
        for byte in text.utf8 {
            let isAlphanumeric = (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            result += isAlphanumeric || safe.contains(byte) ? String(UnicodeScalar(byte)) : "%" + hexUpper(byte)
        }
        return result
    }

    /// `encoded` (percent-encoded) in pieces of at most `width` characters, never splitting a %XX triplet.
    static func continuations(_ encoded: String, width: Int) -> [String] {
        var pieces: [String] = []
        var piece = ""
        var characters = encoded[...]
        while let first = characters.first {
            let token = first == "%" ? String(characters.prefix(3)) : String(first)
            characters = characters.dropFirst(token.count)
            if piece.count + token.count > width {
                pieces.append(piece)
                piece = ""
            }
            piece += token
        }
        if !piece.isEmpty { pieces.append(piece) }
        return pieces
    }

    private static func hexUpper(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0xf)]])
    }

    static func address(_ person: (name: String, address: String)) -> String {
        if person.name.isEmpty { return person.address }
        if person.name.unicodeScalars.allSatisfy({ $0.isASCII }) {
            let special = person.name.contains { "()<>@,;:\\\".[]'".contains($0) }
            return special ? "\"\(person.name)\" <\(person.address)>" : "\(person.name) <\(person.address)>"
        }
        return "\(encodedWords(person.name)) <\(person.address)>"
    }

    // MARK: Messages

    func message(index: Int, shape: OldServerCorpus.Shape, role: FolderRole, date: DateChoice, large: Bool,
                          random: inout SplitMix64) -> [UInt8] {
        let outgoing = role == .sent || role == .drafts
        let other = random.pick(Self.people)
        let from = outgoing ? Self.address(Self.owner) : Self.address(other)
        var to = outgoing ? Self.address(other) : Self.address(Self.owner)
        if random.permille(200) { to += ",\r\n " + Self.address(random.pick(Self.people)) }
        let topic = (0..<random.between(2...6)).map { _ in random.pick(Self.words) }.joined(separator: " ")
        var subject = random.pick(["", "", "", "Re: ", "AW: ", "Fwd: "]) + topic.prefix(1).uppercased() + topic.dropFirst()
            + " #\(index)"
        var headers: [String] = []
        var body: String
        var mime: [String] = []

        switch shape {
        case .plainASCII:
            body = Self.textBody(Self.paragraphs(&random, count: 1...6, international: false))
            if random.permille(200) {
                // Lines a client reading by lines instead of by literal size would take for IMAP syntax.
                body += "A line that ends like an IMAP literal announcement {12}\r\n)\r\n* 1 FETCH (FLAGS ())\r\n"
            }
            if random.permille(700) {
                mime = ["Content-Type: text/plain; charset=us-ascii", "Content-Transfer-Encoding: 7bit"]
            }
        case .eightBitUTF8:
            body = Self.textBody(Self.paragraphs(&random, count: 1...5, international: true))
            mime = ["Content-Type: text/plain; charset=utf-8; format=flowed", "Content-Transfer-Encoding: 8bit"]
        case .quotedPrintable:
            var text = Self.paragraphs(&random, count: 1...4, international: true).joined(separator: "\n\n")
            text += "\nA line with trailing spaces   \nEquals: a=b, 1+1=2, =?not-an-encoded-word?=\n"
            text += String(repeating: "long-line-", count: 12) + "end\n"
            body = Self.quotedPrintable(text) + "\r\n"
            mime = ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: quoted-printable"]
        case .html:
            body = html(&random) + "\r\n"
            mime = ["Content-Type: text/html; charset=utf-8", "Content-Transfer-Encoding: 8bit"]
        case .alternative:
            let boundary = "alt-\(seed)-\(index)"
            let paragraphs = Self.paragraphs(&random, count: 1...4, international: true)
            let plain = Self.quotedPrintable(paragraphs.joined(separator: "\n\n"))
            let htmlPart = random.permille(500)
                ? ("base64", Self.base64Lines(Array(htmlDocument(paragraphs).utf8)))
                : ("quoted-printable", Self.quotedPrintable(htmlDocument(paragraphs)))
            mime = ["Content-Type: multipart/alternative;\r\n boundary=\"\(boundary)\""]
            body = [
                "This is a multi-part message in MIME format.", "", "--\(boundary)",
                "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: quoted-printable", "", plain,
                "--\(boundary)", "Content-Type: text/html; charset=utf-8", "Content-Transfer-Encoding: \(htmlPart.0)",
                "", htmlPart.1, "--\(boundary)--", "",
            ].joined(separator: "\r\n")
        case .attachments:
            let boundary = "mixed-\(seed)-\(index)"
            mime = ["Content-Type: multipart/mixed; boundary=\"\(boundary)\""]
            var parts = [textPart(&random)]
            let count = large ? 1 : random.between(1...3)
            for number in 0..<count {
                let size = large ? random.between(200_000...300_000)
                    : random.permille(700) ? random.between(1_000...8_000) : random.between(8_000...60_000)
                parts.append(attachment(&random, size: size, number: number))
            }
            body = Self.multipart(boundary: boundary, parts: parts)
        case .forwarded:
            let boundary = "fwd-\(seed)-\(index)"
            subject = "Fwd: " + subject
            mime = ["Content-Type: multipart/mixed; boundary=\"\(boundary)\""]
            let inner = innerMessage(&random, index: index)
            body = Self.multipart(boundary: boundary, parts: [
                "Content-Type: text/plain; charset=us-ascii\r\n\r\nForwarded message attached.\r\n",
                "Content-Type: message/rfc822\r\nContent-Disposition: \(random.permille(500) ? "inline" : "attachment; filename=\"forwarded.eml\"")\r\n\r\n" + inner,
            ])
        case .encodedWords:
            let latin = random.pick(["Café crème", "Größe und Maß", "Señor Muñoz", "Åsa Ødegård"])
            let unicode = random.pick(Self.international)
            subject = Self.qEncodedLatin1(latin) + "\r\n " + Self.encodedWords(unicode + " #\(index)")
            body = Self.textBody(Self.paragraphs(&random, count: 1...3, international: false))
            mime = ["Content-Type: text/plain; charset=us-ascii"]
            headers.append("Comments: " + Self.encodedWords("Kommentar: äöü ✓"))
        case .rfc2231Filename:
            let boundary = "rfc2231-\(seed)-\(index)"
            mime = ["Content-Type: multipart/mixed; boundary=\"\(boundary)\""]
            let short = random.pick(["Ärger-Bericht Q1.pdf", "Übersicht – 2023.xlsx", "résumé.pdf", "日本語の資料.docx"])
            let long = "Sehr langer Dateiname mit Umlauten äöü und noch viel mehr Text, damit er geteilt werden muss – "
                + "\(index).txt"
            // RFC 2231 §4.1: encoded continuations, split between whole %XX triplets.
            let continuation = Self.continuations(Self.percentEncoded(long), width: 60).enumerated().map { number, piece in
                number == 0 ? "filename*0*=UTF-8''\(piece)" : "filename*\(number)*=\(piece)"
            }.joined(separator: ";\r\n ")
            let first = random.bytes(random.between(500...3_000))
            let second = Array(String(repeating: "line of text\r\n", count: random.between(5...50)).utf8)
            body = Self.multipart(boundary: boundary, parts: [
                textPart(&random),
                "Content-Type: application/octet-stream;\r\n name*=UTF-8''\(Self.percentEncoded(short))\r\n"
                    + "Content-Disposition: attachment;\r\n filename*=UTF-8''\(Self.percentEncoded(short))\r\n"
                    + "Content-Transfer-Encoding: base64\r\n\r\n" + Self.base64Lines(first) + "\r\n",
                "Content-Type: text/plain; charset=utf-8\r\nContent-Disposition: attachment;\r\n \(continuation)\r\n"
                    + "Content-Transfer-Encoding: base64\r\n\r\n" + Self.base64Lines(second) + "\r\n",
            ])
        case .longHeaders:
            let references = (0..<random.between(30...60)).map { "<thread.\(seed).\(index).\($0)@old.example>" }
            headers.append("References: " + references.joined(separator: "\r\n "))
            headers.append("In-Reply-To: " + references.last!)
            let filler = (0..<200).map { _ in random.pick(Self.words) }.joined(separator: " ")
            var long = String(filler.prefix(random.between(900...960)))
            while long.hasSuffix(" ") { long.removeLast() }
            headers.append("X-Long-Unfolded: " + long)
            to = (0..<random.between(20...30)).map { "recipient\($0)@list.example" }.joined(separator: ",\r\n ")
            subject = "A long subject that goes on: " + (0..<20).map { _ in random.pick(Self.words) }
                .joined(separator: " ") + "\r\n and is folded onto a second line #\(index)"
            body = Self.textBody(Self.paragraphs(&random, count: 1...2, international: false))
            mime = ["Content-Type: text/plain; charset=us-ascii"]
        case .fixture:
            let fixture = Self.fixtures[index % Self.fixtures.count]
            if let bytes = try? Data(contentsOf: URL(fileURLWithPath: repositoryPath("Fixtures/mime/\(fixture).eml"))) {
                return Array("X-Corpus-Index: \(index)\r\nX-Corpus-Fixture: \(fixture)\r\n".utf8) + Self.crlf(Array(bytes))
            }
            body = "Fixture \(fixture) missing.\r\n"
        }
        if !mime.isEmpty { mime.insert("MIME-Version: 1.0", at: 0) }
        var lines = [
            "Date: \(date.headerText)", "From: \(from)", "To: \(to)",
        ]
        if random.permille(250) { lines.append("Cc: " + Self.address(random.pick(Self.people))) }
        lines.append("Subject: \(subject)")
        lines.append("Message-ID: <corpus.\(seed).\(index)@old.example>")
        lines.append("X-Corpus-Index: \(index)")
        lines += headers
        lines += mime
        return Array((lines.joined(separator: "\r\n") + "\r\n\r\n" + body).utf8)
    }

    static let fixtures = ["plain", "alternative", "attachments", "encoded-words", "forwarded", "nested", "digest",
                           "groups", "eightbit-headers"]

    /// Every line end made CRLF (the fixtures are CRLF already; this keeps that true if one is edited).
    static func crlf(_ bytes: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count + 64)
        for (offset, byte) in bytes.enumerated() {
            if byte == 10 && (offset == 0 || bytes[offset - 1] != 13) { result.append(13) }
            result.append(byte)
        }
        if result.suffix(2) != [13, 10] { result += [13, 10] }
        return result
    }

    static func multipart(boundary: String, parts: [String]) -> String {
        "This is a multi-part message in MIME format.\r\n\r\n"
            + parts.map { "--\(boundary)\r\n" + $0 }.joined(separator: "\r\n") + "\r\n--\(boundary)--\r\n"
    }

    private func textPart(_ random: inout SplitMix64) -> String {
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            + Self.textBody(Self.paragraphs(&random, count: 1...3, international: true))
    }

    private func attachment(_ random: inout SplitMix64, size: Int, number: Int) -> String {
        let kinds: [(type: String, name: String, magic: [UInt8])] = [
            ("application/pdf", "report-\(number).pdf", Array("%PDF-1.4\n".utf8)),
            ("image/png", "photo-\(number).png", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]),
            ("application/octet-stream", "data-\(number).bin", []),
            ("application/zip", "archive-\(number).zip", [0x50, 0x4B, 0x03, 0x04]),
        ]
        let kind = random.pick(kinds)
        let content = kind.magic + random.bytes(max(0, size - kind.magic.count))
        return "Content-Type: \(kind.type); name=\"\(kind.name)\"\r\n"
            + "Content-Disposition: attachment; filename=\"\(kind.name)\"\r\n"
            + "Content-Transfer-Encoding: base64\r\n\r\n" + Self.base64Lines(content) + "\r\n"
    }

    private func htmlDocument(_ paragraphs: [String]) -> String {
        let body = paragraphs.map { "<p>\($0.replacingOccurrences(of: "&", with: "&amp;"))</p>" }.joined(separator: "\n")
        return "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Message</title></head>\n<body>\n\(body)\n</body></html>"
    }

    private func html(_ random: inout SplitMix64) -> String {
        let paragraphs = Self.paragraphs(&random, count: 1...4, international: true)
        let rows = (0..<random.between(2...6)).map { row in
            "<tr><td>\(row)</td><td>\(Self.sentence(&random))</td></tr>"
        }.joined(separator: "\r\n")
        return "<html>\r\n<body>\r\n" + paragraphs.map { "<p>" + Self.wrap($0).joined(separator: "\r\n") + "</p>" }
            .joined(separator: "\r\n") + "\r\n<table border=\"1\">\r\n\(rows)\r\n</table>\r\n"
            + "<p><a href=\"https://old.example/link?a=1&amp;b=2\">A link</a></p>\r\n</body>\r\n</html>"
    }

    /// A whole message for a message/rfc822 part: plain, or multipart with a small attachment.
    private func innerMessage(_ random: inout SplitMix64, index: Int) -> String {
        let headers = [
            "Date: Mon, 3 Jun 2019 09:\(10 + index % 50):00 +0200", "From: \(Self.address(random.pick(Self.people)))",
            "To: \(Self.address(Self.owner))", "Subject: The original message \(index)",
            "Message-ID: <inner.\(seed).\(index)@elsewhere.example>", "MIME-Version: 1.0",
        ]
        if random.permille(500) {
            return (headers + ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"])
                .joined(separator: "\r\n") + "\r\n\r\n" + Self.textBody(Self.paragraphs(&random, count: 1...3, international: true))
        }
        let boundary = "inner-\(seed)-\(index)"
        return (headers + ["Content-Type: multipart/mixed; boundary=\"\(boundary)\""]).joined(separator: "\r\n")
            + "\r\n\r\n" + Self.multipart(boundary: boundary, parts: [
                textPart(&random), attachment(&random, size: random.between(500...4_000), number: 0),
            ])
    }
}
