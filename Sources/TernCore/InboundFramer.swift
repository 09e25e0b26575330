// Cuts an inbound byte stream into frames: lines (IMAP commands, SMTP commands and DATA lines) or exact-length
// runs of bytes (IMAP literals, SMTP BDAT chunks).
//
// Invariants:
// - "Need more bytes" is not an error: `nextFrame()` returns nil and leaves every buffered byte in place.
// - A line longer than the limit is never buffered whole: the framer drops its bytes as they arrive and, once
//   its end is seen, reports `.lineTooLong` so the protocol can answer BAD / 500 and go on with the next line.
// - Exact-length reads are streamed: a 50 MB literal is delivered in chunks as it arrives, never buffered whole.

/// How the next bytes of a connection are to be cut.
public enum ReadMode: Equatable, Sendable {
    /// Lines ending in LF (a preceding CR is stripped too), at most `maxLength` bytes without the terminator.
    case line(maxLength: Int)
    /// Exactly `count` bytes, delivered as one or more chunks.
    case bytes(count: Int)
    /// SMTP DATA content (RFC 5321 §4.5.2): lines up to a line holding a single ".", delivered as `.data` chunks
    /// with the leading dot of stuffed lines removed and every line ending normalised to CRLF (a bare LF becomes
    /// CRLF, so what is stored is what IMAP clients expect and what is relayed cannot be read two ways). The
    /// terminating line is not delivered; bytes after it stay buffered for the next mode.
    case dotTerminated
}

/// One unit of input for a protocol.
public enum Frame: Equatable, Sendable {
    /// A complete line without its CRLF or LF.
    case line([UInt8])
    /// A line that exceeded the limit; its bytes were dropped. `length` counts the bytes seen, without terminator.
    case lineTooLong(length: Int)
    /// A chunk of an exact-length read; `remaining` bytes are still to come (0 on the last chunk).
    case bytes([UInt8], remaining: Int)
    /// A chunk of dot-terminated content (see `ReadMode.dotTerminated`); `end` on the last one, which may be empty.
    case data([UInt8], end: Bool)
}

public struct InboundFramer: Sendable {
    public private(set) var mode: ReadMode
    private var storage: [UInt8] = []
    private var readIndex = 0
    /// Where to resume the search for LF, so a long line arriving byte by byte is scanned once.
    private var scanIndex = 0
    /// While > 0 we are dropping an overlong line and have dropped this many bytes.
    private var discardedLineLength = 0
    private var remainingBytes = 0
    /// In `.dotTerminated` mode: the next byte starts a line (a dot there is stuffing or the terminator).
    private var atLineStart = true

    /// In `.dotTerminated` mode, a line without LF longer than this is delivered in pieces (content lines have no
    /// length limit, but buffering one must not be unbounded).
    static let dataPieceLimit = 64 * 1024

    public init(mode: ReadMode) {
        self.mode = mode
        if case .bytes(let count) = mode { remainingBytes = count }
    }

    /// Bytes buffered and not yet delivered.
    public var bufferedByteCount: Int { storage.count - readIndex }

    /// Switches mode; buffered bytes are cut according to the new mode from the next call on.
    public mutating func setMode(_ newMode: ReadMode) {
        mode = newMode
        if case .bytes(let count) = newMode { remainingBytes = count }
        if case .dotTerminated = newMode { atLineStart = true }
        scanIndex = readIndex
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compactIfWorthIt()
        storage.append(contentsOf: bytes)
    }

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        compactIfWorthIt()
        storage.append(contentsOf: bytes)
    }

    /// Removes and returns the bytes buffered and not yet delivered (to transform them, e.g. decompress).
    public mutating func takeBuffered() -> [UInt8] {
        let bytes = Array(storage[readIndex...])
        storage = []
        readIndex = 0
        scanIndex = 0
        return bytes
    }

    /// Drops everything buffered (STARTTLS: plaintext sent before the handshake is never executed after it).
    /// Returns the number of bytes dropped.
    @discardableResult
    public mutating func discardBuffered() -> Int {
        let dropped = bufferedByteCount + discardedLineLength
        storage = []
        readIndex = 0
        scanIndex = 0
        discardedLineLength = 0
        return dropped
    }

    public mutating func nextFrame() -> Frame? {
        switch mode {
        case .line(let maxLength): return nextLine(maxLength: maxLength)
        case .bytes: return nextChunk()
        case .dotTerminated: return nextData()
        }
    }

    private mutating func nextData() -> Frame? {
        var output: [UInt8] = []
        var index = readIndex
        let end = storage.count
        while index < end {
            guard let newline = storage[index..<end].firstIndex(of: UInt8(ascii: "\n")) else { break }
            var lineEnd = newline
            if lineEnd > index && storage[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
            var lineStart = index
            if atLineStart && lineStart < lineEnd && storage[lineStart] == UInt8(ascii: ".") {
                if lineEnd - lineStart == 1 {
                    // The terminator.
                    readIndex = newline + 1
                    scanIndex = readIndex
                    atLineStart = true
                    if readIndex == storage.count { resetStorage() }
                    return .data(output, end: true)
                }
                lineStart += 1
            }
            if output.isEmpty { output.reserveCapacity(min(end - readIndex + 64, 1 << 20)) }
            output.append(contentsOf: storage[lineStart..<lineEnd])
            output.append(UInt8(ascii: "\r"))
            output.append(UInt8(ascii: "\n"))
            atLineStart = true
            index = newline + 1
        }
        // A long partial line goes out in pieces; a CR at its end waits, it may be half of the terminator.
        let partialEnd = end > index && storage[end - 1] == UInt8(ascii: "\r") ? end - 1 : end
        if partialEnd - index > Self.dataPieceLimit {
            var pieceStart = index
            if atLineStart && storage[pieceStart] == UInt8(ascii: ".") { pieceStart += 1 }
            output.append(contentsOf: storage[pieceStart..<partialEnd])
            atLineStart = false
            index = partialEnd
        }
        readIndex = index
        scanIndex = index
        if readIndex == storage.count { resetStorage() }
        return output.isEmpty ? nil : .data(output, end: false)
    }

    private mutating func nextLine(maxLength: Int) -> Frame? {
        if scanIndex < readIndex { scanIndex = readIndex }
        guard let newline = storage[scanIndex...].firstIndex(of: UInt8(ascii: "\n")) else {
            scanIndex = storage.count
            let pending = storage.count - readIndex
            // +1 leaves room for a CR that belongs to the terminator.
            if pending > maxLength + 1 {
                // Keep a trailing CR: it may be the first half of the terminator, not part of the line.
                let keep = storage.last == UInt8(ascii: "\r") ? 1 : 0
                discardedLineLength += pending - keep
                readIndex = storage.count - keep
                scanIndex = readIndex
                compactIfWorthIt()
            }
            return nil
        }
        var end = newline
        if end > readIndex && storage[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        let length = end - readIndex
        let start = readIndex
        readIndex = newline + 1
        scanIndex = readIndex
        if discardedLineLength > 0 || length > maxLength {
            let total = discardedLineLength + length
            discardedLineLength = 0
            return .lineTooLong(length: total)
        }
        let line = Array(storage[start..<end])
        if readIndex == storage.count { resetStorage() }
        return .line(line)
    }

    private mutating func nextChunk() -> Frame? {
        let available = storage.count - readIndex
        guard available > 0 || remainingBytes == 0 else { return nil }
        let take = min(available, remainingBytes)
        let chunk = Array(storage[readIndex..<(readIndex + take)])
        readIndex += take
        remainingBytes -= take
        if readIndex == storage.count { resetStorage() }
        return .bytes(chunk, remaining: remainingBytes)
    }

    private mutating func resetStorage() {
        // Keep small buffers for reuse; give large ones back so idle connections stay small.
        if storage.capacity > 16 * 1024 {
            storage = []
        } else {
            storage.removeAll(keepingCapacity: true)
        }
        readIndex = 0
        scanIndex = 0
    }

    private mutating func compactIfWorthIt() {
        guard readIndex > 0 else { return }
        if readIndex == storage.count {
            resetStorage()
        } else if readIndex >= 4096 && readIndex * 2 >= storage.count {
            storage.removeFirst(readIndex)
            scanIndex -= readIndex
            readIndex = 0
        }
    }
}
