import Testing
@testable import TernIMAPCore

@Suite struct CommandAssemblerTests {
    /// RFC 9051 §6.2.3: `A001 LOGIN {11}` / `FRED FOOBAR {7}` / `fat man`, with synchronizing literals.
    @Test func synchronizingLiterals() {
        var assembler = CommandAssembler()
        #expect(assembler.receiveLine(bytes("A001 LOGIN {11}")) == .needLiteral(count: 11, synchronizing: true))
        #expect(assembler.isExpectingLiteralBytes)
        #expect(assembler.receiveLiteral(bytes("FRED "), remaining: 6) == .needMoreLiteralBytes)
        #expect(assembler.receiveLiteral(bytes("FOOBAR"), remaining: 0) == .needMoreLiteralBytes)
        #expect(!assembler.isExpectingLiteralBytes)
        #expect(assembler.receiveLine(bytes(" {7}")) == .needLiteral(count: 7, synchronizing: true))
        #expect(assembler.receiveLiteral(bytes("fat man"), remaining: 0) == .needMoreLiteralBytes)
        let event = assembler.receiveLine([])
        #expect(event == .complete(bytes("A001 LOGIN {11}\r\nFRED FOOBAR {7}\r\nfat man\r\n")))
        #expect(!assembler.isAssembling)
        guard case .complete(let command) = event else { return }
        #expect(CommandParser.parse(command)
                == .command(TaggedCommand(tag: "A001", command: .login(user: bytes("FRED FOOBAR"), password: bytes("fat man")))))
    }

    /// RFC 7888 §4: `{n+}` needs no continuation request.
    @Test func nonSynchronizingLiteral() {
        var assembler = CommandAssembler()
        #expect(assembler.receiveLine(bytes("A001 LOGIN {11+}")) == .needLiteral(count: 11, synchronizing: false))
        #expect(assembler.receiveLiteral(bytes("FRED FOOBAR"), remaining: 0) == .needMoreLiteralBytes)
        #expect(assembler.receiveLine(bytes(" {7+}")) == .needLiteral(count: 7, synchronizing: false))
        #expect(assembler.receiveLiteral(bytes("fat man"), remaining: 0) == .needMoreLiteralBytes)
        #expect(assembler.receiveLine([]) == .complete(bytes("A001 LOGIN {11+}\r\nFRED FOOBAR {7+}\r\nfat man\r\n")))
    }

    /// RFC 3516 §4.4 literal8 and RFC 3502 MULTIAPPEND: several literals, one command.
    @Test func multiAppendWithLiteral8() {
        var assembler = CommandAssembler()
        #expect(assembler.receiveLine(bytes("a append INBOX {3}")) == .needLiteral(count: 3, synchronizing: true))
        #expect(assembler.receiveLiteral(bytes("abc"), remaining: 0) == .needMoreLiteralBytes)
        #expect(assembler.receiveLine(bytes(" (\\Seen) ~{3+}")) == .needLiteral(count: 3, synchronizing: false))
        #expect(assembler.receiveLiteral([0x61, 0x00, 0x62], remaining: 0) == .needMoreLiteralBytes)
        guard case .complete(let command) = assembler.receiveLine([]) else {
            Issue.record("not complete")
            return
        }
        #expect(CommandParser.parse(command) == .command(TaggedCommand(tag: "a", command: .append(bytes("INBOX"), [
            AppendMessage(bytes: bytes("abc")), AppendMessage(flags: [.seen], bytes: [0x61, 0x00, 0x62], isBinary: true),
        ]))))
    }

    /// A zero-length literal: no bytes to read, the command goes on with the next line.
    @Test func emptyLiteral() {
        var assembler = CommandAssembler()
        #expect(assembler.receiveLine(bytes("a LOGIN {0}")) == .needLiteral(count: 0, synchronizing: true))
        #expect(!assembler.isExpectingLiteralBytes)
        #expect(assembler.receiveLine(bytes(" x")) == .complete(bytes("a LOGIN {0}\r\n x\r\n")))
    }

    /// RFC 7888 §4 / RFC 7889: an APPEND literal over APPENDLIMIT is refused with the tag, the assembler reset.
    @Test func oversizeAppendLiteral() {
        var assembler = CommandAssembler(limits: IMAPLimits(maxAppendLiteral: 10))
        #expect(assembler.receiveLine(bytes("A1 APPEND INBOX {10}")) == .needLiteral(count: 10, synchronizing: true))
        assembler.reset()
        #expect(assembler.receiveLine(bytes("A1 APPEND INBOX {11}"))
                == .literalRejected(tag: "A1", count: 11, synchronizing: true, isAppend: true))
        #expect(!assembler.isAssembling)
        #expect(assembler.receiveLine(bytes("A1 Append INBOX (\\Seen) {11+}"))
                == .literalRejected(tag: "A1", count: 11, synchronizing: false, isAppend: true))
        #expect(assembler.receiveLine(bytes("A2 NOOP")) == .complete(bytes("A2 NOOP\r\n")))
        // RFC 8508: REPLACE and UID REPLACE carry a message and get the same limit.
        #expect(assembler.receiveLine(bytes("A3 REPLACE 1 Drafts {11}"))
                == .literalRejected(tag: "A3", count: 11, synchronizing: true, isAppend: true))
        #expect(assembler.receiveLine(bytes("A4 uid replace 9 Drafts {11}"))
                == .literalRejected(tag: "A4", count: 11, synchronizing: true, isAppend: true))
    }

    /// MULTIAPPEND: the sum of the messages is bounded too.
    @Test func appendTotal() {
        var assembler = CommandAssembler(limits: IMAPLimits(maxAppendLiteral: 10, maxAppendTotal: 15))
        #expect(assembler.receiveLine(bytes("A1 APPEND INBOX {10}")) == .needLiteral(count: 10, synchronizing: true))
        #expect(assembler.receiveLiteral(Array(repeating: 0x61, count: 10), remaining: 0) == .needMoreLiteralBytes)
        #expect(assembler.receiveLine(bytes(" {6}")) == .literalRejected(tag: "A1", count: 6, synchronizing: true, isAppend: true))
    }

    /// Literals outside APPEND share `maxOtherLiteral` (64 KiB).
    @Test func oversizeOtherLiteral() {
        var assembler = CommandAssembler()
        #expect(assembler.receiveLine(bytes("A1 LOGIN {65537+}"))
                == .literalRejected(tag: "A1", count: 65537, synchronizing: false, isAppend: false))
        #expect(assembler.receiveLine(bytes("A2 UID APPEND {65537}"))
                == .literalRejected(tag: "A2", count: 65537, synchronizing: true, isAppend: false))
        #expect(assembler.receiveLine(bytes("A3 LOGIN {40000}")) == .needLiteral(count: 40000, synchronizing: true))
        #expect(assembler.receiveLiteral(Array(repeating: 0x61, count: 40000), remaining: 0) == .needMoreLiteralBytes)
        #expect(assembler.receiveLine(bytes(" {30000}"))
                == .literalRejected(tag: "A3", count: 30000, synchronizing: true, isAppend: false))
        #expect(assembler.receiveLine(bytes("A4 LOGIN {99999999999999999999999}"))
                == .literalRejected(tag: "A4", count: Int.max, synchronizing: true, isAppend: false))
        #expect(assembler.receiveLine(bytes("+ LOGIN {99999}"))
                == .literalRejected(tag: nil, count: 99999, synchronizing: true, isAppend: false))
    }

    /// RFC 7888 §4 LITERAL-: non-synchronizing literals over 4096 bytes are refused (the server closes).
    @Test func literalMinus() {
        var assembler = CommandAssembler(limits: IMAPLimits(maxNonSynchronizingLiteral: 4096))
        #expect(assembler.receiveLine(bytes("A1 APPEND INBOX {4096+}")) == .needLiteral(count: 4096, synchronizing: false))
        assembler.reset()
        #expect(assembler.receiveLine(bytes("A1 APPEND INBOX {4097+}"))
                == .literalRejected(tag: "A1", count: 4097, synchronizing: false, isAppend: true))
        #expect(assembler.receiveLine(bytes("A1 APPEND INBOX {4097}")) == .needLiteral(count: 4097, synchronizing: true))
    }

    @Test func lineLimits() {
        var assembler = CommandAssembler(limits: IMAPLimits(maxLineLength: 20))
        #expect(assembler.receiveLine(Array(repeating: 0x61, count: 21)) == .lineTooLong)
        #expect(assembler.receiveLine(bytes("a LOGIN {1}")) == .needLiteral(count: 1, synchronizing: true))
        #expect(assembler.receiveLiteral(bytes("x"), remaining: 0) == .needMoreLiteralBytes)
        // Lines of one command add up: 11 + 10 > 20.
        #expect(assembler.receiveLine(bytes(" 123456789")) == .lineTooLong)
        #expect(!assembler.isAssembling)
        #expect(assembler.receiveLine(bytes("a LOGIN {1}")) == .needLiteral(count: 1, synchronizing: true))
        #expect(assembler.lineTooLong() == .lineTooLong)
        #expect(assembler.receiveLine(bytes("a NOOP")) == .complete(bytes("a NOOP\r\n")))
    }

    /// Only `{digits}` / `{digits+}` at the very end announce a literal.
    @Test func notLiterals() {
        var assembler = CommandAssembler()
        for line in ["a NOOP {}", "a NOOP {+}", "a NOOP {1", "a NOOP 1}", "a NOOP {1}x", "a NOOP {a}", "}"] {
            #expect(assembler.receiveLine(bytes(line)) == .complete(bytes(line + "\r\n")), "\(line)")
        }
    }

    /// A line while literal bytes were expected abandons the half-assembled command.
    @Test func lineDuringLiteral() {
        var assembler = CommandAssembler()
        #expect(assembler.receiveLine(bytes("a LOGIN {5}")) == .needLiteral(count: 5, synchronizing: true))
        #expect(assembler.receiveLine(bytes("b NOOP")) == .complete(bytes("b NOOP\r\n")))
    }
}
