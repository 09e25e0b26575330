// Routing: config entries, which destination a domain gets, MX ordering, null MX, missing domains, and the
// system resolver on localhost only (no real DNS in tests).

import Testing
import TernCore
import TernPosix
import TernSMTPCore
@testable import TernQueue

/// DNS answers from a table: unknown MX names are a temporary failure, unknown hosts a permanent one.
struct TableResolver: DNSResolver {
    var mx: [String: MXLookupResult] = [:]
    var addresses: [String: [String]] = [:]

    func lookupMX(_ domain: String) throws(ResolveError) -> MXLookupResult {
        guard let answer = mx[domain] else { throw ResolveError("SERVFAIL for \(domain)", isTemporary: true) }
        return answer
    }

    func lookupAddresses(_ host: String, port: UInt16) throws(ResolveError) -> [SocketAddress] {
        // Numeric addresses (the test peers on 127.0.0.1) need no table entry.
        if let numeric = try? SocketAddress(.init(host: host, port: port, family: .ipv4)) { return [numeric] }
        guard let list = addresses[host] else { throw ResolveError("no address for \(host)", isTemporary: false) }
        return list.compactMap { try? SocketAddress(.init(host: $0, port: port, family: .ipv4)) }
    }
}

@Suite struct RoutingTests {
    @Test func parsesRouteEntries() throws {
        let route = try OutboundRouting.parseRoute("Remote.Test=127.0.0.1:2525")
        #expect(route.domain == "remote.test")
        #expect(route.target == RouteTarget(host: "127.0.0.1", port: 2525))
        #expect(try OutboundRouting.parseRoute("*=[::1]:25").target == RouteTarget(host: "::1", port: 25))
        #expect(try OutboundRouting.parseRoute(" a.test = smtp.example:587 ").target == RouteTarget(host: "smtp.example", port: 587))
        for bad in ["remote.test", "remote.test=127.0.0.1", "=127.0.0.1:25", "bad domain=h:25", "a.test=h:0",
                    "a.test=h:99999", "a.test=::1:25", "a.test=h/x:25"] {
            #expect(throws: RouteParseError.self, "\(bad)") { try OutboundRouting.parseRoute(bad) }
        }
    }

    @Test func destinations() {
        let target = RouteTarget(host: "127.0.0.1", port: 2525)
        var routing = OutboundRouting(routes: ["remote.test": target], mxPort: 25)
        #expect(routing.destination(for: "Remote.TEST") == .route(target))
        #expect(routing.destination(for: "other.test") == .mx(domain: "other.test"))
        #expect(routing.destination(for: "[192.0.2.1]") == .route(RouteTarget(host: "192.0.2.1", port: 25)))
        #expect(routing.destination(for: "[IPv6:2001:db8::1]") == .route(RouteTarget(host: "2001:db8::1", port: 25)))
        routing.routes["*"] = RouteTarget(host: "127.0.0.2", port: 25)
        #expect(routing.destination(for: "other.test") == .route(RouteTarget(host: "127.0.0.2", port: 25)))
        routing.relay = RouteTarget(host: "relay.test", port: 587)
        #expect(routing.destination(for: "remote.test") == .relay(RouteTarget(host: "relay.test", port: 587)))
    }

    @Test func mxHostsByPreferenceAndTheRFC5321Fallbacks() throws {
        let resolver = TableResolver(mx: [
            "multi.test": .records([MXRecord(preference: 20, host: "b.multi.test"), MXRecord(preference: 10, host: "a.multi.test"),
                                    MXRecord(preference: 20, host: "c.multi.test"), MXRecord(preference: 30, host: "a.multi.test")]),
            "plain.test": .noRecords,
            "null.test": .records([MXRecord(preference: 0, host: "")]),
            "gone.test": .noSuchDomain,
        ])
        let routing = OutboundRouting(mxPort: 2525)
        #expect(try routing.hosts(for: .mx(domain: "multi.test"), resolver: resolver).map(\.name)
                == ["a.multi.test", "b.multi.test", "c.multi.test"])
        #expect(try routing.hosts(for: .mx(domain: "plain.test"), resolver: resolver)
                == [DeliveryHost(name: "plain.test", port: 2525)])
        #expect(throws: RoutingFailure(description: "null.test accepts no mail (null MX)", status: EnhancedStatus(5, 1, 10))) {
            try routing.hosts(for: .mx(domain: "null.test"), resolver: resolver)
        }
        #expect(throws: RoutingFailure(description: "the domain gone.test does not exist", status: EnhancedStatus(5, 1, 2))) {
            try routing.hosts(for: .mx(domain: "gone.test"), resolver: resolver)
        }
        do {
            _ = try routing.hosts(for: .mx(domain: "broken.test"), resolver: resolver)
            Issue.record("expected a failure")
        } catch {
            #expect(!error.isPermanent)
            #expect(error.status == EnhancedStatus(4, 4, 3))
        }
    }

    @Test func systemResolverFindsLocalhost() throws {
        let addresses = try SystemResolver().lookupAddresses("localhost", port: 2525)
        #expect(addresses.contains { $0.description == "127.0.0.1:2525" })
        #expect(try SystemResolver().lookupAddresses("127.0.0.1", port: 25).map(\.description) == ["127.0.0.1:25"])
    }
}
