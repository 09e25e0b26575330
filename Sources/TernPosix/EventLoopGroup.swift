// The set of event loops (one thread each), the blocking pool they share, and the listeners spread over them.

internal import CTernLinux
import Glibc
import Synchronization
public import TernCore

public final class EventLoopGroup: Sendable {
    public let loops: [EventLoop]
    public let pool: BlockingPool
    public let limiter: ConnectionLimiter
    private let report: @Sendable (TransportEvent) -> Void
    private let nextLoop = Atomic<Int>(0)

    /// Starts `loopCount` loop threads (0: one per core) and a blocking pool of `blockingThreads` threads.
    public init(
        loopCount: Int = 0, blockingThreads: Int = 4, limiter: ConnectionLimiter,
        report: @escaping @Sendable (TransportEvent) -> Void = { _ in }
    ) throws(SystemError) {
        let count = loopCount > 0 ? loopCount : max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        pool = BlockingPool(threadCount: max(1, blockingThreads))
        var loops: [EventLoop] = []
        for index in 0..<count {
            loops.append(try EventLoop(index: index, pool: pool))
        }
        self.loops = loops
        self.limiter = limiter
        self.report = report
        for loop in loops {
            startThread(name: "tern-loop-\(loop.index)") { loop.run() }
        }
        while !loops.allSatisfy(\.isRunning) { usleep(100) }
    }

    /// The next loop, round robin (for outgoing connections).
    public func next() -> EventLoop {
        loops[nextLoop.add(1, ordering: .relaxed).oldValue % loops.count]
    }

    /// Open connections over all loops.
    public var connectionCount: Int { loops.reduce(0) { $0 + $1.connectionCount } }

    /// A snapshot of every loop's connections: how many, and how much output is queued for slow readers.
    /// Waits for each loop to answer (at most `timeout`).
    public func statistics(timeout: Duration = .seconds(5)) -> ConnectionStatistics {
        let total = Mutex(ConnectionStatistics())
        let answered = Atomic<Int>(0)
        for loop in loops {
            loop.execute {
                let snapshot = loop.statistics()
                total.withLock { $0.add(snapshot) }
                answered.add(1, ordering: .releasing)
            }
        }
        let deadline = ContinuousClock.now + timeout
        while answered.load(ordering: .acquiring) < loops.count && ContinuousClock.now < deadline { usleep(1000) }
        return total.withLock { $0 }
    }

    /// Binds `address` once per loop and starts accepting. Returns the bound address (with the real port when
    /// `address.port` is 0).
    @discardableResult
    public func bind(_ address: ListenAddress, service: ServiceBinding, backlog: Int32 = 4096) throws(SystemError) -> ListenAddress {
        var target = try SocketAddress(address)
        var descriptors: [Int32] = []
        do throws(SystemError) {
            for _ in loops {
                let fd = try Socket.makeListener(target, backlog: backlog, reusePort: loops.count > 1)
                descriptors.append(fd)
                if target.port == 0 {
                    let port = try Socket.localAddress(fd).port
                    target = try SocketAddress(ListenAddress(host: address.host, port: port, family: address.family))
                }
            }
        } catch {
            descriptors.forEach(closeDescriptor)
            throw error
        }
        let limiter = self.limiter
        let report = self.report
        for (loop, fd) in zip(loops, descriptors) {
            loop.execute {
                let channel = ListenerChannel(fd: fd, loop: loop, binding: service, limiter: limiter, report: report)
                do throws(SystemError) {
                    try channel.start()
                } catch {
                    closeDescriptor(fd)
                    report(.acceptFailed(service: service.name, error: error))
                }
            }
        }
        return ListenAddress(host: address.host, port: target.port, family: address.family)
    }

    /// Opens an outgoing connection on one of the loops. `makeTransport`, if given, makes the client-side TLS.
    public func connect(
        to address: ListenAddress,
        options: ConnectionOptions = ConnectionOptions(),
        makeTransport: (@Sendable () throws -> any SecureTransport)? = nil,
        makeHandler: @escaping @Sendable () -> any ConnectionHandler
    ) {
        let loop = next()
        loop.execute {
            let handler = makeHandler()
            let fd: Int32
            let connected: Bool
            let peer: SocketAddress
            let transport: (any SecureTransport)?
            do {
                peer = try SocketAddress(address)
                (fd, connected) = try Socket.connect(to: peer)
                transport = try makeTransport?()
            } catch {
                let failed = FailedConnection(host: address.host, port: address.port)
                handler.connectionDidClose(failed, reason: .ioError("\(error)"))
                return
            }
            try? Socket.setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
            let connection = SocketConnection(
                fd: fd, id: makeConnectionID(), loop: loop, peer: peer, handler: handler, options: options,
                tlsFactory: nil, state: connected ? .open : .connecting, onClose: nil
            )
            connection.start(implicitTLS: false, clientTransport: transport)
        }
    }

    /// Stops accepting everywhere and asks each connection to finish. Connections still open after `grace` are
    /// closed by force. Returns at once; poll `connectionCount` or call `waitUntilIdle`.
    public func beginGracefulShutdown(grace: Duration) {
        limiter.setShuttingDown()
        let deadline = ContinuousClock.now + grace
        for loop in loops {
            loop.execute { loop.beginGracefulShutdown(deadline: deadline) }
        }
    }

    /// Waits until no connection is open or `timeout` passes; returns true if all closed.
    public func waitUntilIdle(timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while connectionCount > 0 {
            if ContinuousClock.now >= deadline { return false }
            usleep(10_000)
        }
        return true
    }

    /// Closes everything and stops the loop threads and the pool.
    public func shutdownNow() {
        for loop in loops { loop.stop() }
        let deadline = ContinuousClock.now + .seconds(5)
        while loops.contains(where: \.isRunning) && ContinuousClock.now < deadline { usleep(1000) }
        pool.shutdown()
    }
}

/// Stands in for a connection that never opened, so a handler can be told why.
private final class FailedConnection: ConnectionContext {
    let id = makeConnectionID()
    let peerHost: String
    let peerPort: UInt16
    init(host: String, port: UInt16) {
        peerHost = host
        peerPort = port
    }
    var isSecure: Bool { false }
    var canStartTLS: Bool { false }
    var tlsDescription: String? { nil }
    var readMode: ReadMode {
        get { .line(maxLength: 0) }
        set {}
    }
    func write(_ bytes: [UInt8]) {}
    var pendingOutputBytes: Int { 0 }
    func startTLS() throws -> Int { throw StartTLSError.notAvailable }
    func pauseReading() {}
    func resumeReading() {}
    func close() {}
    func setIdleTimeout(_ timeout: Duration?) {}
    func offload<T: Sendable>(_ work: @escaping @Sendable () throws -> T, completion: @escaping (Result<T, any Error>) -> Void) {}
    func schedule(after delay: Duration, _ body: @escaping () -> Void) {}
    func makeWaker(_ body: @escaping () -> Void) -> any ConnectionWaker { InertWaker() }
    func startCompression(_ compression: any StreamCompression) throws {}
}

private struct InertWaker: ConnectionWaker {
    func wake() {}
}
