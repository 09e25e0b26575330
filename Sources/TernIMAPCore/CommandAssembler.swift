// Assembles one IMAP command from framed input: the lines (without CRLF) and the literal bytes between them.
//
// Invariants:
// - The assembler never interprets a command beyond its tag, its name (APPEND or not) and the literal
//   announcement at the end of each line (`{n}`, `{n+}`, `~{n}`, `~{n+}`: RFC 9051 §4.3, RFC 7888, RFC 3516).
//   A line ending in `{…}` always announces a literal: no other IMAP token can end that way.
// - Every size is checked before the bytes are accepted: a literal over its limit is refused at its announcement,
//   so a refused literal is never buffered (the server tells the framer to skip it, or closes).
// - After `.complete`, `.literalRejected` and `.lineTooLong` the assembler is empty and ready for the next command.
//
// Protocol with the connection (the framer delivers `.line` and `.bytes(chunk, remaining:)`):
//   `.needLiteral(count, synchronizing)`: if synchronizing, write `+ Ready`; switch the framer to read exactly
//   `count` bytes (when `count` is 0 nothing is read: stay in line mode). Each chunk goes to `receiveLiteral`,
//   which answers `.needMoreLiteralBytes`; after the chunk with `remaining == 0` switch back to line mode: the
//   command goes on with the next line.

/// Turns framed lines and literal chunks into complete command buffers for `CommandParser.parse`.
public struct CommandAssembler: Sendable {
    public enum Event: Equatable, Sendable {
        /// The whole command: line CRLF literal-bytes line CRLF … (ready for `CommandParser.parse`).
        case complete([UInt8])
        /// A literal follows. If synchronizing, the server writes `+ Ready\r\n`; then it reads exactly `count` bytes
        /// and passes them to `receiveLiteral`. A count of 0 means no bytes: the next input is a line.
        case needLiteral(count: Int, synchronizing: Bool)
        /// A chunk was consumed. More of the literal is coming, or (when the chunk's `remaining` was 0) the literal
        /// is complete and the command continues with the next line.
        case needMoreLiteralBytes
        /// A literal over its limit; the assembler is reset. Synchronizing: the server replies `tag NO [TOOBIG]`
        /// (APPEND) or `tag BAD` and goes on; non-synchronizing: the bytes are already on their way, so the server
        /// says `* BYE [TOOBIG]` and closes (RFC 7888 §4). `count` is `Int.max` when the number did not fit.
        case literalRejected(tag: Tag?, count: Int, synchronizing: Bool, isAppend: Bool)
        /// A line, or the lines of one command together, exceeded `maxLineLength`; the assembler is reset.
        case lineTooLong
    }

    public let limits: IMAPLimits
    private var buffer: [UInt8] = []
    private var tag: Tag?
    private var isAppend = false
    private var lineBytes = 0
    private var literalBytes = 0
    /// Bytes of the current literal still expected; nil when a line is expected.
    private var literalRemaining: Int?

    public init(limits: IMAPLimits = .default) {
        self.limits = limits
    }

    /// True while a command has begun and is not complete yet.
    public var isAssembling: Bool { !buffer.isEmpty }

    /// True while literal bytes (not a line) are expected.
    public var isExpectingLiteralBytes: Bool { literalRemaining != nil }

    public mutating func reset() {
        buffer = []
        tag = nil
        isAppend = false
        lineBytes = 0
        literalBytes = 0
        literalRemaining = nil
    }

    /// The framer reported an overlong line: the command is abandoned.
    public mutating func lineTooLong() -> Event {
        reset()
        return .lineTooLong
    }

    /// One line without its CRLF. A line arriving while literal bytes are expected starts a new command (the
    /// connection mixed up its modes; the half-assembled command is dropped).
    public mutating func receiveLine(_ line: [UInt8]) -> Event {
        if literalRemaining != nil { reset() }
        lineBytes += line.count
        if line.count > limits.maxLineLength || lineBytes > limits.maxLineLength {
            reset()
            return .lineTooLong
        }
        if buffer.isEmpty { readTagAndName(line) }
        buffer += line
        buffer += [0x0D, 0x0A]
        guard let announced = Self.literalAnnouncement(line) else {
            let command = buffer
            reset()
            return .complete(command)
        }
        let count = announced.count
        let rejected: Bool
        if let maxNonSync = limits.maxNonSynchronizingLiteral, !announced.synchronizing, count > maxNonSync {
            rejected = true
        } else if isAppend {
            rejected = count > limits.maxAppendLiteral || count > limits.maxAppendTotal - literalBytes
        } else {
            rejected = count > limits.maxOtherLiteral - literalBytes
        }
        if rejected {
            let event = Event.literalRejected(
                tag: tag, count: count, synchronizing: announced.synchronizing, isAppend: isAppend)
            reset()
            return event
        }
        literalBytes += count
        literalRemaining = count == 0 ? nil : count
        return .needLiteral(count: count, synchronizing: announced.synchronizing)
    }

    /// A chunk of the literal announced last; `remaining` is what the framer still has to deliver. Bytes beyond
    /// the announced count are ignored (the framer never sends them).
    public mutating func receiveLiteral(_ chunk: [UInt8], remaining: Int) -> Event {
        guard let expected = literalRemaining else { return .needMoreLiteralBytes }
        let take = min(expected, chunk.count)
        buffer += chunk[0..<take]
        let left = expected - take
        literalRemaining = left == 0 ? nil : left
        return .needMoreLiteralBytes
    }

    /// The tag (first token) and whether the command carries a message (APPEND, REPLACE, UID REPLACE: RFC 8508
    /// messages get APPEND's literal limits), from the first line.
    private mutating func readTagAndName(_ line: [UInt8]) {
        let tokens = line.split(separator: 0x20, maxSplits: 3, omittingEmptySubsequences: false)
        if let first = tokens.first, !first.isEmpty, first.allSatisfy(IMAPCharacter.isTagChar) {
            tag = String(decoding: first, as: UTF8.self)
        }
        func word(_ index: Int, is name: String) -> Bool {
            index < tokens.count && tokens[index].count == name.utf8.count
                && tokens[index].map(IMAPCharacter.uppercased).elementsEqual(name.utf8)
        }
        isAppend = word(1, is: "APPEND") || word(1, is: "REPLACE") || (word(1, is: "UID") && word(2, is: "REPLACE"))
    }

    /// `{n}`, `{n+}`, `~{n}`, `~{n+}` at the end of a line: the count (Int.max when it overflows) and the kind.
    static func literalAnnouncement(_ line: [UInt8]) -> (count: Int, synchronizing: Bool)? {
        guard line.last == UInt8(ascii: "}") else { return nil }
        var end = line.count - 1
        var synchronizing = true
        if end > 0, line[end - 1] == UInt8(ascii: "+") {
            synchronizing = false
            end -= 1
        }
        var start = end
        while start > 0, IMAPCharacter.isDigit(line[start - 1]) { start -= 1 }
        guard start < end, start > 0, line[start - 1] == UInt8(ascii: "{") else { return nil }
        var count = 0
        for digit in line[start..<end] {
            let (times, overflow1) = count.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(Int(digit - UInt8(ascii: "0")))
            if overflow1 || overflow2 { return (Int.max, synchronizing) }
            count = sum
        }
        return (count, synchronizing)
    }
}
