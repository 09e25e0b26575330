// A small blocking TCP client for the outbound queue's threads (not the event loops): connect, read and write,
// each bounded by a deadline through poll(2), plus host-name resolution with getaddrinfo(3).
//
// Invariants: one thread uses a `ClientSocket` at a time (the queue worker that made it); the descriptor is
// non-blocking and only waited on with poll, so no call can hang past its deadline; raw sockaddr structures and
// addrinfo lists stay inside this file.

internal import CTernLinux
import Glibc
public import TernCore

/// A failure of a client connection, with the peer named, for logs and bounces.
public enum ClientSocketError: Error, Sendable, Equatable, CustomStringConvertible {
    case connect(String, SystemError)
    case timeout(String)
    case io(String, SystemError)
    case resolve(host: String, code: Int32, temporary: Bool, message: String)

    public var description: String {
        switch self {
        case .connect(let peer, let error): return "cannot connect to \(peer): \(error)"
        case .timeout(let what): return "timed out \(what)"
        case .io(let peer, let error): return "connection to \(peer) failed: \(error)"
        case .resolve(let host, _, _, let message): return "cannot resolve \(host): \(message)"
        }
    }
}

public final class ClientSocket: BlockingByteStream {
    private var fd: Int32
    public let peer: SocketAddress

    /// Connects to `address` within `timeout`.
    public init(connectingTo address: SocketAddress, timeout: Duration) throws(ClientSocketError) {
        peer = address
        let started: (fd: Int32, connected: Bool)
        do { started = try Socket.connect(to: address) } catch { throw .connect("\(address)", error) }
        fd = started.fd
        if !started.connected {
            do throws(ClientSocketError) {
                try Self.wait(fd, events: Int16(POLLOUT), until: .now + timeout, what: "connecting to \(address)")
            } catch {
                close()  // through close(): a throwing init still runs deinit, which must not close again
                throw error
            }
            let code = Socket.pendingError(fd)
            if code != 0 {
                close()
                throw .connect("\(address)", SystemError(call: "connect", errno: code))
            }
        }
        try? Socket.setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
    }

    deinit { close() }

    /// Closes the connection (idempotent).
    public func close() {
        if fd >= 0 {
            closeDescriptor(fd)
            fd = -1
        }
    }

    /// Reads what is available (at most `maxBytes`), waiting until `deadline`. Empty: the peer closed.
    public func read(maxBytes: Int, deadline: ContinuousClock.Instant) throws(ClientSocketError) -> [UInt8] {
        precondition(fd >= 0, "read on a closed ClientSocket")
        var buffer = [UInt8](repeating: 0, count: maxBytes)
        while true {
            let outcome = buffer.withUnsafeMutableBytes { raw in
                Result { () throws(SystemError) -> IOResult<Int> in
                    try sys("recv") { recv(fd, raw.baseAddress, raw.count, 0) }
                }
            }
            let result: IOResult<Int>
            switch outcome {
            case .success(let value): result = value
            case .failure(let error): throw .io("\(peer)", error)
            }
            switch result {
            case .done(let count):
                return Array(buffer[0..<count])
            case .wouldBlock:
                try Self.wait(fd, events: Int16(POLLIN), until: deadline, what: "reading from \(peer)")
            }
        }
    }

    /// Writes all of `bytes`, waiting for buffer space until `deadline`.
    public func write(_ bytes: [UInt8], deadline: ContinuousClock.Instant) throws(ClientSocketError) {
        precondition(fd >= 0, "write on a closed ClientSocket")
        var offset = 0
        while offset < bytes.count {
            let outcome = bytes.withUnsafeBytes { raw in
                Result { () throws(SystemError) -> IOResult<Int> in
                    try sys("send") { send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL)) }
                }
            }
            let result: IOResult<Int>
            switch outcome {
            case .success(let value): result = value
            case .failure(let error): throw .io("\(peer)", error)
            }
            switch result {
            case .done(let count): offset += count
            case .wouldBlock: try Self.wait(fd, events: Int16(POLLOUT), until: deadline, what: "writing to \(peer)")
            }
        }
    }

    private static func wait(
        _ fd: Int32, events: Int16, until deadline: ContinuousClock.Instant, what: String
    ) throws(ClientSocketError) {
        while true {
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else { throw .timeout(what) }
            let (seconds, attoseconds) = remaining.components
            let milliseconds = Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let ready: Int32
            do {
                switch try sys("poll", { poll(&entry, 1, milliseconds) }) {
                case .done(let count): ready = count
                case .wouldBlock: ready = 0
                }
            } catch {
                throw .io(what, error)
            }
            // Errors and hang-ups are reported by the read or write that follows.
            if ready > 0 { return }
        }
    }
}

/// Host-name resolution for outgoing connections.
public enum HostResolver {
    /// The IPv4 and IPv6 addresses of `host` (a name or a numeric address) with `port`, in getaddrinfo's order
    /// (RFC 6724 preference), duplicates removed. No AI_ADDRCONFIG: it hides 127.0.0.1 on hosts without another
    /// IPv4 address; an unreachable family just fails to connect and the next address is tried.
    public static func addresses(of host: String, port: UInt16) throws(ClientSocketError) -> [SocketAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let code = getaddrinfo(host, String(port), &hints, &list)
        guard code == 0 else {
            let message = String(cString: gai_strerror(code))
            // EAI_NONAME / EAI_NODATA: the name has no address (permanent); anything else may pass.
            let temporary = code != EAI_NONAME && code != EAI_NODATA_VALUE
            throw .resolve(host: host, code: code, temporary: temporary, message: message)
        }
        defer { freeaddrinfo(list) }
        var result: [SocketAddress] = []
        var seen = Set<String>()
        var entry = list
        while let current = entry {
            if let sockaddrPointer = current.pointee.ai_addr,
               current.pointee.ai_family == AF_INET || current.pointee.ai_family == AF_INET6 {
                var storage = sockaddr_storage()
                withUnsafeMutableBytes(of: &storage) { target in
                    target.copyMemory(from: UnsafeRawBufferPointer(start: sockaddrPointer, count: Int(current.pointee.ai_addrlen)))
                }
                let address = SocketAddress(storage: storage)
                if seen.insert(address.description).inserted { result.append(address) }
            }
            entry = current.pointee.ai_next
        }
        return result
    }
}

/// EAI_NODATA is a glibc extension hidden behind _GNU_SOURCE in netdb.h; its value is fixed in the ABI.
private let EAI_NODATA_VALUE: Int32 = -5
