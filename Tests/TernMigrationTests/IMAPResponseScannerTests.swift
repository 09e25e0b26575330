// The response reading under IMAPMailSnapshot: values parsed from bytes with literals by size, whole responses read
// from a socket that delivers them in small pieces, and INTERNALDATE arithmetic.

import Foundation
import Glibc
import Testing
import TernCore
import TernTestSupport

@Suite struct IMAPResponseScannerTests {
    private func scan(_ text: String) throws -> [IMAPValue] {
        var scanner = IMAPResponseScanner(Array(text.utf8))
        return try scanner.values()
    }

    @Test func fetchResponseWithALiteralThatLooksLikeSyntax() throws {
        // RFC 9051 §4.3: a literal is its announced number of octets, whatever they contain.
        let body = "ab}\r\n)\r\n{3}\r\n* 2 FETCH (\r\n"
        let response = "* 1 FETCH (UID 7 FLAGS (\\Seen $Forwarded) INTERNALDATE \" 5-Mar-2004 10:00:00 +0530\" "
            + "RFC822.SIZE \(body.utf8.count) BODY[] {\(body.utf8.count)}\r\n\(body) MODSEQ (12))"
        let values = try scan(response)
        #expect(values.count == 4)
        #expect(values[0] == .atom("*"))
        #expect(values[1].number == 1)
        #expect(values[2] == .atom("FETCH"))
        guard case .list(let items) = values[3] else {
            Issue.record("no attribute list: \(values)")
            return
        }
        #expect(items.count == 12)
        #expect(items[2] == .atom("FLAGS"))
        #expect(items[3] == .list([.atom("\\Seen"), .atom("$Forwarded")]))
        #expect(items[5].text == " 5-Mar-2004 10:00:00 +0530")
        #expect(items[8] == .atom("BODY[]"))
        #expect(items[9] == .string(Array(body.utf8)))
        #expect(items[11] == .list([.atom("12")]))
    }

    @Test(arguments: [
        ("\"a\\\\b\\\"c\"", IMAPValue.string(Array("a\\b\"c".utf8))),
        ("NIL", .nil),
        ("nil", .nil),
        ("{0}\r\n", .string([])),
        ("~{3}\r\na\0b", .string([97, 0, 98])),
        ("{4+}\r\n\r\n\r\n", .string([13, 10, 13, 10])),
        ("BODY[HEADER.FIELDS (SUBJECT FROM)]", .atom("BODY[HEADER.FIELDS (SUBJECT FROM)]")),
        ("BODY[]<0>", .atom("BODY[]<0>")),
        ("[UIDVALIDITY 42]", .atom("[UIDVALIDITY 42]")),
        ("((a) () (b (c)))", .list([.list([.atom("a")]), .list([]), .list([.atom("b"), .list([.atom("c")])])])),
        ("\"Projects/&AMQ-rger\"", .string(Array("Projects/&AMQ-rger".utf8))),
    ])
    func oneValue(text: String, expected: IMAPValue) throws {
        #expect(try scan(text) == [expected])
    }

    @Test(arguments: ["(a b", "\"open", "{5}\r\nabc", "{5}abcde", "{}\r\n", "\"a\r\nb\"", "BODY[1"])
    func malformed(text: String) {
        #expect(throws: IMAPResponseParseError.self) { try scan(text) }
    }

    // RFC 9051 §9 date-time, with both day forms and zones east and west of UTC.
    @Test(arguments: [
        (" 5-Mar-2004 10:00:00 +0530", Int64(1_078_461_000)),
        ("05-Mar-2004 10:00:00 +0530", 1_078_461_000),
        ("01-Jan-2000 12:44:59 +1245", 946_684_799),
        ("01-Jan-1970 00:00:00 +0000", 0),
        ("01-Jan-1970 00:00:00 +0100", -3_600),
        ("29-feb-2024 01:00:00 -1100", 1_709_208_000),
    ])
    func internalDate(text: String, seconds: Int64) {
        #expect(IMAPMailSnapshot.epochSeconds(internalDate: text) == seconds)
    }

    @Test(arguments: ["5-Mar-2004 10:00:00", "05-Foo-2004 10:00:00 +0000", "05-Mar-2004 25:00:00 +0000", "05-Mar-2004 10:00 +0000"])
    func malformedInternalDate(text: String) {
        #expect(IMAPMailSnapshot.epochSeconds(internalDate: text) == nil)
    }

    @Test func flagsAreNormalized() {
        #expect(IMAPMailSnapshot.normalizedFlags(["\\seen", "\\Recent", "$Junk", "\\SEEN", "Project-X", "\\Flagged"])
                == ["$Junk", "Project-X", "\\Flagged", "\\Seen"])
    }

    /// A server that sends its bytes a few at a time: lines split across reads, literals split anywhere.
    @Test func readResponseAcrossSmallReads() throws {
        let body = Array("line one\r\nends like {3}\r\n)\r\n".utf8)
        var wire = Array("* OK ready\r\n* 1 FETCH (BODY[] {\(body.count)}\r\n".utf8) + body
        wire += Array(" UID 9)\r\n* 2 FETCH (BODY[] {0}\r\n UID 10)\r\nt1 OK done\r\n".utf8)
        let server = try TrickleServer(wire, pieceSize: 3)
        let client = try IMAPTestClient(server.address, tls: false)
        #expect(client.greeting == "* OK ready")
        let first = try #require(try client.readResponse())
        var scanner = IMAPResponseScanner(first)
        let values = try scanner.values()
        #expect(values.last == .list([.atom("BODY[]"), .string(body), .atom("UID"), .atom("9")]))
        let second = try #require(try client.readResponse())
        #expect(second == Array("* 2 FETCH (BODY[] {0}\r\n UID 10)".utf8))
        #expect(try client.readResponseLine() == "t1 OK done")
    }
}

/// Listens on 127.0.0.1, accepts one connection and writes `bytes` in pieces of `pieceSize` with a pause between
/// them, so every read of the client gets a fragment.
final class TrickleServer: Sendable {
    let address: ListenAddress
    private let listener: Int32

    init(_ bytes: [UInt8], pieceSize: Int) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 1) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else {
            close(fd)
            throw TestClientError.connectFailed("listen on 127.0.0.1:0", errno: errno)
        }
        listener = fd
        address = ListenAddress(host: "127.0.0.1", port: UInt16(bigEndian: sin.sin_port), family: .ipv4)
        Thread.detachNewThread {
            let connection = accept(fd, nil, nil)
            guard connection >= 0 else { return }
            var one: Int32 = 1
            setsockopt(connection, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            var offset = 0
            while offset < bytes.count {
                let end = min(offset + pieceSize, bytes.count)
                _ = bytes[offset..<end].withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                offset = end
                usleep(200)
            }
            usleep(200_000)
            close(connection)
        }
    }

    deinit { close(listener) }
}
