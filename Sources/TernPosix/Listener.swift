// Listening sockets and connection limits. Each configured address gets one socket per loop (SO_REUSEPORT), so
// the kernel spreads new connections over the loops and no loop hands connections to another.

internal import CTernLinux
import Glibc
import Synchronization
public import TernCore

/// Limits on open connections, overall and per client address. Shared by every loop and listener.
public final class ConnectionLimiter: Sendable {
    private struct State {
        var total = 0
        var perHost: [String: Int] = [:]
        var maxTotal: Int
        var maxPerHost: Int
        var isShuttingDown = false
    }
    private let state: Mutex<State>

    public init(maxTotal: Int, maxPerHost: Int) {
        state = Mutex(State(maxTotal: maxTotal, maxPerHost: maxPerHost))
    }

    public func update(maxTotal: Int, maxPerHost: Int) {
        state.withLock {
            $0.maxTotal = maxTotal
            $0.maxPerHost = maxPerHost
        }
    }

    func setShuttingDown() { state.withLock { $0.isShuttingDown = true } }

    public var openConnections: Int { state.withLock { $0.total } }

    /// Counts a new connection from `host`, or says why it is refused.
    func acquire(host: String) -> ConnectionRefusal? {
        state.withLock { state in
            if state.isShuttingDown { return .shuttingDown }
            if state.total >= state.maxTotal { return .tooManyConnections }
            let fromHost = state.perHost[host, default: 0]
            if fromHost >= state.maxPerHost { return .tooManyConnectionsFromAddress }
            state.total += 1
            state.perHost[host] = fromHost + 1
            return nil
        }
    }

    func release(host: String) {
        state.withLock { state in
            state.total -= 1
            let left = state.perHost[host, default: 1] - 1
            state.perHost[host] = left == 0 ? nil : left
        }
    }
}

/// Per-listener settings that a config reload may change; read at each accept.
public final class ListenerSettings: Sendable {
    private let _options: Mutex<ConnectionOptions>
    public init(_ options: ConnectionOptions) { _options = Mutex(options) }
    public var options: ConnectionOptions {
        get { _options.withLock { $0 } }
        set { _options.withLock { $0 = newValue } }
    }
}

/// What a listener serves.
public struct ServiceBinding: Sendable {
    public var name: String
    public var factory: any ConnectionHandlerFactory
    public var settings: ListenerSettings
    /// Present if the service can use TLS (implicitly, or through STARTTLS).
    public var tls: (any SecureTransportFactory)?
    /// True for implicit-TLS ports (993, 465): the handshake starts as soon as the connection is accepted.
    public var implicitTLS: Bool

    public init(
        name: String, factory: any ConnectionHandlerFactory, settings: ListenerSettings,
        tls: (any SecureTransportFactory)?, implicitTLS: Bool
    ) {
        precondition(!implicitTLS || tls != nil, "an implicit-TLS listener needs a TLS context")
        self.name = name
        self.factory = factory
        self.settings = settings
        self.tls = tls
        self.implicitTLS = implicitTLS
    }
}

/// Things worth a log line that happen inside the loops; the daemon decides how to log them.
public enum TransportEvent: Sendable {
    case refused(service: String, peer: String, reason: ConnectionRefusal)
    case acceptFailed(service: String, error: SystemError)
}

private let connectionIDs = Atomic<UInt64>(0)

func makeConnectionID() -> ConnectionID {
    ConnectionID(rawValue: connectionIDs.add(1, ordering: .relaxed).newValue)
}

final class ListenerChannel: Selectable {
    private let fd: Int32
    private let loop: EventLoop
    private let binding: ServiceBinding
    private let limiter: ConnectionLimiter
    private let report: @Sendable (TransportEvent) -> Void
    private var generation: UInt32 = 0
    private var isClosed = false

    init(fd: Int32, loop: EventLoop, binding: ServiceBinding, limiter: ConnectionLimiter,
         report: @escaping @Sendable (TransportEvent) -> Void) {
        self.fd = fd
        self.loop = loop
        self.binding = binding
        self.limiter = limiter
        self.report = report
    }

    func start() throws(SystemError) {
        generation = try loop.register(fd: fd, interest: .read, target: self)
        loop.addListener(self)
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        loop.deregister(fd: fd)
        closeDescriptor(fd)
    }

    func handleEvent(_ event: SelectorEvent) {
        for _ in 0..<64 where !isClosed {
            let accepted: (fd: Int32, peer: SocketAddress)?
            do {
                accepted = try Socket.accept(fd)
            } catch {
                switch error.errno {
                case ECONNABORTED, EPROTO, EPERM:
                    continue
                default:
                    // EMFILE/ENFILE/ENOBUFS/ENOMEM: stop accepting for a moment instead of spinning.
                    report(.acceptFailed(service: binding.name, error: error))
                    pauseAccepting()
                    return
                }
            }
            guard let (connectionFD, peer) = accepted else { return }
            accept(connectionFD, peer: peer)
        }
    }

    private func pauseAccepting() {
        try? loop.selector.modify(fd: fd, generation: generation, interest: [])
        loop.schedule(after: .milliseconds(100)) { [self] in
            guard !isClosed else { return }
            try? loop.selector.modify(fd: fd, generation: generation, interest: .read)
        }
    }

    private func accept(_ connectionFD: Int32, peer: SocketAddress) {
        let host = peer.host
        if let refusal = limiter.acquire(host: host) {
            if !binding.implicitTLS, let bytes = binding.factory.refusal(refusal) {
                _ = bytes.withUnsafeBytes { send(connectionFD, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
            }
            closeDescriptor(connectionFD)
            report(.refused(service: binding.name, peer: host, reason: refusal))
            return
        }
        try? Socket.setOption(connectionFD, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        let limiter = self.limiter
        let connection = SocketConnection(
            fd: connectionFD, id: makeConnectionID(), loop: loop, peer: peer, handler: binding.factory.makeHandler(),
            options: binding.settings.options, tlsFactory: binding.tls, state: .open,
            onClose: { _ in limiter.release(host: host) }
        )
        connection.start(implicitTLS: binding.implicitTLS)
    }
}
