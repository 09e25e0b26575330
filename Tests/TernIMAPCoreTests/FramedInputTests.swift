import Testing
import TernCore
@testable import TernIMAPCore

/// The connection's loop in miniature: InboundFramer cuts the input, the assembler asks for literals, the parser
/// parses. Fed whole and one byte at a time, every fixture comes out as the same command.
@Suite struct FramedInputTests {
    static func run(_ input: [UInt8], chunkSize: Int) -> [CommandParser.Outcome] {
        let limits = IMAPLimits.default
        var framer = InboundFramer(mode: .line(maxLength: limits.maxLineLength))
        var assembler = CommandAssembler(limits: limits)
        var outcomes: [CommandParser.Outcome] = []
        var offset = 0
        while offset < input.count {
            framer.append(input[offset..<min(offset + chunkSize, input.count)])
            offset += chunkSize
            while let frame = framer.nextFrame() {
                let event: CommandAssembler.Event
                switch frame {
                case .line(let line): event = assembler.receiveLine(line)
                case .lineTooLong: event = assembler.lineTooLong()
                case .bytes(let chunk, let remaining):
                    event = assembler.receiveLiteral(chunk, remaining: remaining)
                    if remaining == 0 { framer.setMode(.line(maxLength: limits.maxLineLength)) }
                case .data:
                    Issue.record("IMAP never reads dot-terminated data")
                    return []
                }
                switch event {
                case .complete(let command): outcomes.append(CommandParser.parse(command, limits: limits))
                case .needLiteral(let count, _): if count > 0 { framer.setMode(.bytes(count: count)) }
                case .needMoreLiteralBytes, .lineTooLong, .literalRejected: break
                }
            }
        }
        return outcomes
    }

    @Test(arguments: commandFixtures)
    func wholeAndByteByByte(_ fixture: ParseFixture) {
        let expected = CommandParser.Outcome.command(
            TaggedCommand(tag: String(fixture.input.prefix { $0 != " " }), command: fixture.expected))
        let input = bytes(fixture.input + "\r\n")
        #expect(Self.run(input, chunkSize: input.count) == [expected])
        #expect(Self.run(input, chunkSize: 1) == [expected])
    }

    /// Several commands in one read (pipelining), one of them with literals.
    @Test func pipelined() {
        let input = bytes("a NOOP\r\nb LOGIN {1}\r\nu {1+}\r\np\r\nc FOO\r\n")
        #expect(Self.run(input, chunkSize: 7) == [
            .command(TaggedCommand(tag: "a", command: .noop)),
            .command(TaggedCommand(tag: "b", command: .login(user: bytes("u"), password: bytes("p")))),
            .syntaxError(tag: "c", message: "Unknown command FOO"),
        ])
    }
}
