// Socket creation and addresses. Raw sockaddr structures stay inside this file.

internal import CTernLinux
import Glibc
public import TernCore

/// A resolved numeric socket address.
public struct SocketAddress: Sendable, CustomStringConvertible {
    enum Storage: Sendable {
        case v4(sockaddr_in)
        case v6(sockaddr_in6)
    }
    let storage: Storage

    public init(_ address: ListenAddress) throws(SystemError) {
        switch address.family {
        case .ipv4:
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = address.port.bigEndian
            guard inet_pton(AF_INET, address.host, &sin.sin_addr) == 1 else {
                throw SystemError(call: "inet_pton(\(address.host))", errno: EINVAL)
            }
            storage = .v4(sin)
        case .ipv6:
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = address.port.bigEndian
            guard inet_pton(AF_INET6, address.host, &sin6.sin6_addr) == 1 else {
                throw SystemError(call: "inet_pton(\(address.host))", errno: EINVAL)
            }
            storage = .v6(sin6)
        }
    }

    init(storage raw: sockaddr_storage) {
        var raw = raw
        if Int32(raw.ss_family) == AF_INET6 {
            storage = .v6(withUnsafeBytes(of: &raw) { $0.load(as: sockaddr_in6.self) })
        } else {
            storage = .v4(withUnsafeBytes(of: &raw) { $0.load(as: sockaddr_in.self) })
        }
    }

    var family: Int32 {
        switch storage {
        case .v4: return AF_INET
        case .v6: return AF_INET6
        }
    }

    public var port: UInt16 {
        switch storage {
        case .v4(let sin): return UInt16(bigEndian: sin.sin_port)
        case .v6(let sin6): return UInt16(bigEndian: sin6.sin6_port)
        }
    }

    /// The numeric host, IPv4-mapped IPv6 addresses shown as IPv4.
    public var host: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch storage {
        case .v4(let sin):
            // Formatted here: glibc's inet_ntop uses sprintf for IPv4, which shows up in the accept path.
            let address = UInt32(bigEndian: sin.sin_addr.s_addr)
            return "\(address >> 24).\((address >> 16) & 0xff).\((address >> 8) & 0xff).\(address & 0xff)"
        case .v6(var sin6):
            let bytes = withUnsafeBytes(of: &sin6.sin6_addr) { Array($0) }
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
                return bytes[12...].map(String.init).joined(separator: ".")
            }
            inet_ntop(AF_INET6, &sin6.sin6_addr, &text, socklen_t(text.count))
        }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public var description: String {
        if case .v6 = storage { return "[\(host)]:\(port)" }
        return "\(host):\(port)"
    }

    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws(SystemError) -> R) throws(SystemError) -> R {
        switch storage {
        case .v4(var sin):
            return try withUnsafePointer(to: &sin) { (pointer) throws(SystemError) -> R in
                try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (sa) throws(SystemError) -> R in
                    try body(sa, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        case .v6(var sin6):
            return try withUnsafePointer(to: &sin6) { (pointer) throws(SystemError) -> R in
                try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (sa) throws(SystemError) -> R in
                    try body(sa, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
    }
}

enum Socket {
    static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) throws(SystemError) {
        var value = value
        _ = try sysMust("setsockopt") { setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) }
    }

    /// A non-blocking listening socket bound to `address`, sharing the port with other loops (SO_REUSEPORT).
    static func makeListener(_ address: SocketAddress, backlog: Int32, reusePort: Bool) throws(SystemError) -> Int32 {
        let fd = try sysMust("socket") {
            socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        do throws(SystemError) {
            try setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
            if reusePort { try setOption(fd, SOL_SOCKET, SO_REUSEPORT, 1) }
            if address.family == AF_INET6 { try setOption(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, 1) }
            try address.withSockaddr { (sa, length) throws(SystemError) in
                _ = try sysMust("bind") { bind(fd, sa, length) }
            }
            _ = try sysMust("listen") { listen(fd, backlog) }
        } catch {
            closeDescriptor(fd)
            throw error
        }
        return fd
    }

    static func localAddress(_ fd: Int32) throws(SystemError) -> SocketAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try withUnsafeMutablePointer(to: &storage) { (pointer) throws(SystemError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (sa) throws(SystemError) in
                try sysMust("getsockname") { getsockname(fd, sa, &length) }
            }
        }
        return SocketAddress(storage: storage)
    }

    /// Accepts one connection; nil when none is waiting.
    static func accept(_ listenFD: Int32) throws(SystemError) -> (fd: Int32, peer: SocketAddress)? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = try withUnsafeMutablePointer(to: &storage) { (pointer) throws(SystemError) -> IOResult<Int32> in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (sa) throws(SystemError) -> IOResult<Int32> in
                try sys("accept4") { c_tern_accept4(listenFD, sa, &length, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)) }
            }
        }
        switch result {
        case .wouldBlock: return nil
        case .done(let fd): return (fd, SocketAddress(storage: storage))
        }
    }

    /// Starts a non-blocking connect. Returns the fd and whether the connection is already established.
    static func connect(to address: SocketAddress) throws(SystemError) -> (fd: Int32, connected: Bool) {
        let fd = try sysMust("socket") {
            socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        do throws(SystemError) {
            let result = try address.withSockaddr { (sa, length) throws(SystemError) -> IOResult<Int32> in
                try sys("connect") { Glibc.connect(fd, sa, length) }
            }
            switch result {
            case .done: return (fd, true)
            case .wouldBlock: return (fd, false)
            }
        } catch {
            closeDescriptor(fd)
            throw error
        }
    }

    /// The pending error of a non-blocking connect (0 when it succeeded).
    static func pendingError(_ fd: Int32) -> Int32 {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &length)
        return value
    }
}
