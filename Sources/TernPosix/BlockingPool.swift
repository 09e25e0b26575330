// A bounded pool of threads for work that may block (fsync, SQLite writes, password hashing, large file reads).
// Event loops never block: they hand work here and get the result back as a task on their own loop.
//
// Bounds: `threadCount` threads and at most `queueCapacity` jobs waiting. A full queue refuses new work with
// `BlockingPoolError.saturated` (the protocol answers "try again later") instead of growing without limit.

public enum BlockingPoolError: Error, Equatable, Sendable {
    case saturated
    case shutDown
}

public final class BlockingPool: Sendable {
    private let state: PoolState
    public let threadCount: Int

    public init(threadCount: Int, queueCapacity: Int = 10_000, name: String = "tern-blocking") {
        precondition(threadCount > 0)
        self.threadCount = threadCount
        state = PoolState(capacity: queueCapacity)
        for index in 0..<threadCount {
            let state = self.state
            startThread(name: "\(name)-\(index)") { state.runWorker() }
        }
    }

    /// Queues `job`; returns false if the queue is full or the pool has been shut down.
    public func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        state.enqueue(job)
    }

    /// Lets queued jobs finish and stops the threads.
    public func shutdown() { state.shutdown() }
}

private final class PoolState: @unchecked Sendable {
    // Invariant: `jobs` and `isShutDown` are only touched with `lock` held.
    private let lock = ConditionLock()
    private var jobs: [@Sendable () -> Void] = []
    private var head = 0
    private var isShutDown = false
    private let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func enqueue(_ job: @escaping @Sendable () -> Void) -> Bool {
        lock.withLock {
            guard !isShutDown, jobs.count - head < capacity else { return false }
            jobs.append(job)
            lock.signal()
            return true
        }
    }

    func shutdown() {
        lock.withLock {
            isShutDown = true
            lock.broadcast()
        }
    }

    func runWorker() {
        while let job = nextJob() { job() }
    }

    private func nextJob() -> (@Sendable () -> Void)? {
        lock.withLock {
            while head == jobs.count {
                if isShutDown { return nil }
                lock.wait()
            }
            let job = jobs[head]
            head += 1
            if head > 1024 && head * 2 > jobs.count {
                jobs.removeFirst(head)
                head = 0
            } else if head == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                head = 0
            }
            return job
        }
    }
}
