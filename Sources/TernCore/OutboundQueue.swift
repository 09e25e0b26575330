// Bytes waiting to be written to a socket, as a list of chunks so large writes are never copied into one array.
// The event loop writes them with writev and reports how many bytes went out.

public struct OutboundQueue: Sendable {
    private var chunks: [[UInt8]] = []
    /// Bytes of `chunks[0]` already written.
    private var headOffset = 0
    public private(set) var byteCount = 0

    public init() {}

    public var isEmpty: Bool { byteCount == 0 }

    public mutating func append(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        // Coalesce small writes into the tail chunk so a burst of short replies becomes one iovec.
        if let last = chunks.indices.last, chunks[last].count < 4096, bytes.count < 4096 {
            chunks[last].append(contentsOf: bytes)
        } else {
            chunks.append(bytes)
        }
        byteCount += bytes.count
    }

    /// The number of chunks pending (1 is the common case: one coalesced reply).
    public var chunkCount: Int { chunks.count }

    /// Calls `body` with the first pending span (the fast path when `chunkCount == 1`).
    public func withFirstSpan<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        guard let first = chunks.first else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        return try first.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[headOffset...])) }
    }

    /// Calls `body` with up to `maxChunks` pending spans, in order.
    public func withPendingSpans<R>(maxChunks: Int, _ body: ([UnsafeRawBufferPointer]) throws -> R) rethrows -> R {
        var spans: [UnsafeRawBufferPointer] = []
        return try withPendingSpans(index: 0, maxChunks: maxChunks, into: &spans, body)
    }

    // Recursion keeps each chunk's pointer valid while the spans are in use.
    private func withPendingSpans<R>(
        index: Int, maxChunks: Int, into spans: inout [UnsafeRawBufferPointer],
        _ body: ([UnsafeRawBufferPointer]) throws -> R
    ) rethrows -> R {
        guard index < chunks.count, index < maxChunks else { return try body(spans) }
        return try chunks[index].withUnsafeBytes { raw in
            spans.append(index == 0 ? UnsafeRawBufferPointer(rebasing: raw[headOffset...]) : raw)
            return try withPendingSpans(index: index + 1, maxChunks: maxChunks, into: &spans, body)
        }
    }

    /// Drops `count` bytes from the front after a successful write.
    public mutating func consume(_ count: Int) {
        precondition(count <= byteCount, "consumed more than queued")
        var left = count
        byteCount -= count
        while left > 0 {
            let headRemaining = chunks[0].count - headOffset
            if left >= headRemaining {
                left -= headRemaining
                if chunks.count == 1 {
                    chunks.removeAll(keepingCapacity: true)
                } else {
                    chunks.removeFirst()
                }
                headOffset = 0
            } else {
                headOffset += left
                left = 0
            }
        }
        // Keep a small chunk list for the next reply; drop a long one.
        if chunks.isEmpty && chunks.capacity > 16 { chunks = [] }
    }

    public mutating func removeAll() {
        chunks = []
        headOffset = 0
        byteCount = 0
    }
}
