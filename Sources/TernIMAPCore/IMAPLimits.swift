// Every size an IMAP client controls before a command is parsed, as one named limit each (STYLE.md §4).
// The assembler enforces the literal and line limits while input arrives; the parser enforces nesting and list
// sizes, and re-checks the literal limits, so a buffer assembled elsewhere gets the same bounds.

/// Bounds on one IMAP command. All counts are bytes unless said otherwise.
public struct IMAPLimits: Sendable, Equatable {
    /// The longest line, without CRLF and without literal bytes (64 KiB). The same bound applies to the sum of
    /// all lines of one command, so many small literals cannot make a command's text unbounded.
    /// RFC 9051 §4 leaves line length to the server; RFC 7162 §4 asks for at least 8192 octets.
    public var maxLineLength: Int
    /// The largest APPEND literal (50 MiB), advertised as RFC 7889 `APPENDLIMIT`.
    public var maxAppendLiteral: Int
    /// The sum of all literals of one MULTIAPPEND command (RFC 3502), 200 MiB.
    public var maxAppendTotal: Int
    /// The sum of all literals in one command other than APPEND (LOGIN passwords, SEARCH strings, mailbox
    /// names), 64 KiB.
    public var maxOtherLiteral: Int
    /// The largest non-synchronizing literal (`{n+}`), or nil for no limit beyond the others (`LITERAL+`).
    /// Set it to 4096 when advertising `LITERAL-` instead (RFC 7888 §4).
    public var maxNonSynchronizingLiteral: Int?
    /// How deep parenthesised lists, NOT and OR may nest (64).
    public var maxNestingDepth: Int
    /// The most items in one list: sequence-set ranges, search keys, fetch attributes, flags, patterns (100 000).
    public var maxListItems: Int

    public init(
        maxLineLength: Int = 64 * 1024,
        maxAppendLiteral: Int = 50 * 1024 * 1024,
        maxAppendTotal: Int = 200 * 1024 * 1024,
        maxOtherLiteral: Int = 64 * 1024,
        maxNonSynchronizingLiteral: Int? = nil,
        maxNestingDepth: Int = 64,
        maxListItems: Int = 100_000
    ) {
        self.maxLineLength = maxLineLength
        self.maxAppendLiteral = maxAppendLiteral
        self.maxAppendTotal = maxAppendTotal
        self.maxOtherLiteral = maxOtherLiteral
        self.maxNonSynchronizingLiteral = maxNonSynchronizingLiteral
        self.maxNestingDepth = maxNestingDepth
        self.maxListItems = maxListItems
    }

    public static let `default` = IMAPLimits()
}
