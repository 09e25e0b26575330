// Where mail for a domain goes: a configured relay host, a static route ("domain=host:port", "*" for all other
// domains; this is also how tests point domains at a peer on loopback without DNS), or the domain's MX hosts
// (RFC 5321 §5.1): MX records by preference, no MX → the domain itself (its A/AAAA), a null MX (RFC 7505, ".")
// → permanent failure 5.1.10, a domain that does not exist → 5.1.2, DNS trouble → try again later (4.4.3).

internal import CTernResolv
public import TernPosix
public import TernSMTPCore

/// `host:port` (a name, an IPv4 address, or `[IPv6]`).
public struct RouteTarget: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    public init(parsing text: String) throws(RouteParseError) {
        let host: Substring
        let port: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[close...].hasPrefix("]:") else {
                throw RouteParseError("'\(text)' is not host:port ([ipv6]:port for IPv6)")
            }
            host = text[text.index(after: text.startIndex)..<close]
            port = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw RouteParseError("'\(text)' has no port (write host:port)") }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
            guard !host.contains(":") else { throw RouteParseError("'\(text)': write IPv6 addresses as [address]:port") }
        }
        guard !host.isEmpty, host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-:_".contains($0)) }) else {
            throw RouteParseError("'\(text)' has no valid host")
        }
        guard let number = UInt16(port), number > 0 else { throw RouteParseError("'\(text)' has no valid port (1-65535)") }
        self.host = String(host)
        self.port = number
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

public struct RouteParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Where one recipient domain's mail goes.
public enum Destination: Sendable, Hashable, CustomStringConvertible {
    case relay(RouteTarget)
    case route(RouteTarget)
    case mx(domain: String)

    public var description: String {
        switch self {
        case .relay(let target): "relay \(target)"
        case .route(let target): "route \(target)"
        case .mx(let domain): "MX of \(domain)"
        }
    }
}

public struct OutboundRouting: Sendable, Equatable {
    /// Every message goes here when set (smarthost).
    public var relay: RouteTarget?
    /// Lower-cased domain → target; "*" is the default for domains without a route.
    public var routes: [String: RouteTarget]
    /// The port of MX hosts (25; tests use another).
    public var mxPort: UInt16

    public init(relay: RouteTarget? = nil, routes: [String: RouteTarget] = [:], mxPort: UInt16 = 25) {
        self.relay = relay
        self.routes = routes
        self.mxPort = mxPort
    }

    /// Parses one `domain=host:port` entry of `routes`.
    public static func parseRoute(_ text: String) throws(RouteParseError) -> (domain: String, target: RouteTarget) {
        guard let equals = text.firstIndex(of: "=") else {
            throw RouteParseError("'\(text)' is not domain=host:port")
        }
        let domain = text[..<equals].trimmingCharacters(" ").lowercased()
        let isDomain = domain == "*" || (!domain.isEmpty && domain.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") }
                                         && !domain.hasPrefix(".") && !domain.hasSuffix("."))
        guard isDomain else { throw RouteParseError("'\(text)': '\(domain)' is not a domain (or * for all others)") }
        return (domain, try RouteTarget(parsing: text[text.index(after: equals)...].trimmingCharacters(" ")))
    }

    public func destination(for domain: String) -> Destination {
        if let relay { return .relay(relay) }
        let key = domain.lowercased()
        if let target = routes[key] { return .route(target) }
        // An address literal: [192.0.2.1] or [IPv6:2001:db8::1] (RFC 5321 §4.1.3).
        if key.hasPrefix("["), key.hasSuffix("]") {
            var inner = key.dropFirst().dropLast()
            if inner.hasPrefix("ipv6:") { inner = inner.dropFirst(5) }
            return .route(RouteTarget(host: String(inner), port: mxPort))
        }
        if let target = routes["*"] { return .route(target) }
        return .mx(domain: key)
    }
}

extension StringProtocol {
    fileprivate func trimmingCharacters(_ character: Character) -> String {
        String(drop { $0 == character }.reversed().drop { $0 == character }.reversed())
    }
}

// MARK: - DNS

public struct MXRecord: Sendable, Equatable {
    public var preference: Int
    public var host: String
    public init(preference: Int, host: String) {
        self.preference = preference
        self.host = host
    }
}

public enum MXLookupResult: Sendable, Equatable {
    case records([MXRecord])
    /// The domain exists and has no MX: deliver to its A/AAAA.
    case noRecords
    /// The domain does not exist.
    case noSuchDomain
}

public struct ResolveError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public let isTemporary: Bool
    public init(_ description: String, isTemporary: Bool) {
        self.description = description
        self.isTemporary = isTemporary
    }
}

/// DNS as the queue needs it; tests substitute their own.
public protocol DNSResolver: Sendable {
    func lookupMX(_ domain: String) throws(ResolveError) -> MXLookupResult
    func lookupAddresses(_ host: String, port: UInt16) throws(ResolveError) -> [SocketAddress]
}

/// Glibc's resolver: `res_query` for MX (thread-safe: per-thread state), getaddrinfo for A/AAAA.
public struct SystemResolver: DNSResolver {
    public init() {}

    public func lookupMX(_ domain: String) throws(ResolveError) -> MXLookupResult {
        let capacity = 64
        var records = [c_tern_mx_record](repeating: c_tern_mx_record(), count: capacity)
        let count = records.withUnsafeMutableBufferPointer { c_tern_mx_lookup(domain, $0.baseAddress, Int32(capacity)) }
        switch count {
        case C_TERN_MX_NXDOMAIN: return .noSuchDomain
        case C_TERN_MX_NODATA: return .noRecords
        case C_TERN_MX_MALFORMED: throw ResolveError("malformed DNS answer for MX \(domain)", isTemporary: true)
        case ..<0: throw ResolveError("DNS lookup of MX \(domain) failed (temporary)", isTemporary: true)
        default:
            return .records(records.prefix(Int(count)).map { record in
                var record = record
                let host = withUnsafeBytes(of: &record.host) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                return MXRecord(preference: Int(record.preference), host: host.lowercased())
            })
        }
    }

    public func lookupAddresses(_ host: String, port: UInt16) throws(ResolveError) -> [SocketAddress] {
        do {
            return try HostResolver.addresses(of: host, port: port)
        } catch {
            if case .resolve(_, _, let temporary, _) = error { throw ResolveError(error.description, isTemporary: temporary) }
            throw ResolveError(error.description, isTemporary: true)
        }
    }
}

/// A host to try, in order: its name (for SNI and DSN Remote-MTA) and port.
public struct DeliveryHost: Sendable, Equatable {
    public var name: String
    public var port: UInt16
}

/// Why a destination has no host to try.
public struct RoutingFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public let status: EnhancedStatus
    public var isPermanent: Bool { status.statusClass == 5 }
}

extension OutboundRouting {
    /// The hosts to try for `destination`, best first.
    public func hosts(for destination: Destination, resolver: any DNSResolver) throws(RoutingFailure) -> [DeliveryHost] {
        switch destination {
        case .relay(let target), .route(let target):
            return [DeliveryHost(name: target.host, port: target.port)]
        case .mx(let domain):
            let answer: MXLookupResult
            do {
                answer = try resolver.lookupMX(domain)
            } catch {
                throw RoutingFailure(description: error.description,
                                     status: error.isTemporary ? EnhancedStatus(4, 4, 3) : EnhancedStatus(5, 4, 4))
            }
            switch answer {
            case .noSuchDomain:
                throw RoutingFailure(description: "the domain \(domain) does not exist", status: EnhancedStatus(5, 1, 2))
            case .noRecords:
                return [DeliveryHost(name: domain, port: mxPort)]
            case .records(let records):
                // RFC 7505: a single MX with the root as target means "this domain accepts no mail".
                if records.contains(where: { $0.host.isEmpty || $0.host == "." }) {
                    throw RoutingFailure(description: "\(domain) accepts no mail (null MX)", status: EnhancedStatus(5, 1, 10))
                }
                // Sorted by preference; equal preferences keep DNS order (a resolver already randomizes them).
                let sorted = records.enumerated().sorted { ($0.element.preference, $0.offset) < ($1.element.preference, $1.offset) }
                var seen = Set<String>()
                return sorted.compactMap { seen.insert($0.element.host).inserted ? DeliveryHost(name: $0.element.host, port: mxPort) : nil }
            }
        }
    }
}
