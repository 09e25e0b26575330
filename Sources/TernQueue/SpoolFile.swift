// File operations of the spool: write a message file durably (temp name, fsync, rename, fsync the folder), read
// it back, remove it, list the folder. Raw descriptors stay in this file; every failure names the file.

import Glibc
import TernPosix

enum SpoolFile {
    static func failure(_ call: String, _ path: String) -> QueueError {
        .storage("\(call) \(path): \(String(cString: strerror(errno)))")
    }

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
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("open", path) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw failure("fsync", path) }
    }

    static func read(_ path: String) throws(QueueError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("open", path) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure("read", path)
            }
            if count == 0 { return bytes }
            bytes += chunk[0..<count]
        }
    }

    static func remove(_ path: String) throws(QueueError) {
        if unlink(path) != 0 && errno != ENOENT { throw failure("unlink", path) }
    }

    static func makeDirectory(_ path: String) throws(QueueError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if mkdir(prefix, 0o700) != 0 && errno != EEXIST { throw failure("mkdir", prefix) }
            prefix += "/"
        }
    }

    /// Names in a folder, without `.` and `..`.
    static func list(_ path: String) throws(QueueError) -> [String] {
        do throws(SystemError) {
            return try FileSystem.list(path)
        } catch {
            errno = error.errno
            throw failure("opendir", path)
        }
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
