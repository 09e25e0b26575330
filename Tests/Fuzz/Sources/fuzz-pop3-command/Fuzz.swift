// Fuzzes the POP3 command parser through the framer (lines of at most 253 bytes, as the session reads them) and
// the response encoders: never crash; numbers stay in range; a stuffed message never contains a lone "." line
// before its end, and TOP returns a prefix of the message.
import TernCore
import TernPOP3Core

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var framer = InboundFramer(mode: .line(maxLength: POP3Limits.maxCommandLine))
    framer.append(bytes)
    while let frame = framer.nextFrame() {
        guard case .line(let line) = frame else { continue }
        precondition(line.count <= POP3Limits.maxCommandLine)
        guard let command = try? POP3CommandParser.parse(line) else { continue }
        switch command {
        case .list(let number?), .uidl(let number?), .retr(let number), .dele(let number):
            precondition(number.rawValue >= 1 && number.rawValue <= POP3Limits.maxNumber)
        case .top(let number, let lines):
            precondition(number.rawValue >= 1 && number.rawValue <= POP3Limits.maxNumber)
            precondition(lines >= 0 && lines <= POP3Limits.maxNumber)
        case .auth(let mechanism?, _):
            precondition(!mechanism.isEmpty && mechanism.utf8.count <= 20)
        default:
            break
        }
    }
    // The encoders over the raw input as a message.
    let stuffed = POP3Response.message("x", bytes)
    let body = stuffed.dropFirst("+OK x\r\n".utf8.count)
    precondition(body.count >= 3 && Array(body.suffix(3)) == Array(".\r\n".utf8))
    let lines = body.dropLast(3).split(separator: 10, omittingEmptySubsequences: false).dropLast()
    for line in lines {
        precondition(line.last == 13, "every line ends in CRLF")
        precondition(Array(line) != [UInt8(ascii: "."), 13], "no lone dot before the end")
    }
    let top = POP3Response.top(of: bytes, lines: Int(bytes.first ?? 0) % 8)
    precondition(Array(top) == Array(bytes.prefix(top.count)))
    return 0
}
