// Process-level system calls for the daemon: signals through signalfd, systemd readiness, dropping privileges,
// file descriptor limits, and atomic writes to stderr.

internal import CTernLinux
import Glibc

public enum ProcessSignal: Int32, Sendable {
    case hangup = 1     // SIGHUP: reload config and certificates
    case interrupt = 2  // SIGINT: graceful shutdown
    case terminate = 15 // SIGTERM: graceful shutdown
}

/// Receives SIGHUP, SIGINT and SIGTERM as values. Create it before starting any thread: it blocks those signals
/// in the calling thread, and threads started afterwards inherit the mask, so no thread is interrupted by them.
public final class SignalReceiver {
    private let fd: Int32

    public init() throws(SystemError) {
        var mask = sigset_t()
        _ = c_tern_sigemptyset(&mask)
        for signal in [SIGHUP, SIGINT, SIGTERM] { _ = c_tern_sigaddset(&mask, signal) }
        let result = pthread_sigmask(SIG_BLOCK, &mask, nil)
        guard result == 0 else { throw SystemError(call: "pthread_sigmask", errno: result) }
        signal(SIGPIPE, SIG_IGN)
        fd = try sysMust("signalfd") { signalfd(-1, &mask, Int32(SFD_CLOEXEC)) }
    }

    deinit { closeDescriptor(fd) }

    /// Blocks until one of the signals arrives.
    public func wait() throws(SystemError) -> ProcessSignal {
        var info = signalfd_siginfo()
        while true {
            let count = try sysMust("read(signalfd)") {
                Glibc.read(fd, &info, MemoryLayout<signalfd_siginfo>.size)
            }
            if count == MemoryLayout<signalfd_siginfo>.size, let signal = ProcessSignal(rawValue: Int32(info.ssi_signo)) {
                return signal
            }
        }
    }
}

/// sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET. Does nothing when not run by systemd.
public enum SystemdNotifier {
    public static func notify(_ state: String) {
        guard let path = getenv("NOTIFY_SOCKET").map({ String(cString: $0) }), !path.isEmpty else { return }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 } // abstract namespace
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { return }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
        }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        defer { closeDescriptor(fd) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
        _ = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                state.withCString { text in sendto(fd, text, strlen(text), Int32(MSG_NOSIGNAL), sa, length) }
            }
        }
    }
}

public enum ProcessIdentity {
    public static var isRoot: Bool { geteuid() == 0 }

    /// Looks up a user's uid and gid.
    public static func lookupUser(_ name: String) -> (uid: UInt32, gid: UInt32)? {
        guard let entry = getpwnam(name) else { return nil }
        return (entry.pointee.pw_uid, entry.pointee.pw_gid)
    }

    /// Drops root for `user` for good: supplementary groups, then gid, then uid; verifies root cannot be regained.
    public static func dropPrivileges(to user: String) throws(SystemError) {
        guard let (uid, gid) = lookupUser(user) else { throw SystemError(call: "getpwnam(\(user))", errno: ENOENT) }
        _ = try sysMust("initgroups") { initgroups(user, gid) }
        _ = try sysMust("setgid") { setgid(gid) }
        _ = try sysMust("setuid") { setuid(uid) }
        if setuid(0) == 0 { throw SystemError(call: "setuid(0) after dropping privileges", errno: EPERM) }
    }

    /// Gives `path` to `user` (used for the data folder before dropping root).
    public static func chown(_ path: String, to user: String) throws(SystemError) {
        guard let (uid, gid) = lookupUser(user) else { throw SystemError(call: "getpwnam(\(user))", errno: ENOENT) }
        _ = try sysMust("chown") { Glibc.chown(path, uid, gid) }
    }

    /// Raises the soft limit on open files to the hard limit; returns the new soft limit.
    @discardableResult
    public static func raiseOpenFileLimit() -> UInt64 {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        return UInt64(limit.rlim_cur)
    }

    public static var processID: Int32 { getpid() }
}

public enum StandardError {
    /// Writes `line` with one write(2), so lines from several threads never interleave.
    public static func write(_ line: String) { writeUnbuffered(line, to: 2) }
}

public enum StandardOutput {
    /// Writes `text` at once, bypassing stdio's buffer (which holds output back when stdout is a pipe).
    public static func write(_ text: String) { writeUnbuffered(text, to: 1) }
}

private func writeUnbuffered(_ text: String, to fd: Int32) {
    var text = text
    text.withUTF8 { bytes in
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if c_tern_errno() == EINTR { continue }
                return
            }
            offset += written
        }
    }
}

public enum Terminal {
    /// True if standard input is a terminal.
    public static var standardInputIsTerminal: Bool { isatty(0) == 1 }

    /// True if standard error is a terminal (progress bars go there).
    public static var standardErrorIsTerminal: Bool { isatty(2) == 1 }

    /// Prints `prompt` on stderr and reads one line from the terminal without echoing it. Nil on EOF.
    public static func readHiddenLine(prompt: String) -> String? {
        // Echo goes off before the prompt appears, so nothing typed after seeing it can be echoed or flushed.
        var saved = termios()
        let canHide = tcgetattr(0, &saved) == 0
        if canHide {
            var hidden = saved
            hidden.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(0, TCSANOW, &hidden)
        }
        defer {
            if canHide { tcsetattr(0, TCSANOW, &saved) }
            StandardError.write("\n")
        }
        StandardError.write(prompt)
        return readLine(strippingNewline: true)
    }
}
