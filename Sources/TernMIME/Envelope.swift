// The ENVELOPE fields of a message (RFC 9051 §7.5.2), taken from its header as Dovecot does: for date, subject,
// In-Reply-To and Message-ID the last field wins; address fields of the same name are merged as one list (so a
// second From cannot hide behind the first).

/// A message's envelope, raw: strings are header values unfolded but not decoded.
public struct Envelope: Sendable, Equatable {
    public var date: [UInt8]?
    public var subject: [UInt8]?
    public var from: [Address]
    public var sender: [Address]
    public var replyTo: [Address]
    public var to: [Address]
    public var cc: [Address]
    public var bcc: [Address]
    public var inReplyTo: [UInt8]?
    public var messageID: [UInt8]?

    public init(header: MessageHeader, limits: MIMELimits = .default) {
        func addresses(_ name: String) -> [Address] {
            var list: [Address] = []
            for field in header.fields(named: name) where list.count < limits.maxAddressesPerField {
                list += Address.parseList(header.rawValue(of: field), limit: limits.maxAddressesPerField - list.count)
            }
            return list
        }
        date = header.lastUnfoldedValue("Date")
        subject = header.lastUnfoldedValue("Subject")
        from = addresses("From")
        sender = addresses("Sender")
        replyTo = addresses("Reply-To")
        to = addresses("To")
        cc = addresses("Cc")
        bcc = addresses("Bcc")
        inReplyTo = header.lastUnfoldedValue("In-Reply-To")
        messageID = header.lastUnfoldedValue("Message-ID")
    }
}
