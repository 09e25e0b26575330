// File-system calls shared by the daemon, the store and the queue: reading whole files, creating folders, making
// directory entries durable, listing folders. Errors carry the failing call and errno; callers add the path.

internal import CTernLinux
import Glibc

public enum FileSystem {
    /// Reads a whole file as UTF-8 text (at most 16 MiB: configs, password files).
    public static func readText(_ path: String) throws(SystemError) -> String {
        String(decoding: try readBytes(path, limit: 16 << 20), as: UTF8.self)
    }

    /// Reads a whole file; more than `limit` bytes is an error (EFBIG).
    public static func readBytes(_ path: String, limit: Int = .max) throws(SystemError) -> [UInt8] {
        let fd = try sysMust("open") { open(path, O_RDONLY | O_CLOEXEC) }
        defer { closeDescriptor(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = try sysMust("read") { chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) } }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > limit { throw SystemError(call: "read", errno: EFBIG) }
        }
    }

    /// Makes the directory entries of `path` (creations, renames, removals) durable.
    public static func syncDirectory(_ path: String) throws(SystemError) {
        let fd = try sysMust("open") { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        defer { closeDescriptor(fd) }
        _ = try sysMust("fsync") { fsync(fd) }
    }

    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// Names in a directory, without `.` and `..`. The name is read as a C string where readdir put it: a
    /// `struct dirent` is only `d_reclen` bytes long, so copying the whole 256-byte `d_name` field can read past
    /// the end of readdir's buffer (and fault at a page boundary).
    public static func list(_ path: String) throws(SystemError) -> [String] {
        guard let directory = opendir(path) else { throw SystemError(call: "opendir", errno: errno) }
        defer { closedir(directory) }
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = String(cString: (UnsafeRawPointer(entry) + nameOffset).assumingMemoryBound(to: CChar.self))
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Creates `path` and its missing parents with `mode`.
    public static func createDirectory(_ path: String, mode: UInt32 = 0o700) throws(SystemError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if mkdir(prefix, mode) != 0 {
                let code = c_tern_errno()
                if code != EEXIST { throw SystemError(call: "mkdir \(prefix)", errno: code) }
            }
            prefix += "/"
        }
    }

    /// The absolute, symlink-free form of an existing path.
    public static func absolutePath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
