// Group commit: concurrent appends to one account share the directory fsyncs and the index transaction.
//
// Each appender writes and fsyncs its own file first (in parallel, outside any lock), then submits it here. The
// first submitter becomes the leader: it takes every pending append, syncs the directories once, commits one
// index transaction for all of them, hands each its result, and repeats while more arrived meanwhile. The others
// wait. So 32 concurrent deliveries cost far fewer than 32 directory fsyncs and 32 WAL fsyncs.

import Glibc

final class GroupCommitter<Item: Sendable, Result: Sendable>: @unchecked Sendable {
    // Invariant: every `var` below is read and written only with `mutex` held. The mutex and condition live in
    // allocated memory: a pthread object must never move, which a class's stored property may.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var pending: [(ticket: UInt64, item: Item)] = []
    private var results: [UInt64: Swift.Result<Result, StoreError>] = [:]
    private var nextTicket: UInt64 = 0
    private var leaderActive = false
    private let commit: @Sendable ([Item]) -> [Swift.Result<Result, StoreError>]

    /// `commit` receives a batch and returns one result per item, in order.
    init(commit: @escaping @Sendable ([Item]) -> [Swift.Result<Result, StoreError>]) {
        self.commit = commit
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Submits `item` and blocks until the batch holding it is committed.
    func submit(_ item: Item) throws(StoreError) -> Result {
        pthread_mutex_lock(mutex)
        nextTicket += 1
        let ticket = nextTicket
        pending.append((ticket, item))
        while results[ticket] == nil {
            if !leaderActive {
                leaderActive = true
                while !pending.isEmpty {
                    let batch = pending
                    pending = []
                    pthread_mutex_unlock(mutex)
                    let outcomes = commit(batch.map(\.item))
                    pthread_mutex_lock(mutex)
                    for (entry, outcome) in zip(batch, outcomes) { results[entry.ticket] = outcome }
                    pthread_cond_broadcast(condition)
                }
                leaderActive = false
                pthread_cond_broadcast(condition)
            } else {
                pthread_cond_wait(condition, mutex)
            }
        }
        let outcome = results.removeValue(forKey: ticket)!
        pthread_mutex_unlock(mutex)
        return try outcome.get()
    }
}
