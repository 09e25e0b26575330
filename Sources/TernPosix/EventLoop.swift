// One epoll loop on one thread. Connections, listeners and timers registered here are touched only by this
// thread; other threads reach the loop with `execute(_:)`, which queues a task and wakes the loop via eventfd.
//
// One iteration: wait for events (the timeout is the nearest timer) → dispatch socket events → run due timers →
// run queued tasks → flush every connection that has pending output. Flushing once at the end coalesces all the
// replies produced by one batch of input into one writev per connection.

internal import CTernLinux
import Glibc
import Synchronization
import TernCore

/// Something registered with the selector.
protocol Selectable: AnyObject {
    func handleEvent(_ event: SelectorEvent)
}

public final class EventLoop: @unchecked Sendable {
    // Invariant: every `var` below the "loop-confined" mark is read and written on `thread` only. Entry points
    // that touch it call `assertInLoop()`, which traps if called from another thread.

    public let index: Int
    let selector: Selector
    private let wakeFD: Int32
    private let taskQueue = Mutex<(tasks: [@Sendable () -> Void], wakePending: Bool)>(([], false))
    let pool: BlockingPool
    private let threadID = Mutex<pthread_t?>(nil)
    private let _connectionCount = Atomic<Int>(0)
    private let _isRunning = Atomic<Bool>(false)

    // MARK: loop-confined
    private var loopThread: pthread_t = pthread_t()
    private var registrations: [(generation: UInt32, target: (any Selectable)?)] = []
    private var nextGeneration: UInt32 = 1
    private var timers = TimerHeap()
    private var deferred: [() -> Void] = []
    private var dirty: [SocketConnection] = []
    var connections: [ObjectIdentifier: SocketConnection] = [:]
    private var listeners: [ListenerChannel] = []
    private var stopRequested = false
    /// Scratch space for reads; one per loop, so idle connections hold no read buffer.
    let readBuffer: UnsafeMutableRawBufferPointer
    var now: ContinuousClock.Instant = .now
    var shutdownDeadline: ContinuousClock.Instant?

    init(index: Int, pool: BlockingPool) throws(SystemError) {
        self.index = index
        self.pool = pool
        selector = try Selector()
        wakeFD = try sysMust("eventfd") { eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC)) }
        readBuffer = .allocate(byteCount: 64 * 1024, alignment: 16)
        registrations = Array(repeating: (generation: 0, target: nil), count: 1024)
        try selector.register(fd: wakeFD, generation: 0, interest: .read)
    }

    deinit {
        closeDescriptor(wakeFD)
        readBuffer.deallocate()
    }

    /// Connections currently open on this loop (readable from any thread).
    public var connectionCount: Int { _connectionCount.load(ordering: .relaxed) }

    public var isRunning: Bool { _isRunning.load(ordering: .acquiring) }

    public var inLoop: Bool {
        guard let id = threadID.withLock({ $0 }) else { return false }
        return pthread_equal(id, pthread_self()) != 0
    }

    func assertInLoop(_ file: StaticString = #fileID, _ line: UInt = #line) {
        precondition(pthread_equal(loopThread, pthread_self()) != 0, "loop-confined state used off its loop",
                     file: file, line: line)
    }

    // MARK: Cross-thread entry

    /// Queues `task` to run on this loop's thread. Safe from any thread.
    public func execute(_ task: @escaping @Sendable () -> Void) {
        let mustWake = taskQueue.withLock { queue in
            queue.tasks.append(task)
            defer { queue.wakePending = true }
            return !queue.wakePending
        }
        if mustWake {
            var one: UInt64 = 1
            _ = try? sys("write(eventfd)") { Glibc.write(wakeFD, &one, 8) }
        }
    }

    /// Asks the loop to stop after closing everything registered on it.
    public func stop() {
        execute { [self] in
            stopRequested = true
            for connection in Array(connections.values) { connection.abort(reason: .closedByServer) }
            for listener in listeners { listener.close() }
            listeners.removeAll()
        }
    }

    /// Runs the loop on the calling thread until `stop()`.
    func run() {
        threadID.withLock { $0 = pthread_self() }
        loopThread = pthread_self()
        _isRunning.store(true, ordering: .releasing)
        scheduleRepeating(every: .seconds(1)) { [unowned self] in self.sweep() }
        while !stopRequested {
            now = .now
            let timeout: Int32
            if !deferred.isEmpty || taskQueue.withLock({ !$0.tasks.isEmpty }) {
                timeout = 0
            } else if let next = timers.nextDeadline {
                let delay = next - now
                timeout = delay <= .zero ? 0 : Int32(min(delay.milliseconds + 1, 60_000))
            } else {
                timeout = 60_000
            }
            do {
                try selector.wait(timeoutMilliseconds: timeout) { event in dispatch(event) }
            } catch {
                preconditionFailure("epoll_wait failed: \(error)")
            }
            now = .now
            while let timer = timers.popDue(now: now) { timer() }
            runTasks()
            runDeferred()
            flushDirty()
        }
        _isRunning.store(false, ordering: .releasing)
    }

    private func dispatch(_ event: SelectorEvent) {
        if event.fd == wakeFD {
            var value: UInt64 = 0
            _ = try? sys("read(eventfd)") { Glibc.read(wakeFD, &value, 8) }
            return
        }
        let index = Int(event.fd)
        guard index < registrations.count, registrations[index].generation == event.generation,
              let target = registrations[index].target else {
            return // stale: the fd was closed (and maybe reused) after this event was reported
        }
        target.handleEvent(event)
    }

    private func runTasks() {
        let tasks = taskQueue.withLock { queue in
            defer {
                queue.tasks = []
                queue.wakePending = false
            }
            return queue.tasks
        }
        for task in tasks { task() }
    }

    private func runDeferred() {
        while !deferred.isEmpty {
            let batch = deferred
            deferred = []
            for body in batch { body() }
        }
    }

    private func flushDirty() {
        while !dirty.isEmpty {
            let batch = dirty
            dirty = []
            for connection in batch { connection.flushNow() }
        }
    }

    // MARK: Loop-confined API

    /// Runs `body` later in this iteration, outside the current callback (avoids re-entrancy).
    func deferToEndOfIteration(_ body: @escaping () -> Void) {
        assertInLoop()
        deferred.append(body)
    }

    func markDirty(_ connection: SocketConnection) {
        dirty.append(connection)
    }

    func register(fd: Int32, interest: SelectorInterest, target: any Selectable) throws(SystemError) -> UInt32 {
        assertInLoop()
        let generation = nextGeneration
        nextGeneration = nextGeneration == UInt32.max ? 1 : nextGeneration + 1
        let index = Int(fd)
        if index >= registrations.count {
            let newCount = max(index + 1, registrations.count * 2)
            registrations.append(contentsOf: repeatElement((generation: UInt32(0), target: (any Selectable)?.none), count: newCount - registrations.count))
        }
        try selector.register(fd: fd, generation: generation, interest: interest)
        registrations[index] = (generation, target)
        return generation
    }

    /// Drops the registration of an fd that is about to be closed (closing removes it from epoll).
    func forget(fd: Int32) {
        assertInLoop()
        registrations[Int(fd)] = (0, nil)
    }

    func deregister(fd: Int32) {
        assertInLoop()
        selector.deregister(fd: fd)
        registrations[Int(fd)] = (0, nil)
    }

    func connectionOpened(_ connection: SocketConnection) {
        connections[ObjectIdentifier(connection)] = connection
        _connectionCount.add(1, ordering: .relaxed)
    }

    func connectionClosed(_ connection: SocketConnection) {
        if connections.removeValue(forKey: ObjectIdentifier(connection)) != nil {
            _connectionCount.subtract(1, ordering: .relaxed)
        }
    }

    func addListener(_ listener: ListenerChannel) {
        listeners.append(listener)
    }

    /// Runs `body` once after `delay`. Returns a handle that can cancel it.
    @discardableResult
    func schedule(after delay: Duration, _ body: @escaping () -> Void) -> TimerHandle {
        assertInLoop()
        return timers.insert(deadline: .now + delay, body)
    }

    func scheduleRepeating(every interval: Duration, _ body: @escaping () -> Void) {
        schedule(after: interval) { [unowned self] in
            body()
            self.scheduleRepeating(every: interval, body)
        }
    }

    /// Once a second: idle, write-stall, drain and shutdown deadlines of every connection.
    private func sweep() {
        for connection in Array(connections.values) { connection.checkDeadlines(now: now) }
    }

    func statistics() -> ConnectionStatistics {
        assertInLoop()
        var result = ConnectionStatistics()
        for connection in connections.values {
            result.connections += 1
            result.queuedOutputBytes += connection.queuedOutputBytes
            result.maxQueuedOutputBytes = max(result.maxQueuedOutputBytes, connection.maxQueuedOutput)
        }
        return result
    }

    /// Stops accepting, asks every connection to finish, and arms the hard deadline.
    func beginGracefulShutdown(deadline: ContinuousClock.Instant) {
        assertInLoop()
        shutdownDeadline = deadline
        for listener in listeners { listener.close() }
        listeners.removeAll()
        for connection in Array(connections.values) { connection.requestShutdown() }
    }
}

public struct ConnectionStatistics: Sendable, Equatable {
    public var connections = 0
    /// Output accepted from handlers and not yet taken by the kernel, over all connections.
    public var queuedOutputBytes = 0
    /// The largest output queue any open connection has had.
    public var maxQueuedOutputBytes = 0

    mutating func add(_ other: ConnectionStatistics) {
        connections += other.connections
        queuedOutputBytes += other.queuedOutputBytes
        maxQueuedOutputBytes = max(maxQueuedOutputBytes, other.maxQueuedOutputBytes)
    }
}

/// Cancels a scheduled timer.
final class TimerHandle {
    fileprivate(set) var isCancelled = false
    func cancel() { isCancelled = true }
}

/// A binary min-heap of timers ordered by deadline, then by insertion order.
struct TimerHeap {
    private struct Entry {
        let deadline: ContinuousClock.Instant
        let sequence: UInt64
        let handle: TimerHandle
        let body: () -> Void
        func precedes(_ other: Entry) -> Bool {
            deadline < other.deadline || (deadline == other.deadline && sequence < other.sequence)
        }
    }
    private var entries: [Entry] = []
    private var sequence: UInt64 = 0

    var nextDeadline: ContinuousClock.Instant? { entries.first?.deadline }

    mutating func insert(deadline: ContinuousClock.Instant, _ body: @escaping () -> Void) -> TimerHandle {
        sequence += 1
        let handle = TimerHandle()
        entries.append(Entry(deadline: deadline, sequence: sequence, handle: handle, body: body))
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].precedes(entries[parent]) else { break }
            entries.swapAt(child, parent)
            child = parent
        }
        return handle
    }

    /// Removes and returns the body of the earliest timer if it is due; skips cancelled ones.
    mutating func popDue(now: ContinuousClock.Instant) -> (() -> Void)? {
        while let first = entries.first, first.deadline <= now {
            let last = entries.removeLast()
            if !entries.isEmpty {
                entries[0] = last
                var parent = 0
                while true {
                    let left = 2 * parent + 1, right = left + 1
                    var smallest = parent
                    if left < entries.count && entries[left].precedes(entries[smallest]) { smallest = left }
                    if right < entries.count && entries[right].precedes(entries[smallest]) { smallest = right }
                    if smallest == parent { break }
                    entries.swapAt(parent, smallest)
                    parent = smallest
                }
            }
            if !first.handle.isCancelled { return first.body }
        }
        return nil
    }
}

extension Duration {
    /// Whole milliseconds, rounded down.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

/// Carries a loop-confined value through a Sendable closure. `value` may only be read on `loop`'s thread,
/// which is checked at run time.
struct LoopBound<Value>: @unchecked Sendable {
    private let _value: Value
    let loop: EventLoop
    init(_ value: Value, loop: EventLoop) {
        self._value = value
        self.loop = loop
    }
    var value: Value {
        loop.assertInLoop()
        return _value
    }
}
