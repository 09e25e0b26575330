// A TCP connection on one event loop: buffered reads cut into frames, coalesced writes with backpressure,
// optional TLS, deadlines. Implements `ConnectionContext` for protocol handlers.
//
// Invariants:
// - Everything here runs on `loop`'s thread (the loop only calls us from its thread; handlers only get us there).
// - Output backs up → input stops: when queued output passes `outputHighWater`, the socket is no longer read
//   and no frames are delivered until output drains below `outputLowWater`. A peer that never reads its output
//   is dropped after `writeTimeout` without progress. So memory per connection is bounded by the high-water
//   mark plus one read.
// - After `startTLS()` no byte received before the handshake is ever delivered.
// - Once `closed`, the fd is closed and deregistered, and the handler has been told exactly once.

internal import CTernLinux
import Glibc
import Synchronization
import TernCore

/// Per-listener settings for the connections it accepts.
public struct ConnectionOptions: Sendable {
    public var maxLineLength: Int
    public var idleTimeout: Duration?
    public var writeTimeout: Duration
    public var outputHighWater: Int
    public var outputLowWater: Int
    /// How long a closing connection waits for the peer's FIN before the socket is closed anyway.
    public var lingerTimeout: Duration

    public init(
        maxLineLength: Int = 64 * 1024, idleTimeout: Duration? = .seconds(1800), writeTimeout: Duration = .seconds(120),
        outputHighWater: Int = 256 * 1024, outputLowWater: Int = 64 * 1024, lingerTimeout: Duration = .seconds(2)
    ) {
        self.maxLineLength = maxLineLength
        self.idleTimeout = idleTimeout
        self.writeTimeout = writeTimeout
        self.outputHighWater = outputHighWater
        self.outputLowWater = outputLowWater
        self.lingerTimeout = lingerTimeout
    }
}

final class SocketConnection: ConnectionContext, Selectable {
    enum State: Equatable {
        case connecting
        case handshaking
        case open
        /// Flushing output before closing; no more input is delivered.
        case closing
        /// Output sent and our side shut down; reading until the peer's FIN so the last reply is not reset.
        case lingering
        case closed
    }

    let id: ConnectionID
    let loop: EventLoop
    private let fd: Int32
    private var generation: UInt32 = 0
    let peerHost: String
    let peerPort: UInt16
    private let handler: any ConnectionHandler
    private var options: ConnectionOptions
    private let tlsFactory: (any SecureTransportFactory)?
    private let onClose: ((SocketConnection) -> Void)?

    private(set) var state: State
    private var framer: InboundFramer
    private var outbound = OutboundQueue()
    /// Plaintext written while TLS is on, encrypted in one go at flush time (fewer, fuller records).
    private var pendingPlaintext: [UInt8] = []
    /// COMPRESS: output written since compression started, compressed (and sync-flushed) at flush time.
    private var compression: (any StreamCompression)?
    private var pendingUncompressed: [UInt8] = []
    private var transport: (any SecureTransport)?
    private var isDirty = false
    private var isPaused = false
    private var isBackpressured = false
    private var currentInterest: SelectorInterest = []
    private var lastInput: ContinuousClock.Instant
    private var lastWriteProgress: ContinuousClock.Instant
    private var outstandingWork = 0
    private var pendingCloseReason: CloseReason = .closedByServer
    /// The peer has sent its FIN: after our output is flushed there is nothing to linger for.
    private var peerClosed = false
    private var lingerDeadline: ContinuousClock.Instant?
    private var isDelivering = false
    private var shutdownRequested = false
    /// The handler has been told the connection is active (once; a STARTTLS upgrade does not repeat it).
    private var didBecomeActive = false
    /// High-water mark of queued output, for tests and stats.
    private(set) var maxQueuedOutput = 0
    var pendingOutputBytes: Int { queuedOutputBytes }
    var queuedOutputBytes: Int { outbound.byteCount + pendingPlaintext.count + pendingUncompressed.count }

    init(
        fd: Int32, id: ConnectionID, loop: EventLoop, peer: SocketAddress, handler: any ConnectionHandler,
        options: ConnectionOptions, tlsFactory: (any SecureTransportFactory)?, state: State,
        onClose: ((SocketConnection) -> Void)?
    ) {
        self.fd = fd
        self.id = id
        self.loop = loop
        self.peerHost = peer.host
        self.peerPort = peer.port
        self.handler = handler
        self.options = options
        self.tlsFactory = tlsFactory
        self.state = state
        self.onClose = onClose
        framer = InboundFramer(mode: .line(maxLength: options.maxLineLength))
        lastInput = loop.now
        lastWriteProgress = loop.now
    }

    // MARK: Start

    /// Registers with the loop and, for a plain accepted connection, tells the handler it is active.
    /// `implicitTLS` starts a server-side handshake at once; `clientTransport` makes this the client side.
    func start(implicitTLS: Bool, clientTransport: (any SecureTransport)? = nil) {
        loop.assertInLoop()
        do {
            generation = try loop.register(fd: fd, interest: state == .connecting ? .write : .read, target: self)
            currentInterest = state == .connecting ? .write : .read
        } catch {
            closeDescriptor(fd)
            state = .closed
            onClose?(self)
            handler.connectionDidClose(self, reason: .ioError("\(error)"))
            return
        }
        loop.connectionOpened(self)
        if let clientTransport {
            transport = clientTransport
        } else if implicitTLS {
            guard let tlsFactory else { preconditionFailure("implicit TLS without a TLS context") }
            do {
                transport = try tlsFactory.makeServerTransport()
            } catch {
                finalize(.tlsFailure("\(error)"))
                return
            }
        }
        if state == .connecting { return }
        becomeReadyIfPossible()
    }

    private func becomeReadyIfPossible() {
        if let transport, !transport.isHandshakeComplete {
            state = .handshaking
            // The client side speaks first: produce the ClientHello.
            ingest(UnsafeRawBufferPointer(start: nil, count: 0))
            return
        }
        state = .open
        didBecomeActive = true
        handler.connectionDidBecomeActive(self)
        deliverFrames()
        updateInterest()
    }

    // MARK: ConnectionContext

    var isSecure: Bool { transport?.isHandshakeComplete ?? false }
    var canStartTLS: Bool { tlsFactory != nil && transport == nil }
    var tlsDescription: String? { transport?.sessionDescription }

    var readMode: ReadMode {
        get { framer.mode }
        set { framer.setMode(newValue) }
    }

    func write(_ bytes: [UInt8]) {
        guard state == .open || state == .handshaking || state == .closing, !bytes.isEmpty else { return }
        if compression != nil {
            pendingUncompressed.append(contentsOf: bytes)
        } else if transport == nil {
            outbound.append(bytes)
        } else {
            pendingPlaintext.append(contentsOf: bytes)
        }
        markDirty()
    }

    @discardableResult
    func startTLS() throws -> Int {
        guard let tlsFactory, transport == nil else { throw StartTLSError.notAvailable }
        let newTransport = try tlsFactory.makeServerTransport()
        // Everything the client sent after the STARTTLS command, before the handshake, is dropped here.
        let dropped = framer.discardBuffered()
        framer.setMode(.line(maxLength: options.maxLineLength))
        // Output queued so far (the "begin TLS" reply) is already in `outbound` as plaintext and goes out first.
        transport = newTransport
        state = .handshaking
        return dropped
    }

    func startCompression(_ compression: any StreamCompression) throws {
        guard self.compression == nil else { throw CompressionError.alreadyActive }
        // Bytes the client sent after the COMPRESS command are already compressed.
        let buffered = framer.takeBuffered()
        self.compression = compression
        if !buffered.isEmpty {
            do {
                let plain = try buffered.withUnsafeBytes { try compression.decompress($0) }
                framer.append(plain)
            } catch {
                finalize(.ioError("\(error)"))
            }
        }
    }

    func pauseReading() {
        isPaused = true
        updateInterest()
    }

    func resumeReading() {
        guard isPaused else { return }
        isPaused = false
        loop.deferToEndOfIteration { [self] in
            deliverFrames()
            updateInterest()
        }
    }

    func close() {
        switch state {
        case .open, .handshaking:
            state = .closing
            // The last replies go through the compressor and the cipher before the close_notify.
            compressPending()
            if let transport, transport.isHandshakeComplete {
                encryptPending()
                var alert: [UInt8] = []
                transport.shutdown(ciphertext: &alert)
                outbound.append(alert)
            }
            updateInterest()
            markDirty()
        case .connecting:
            finalize(.closedByServer)
        case .closing, .lingering, .closed:
            break
        }
    }

    func setIdleTimeout(_ timeout: Duration?) {
        options.idleTimeout = timeout
    }

    func offload<T: Sendable>(
        _ work: @escaping @Sendable () throws -> T,
        completion: @escaping (Result<T, any Error>) -> Void
    ) {
        outstandingWork += 1
        let bound = LoopBound((connection: self, completion: completion), loop: loop)
        let loop = self.loop
        let accepted = loop.pool.submit {
            let result = Result { try work() }
            loop.execute {
                let (connection, completion) = bound.value
                connection.outstandingWork -= 1
                guard connection.state != .closed else { return }
                completion(result)
            }
        }
        if !accepted {
            outstandingWork -= 1
            loop.deferToEndOfIteration { [self] in
                guard state != .closed else { return }
                completion(.failure(BlockingPoolError.saturated))
            }
        }
    }

    func schedule(after delay: Duration, _ body: @escaping () -> Void) {
        loop.schedule(after: delay) { [weak self] in
            guard let self, self.state != .closed else { return }
            body()
        }
    }

    func makeWaker(_ body: @escaping () -> Void) -> any ConnectionWaker {
        LoopWaker(LoopBound((connection: self, body: body), loop: loop))
    }

    // MARK: Events

    func handleEvent(_ event: SelectorEvent) {
        if state == .connecting {
            let error = Socket.pendingError(fd)
            if error != 0 {
                finalize(.ioError(SystemError(call: "connect", errno: error).description))
                return
            }
            becomeReadyIfPossible()
            updateInterest()
            return
        }
        if event.isWritable { flushNow() }
        if event.isReadable || event.isHangup || event.isError, state != .closed { readAvailable() }
    }

    private func readAvailable() {
        var reads = 0
        while reads < 4 {
            if case .closed = state { return }
            if !wantsRead { return }
            reads += 1
            let buffer = loop.readBuffer
            let result: IOResult<Int>
            do {
                result = try sys("read") { Glibc.read(fd, buffer.baseAddress, buffer.count) }
            } catch {
                finalize(error.errno == ECONNRESET ? .closedByPeer : .ioError(error.description))
                return
            }
            switch result {
            case .wouldBlock:
                return
            case .done(0):
                peerClosedInput()
                return
            case .done(let count):
                if isDiscardingInput { continue } // closing: input is no longer delivered
                lastInput = loop.now
                ingest(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                if count < buffer.count { return }
            }
        }
    }

    private var isDiscardingInput: Bool { state == .closing || state == .lingering }

    /// Closing and lingering connections keep reading (and discard what comes) so the peer's FIN is seen and the
    /// read interest never has to be switched off and on again while closing.
    private var wantsRead: Bool {
        switch state {
        case .open, .handshaking: return !isPaused && !isBackpressured
        case .closing, .lingering: return !peerClosed
        case .connecting, .closed: return false
        }
    }

    /// Hands decrypted input to the framer, through the decompressor when COMPRESS is on.
    private func appendInput(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let compression else {
            framer.append(bytes)
            return true
        }
        do {
            framer.append(try compression.decompress(bytes))
            return true
        } catch {
            finalize(.ioError("\(error)"))
            return false
        }
    }

    private func ingest(_ bytes: UnsafeRawBufferPointer) {
        guard let transport else {
            guard appendInput(bytes) else { return }
            deliverFrames()
            return
        }
        var plaintext: [UInt8] = []
        var ciphertext: [UInt8] = []
        let wasComplete = transport.isHandshakeComplete
        let status: TransportStatus
        do {
            status = try transport.receive(bytes, plaintext: &plaintext, ciphertext: &ciphertext)
        } catch {
            // Send the alert OpenSSL produced, then drop the connection.
            outbound.append(ciphertext)
            _ = writeOut()
            finalize(.tlsFailure("\(error)"))
            return
        }
        if !ciphertext.isEmpty {
            outbound.append(ciphertext)
            markDirty()
        }
        if !wasComplete && transport.isHandshakeComplete && state == .handshaking {
            state = .open
            if !didBecomeActive {
                didBecomeActive = true
                handler.connectionDidBecomeActive(self)
            }
            markDirty()
        }
        if !plaintext.isEmpty {
            guard plaintext.withUnsafeBytes({ appendInput($0) }) else { return }
        }
        deliverFrames()
        if status == .closed { peerClosedInput() }
    }

    private func deliverFrames() {
        guard !isDelivering else { return }
        isDelivering = true
        defer { isDelivering = false }
        while state == .open, !isPaused, !isBackpressured, let frame = framer.nextFrame() {
            handler.connection(self, didReceive: frame)
            if outbound.byteCount + pendingPlaintext.count + pendingUncompressed.count > options.outputHighWater {
                // Write what we can now; if it stays backed up, stop reading until it drains.
                flushNow()
            }
        }
    }

    private func peerClosedInput() {
        peerClosed = true
        switch state {
        case .lingering:
            finalize(pendingCloseReason)
        case .open, .handshaking:
            pendingCloseReason = .closedByPeer
            state = .closing
            updateInterest()
            markDirty()
        case .closing:
            updateInterest()
        case .connecting, .closed:
            break
        }
    }

    // MARK: Output

    private func markDirty() {
        guard !isDirty, state != .closed else { return }
        isDirty = true
        loop.markDirty(self)
    }

    private func compressPending() {
        guard let compression, !pendingUncompressed.isEmpty else { return }
        let compressed: [UInt8]
        do {
            compressed = try compression.compress(pendingUncompressed)
        } catch {
            pendingUncompressed = []
            finalize(.ioError("\(error)"))
            return
        }
        pendingUncompressed = []
        if transport == nil { outbound.append(compressed) } else { pendingPlaintext.append(contentsOf: compressed) }
    }

    private func encryptPending() {
        guard let transport, transport.isHandshakeComplete, !pendingPlaintext.isEmpty else { return }
        var ciphertext: [UInt8] = []
        do {
            try transport.send(pendingPlaintext, ciphertext: &ciphertext)
        } catch {
            pendingPlaintext = []
            finalize(.tlsFailure("\(error)"))
            return
        }
        pendingPlaintext = []
        outbound.append(ciphertext)
    }

    /// Encrypts and writes queued output; called at the end of each loop iteration and on EPOLLOUT.
    func flushNow() {
        isDirty = false
        guard state != .closed else { return }
        compressPending()
        guard state != .closed else { return }
        encryptPending()
        maxQueuedOutput = max(maxQueuedOutput, outbound.byteCount)
        guard state != .closed, writeOut() else { return }
        maxQueuedOutput = max(maxQueuedOutput, outbound.byteCount)
        let queued = outbound.byteCount + pendingPlaintext.count + pendingUncompressed.count
        if !isBackpressured && queued > options.outputHighWater {
            isBackpressured = true
        } else if isBackpressured && queued <= options.outputLowWater {
            isBackpressured = false
            loop.deferToEndOfIteration { [self] in deliverFrames() }
        }
        if case .closing = state, outbound.isEmpty, pendingPlaintext.isEmpty, pendingUncompressed.isEmpty {
            beginLinger()
            return
        }
        updateInterest()
    }

    /// Writes as much as the socket takes. Returns false if the connection was closed by an error.
    private func writeOut() -> Bool {
        while !outbound.isEmpty {
            let result: IOResult<Int>
            do {
                if outbound.chunkCount == 1 {
                    result = try outbound.withFirstSpan { span in
                        try sys("send") { Glibc.send(fd, span.baseAddress, span.count, Int32(MSG_NOSIGNAL)) }
                    }
                } else {
                    result = try outbound.withPendingSpans(maxChunks: 64) { spans in
                        var vectors = spans.map { iovec(iov_base: UnsafeMutableRawPointer(mutating: $0.baseAddress), iov_len: $0.count) }
                        return try vectors.withUnsafeMutableBufferPointer { (pointer) throws(SystemError) -> IOResult<Int> in
                            var message = msghdr()
                            message.msg_iov = pointer.baseAddress
                            message.msg_iovlen = pointer.count
                            return try sys("sendmsg") { sendmsg(fd, &message, Int32(MSG_NOSIGNAL)) }
                        }
                    }
                }
            } catch let error as SystemError {
                finalize(error.errno == EPIPE || error.errno == ECONNRESET ? .closedByPeer : .ioError(error.description))
                return false
            } catch {
                finalize(.ioError("\(error)"))
                return false
            }
            switch result {
            case .wouldBlock:
                return true
            case .done(let written):
                outbound.consume(written)
                lastWriteProgress = loop.now
            }
        }
        lastWriteProgress = loop.now
        return true
    }

    private func beginLinger() {
        // The peer already closed: nothing of ours can be reset away by unread input.
        if peerClosed {
            finalize(pendingCloseReason)
            return
        }
        // Our reply is out; half-close and wait briefly for the peer's FIN so that closing with unread input
        // does not make the kernel send a reset that destroys the reply in flight.
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
        state = .lingering
        lingerDeadline = loop.now + options.lingerTimeout
        updateInterest()
    }

    private func updateInterest() {
        guard state != .closed else { return }
        var interest: SelectorInterest = []
        if wantsRead { interest.insert(.read) }
        if state == .connecting || !outbound.isEmpty { interest.insert(.write) }
        guard interest != currentInterest else { return }
        do {
            try loop.selector.modify(fd: fd, generation: generation, interest: interest)
            currentInterest = interest
        } catch {
            finalize(.ioError("\(error)"))
        }
    }

    // MARK: Deadlines and shutdown

    func checkDeadlines(now: ContinuousClock.Instant) {
        switch state {
        case .closed:
            return
        case .lingering:
            if let lingerDeadline, now >= lingerDeadline { finalize(pendingCloseReason) }
            return
        default:
            break
        }
        if let deadline = loop.shutdownDeadline, now >= deadline {
            abort(reason: .shutdownDeadline)
            return
        }
        if !outbound.isEmpty && now - lastWriteProgress > options.writeTimeout {
            abort(reason: .writeTimeout)
            return
        }
        guard let idle = options.idleTimeout, outstandingWork == 0, now - lastInput > idle else { return }
        switch state {
        case .open:
            pendingCloseReason = .idleTimeout
            handler.connectionDidTimeOut(self)
            close()
        case .handshaking, .connecting:
            abort(reason: .idleTimeout)
        case .closing:
            if now - lastInput > idle + options.writeTimeout { abort(reason: .idleTimeout) }
        case .lingering, .closed:
            break
        }
    }

    func requestShutdown() {
        guard !shutdownRequested else { return }
        shutdownRequested = true
        switch state {
        case .open:
            handler.connectionShouldShutDown(self)
        case .connecting, .handshaking:
            abort(reason: .closedByServer)
        case .closing, .lingering, .closed:
            break
        }
    }

    /// Closes at once, dropping queued output.
    func abort(reason: CloseReason) {
        finalize(reason)
    }

    private func finalize(_ reason: CloseReason) {
        guard state != .closed else { return }
        state = .closed
        // close() removes the fd from epoll (we never dup it), so no EPOLL_CTL_DEL is needed.
        loop.forget(fd: fd)
        closeDescriptor(fd)
        outbound.removeAll()
        pendingPlaintext = []
        transport = nil
        framer.discardBuffered()
        loop.connectionClosed(self)
        onClose?(self)
        handler.connectionDidClose(self, reason: reason)
    }
}

enum StartTLSError: Error, CustomStringConvertible {
    case notAvailable
    var description: String { "TLS is not available on this connection (no certificate, or TLS already active)" }
}

/// Runs a connection's callback on its loop when woken from any thread; a pending wake absorbs further ones.
final class LoopWaker: ConnectionWaker {
    private let target: LoopBound<(connection: SocketConnection, body: () -> Void)>
    private let pending = Atomic<Bool>(false)

    init(_ target: LoopBound<(connection: SocketConnection, body: () -> Void)>) { self.target = target }

    func wake() {
        guard !pending.exchange(true, ordering: .acquiringAndReleasing) else { return }
        target.loop.execute { [self] in
            pending.store(false, ordering: .releasing)
            let (connection, body) = target.value
            guard connection.state != .closed else { return }
            body()
        }
    }
}
