// Fuzzes CommandAssembler and CommandParser the way a connection drives them: the input goes through
// InboundFramer, switched to exact-length reads whenever the assembler asks for a literal; every complete command
// is parsed. Nothing may crash, and:
// - a command that parses is `.incomplete` without its last byte (need-more is never a syntax error);
// - a parsed command's sequence sets survive text and back;
// - the raw input parsed directly, whole, never crashes either.
// Small limits (from the first byte) make the limit paths reachable.
import TernCore
import TernIMAPCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let first = bytes.first else { return 0 }
    let input = Array(bytes.dropFirst())
    let limits = first & 1 == 0
        ? IMAPLimits.default
        : IMAPLimits(maxLineLength: 256, maxAppendLiteral: 512, maxAppendTotal: 1024, maxOtherLiteral: 64,
                     maxNonSynchronizingLiteral: first & 2 == 0 ? nil : 32, maxNestingDepth: 4, maxListItems: 8)

    var assembler = CommandAssembler(limits: limits)
    var framer = InboundFramer(mode: .line(maxLength: limits.maxLineLength))
    framer.append(input)
    while let frame = framer.nextFrame() {
        let event: CommandAssembler.Event
        switch frame {
        case .line(let line): event = assembler.receiveLine(line)
        case .lineTooLong: event = assembler.lineTooLong()
        case .bytes(let chunk, let remaining):
            event = assembler.receiveLiteral(chunk, remaining: remaining)
            if remaining == 0 { framer.setMode(.line(maxLength: limits.maxLineLength)) }
        case .data:
            preconditionFailure("a DATA frame outside the dot-terminated mode")
        }
        switch event {
        case .complete(let command):
            check(command, limits: limits)
        case .needLiteral(let count, _):
            if count > 0 { framer.setMode(.bytes(count: count)) }
        case .needMoreLiteralBytes, .lineTooLong:
            break
        case .literalRejected(_, let count, let synchronizing, _):
            // Non-synchronizing: the server closes. Synchronizing: the client sends nothing; carry on with lines.
            if !synchronizing { return 0 }
            precondition(count > 0, "a zero-length literal was rejected")
        }
    }
    _ = CommandParser.parse(input, limits: limits)
    return 0
}

func check(_ command: [UInt8], limits: IMAPLimits) {
    let outcome = CommandParser.parse(command, limits: limits)
    guard case .command(let tagged) = outcome else { return }
    precondition(CommandParser.parse(Array(command.dropLast()), limits: limits) == .incomplete,
                 "a prefix of a valid command is not incomplete")
    var sets: [SequenceSet] = []
    switch tagged.command {
    case .fetch(let s, _, _, _), .store(let s, _, _, _), .copy(let s, _, _), .move(let s, _, _), .uidExpunge(let s):
        sets.append(s)
    default:
        break
    }
    for s in sets {
        precondition(CommandParser.parseSequenceSet(Array(s.imapText.utf8)) == s, "sequence set round trip")
    }
}
