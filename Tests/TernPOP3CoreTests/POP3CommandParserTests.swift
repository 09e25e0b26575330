// The POP3 command parser as tables: every command, and each way a line can be wrong (RFC 1939 §3, RFC 2449,
// RFC 2595, RFC 5034).

import Testing
import TernPOP3Core

private func parse(_ line: String) throws(POP3ParseError) -> POP3Command {
    try POP3CommandParser.parse(Array(line.utf8))
}

private func refusal(_ line: String) -> String? {
    do {
        _ = try parse(line)
        return nil
    } catch {
        return error.text
    }
}

private func n(_ value: Int) -> POP3MessageNumber { POP3MessageNumber(value) }

@Suite struct POP3CommandParserTests {
    static let valid: [(String, POP3Command)] = [
        ("CAPA", .capa), ("capa", .capa), ("STLS", .stls), ("stls", .stls),
        ("USER alice@example.com", .user("alice@example.com")), ("user Bob", .user("Bob")),
        ("USER jürgen@example.com", .user("jürgen@example.com")),
        ("PASS secret", .pass("secret")), ("pass correct horse 7", .pass("correct horse 7")),
        ("PASS  leading space", .pass(" leading space")), ("PASS trailing ", .pass("trailing ")),
        ("AUTH", .auth(mechanism: nil, initialResponse: nil)),
        ("AUTH plain", .auth(mechanism: "PLAIN", initialResponse: nil)),
        ("AUTH PLAIN AGFsaWNlAHB3", .auth(mechanism: "PLAIN", initialResponse: Array("AGFsaWNlAHB3".utf8))),
        ("AUTH PLAIN =", .auth(mechanism: "PLAIN", initialResponse: Array("=".utf8))),
        ("QUIT", .quit), ("quit", .quit), ("STAT", .stat), ("NOOP", .noop), ("RSET", .rset), ("rSeT", .rset),
        ("LIST", .list(nil)), ("LIST 1", .list(n(1))), ("list 42", .list(n(42))), ("LIST 007", .list(n(7))),
        ("UIDL", .uidl(nil)), ("UIDL 3", .uidl(n(3))),
        ("RETR 1", .retr(n(1))), ("retr 2147483647", .retr(n(2_147_483_647))),
        ("DELE 5", .dele(n(5))), ("TOP 1 0", .top(n(1), lines: 0)), ("top 2 10", .top(n(2), lines: 10)),
        // Trailing spaces are tolerated (several clients send them).
        ("STAT ", .stat), ("LIST 1  ", .list(n(1))),
    ]

    @Test(arguments: valid) func parsesEveryCommand(_ line: String, _ expected: POP3Command) throws {
        #expect(try parse(line) == expected)
    }

    static let invalid: [(String, String)] = [
        ("", "Empty command"),
        ("APOP alice 0123456789abcdef", "Unknown command"),
        ("XTND XMIT", "Unknown command"),
        ("LISTING", "Unknown command"),
        ("LI", "Unknown command"),
        ("LIST\t1", "Unknown command"),
        ("RE1R 1", "Unknown command"),
        (" STAT", "Unknown command"),
        ("STAT 1", "STAT takes no arguments"),
        ("CAPA please", "CAPA takes no arguments"),
        ("QUIT now", "QUIT takes no arguments"),
        ("NOOP x", "NOOP takes no arguments"),
        ("RSET x", "RSET takes no arguments"),
        ("STLS x", "STLS takes no arguments"),
        ("USER", "Syntax: USER name"),
        ("USER a b", "Syntax: USER name"),
        ("USER a\u{1}b", "Invalid characters in the user name"),
        ("PASS", "PASS needs a password"),
        ("PASS ", "PASS needs a password"),
        ("PASS a\u{0}b", "Invalid characters in the password"),
        ("LIST 1 2", "Syntax: LIST [message number]"),
        ("LIST x", "Invalid message number"),
        ("LIST -1", "Invalid message number"),
        ("LIST +1", "Invalid message number"),
        ("LIST 0", "No message 0; messages are numbered from 1"),
        ("UIDL 1 2", "Syntax: UIDL [message number]"),
        ("UIDL 99999999999", "Invalid message number"),
        ("RETR", "Syntax: RETR message-number"),
        ("RETR 2147483648", "Invalid message number"),
        ("RETR 1.5", "Invalid message number"),
        ("DELE", "Syntax: DELE message-number"),
        ("DELE 1 2", "Syntax: DELE message-number"),
        ("DELE 0", "No message 0; messages are numbered from 1"),
        ("LIST  1", "Arguments are separated by a single space"),
        ("TOP 1", "Syntax: TOP message-number lines"),
        ("TOP 1 2 3", "Syntax: TOP message-number lines"),
        ("TOP 1 -2", "Invalid number of lines"),
        ("TOP x 2", "Invalid message number"),
        ("AUTH PLAIN a b", "Syntax: AUTH mechanism [initial-response]"),
        ("AUTH PL@IN", "Invalid mechanism name"),
        ("AUTH ABCDEFGHIJKLMNOPQRSTU", "Invalid mechanism name"),
        ("AUTH PLAIN \u{7F}", "Invalid initial response"),
    ]

    @Test(arguments: invalid) func refusesWithAReason(_ line: String, _ expected: String) {
        #expect(refusal(line) == expected, "\(line.debugDescription)")
    }

    @Test func passwordsMustBeUTF8() {
        #expect(throws: POP3ParseError("The password is not UTF-8")) { try POP3CommandParser.parse(Array("PASS ".utf8) + [0xFF, 0xFE]) }
        #expect(throws: POP3ParseError("Invalid characters in the user name")) {
            try POP3CommandParser.parse(Array("USER ".utf8) + [0xC3])
        }
    }

    /// Any prefix of any valid line, and arbitrary bytes, give a command or an error, never a trap.
    @Test func everyPrefixIsACommandOrAnError() {
        for (line, _) in Self.valid {
            let bytes = Array(line.utf8)
            for end in 0...bytes.count { _ = try? POP3CommandParser.parse(Array(bytes[..<end])) }
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 0...20, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = try? POP3CommandParser.parse(bytes)
        }
    }
}

@Suite struct POP3ResponseTests {
    @Test func statusLines() {
        #expect(POP3Response.ok("2 320") == Array("+OK 2 320\r\n".utf8))
        #expect(POP3Response.error("no such message") == Array("-ERR no such message\r\n".utf8))
        #expect(POP3Response.error(.inUse, "locked") == Array("-ERR [IN-USE] locked\r\n".utf8))
        #expect(POP3Response.error(.auth, "x") == Array("-ERR [AUTH] x\r\n".utf8))
        #expect(POP3Response.error(.sysTemp, "x") == Array("-ERR [SYS/TEMP] x\r\n".utf8))
    }

    @Test func multilineListsAreDotStuffed() {
        let bytes = POP3Response.multiline("Capability list follows", lines: ["TOP", ".odd", "UIDL"])
        #expect(String(decoding: bytes, as: UTF8.self) == "+OK Capability list follows\r\nTOP\r\n..odd\r\nUIDL\r\n.\r\n")
        #expect(String(decoding: POP3Response.multiline("0 messages", lines: []), as: UTF8.self) == "+OK 0 messages\r\n.\r\n")
    }

    static let messages: [(String, String)] = [
        ("A: b\r\n\r\nbody\r\n", "A: b\r\n\r\nbody\r\n.\r\n"),
        // RFC 1939 §3: lines starting with "." get one more; a lone "." becomes "..".
        (".x\r\n.\r\n..\r\nend\r\n", "..x\r\n..\r\n...\r\nend\r\n.\r\n"),
        // No final CRLF: one is added before the terminator.
        ("A: b\r\n\r\nno newline", "A: b\r\n\r\nno newline\r\n.\r\n"),
        ("A: b\r\n\r\nends in CR\r", "A: b\r\n\r\nends in CR\r\n.\r\n"),
        // Bare LF becomes CRLF.
        ("A: b\n\n.x\n", "A: b\r\n\r\n..x\r\n.\r\n"),
        ("", ".\r\n"),
    ]

    @Test(arguments: messages) func messagesAreDotStuffed(_ input: String, _ expected: String) {
        let bytes = POP3Response.message("1 octets", Array(input.utf8))
        #expect(String(decoding: bytes, as: UTF8.self) == "+OK 1 octets\r\n" + expected)
    }

    @Test func topTakesTheHeaderAndNLines() {
        let message = Array("Subject: x\r\nFrom: y\r\n\r\none\r\ntwo\r\nthree\r\n".utf8)
        func top(_ lines: Int) -> String { String(decoding: POP3Response.top(of: message, lines: lines), as: UTF8.self) }
        #expect(top(0) == "Subject: x\r\nFrom: y\r\n\r\n")
        #expect(top(1) == "Subject: x\r\nFrom: y\r\n\r\none\r\n")
        #expect(top(2) == "Subject: x\r\nFrom: y\r\n\r\none\r\ntwo\r\n")
        #expect(top(3) == String(decoding: message, as: UTF8.self))
        #expect(top(1000) == String(decoding: message, as: UTF8.self))
        // No blank line: everything is header. Bare LF works too. A last line without newline counts.
        #expect(String(decoding: POP3Response.top(of: Array("A: b\r\nC: d".utf8), lines: 0), as: UTF8.self) == "A: b\r\nC: d")
        #expect(String(decoding: POP3Response.top(of: Array("A: b\n\nx\ny".utf8), lines: 1), as: UTF8.self) == "A: b\n\nx\n")
        #expect(String(decoding: POP3Response.top(of: Array("A: b\n\nx\ny".utf8), lines: 5), as: UTF8.self) == "A: b\n\nx\ny")
        #expect(String(decoding: POP3Response.top(of: Array("\r\nbody\r\n".utf8), lines: 0), as: UTF8.self) == "\r\n")
    }
}
