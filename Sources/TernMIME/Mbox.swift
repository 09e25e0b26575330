// Reading mbox files (RFC 4155; the mboxrd convention): messages separated by "From " lines, each preceded by an
// empty line (or at the start of the file); ">From ", ">>From "… in a body lose one ">". Line ends become CRLF,
// as stored mail has them. The mbox metadata fields that servers and mail programs keep in the header (Status,
// X-Status, X-Keywords, X-Mozilla-Status…) become flags and keywords and are removed from the message, as an
// IMAP server reading the mbox would have shown it.
//
// Incremental: `feed` takes the file in chunks of any size and returns the messages completed so far, so a
// multi-gigabyte mbox never sits in memory whole.

public struct MboxMessage: Sendable, Equatable {
    /// The message with CRLF line ends and without the mbox metadata fields.
    public var bytes: [UInt8]
    /// IMAP system flags without the backslash: Seen, Answered, Flagged, Deleted, Draft.
    public var flags: Set<String>
    public var keywords: [String]
    /// The date of the "From " line (asctime, taken as UTC), seconds since 1970; nil if unreadable.
    public var date: Int64?
}

public struct MboxReader: Sendable {
    private var pending: [UInt8] = []
    private var current: [[UInt8]]? = nil
    private var currentDate: Int64?
    private var previousLineEmpty = true
    /// Bytes before the first "From " line (not an mbox if non-empty and not blank).
    public private(set) var leadingGarbage = 0

    public init() {}

    /// Feeds the next bytes of the file; returns the messages that ended in them.
    public mutating func feed(_ chunk: some Collection<UInt8>) -> [MboxMessage] {
        pending.append(contentsOf: chunk)
        var messages: [MboxMessage] = []
        var start = 0
        while let newline = pending[start...].firstIndex(of: 10) {
            var end = newline
            if end > start && pending[end - 1] == 13 { end -= 1 }
            if let message = line(Array(pending[start..<end])) { messages.append(message) }
            start = newline + 1
        }
        pending.removeFirst(start)
        return messages
    }

    /// The end of the file: the last message.
    public mutating func finish() -> [MboxMessage] {
        var messages: [MboxMessage] = []
        if !pending.isEmpty {
            if let message = line(pending) { messages.append(message) }
            pending = []
        }
        if let message = complete() { messages.append(message) }
        return messages
    }

    private mutating func line(_ line: [UInt8]) -> MboxMessage? {
        defer { previousLineEmpty = line.isEmpty }
        if previousLineEmpty, line.starts(with: Array("From ".utf8)) {
            let finished = complete()
            current = []
            currentDate = Self.asctimeDate(line)
            return finished
        }
        guard current != nil else {
            if !line.isEmpty { leadingGarbage += line.count + 1 }
            return nil
        }
        // mboxrd: ">From " (any number of ">") loses one ">".
        var content = line
        if content.first == UInt8(ascii: ">") {
            let rest = content.drop { $0 == UInt8(ascii: ">") }
            if rest.starts(with: Array("From ".utf8)) { content.removeFirst() }
        }
        current!.append(content)
        return nil
    }

    private mutating func complete() -> MboxMessage? {
        guard var lines = current else { return nil }
        current = nil
        // The empty line before the next "From " separates messages; it is not part of this one.
        if lines.last?.isEmpty == true { lines.removeLast() }
        var flags: Set<String> = []
        var keywords: [String] = []
        var bytes: [UInt8] = []
        var inHeader = true
        var skippingContinuation = false
        for line in lines {
            if inHeader {
                if line.isEmpty {
                    inHeader = false
                } else if line.first == 32 || line.first == 9 {
                    if skippingContinuation { continue }
                } else if let (name, value) = Self.field(line), Self.metadataFields.contains(name) {
                    skippingContinuation = true
                    Self.apply(name, value, flags: &flags, keywords: &keywords)
                    continue
                } else {
                    skippingContinuation = false
                }
            }
            bytes.append(contentsOf: line)
            bytes.append(contentsOf: [13, 10])
        }
        return MboxMessage(bytes: bytes, flags: flags, keywords: keywords, date: currentDate)
    }

    static let metadataFields: Set<String> = [
        "status", "x-status", "x-keywords", "x-uid", "x-imap", "x-imapbase", "content-length", "x-mozilla-status",
        "x-mozilla-status2", "x-mozilla-keys",
    ]

    private static func field(_ line: [UInt8]) -> (String, String)? {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0 else { return nil }
        let name = String(decoding: line[..<colon], as: UTF8.self).lowercased()
        let value = String(decoding: line[(colon + 1)...], as: UTF8.self).trimmingCharacters(in: " \t")
        return (name, value)
    }

    private static func apply(_ name: String, _ value: String, flags: inout Set<String>, keywords: inout [String]) {
        switch name {
        case "status":
            if value.contains("R") { flags.insert("Seen") }
        case "x-status":
            if value.contains("A") { flags.insert("Answered") }
            if value.contains("F") { flags.insert("Flagged") }
            if value.contains("T") { flags.insert("Draft") }
            if value.contains("D") { flags.insert("Deleted") }
        case "x-keywords", "x-mozilla-keys":
            for word in value.split(whereSeparator: { $0 == " " || $0 == "," }) where !keywords.contains(String(word)) {
                keywords.append(String(word))
            }
        case "x-mozilla-status":
            // Thunderbird: 0x1 read, 0x2 replied, 0x4 marked, 0x8 deleted, 0x1000 forwarded.
            guard let bits = UInt32(value, radix: 16) else { return }
            if bits & 0x1 != 0 { flags.insert("Seen") }
            if bits & 0x2 != 0 { flags.insert("Answered") }
            if bits & 0x4 != 0 { flags.insert("Flagged") }
            if bits & 0x8 != 0 { flags.insert("Deleted") }
            if bits & 0x1000 != 0, !keywords.contains("$Forwarded") { keywords.append("$Forwarded") }
        default:
            break
        }
    }

    /// `From sender Sat Nov 21 10:00:00 2026` (asctime, optionally with a zone before or after the year).
    static func asctimeDate(_ line: [UInt8]) -> Int64? {
        let words = String(decoding: line, as: UTF8.self).split(separator: " ").map(String.init)
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard let monthIndex = words.firstIndex(where: { months.contains($0) }), monthIndex + 2 < words.count,
              let month = months.firstIndex(of: words[monthIndex]), let day = Int(words[monthIndex + 1]) else { return nil }
        let time = words[monthIndex + 2].split(separator: ":").compactMap { Int($0) }
        guard time.count >= 2, let year = words[(monthIndex + 3)...].lazy.compactMap({ Int($0) }).first(where: { $0 > 1900 })
        else { return nil }
        return MessageDate.epochSeconds(year: year, month: month + 1, day: day, hour: time[0], minute: time[1],
                                        second: time.count > 2 ? time[2] : 0)
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var slice = Substring(self)
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}
