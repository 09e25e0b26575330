// The byte streams that Tern's outgoing clients (the outbound queue's SMTP client, the migration's IMAP client)
// talk over: a socket, TLS over a socket, or an in-memory peer in tests. Every read and write has a deadline, so a
// silent or slow server can only cost the time the caller allows.

/// A blocking stream with deadlines, used by one thread at a time.
public protocol BlockingByteStream: AnyObject {
    /// Some bytes (at most `maxBytes`); empty when the peer closed. Throws on timeout or error.
    func read(maxBytes: Int, deadline: ContinuousClock.Instant) throws -> [UInt8]
    /// All of `bytes`. Throws on timeout or error.
    func write(_ bytes: [UInt8], deadline: ContinuousClock.Instant) throws
    func close()
}
