// epoll, level-triggered. Each registration's token packs the fd with a generation number so an event that
// arrives for an fd closed and reused within the same epoll_wait batch is recognised as stale and dropped.

internal import CTernLinux
import Glibc

struct SelectorInterest: OptionSet, Equatable {
    let rawValue: UInt32
    static let read = SelectorInterest(rawValue: EPOLLIN.rawValue | EPOLLRDHUP.rawValue)
    static let write = SelectorInterest(rawValue: EPOLLOUT.rawValue)
}

struct SelectorEvent {
    let fd: Int32
    let generation: UInt32
    let isReadable: Bool
    let isWritable: Bool
    let isHangup: Bool
    let isError: Bool
}

final class Selector {
    let epollFD: Int32
    private let capacity = 512
    private let events: UnsafeMutablePointer<epoll_event>

    init() throws(SystemError) {
        epollFD = try sysMust("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) }
        events = .allocate(capacity: capacity)
    }

    deinit {
        events.deallocate()
        closeDescriptor(epollFD)
    }

    static func token(fd: Int32, generation: UInt32) -> UInt64 {
        UInt64(UInt32(bitPattern: fd)) | (UInt64(generation) << 32)
    }

    func register(fd: Int32, generation: UInt32, interest: SelectorInterest) throws(SystemError) {
        try control(EPOLL_CTL_ADD, fd: fd, generation: generation, interest: interest)
    }

    func modify(fd: Int32, generation: UInt32, interest: SelectorInterest) throws(SystemError) {
        try control(EPOLL_CTL_MOD, fd: fd, generation: generation, interest: interest)
    }

    func deregister(fd: Int32) {
        var event = epoll_event()
        _ = try? sys("epoll_ctl") { epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, &event) }
    }

    private func control(_ op: Int32, fd: Int32, generation: UInt32, interest: SelectorInterest) throws(SystemError) {
        var event = epoll_event()
        c_tern_epoll_event_set(&event, interest.rawValue, Self.token(fd: fd, generation: generation))
        _ = try sysMust("epoll_ctl") { epoll_ctl(epollFD, op, fd, &event) }
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever) and calls `body` for each event.
    func wait(timeoutMilliseconds: Int32, _ body: (SelectorEvent) -> Void) throws(SystemError) {
        let count: Int32
        switch try sys("epoll_wait", { epoll_wait(epollFD, events, Int32(capacity), timeoutMilliseconds) }) {
        case .done(let n): count = n
        case .wouldBlock: return
        }
        for index in 0..<Int(count) {
            let flags = c_tern_epoll_event_events(events + index)
            let token = c_tern_epoll_event_data(events + index)
            body(SelectorEvent(
                fd: Int32(bitPattern: UInt32(truncatingIfNeeded: token)),
                generation: UInt32(truncatingIfNeeded: token >> 32),
                isReadable: flags & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue) != 0,
                isWritable: flags & EPOLLOUT.rawValue != 0,
                isHangup: flags & EPOLLHUP.rawValue != 0,
                isError: flags & EPOLLERR.rawValue != 0
            ))
        }
    }
}
