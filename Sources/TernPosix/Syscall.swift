// The one syscall wrapper. Every socket, epoll, eventfd and signalfd call in Tern goes through `sys`.
//
// - EINTR is retried.
// - EAGAIN / EWOULDBLOCK comes back as `.wouldBlock`, a value, not an error.
// - errno values that can only mean a bug in Tern (EBADF: a closed or foreign fd; EFAULT: a bad pointer) trap at
//   once instead of being reported as I/O errors, so they are found rather than logged.
// - errno is read in C right after the failing call, before any Swift code can clobber it.

internal import CTernLinux
import Glibc

/// A failed system call: its name and errno.
public struct SystemError: Error, CustomStringConvertible, Equatable, Sendable {
    public let call: String
    public let errno: Int32

    public init(call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    public var description: String { "\(call): \(String(cString: strerror(errno))) (errno \(errno))" }
}

/// The outcome of a non-blocking call.
public enum IOResult<Value> {
    case done(Value)
    case wouldBlock
}

/// Runs a call returning -1 on failure. `body` must be the raw syscall and nothing else.
@inline(__always)
func sys<T: FixedWidthInteger>(_ name: StaticString, _ body: () -> T) throws(SystemError) -> IOResult<T> {
    while true {
        let result = body()
        if result >= 0 { return .done(result) }
        let code = c_tern_errno()
        switch code {
        case EINTR:
            continue
        case EAGAIN, EWOULDBLOCK, EINPROGRESS:
            return .wouldBlock
        case EBADF, EFAULT:
            preconditionFailure("\(name) failed with errno \(code): a bug in Tern (bad descriptor or pointer)")
        default:
            throw SystemError(call: "\(name)", errno: code)
        }
    }
}

/// Runs a call that must not block; `.wouldBlock` is reported as EAGAIN.
@inline(__always)
func sysMust<T: FixedWidthInteger>(_ name: StaticString, _ body: () -> T) throws(SystemError) -> T {
    switch try sys(name, body) {
    case .done(let value): return value
    case .wouldBlock: throw SystemError(call: "\(name)", errno: EAGAIN)
    }
}

/// Closes a descriptor we own. EINTR after close is not retried (Linux has released the fd already).
func closeDescriptor(_ fd: Int32) {
    if Glibc.close(fd) != 0 {
        let code = c_tern_errno()
        precondition(code != EBADF, "close(\(fd)) failed with EBADF: double close, a bug in Tern")
    }
}
