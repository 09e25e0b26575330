// What the one MIME parse at delivery leaves in the index: the IMAP renderings of ENVELOPE, BODYSTRUCTURE and BODY
// (exact response bytes, so FETCH of them never reads or parses the file) and the Date header as a point in time
// (SEARCH SENTBEFORE/SENTSINCE, SORT DATE). Rows written before schema version 4, or rebuilt from files, have none:
// readers parse the file then.

import TernMIME

public struct MessageMetadata: Sendable, Equatable {
    public let envelope: [UInt8]
    public let bodyStructure: [UInt8]
    public let body: [UInt8]
    /// Seconds since the epoch of the Date header; nil if missing or unreadable.
    public let sentDate: Int64?
    /// Decoded, lower-cased text for the full-text index; only present right after a parse (not read back).
    public let text: SearchableText?
    /// The top-level header as stored, up to and including the blank line (schema v12), for header FETCHes without
    /// opening the file; nil if longer than `maxCachedHeader` or not cached.
    public let header: [UInt8]?

    /// Headers longer than this stay in the file only (a mail program's header sync reads a few fields of each).
    public static let maxCachedHeader = 16 * 1024

    public init(envelope: [UInt8], bodyStructure: [UInt8], body: [UInt8], sentDate: Int64?, text: SearchableText? = nil,
                header: [UInt8]? = nil) {
        self.envelope = envelope
        self.bodyStructure = bodyStructure
        self.body = body
        self.sentDate = sentDate
        self.text = text
        self.header = header
    }

    public static func == (a: MessageMetadata, b: MessageMetadata) -> Bool {
        a.envelope == b.envelope && a.bodyStructure == b.bodyStructure && a.body == b.body && a.sentDate == b.sentDate
    }

    /// Parses a message once (bounded: see MIMELimits) and renders what is cached; `withText: false` leaves the
    /// full-text values to the background indexer.
    public init(parsing bytes: [UInt8], withText: Bool = true) {
        let message = MIMEMessage(parsing: bytes)
        envelope = IMAPRendering.envelope(of: message.root)
        bodyStructure = IMAPRendering.bodyStructure(of: message.root, extended: true)
        body = IMAPRendering.bodyStructure(of: message.root, extended: false)
        sentDate = message.root.header.unfoldedValue("Date").flatMap { MessageDate.parse($0) }?.secondsSinceEpoch
        text = withText ? SearchableText(message) : nil
        header = message.root.headerRange.count <= Self.maxCachedHeader ? Array(message.root.headerBytes) : nil
    }
}

/// The text IMAP SEARCH looks in, decoded (encoded words, transfer encodings, charsets) and lower-cased, one value
/// per FTS column. Kept in `header_text` and `body_text` (FullText.swift).
public struct SearchableText: Sendable {
    public static let columns = ["subject", "sender", "recipient", "cc", "bcc", "headers", "body"]
    public let values: [String]

    /// Bodies past this many characters are not indexed further (SEARCH BODY then misses text beyond it).
    public static let maxBodyCharacters = 1_000_000

    init(parsing bytes: [UInt8]) { self.init(MIMEMessage(parsing: bytes)) }

    init(_ message: MIMEMessage) {
        let header = message.root.header
        // Each address field as written (decoded) and as parsed addresses (`<a (comment)@ (c) b.org>` is also
        // found as `a@b.org`, as SEARCH FROM wants).
        func field(_ name: String) -> String {
            var parts = header.decodedValues(name)
            for field in header.fields(named: name) where name != "Subject" {
                parts += Address.parseList(header.rawValue(of: field)).compactMap(\.addressSpec)
            }
            return lowercasedForSearch(parts.joined(separator: "\n"))
        }
        var headers = ""
        for field in header.fields {
            headers += field.name + ": " + (header.decodedValue(field.name) ?? "") + "\n"
        }
        var body = message.searchableText.joined(separator: "\n")
        // Counting characters walks grapheme clusters: compare bytes first (a character is at least one byte).
        if body.utf8.count > Self.maxBodyCharacters, body.count > Self.maxBodyCharacters {
            body = String(body.prefix(Self.maxBodyCharacters))
        }
        values = [field("Subject"), field("From"), field("To"), field("Cc"), field("Bcc"), lowercasedForSearch(headers),
                  lowercasedForSearch(body)]
    }
}
