// Every size an attacker controls while Tern parses a message, as one value with documented defaults.
// Past a limit the parser degrades (flattens, stops recording) and keeps going; it never fails or traps.

/// Limits applied by `MIMEMessage(parsing:limits:)`.
public struct MIMELimits: Sendable, Equatable {
    /// Multipart and message/rfc822 levels parsed below the top-level message. A deeper multipart or message
    /// part is kept as one opaque leaf (rendered as application/octet-stream, like Dovecot's truncated parts).
    /// Bounds the parser's recursion and its work at depth × size. RFC 2046 §5.1 sets no limit; Dovecot's
    /// default (`MESSAGE_PARSER_DEFAULT_MAX_NESTED_MIME_PARTS`) is 100.
    public var maxNestingDepth: Int
    /// Parts in one message, all levels counted. Further multiparts become opaque leaves.
    public var maxParts: Int
    /// Header fields recorded per part; later fields still belong to the header bytes but are not interpreted.
    public var maxHeaderFieldsPerPart: Int
    /// Addresses taken from one address header (From, To, ...); the rest are dropped.
    public var maxAddressesPerField: Int

    public init(
        maxNestingDepth: Int = 100, maxParts: Int = 10_000, maxHeaderFieldsPerPart: Int = 1_000,
        maxAddressesPerField: Int = 10_000
    ) {
        self.maxNestingDepth = maxNestingDepth
        self.maxParts = maxParts
        self.maxHeaderFieldsPerPart = maxHeaderFieldsPerPart
        self.maxAddressesPerField = maxAddressesPerField
    }

    public static let `default` = MIMELimits()
}
