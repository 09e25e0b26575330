// Starting named threads and a condition-variable lock for the blocking pool. Raw pthread handles stay here.

internal import CTernLinux
import Glibc

private final class ThreadBody {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

/// Starts a detached thread running `body`. The name (at most 15 bytes) shows in `top -H` and `ps -L`.
public func startThread(name: String, _ body: @escaping @Sendable () -> Void) {
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
    let box = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    var thread = pthread_t()
    let result = pthread_create(&thread, &attributes, { raw in
        let body = Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue()
        body.run()
        return nil
    }, box)
    precondition(result == 0, "pthread_create failed: \(result)")
    _ = c_tern_pthread_setname(thread, name)
}

/// Gives the calling thread a lower CPU priority (a nice value, 1-19), so background work (the full-text indexer)
/// takes what the protocol threads leave. Best effort: false if the kernel refused.
@discardableResult
public func lowerCurrentThreadPriority(nice: Int32) -> Bool {
    c_tern_set_thread_nice(nice) == 0
}

/// A mutex with a condition variable. Lives as long as its owner; never copied. `package`: the outbound queue's
/// threads wait on one too.
package final class ConditionLock: @unchecked Sendable {
    // Invariant: `mutex` and `condition` are only used through lock/unlock/wait/signal below, which pair
    // every lock with an unlock on the same thread (enforced by the withLock shape).
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    package init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    package func withLock<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Waits for a signal; call only inside `withLock`.
    package func wait() { pthread_cond_wait(condition, mutex) }

    /// Waits for a signal or until `timeout` has passed (spurious wake-ups possible); call only inside `withLock`.
    package func wait(timeout: Duration) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let (seconds, attoseconds) = timeout.components
        var nanoseconds = Int(now.tv_nsec) + Int(attoseconds / 1_000_000_000)
        var deadline = timespec(tv_sec: now.tv_sec + Int(seconds) + nanoseconds / 1_000_000_000, tv_nsec: 0)
        nanoseconds %= 1_000_000_000
        deadline.tv_nsec = nanoseconds
        pthread_cond_timedwait(condition, mutex, &deadline)
    }

    package func signal() { pthread_cond_signal(condition) }
    package func broadcast() { pthread_cond_broadcast(condition) }
}

/// State shared by threads that wait for each other to change it (the outbound queue's scheduler and workers).
///
/// `@unchecked Sendable`: `state` is private and only reached inside `withLock` / `wait`, which hold `lock` for the
/// whole closure, so no two threads ever touch it at once; `lock.withLock` pairs every lock with its unlock.
package final class GuardedCondition<State>: @unchecked Sendable {
    private let lock = ConditionLock()
    private var state: State

    package init(_ state: State) { self.state = state }

    package func withLock<R>(_ body: (inout State) throws -> R) rethrows -> R {
        try lock.withLock { try body(&state) }
    }

    /// Changes the state and wakes every waiter.
    package func update<R>(_ body: (inout State) throws -> R) rethrows -> R {
        try lock.withLock {
            defer { lock.broadcast() }
            return try body(&state)
        }
    }

    /// Waits until `ready` holds or `timeout` has passed, then runs `body` under the same lock.
    package func wait<R>(
        upTo timeout: Duration, until ready: (inout State) -> Bool, then body: (inout State) throws -> R
    ) rethrows -> R {
        let deadline = ContinuousClock.now + timeout
        return try lock.withLock {
            while !ready(&state) {
                let remaining = ContinuousClock.now.duration(to: deadline)
                if remaining <= .zero { break }
                lock.wait(timeout: remaining)
            }
            return try body(&state)
        }
    }
}
