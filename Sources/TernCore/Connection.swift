// The connection abstraction that protocol servers are written against. Protocol modules never see a socket:
// the event loop (TernPosix) implements `ConnectionContext`, and tests can implement it in memory.
//
// Threading: a connection lives on one event loop for its whole life. Every method of `ConnectionContext` and
// every callback of `ConnectionHandler` runs on that loop's thread; nothing here is Sendable.

/// A process-unique connection number, used in logs (`conn=42`).
public struct ConnectionID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public var description: String { String(rawValue) }
}

/// Why a connection ended.
public enum CloseReason: Equatable, Sendable {
    /// The server closed it (the handler asked, or shutdown finished).
    case closedByServer
    /// The peer closed its side or reset the connection.
    case closedByPeer
    /// No input for longer than the idle timeout.
    case idleTimeout
    /// The peer stopped reading and our output stayed stuck longer than the write timeout.
    case writeTimeout
    /// TLS failed (bad handshake, protocol version refused, corrupt record).
    case tlsFailure(String)
    /// A socket error.
    case ioError(String)
    /// The server shut down and the connection did not finish within the grace period.
    case shutdownDeadline
}

/// What a protocol handler may do with its connection.
public protocol ConnectionContext: AnyObject {
    var id: ConnectionID { get }
    /// The peer's address as text (`127.0.0.1`, `::1`), without port.
    var peerHost: String { get }
    var peerPort: UInt16 { get }
    /// True once TLS is established (implicit TLS or after STARTTLS).
    var isSecure: Bool { get }
    /// True if the listener can upgrade this connection with `startTLS()`.
    var canStartTLS: Bool { get }
    /// A description of the negotiated TLS session (`TLSv1.3 TLS_AES_256_GCM_SHA384`), for trace headers.
    var tlsDescription: String? { get }

    /// How the next input bytes are cut into frames. Takes effect for bytes not yet delivered.
    var readMode: ReadMode { get set }

    /// Queues bytes for output. Writes are coalesced and flushed when the current event has been handled.
    func write(_ bytes: [UInt8])
    /// Bytes written but not yet taken by the socket; a handler producing a lot of output (FETCH 1:*) waits for
    /// this to drop before producing more.
    var pendingOutputBytes: Int { get }
    /// Upgrades to TLS after the plaintext reply already written. Input buffered so far is discarded
    /// (CVE-2011-0411: commands pipelined before the handshake must never run after it); returns the number of
    /// bytes dropped. Throws if the listener has no TLS, or TLS is already on.
    @discardableResult
    func startTLS() throws -> Int
    /// Stops delivering frames until `resumeReading()`; used while a command waits for the blocking pool.
    func pauseReading()
    func resumeReading()
    /// Flushes queued output, then closes.
    func close()
    /// Changes the idle timeout (nil: none). The default comes from the listener.
    func setIdleTimeout(_ timeout: Duration?)
    /// Runs `work` on the blocking pool, then `completion` on this connection's loop. If the pool is saturated or
    /// the connection closes first, `completion` receives the error / is dropped respectively.
    func offload<T: Sendable>(
        _ work: @escaping @Sendable () throws -> T,
        completion: @escaping (Result<T, any Error>) -> Void
    )
    /// Runs `body` on this connection's loop after `delay`, unless the connection is closed by then.
    func schedule(after delay: Duration, _ body: @escaping () -> Void)
    /// A handle other threads use to run `body` on this connection's loop (e.g. a store change for an idling
    /// session). Wakes coalesce: several `wake()` calls before `body` runs run it once. After close, wakes do nothing.
    func makeWaker(_ body: @escaping () -> Void) -> any ConnectionWaker
    /// Starts compressing both directions (IMAP COMPRESS, RFC 4978) after the output already written, which goes out
    /// uncompressed. Input already buffered is decompressed. Throws if compression is already on.
    func startCompression(_ compression: any StreamCompression) throws
}

/// A byte-stream compressor and decompressor pair (DEFLATE today). Lives on one loop; not Sendable.
public protocol StreamCompression: AnyObject {
    /// Compresses `input` and flushes (Z_SYNC_FLUSH): the peer can decode everything returned.
    func compress(_ input: [UInt8]) throws -> [UInt8]
    /// Decompresses the next bytes of the peer's stream.
    func decompress(_ input: UnsafeRawBufferPointer) throws -> [UInt8]
}

public enum CompressionError: Error, Equatable, Sendable {
    case alreadyActive
}

/// See `ConnectionContext.makeWaker`. Safe to call from any thread.
public protocol ConnectionWaker: Sendable {
    func wake()
}

/// A protocol session driven by its connection's events.
public protocol ConnectionHandler: AnyObject {
    /// The connection is ready: greet the client. On implicit-TLS listeners this is after the handshake.
    func connectionDidBecomeActive(_ connection: any ConnectionContext)
    /// One frame of input (see `ReadMode`).
    func connection(_ connection: any ConnectionContext, didReceive frame: Frame)
    /// The idle timeout elapsed; write a farewell if the protocol has one. The connection closes afterwards.
    func connectionDidTimeOut(_ connection: any ConnectionContext)
    /// The server is stopping: finish the running command, say goodbye and `close()`. Connections still open at
    /// the deadline are closed by force.
    func connectionShouldShutDown(_ connection: any ConnectionContext)
    /// The connection is gone (any reason). No more writes are possible.
    func connectionDidClose(_ connection: any ConnectionContext, reason: CloseReason)
}

/// Makes one handler per accepted connection; shared by every loop, so it must be Sendable.
public protocol ConnectionHandlerFactory: Sendable {
    func makeHandler() -> any ConnectionHandler
    /// Bytes to send (on plaintext listeners) before closing a connection refused because of connection limits,
    /// e.g. `* BYE Too many connections` or `421 4.7.0 Too many connections`. Nil closes silently.
    func refusal(_ reason: ConnectionRefusal) -> [UInt8]?
}

public enum ConnectionRefusal: Sendable, Equatable {
    case tooManyConnections
    case tooManyConnectionsFromAddress
    case shuttingDown
}

/// A byte transform between the socket and the protocol: TLS today. Lives on one loop; not Sendable.
public protocol SecureTransport: AnyObject {
    /// True once the handshake has completed.
    var isHandshakeComplete: Bool { get }
    /// Protocol version and cipher, once the handshake is complete.
    var sessionDescription: String? { get }
    /// Feeds ciphertext from the peer. Decrypted application data is appended to `plaintext`, and bytes that must
    /// go to the peer (handshake messages, alerts) to `ciphertext`. Returns `.closed` on the peer's close_notify.
    func receive(
        _ input: UnsafeRawBufferPointer, plaintext: inout [UInt8], ciphertext: inout [UInt8]
    ) throws -> TransportStatus
    /// Encrypts application data into `ciphertext`. Only valid once the handshake is complete.
    func send(_ plaintext: [UInt8], ciphertext: inout [UInt8]) throws
    /// Produces a close_notify alert into `ciphertext`.
    func shutdown(ciphertext: inout [UInt8])
}

public enum TransportStatus: Sendable, Equatable {
    case open
    case closed
}

/// Makes a server-side transport for each new connection (reads the current certificate each time, so a reload
/// applies to new connections only). Shared across loops.
public protocol SecureTransportFactory: Sendable {
    func makeServerTransport() throws -> any SecureTransport
}
