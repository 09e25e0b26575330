// Splits the byte stream from an IMAP server into complete responses for `ResponseParser`: a response is a line,
// and when that line ends with a literal announcement (`{n}` or `~{n}`), the n bytes and the rest of the response
// up to the next line end. Literal bytes are never scanned for line ends.
//
// Bounds: a line (without literal bytes) longer than `maxLineLength`, or a literal over `maxLiteral`, is an error:
// the client cannot go on with that server and says why. Buffer space is reclaimed as responses are taken, so a
// long session costs no more than its largest response.

public struct ResponseFramer: Sendable {
    public enum FramingError: Error, Sendable, Equatable, CustomStringConvertible {
        case lineTooLong(Int)
        case literalTooLarge(Int)
        public var description: String {
            switch self {
            case .lineTooLong(let limit): return "the server sent a line longer than \(limit) bytes"
            case .literalTooLarge(let limit): return "the server announced a literal larger than \(limit) bytes"
            }
        }
    }

    public let maxLineLength: Int
    public let maxLiteral: Int
    private var buffer: [UInt8] = []
    /// Where the response being assembled starts.
    private var start = 0
    /// Where the current line starts, and how far it was scanned for LF.
    private var lineStart = 0
    private var scanned = 0
    /// Literal bytes still to skip before the next line.
    private var literalRemaining = 0

    public init(maxLineLength: Int = 1 << 20, maxLiteral: Int = 1 << 30) {
        self.maxLineLength = maxLineLength
        self.maxLiteral = maxLiteral
    }

    /// Bytes received and not yet part of a returned response.
    public var bufferedCount: Int { buffer.count - start }

    public mutating func append(_ bytes: [UInt8]) {
        if start > 0, start >= buffer.count / 2 {
            buffer.removeFirst(start)
            lineStart -= start
            scanned -= start
            start = 0
        }
        buffer += bytes
    }

    /// The next complete response, or nil until more bytes arrive.
    public mutating func next() throws(FramingError) -> [UInt8]? {
        while true {
            if literalRemaining > 0 {
                let available = buffer.count - scanned
                if available < literalRemaining {
                    literalRemaining -= available
                    scanned = buffer.count
                    lineStart = scanned
                    return nil
                }
                scanned += literalRemaining
                lineStart = scanned
                literalRemaining = 0
            }
            guard let lf = buffer[scanned...].firstIndex(of: 0x0A) else {
                scanned = buffer.count
                if scanned - lineStart > maxLineLength { throw .lineTooLong(maxLineLength) }
                return nil
            }
            if lf - lineStart > maxLineLength { throw .lineTooLong(maxLineLength) }
            if let count = literalAnnouncement(endingBefore: lf) {
                guard count <= maxLiteral else { throw .literalTooLarge(maxLiteral) }
                literalRemaining = count
                scanned = lf + 1
                lineStart = scanned
                continue
            }
            let response = Array(buffer[start...lf])
            start = lf + 1
            lineStart = start
            scanned = start
            return response
        }
    }

    /// n if the line ending at `lf` (CR optional) ends with `{n}`, `{n+}` or `~{n}`.
    private func literalAnnouncement(endingBefore lf: Int) -> Int? {
        var end = lf
        if end > lineStart, buffer[end - 1] == 0x0D { end -= 1 }
        guard end > lineStart, buffer[end - 1] == UInt8(ascii: "}") else { return nil }
        var i = end - 2
        if i >= lineStart, buffer[i] == UInt8(ascii: "+") { i -= 1 }
        var value = 0
        var multiplier = 1
        var digits = 0
        while i >= lineStart, buffer[i] >= 0x30, buffer[i] <= 0x39 {
            guard digits < 12 else { return nil }
            value += Int(buffer[i] - 0x30) * multiplier
            multiplier *= 10
            digits += 1
            i -= 1
        }
        guard digits > 0, i >= lineStart, buffer[i] == UInt8(ascii: "{") else { return nil }
        return value
    }
}
