// `tern.lock` in an account's folder: every process with the store open holds it shared (flock), and recovery at
// open runs only when this process can take it exclusively — when no other process (ternd delivering, ternctl
// migrating or importing) has the store open and might have files in flight that are not indexed yet. Leftovers of
// a crash wait for the next open with nobody else; they are invisible until then and were never acknowledged.
//
// One descriptor per account folder per process, shared by every `AccountStore` of that folder in the process
// (flock locks belong to the open file description, so a second descriptor would conflict with the first).

import Glibc
import Synchronization

final class OpenLock: Sendable {
    private static let open = Mutex<[String: (fd: Int32, users: Int)]>([:])

    let path: String

    /// Takes the folder's lock (shared) for this store; `alone` says whether no other process holds it.
    init(folder: String) throws(StoreError) {
        path = folder + "/tern.lock"
        let result: Result<Void, StoreError> = Self.open.withLock { table in
            if var entry = table[path] {
                entry.users += 1
                table[path] = entry
                return .success(())
            }
            let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else { return .failure(DurableFile.error("open", path)) }
            _ = flock(fd, LOCK_SH)
            table[path] = (fd, 1)
            return .success(())
        }
        try result.get()
    }

    /// Runs `body` if no other process has the store open (holding the lock exclusively meanwhile, so none can
    /// start writing); returns whether it ran.
    func ifAlone(_ body: () throws(StoreError) -> Void) throws(StoreError) -> Bool {
        guard let fd = Self.open.withLock({ $0[path]?.fd }) else { return false }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return false }
        defer { _ = flock(fd, LOCK_SH) }
        try body()
        return true
    }

    deinit {
        Self.open.withLock { table in
            guard var entry = table[path] else { return }
            entry.users -= 1
            if entry.users == 0 {
                close(entry.fd)
                table[path] = nil
            } else {
                table[path] = entry
            }
        }
    }
}
