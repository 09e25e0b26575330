// File operations of the spool: write a message file durably (temp name, fsync, rename, fsync the folder), read
// it back, remove it, list the folder. Raw descriptors stay in this file; every failure names the file.

import Glibc
import TernPosix

enum SpoolFile {
    static func failure(_ call: String, _ path: String) -> QueueError { failure(call, path, errno: errno) }

    static func failure(_ call: String, _ path: String, errno code: Int32) -> QueueError {
        .storage("\(call) \(path): \(String(cString: strerror(code)))")
    }

    /// A failure of the shared `FileSystem` calls, as a queue error naming `path`.
    static func failure(_ error: SystemError, _ path: String) -> QueueError { failure(error.call, path, errno: error.errno) }

    /// Writes `bytes` to `directory/name` so that once this returns the file and its name survive a crash:
    /// `.tmp-name` is written and fsynced, renamed to `name`, and the folder is fsynced.
    static func writeDurably(_ bytes: [UInt8], directory: String, name: String) throws(QueueError) {
        let temporary = "\(directory)/.tmp-\(name)"
        let final = "\(directory)/\(name)"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure("open", temporary) }
        var error: QueueError?
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    error = failure("write", temporary)
                    return
                }
                offset += written
            }
        }
        if error == nil && fsync(fd) != 0 { error = failure("fsync", temporary) }
        if close(fd) != 0 && error == nil { error = failure("close", temporary) }
        if error == nil && rename(temporary, final) != 0 { error = failure("rename", temporary) }
        if let error {
            unlink(temporary)
            throw error
        }
        try syncDirectory(directory)
    }

    static func syncDirectory(_ path: String) throws(QueueError) {
        do throws(SystemError) { try FileSystem.syncDirectory(path) } catch { throw failure(error, path) }
    }

    static func read(_ path: String) throws(QueueError) -> [UInt8] {
        do throws(SystemError) { return try FileSystem.readBytes(path) } catch { throw failure(error, path) }
    }

    static func remove(_ path: String) throws(QueueError) {
        if unlink(path) != 0 && errno != ENOENT { throw failure("unlink", path) }
    }

    static func makeDirectory(_ path: String) throws(QueueError) {
        do throws(SystemError) { try FileSystem.createDirectory(path) } catch { throw failure(error, path) }
    }

    /// Names in a folder, without `.` and `..`.
    static func list(_ path: String) throws(QueueError) -> [String] {
        do throws(SystemError) { return try FileSystem.list(path) } catch { throw failure(error, path) }
    }

    /// Seconds since the file was last modified; nil if it is gone.
    static func age(_ path: String, now: Int64) -> Int64? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return now - Int64(info.st_mtim.tv_sec)
    }
}

/// Unix time in seconds.
public func wallClockSeconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec)
}
