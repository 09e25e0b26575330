// The file operations behind "durable before acknowledged": write a new file completely and fsync it, rename it
// into place, fsync the directory. Raw descriptors stay inside this file; ENOSPC and EDQUOT become `.noSpace`.

internal import CTernLinux
import Glibc
import TernPosix

enum DurableFile {
    static func error(_ call: String, _ path: String) -> StoreError { error(call, path, errno: errno) }

    static func error(_ call: String, _ path: String, errno code: Int32) -> StoreError {
        if code == ENOSPC || code == EDQUOT { return .noSpace }
        return .io("\(call) \(path): \(String(cString: strerror(code)))")
    }

    /// A failure of the shared `FileSystem` calls, as a store error naming `path`.
    static func error(_ failure: SystemError, _ path: String) -> StoreError { error(failure.call, path, errno: failure.errno) }

    /// Writes all of `bytes` to `fd`, retrying short writes and EINTR.
    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(StoreError) {
        var failure: StoreError?
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = error("write", path)
                    return
                }
                offset += written
            }
        }
        if let failure { throw failure }
    }

    /// Creates `path` (which must not exist), writes `bytes`, closes; fsyncs first when `sync` is set (otherwise a
    /// later `syncFileSystem` must make it durable). Removes the file on any failure.
    static func create(_ path: String, bytes: [UInt8], sync: Bool = true) throws(StoreError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw error("open", path) }
        var failure: StoreError?
        do { try writeAll(fd, bytes, path: path) } catch let writeError { failure = writeError }
        if sync && failure == nil && fsync(fd) != 0 { failure = error("fsync", path) }
        if close(fd) != 0 && failure == nil { failure = error("close", path) }
        if let failure {
            unlink(path)
            throw failure
        }
    }

    /// Writes `bytes` into an unnamed file in `directory` and links it as `path` (one directory operation instead
    /// of create + rename). Returns false, having done nothing, if the file system has no unnamed files.
    static func createUnnamed(in directory: String, as path: String, bytes: [UInt8]) throws(StoreError) -> Bool {
        let fd = c_tern_open_unnamed(directory)
        guard fd >= 0 else {
            if errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL { return false }
            throw error("open(O_TMPFILE)", directory)
        }
        defer { close(fd) }
        try writeAll(fd, bytes, path: path)
        guard c_tern_link_unnamed(fd, path) == 0 else { throw error("linkat", path) }
        return true
    }

    static func rename(_ from: String, to: String) throws(StoreError) {
        guard Glibc.rename(from, to) == 0 else { throw error("rename", from) }
    }

    /// Makes the directory entries of `path` (creations, renames, removals) durable.
    static func syncDirectory(_ path: String) throws(StoreError) {
        do throws(SystemError) { try FileSystem.syncDirectory(path) } catch { throw Self.error(error, path) }
    }

    /// Makes every pending write of the file system holding `path` durable (syncfs(2)): one flush for a whole
    /// batch of new files and their directory entries, instead of one fsync per file and per directory.
    /// Shared across accounts: a syncfs flushes the whole file system, so callers that arrive while one runs wait
    /// for the next one, which then covers all of them (see `FileSystemSync`).
    static func syncFileSystem(_ path: String) throws(StoreError) {
        try FileSystemSync.shared.sync(path)
    }

    /// One syncfs, now.
    static func syncFileSystemNow(_ path: String) throws(StoreError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw error("open", path) }
        defer { close(fd) }
        guard c_tern_syncfs(fd) == 0 else { throw error("syncfs", path) }
    }

    static func makeDirectory(_ path: String) throws(StoreError) {
        if mkdir(path, 0o700) != 0 && errno != EEXIST { throw error("mkdir", path) }
    }

    /// Creates `path` and any missing parents.
    static func makeDirectories(_ path: String) throws(StoreError) {
        do throws(SystemError) { try FileSystem.createDirectory(path) } catch { throw Self.error(error, path) }
    }

    /// The file's bytes up to and including the blank line that ends a message header (all of it if there is none;
    /// at most 4 MiB): what a header FETCH, SORT or THREAD needs, without reading the body.
    static func readHeader(_ path: String) throws(StoreError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { throw StoreError.messageNotFound }
            throw error("open", path)
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 8192)
        var scanned = 0
        while bytes.count < 4 * 1024 * 1024 {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw error("read", path)
            }
            guard count > 0 else { break }
            bytes += chunk[0..<count]
            // LF LF or LF CR LF, looked for from where the last look stopped.
            var index = max(0, scanned - 2)
            while index < bytes.count {
                if bytes[index] == 10 {
                    if index + 1 < bytes.count, bytes[index + 1] == 10 { return Array(bytes[...(index + 1)]) }
                    if index + 2 < bytes.count, bytes[index + 1] == 13, bytes[index + 2] == 10 { return Array(bytes[...(index + 2)]) }
                }
                index += 1
            }
            scanned = bytes.count
        }
        return bytes
    }

    static func read(_ path: String) throws(StoreError) -> [UInt8] {
        do throws(SystemError) {
            return try FileSystem.readBytes(path)
        } catch {
            if error.errno == ENOENT { throw StoreError.messageNotFound }
            throw Self.error(error, path)
        }
    }

    static func remove(_ path: String) throws(StoreError) {
        if unlink(path) != 0 && errno != ENOENT { throw error("unlink", path) }
    }

    /// Names in a directory (without . and ..).
    static func list(_ path: String) throws(StoreError) -> [String] {
        do throws(SystemError) { return try FileSystem.list(path) } catch { throw Self.error(error, path) }
    }
}
