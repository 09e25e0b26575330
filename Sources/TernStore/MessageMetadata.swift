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

    public init(envelope: [UInt8], bodyStructure: [UInt8], body: [UInt8], sentDate: Int64?) {
        self.envelope = envelope
        self.bodyStructure = bodyStructure
        self.body = body
        self.sentDate = sentDate
    }

    /// Parses a message once (bounded: see MIMELimits) and renders what is cached.
    public init(parsing bytes: [UInt8]) {
        let message = MIMEMessage(parsing: bytes)
        envelope = IMAPRendering.envelope(of: message.root)
        bodyStructure = IMAPRendering.bodyStructure(of: message.root, extended: true)
        body = IMAPRendering.bodyStructure(of: message.root, extended: false)
        sentDate = message.root.header.unfoldedValue("Date").flatMap { MessageDate.parse($0) }?.secondsSinceEpoch
    }
}
