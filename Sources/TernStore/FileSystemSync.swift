// Group commit across accounts. Each account's group committer makes its batch durable with one syncfs; with many
// accounts committing at once (50 clients delivering to 50 mailboxes) those syncfs calls ran side by side and each
// flushed the same file system again. Here a caller takes a ticket after its writes; a syncfs started after the
// ticket covers it. Whoever finds no syncfs running starts one for every ticket taken so far; the others wait.
//
// Invariant: `completed` only grows, and a syncfs sets it to the highest ticket taken before that syncfs began, so
// a caller returns only after a syncfs that started after its writes has finished (or reports that one's failure).
// Keyed by file system (st_dev): a syncfs of one covers nothing on another.

import Glibc
import TernPosix

final class FileSystemSync: Sendable {
    static let shared = FileSystemSync()

    private struct Device {
        var taken: UInt64 = 0
        var completed: UInt64 = 0
        var running = false
        /// Tickets up to this one were covered by a failed syncfs.
        var failedThrough: UInt64 = 0
        var failure: StoreError?
        /// syncfs calls made (for tests).
        var calls = 0
    }
    private let state = GuardedCondition([UInt64: Device]())

    /// syncfs calls made so far for the file system of `path` (tests).
    func calls(for path: String) -> Int {
        var status = stat()
        guard stat(path, &status) == 0 else { return 0 }
        return state.withLock { $0[UInt64(status.st_dev)]?.calls ?? 0 }
    }

    func sync(_ path: String) throws(StoreError) {
        var status = stat()
        guard stat(path, &status) == 0 else { throw DurableFile.error("stat", path) }
        let device = UInt64(status.st_dev)
        let ticket = state.update { devices -> UInt64 in
            devices[device, default: Device()].taken += 1
            return devices[device]!.taken
        }
        while true {
            // Wait while a syncfs that cannot cover us runs; return once one that covers us has finished.
            let next: Result<UInt64?, StoreError> = state.wait(upTo: .seconds(3600), until: { devices in
                let entry = devices[device]!
                return entry.completed >= ticket || !entry.running
            }, then: { devices -> Result<UInt64?, StoreError> in
                var entry = devices[device]!
                if entry.completed >= ticket {
                    if ticket <= entry.failedThrough, let failure = entry.failure { return .failure(failure) }
                    return .success(nil)
                }
                guard !entry.running else { return .success(0) }  // the wait timed out: wait again
                entry.running = true
                entry.calls += 1
                devices[device] = entry
                return .success(entry.taken)  // this syncfs covers every ticket taken so far
            })
            let target: UInt64
            switch next {
            case .failure(let error): throw error
            case .success(nil): return
            case .success(0?): continue
            case .success(let value?): target = value
            }
            var failure: StoreError?
            do throws(StoreError) { try DurableFile.syncFileSystemNow(path) } catch { failure = error }
            state.update { devices in
                var entry = devices[device]!
                entry.running = false
                entry.completed = max(entry.completed, target)
                if let failure {
                    entry.failedThrough = target
                    entry.failure = failure
                }
                devices[device] = entry
            }
            if let failure { throw failure }
            return
        }
    }
}
