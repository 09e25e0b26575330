// Fuzzes the SMTP command side the way a submission session drives it: the input goes through InboundFramer in
// line mode; every line is parsed by SMTPCommandParser (with the SMTPUTF8 state of the transaction, which a MAIL
// with SMTPUTF8 sets and RSET/EHLO/HELO/the end of DATA clear); a DATA that parses switches the framer to
// `.dotTerminated` until the lone "."; a BDAT (of at most 4 KB) to an exact-length read. Nothing may crash, and:
// - every line parses in both utf8 modes; what parses without SMTPUTF8 parses the same with it;
// - a parsed command's verb is ASCII (no Unicode case folding into a verb: "maıl" is not MAIL);
// - a refusal is a 4xx/5xx reply whose encoding is CRLF-terminated lines with no other CR or LF, and which
//   SMTPReplyParser gives back unchanged; so does a reply built from the line's own text (when the text does not
//   itself start with an enhanced status, which would be read as one);
// - XText.encode gives xtext (printable ASCII, no "=") that XText.decode turns back into the same string;
// - DATA content never holds a bare LF, ends with CRLF, and survives DotStuffing.encode + the framer unchanged;
//   the raw input, dot-stuffed and framed back, gives the input with its line ends made CRLF;
// - the session gives the same commands, refusals and contents whether the input arrives whole, byte by byte,
//   or in chunks of 1 to 16 bytes.
// The first byte picks the line limit (small ones make the overlong-line path reachable) and the chunk sizes.
import TernCore
import TernSMTPCore

/// A broken invariant: fatalError keeps its message in release builds (precondition's is dropped there), so the
/// crash report says which one.
func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}

func fail(_ message: String) -> Never { fatalError(message) }

enum Event: Equatable {
    case command(SMTPCommand)
    case refused(SMTPReply)
    case tooLong(Int)
    case message([UInt8])
    case chunk([UInt8])
    case unfinished(message: [UInt8], chunk: [UInt8])
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let first = bytes.first else { return 0 }
    let input = Array(bytes.dropFirst())
    let maxLine = [SMTPLimits.default.maxCommandLine, 64, 512, 16][Int(first & 3)]

    let whole = run(input, maxLine: maxLine, check: true) { _ in input.count }
    let byteByByte = run(input, maxLine: maxLine, check: false) { _ in 1 }
    require(whole == byteByByte, "whole and byte-by-byte sessions differ")
    var state = UInt32(first) &* 2_654_435_761 &+ UInt32(truncatingIfNeeded: input.count)
    let chunked = run(input, maxLine: maxLine, check: false) { _ in
        state = state &* 1_103_515_245 &+ 12345
        return Int(state >> 16) % 16 + 1
    }
    require(whole == chunked, "whole and chunked sessions differ")

    checkDotStuffingRoundTrip(input)
    return 0
}

/// Drives one session over `input`, cut into writes of `nextChunk(offset)` bytes.
func run(_ input: [UInt8], maxLine: Int, check: Bool, nextChunk: (Int) -> Int) -> [Event] {
    var framer = InboundFramer(mode: .line(maxLength: maxLine))
    var events: [Event] = []
    var utf8 = false
    var message: [UInt8] = []
    var chunk: [UInt8] = []
    var offset = 0
    while offset < input.count {
        let end = min(input.count, offset + max(1, nextChunk(offset)))
        framer.append(input[offset..<end])
        offset = end
        while let frame = framer.nextFrame() {
            switch frame {
            case .line(let line):
                if check { checkLine(line) }
                do throws(SMTPParseError) {
                    let command = try SMTPCommandParser.parse(line, utf8Transaction: utf8)
                    events.append(.command(command))
                    switch command {
                    case .mail(_, let parameters): utf8 = parameters.smtpUTF8
                    case .rset, .ehlo, .helo: utf8 = false
                    case .data: framer.setMode(.dotTerminated)
                    case .bdat(let size, _): if size <= 4096 { framer.setMode(.bytes(count: size)) }
                    default: break
                    }
                } catch {
                    events.append(.refused(error.reply))
                }
            case .lineTooLong(let length):
                require(length > maxLine, "a line within the limit reported as too long")
                events.append(.tooLong(length))
            case .data(let piece, let end):
                require(framer.mode == .dotTerminated, "a DATA frame outside the dot-terminated mode")
                message += piece
                if end {
                    if check { checkContent(message) }
                    events.append(.message(message))
                    message = []
                    utf8 = false
                    framer.setMode(.line(maxLength: maxLine))
                }
            case .bytes(let piece, let remaining):
                chunk += piece
                if remaining == 0 {
                    events.append(.chunk(chunk))
                    chunk = []
                    framer.setMode(.line(maxLength: maxLine))
                }
            }
        }
    }
    if !message.isEmpty || !chunk.isEmpty { events.append(.unfinished(message: message, chunk: chunk)) }
    return events
}

func parsed(_ line: [UInt8], utf8: Bool) -> Result<SMTPCommand, SMTPParseError> {
    do throws(SMTPParseError) {
        return .success(try SMTPCommandParser.parse(line, utf8Transaction: utf8))
    } catch {
        return .failure(error)
    }
}

func checkLine(_ line: [UInt8]) {
    let plain = parsed(line, utf8: false)
    let utf8 = parsed(line, utf8: true)
    for result in [plain, utf8] {
        switch result {
        case .success:
            let verb = line.prefix { $0 != UInt8(ascii: " ") }
            require(verb.allSatisfy { $0 < 0x80 }, "a verb with non-ASCII bytes was accepted")
        case .failure(let error):
            require(error.reply.code >= 400, "a refusal with a positive code")
            checkReplyRoundTrip(error.reply)
        }
    }
    if case .success(let command) = plain {
        guard case .success(let same) = utf8, same == command else {
            fail("a command that parses without SMTPUTF8 parses differently with it")
        }
    }

    // A reply made of the line's own text: code and status from its first bytes (enhanced status codes have classes
    // 2, 4 and 5 only, so none for a 3xx), lines cut at "|".
    let text = String(decoding: line, as: UTF8.self)
    let code = 200 + Int(line.first ?? 0) % 400
    let status: EnhancedStatus? = line.count > 1 && line[1] & 1 == 1 && code / 100 != 3
        ? EnhancedStatus(code / 100, Int(line[1] >> 1) % 40, line.count > 2 ? Int(line[2]) : 0) : nil
    let lines = text.split(separator: "|", maxSplits: 8, omittingEmptySubsequences: false).map(String.init)
    let reply = SMTPReply(code, status, lines)
    if status != nil || !startsWithStatus(reply.lines[0], statusClass: code / 100) {
        checkReplyRoundTrip(reply)
    } else {
        checkEncoding(reply.encoded())
    }

    let encoded = XText.encode(text)
    require(encoded.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "=") }, "XText.encode: not xtext")
    require(XText.decode(encoded) == text, "XText round trip differs")
    if let decoded = XText.decode(text) {
        require(XText.decode(XText.encode(decoded)) == decoded, "XText round trip of a decoded value differs")
    }
}

/// The first space-separated word of `text`, read as bytes, is an enhanced status of that class.
func startsWithStatus(_ text: String, statusClass: Int) -> Bool {
    let word = text.utf8.prefix { $0 != UInt8(ascii: " ") }
    guard let status = EnhancedStatus(parsing: String(decoding: word, as: UTF8.self)) else { return false }
    return status.statusClass == statusClass
}

/// Encoded replies are lines ending in CRLF, with no CR or LF anywhere else.
@discardableResult
func checkEncoding(_ encoded: [UInt8]) -> [[UInt8]] {
    require(encoded.count >= 6 && encoded.suffix(2) == [13, 10], "a reply not ended by CRLF")
    var lines: [[UInt8]] = []
    var current: [UInt8] = []
    var index = 0
    while index < encoded.count {
        let byte = encoded[index]
        if byte == 13 {
            require(index + 1 < encoded.count && encoded[index + 1] == 10, "a stray CR in an encoded reply")
            lines.append(current)
            current = []
            index += 2
            continue
        }
        require(byte != 10, "a stray LF in an encoded reply")
        current.append(byte)
        index += 1
    }
    return lines
}

func checkReplyRoundTrip(_ reply: SMTPReply) {
    let lines = checkEncoding(reply.encoded())
    require(lines.count == reply.lines.count, "an encoded reply has another number of lines")
    var parser = SMTPReplyParser()
    var result: SMTPReply?
    for (index, line) in lines.enumerated() {
        do throws(SMTPReplyParser.ParseError) {
            result = try parser.feed(line)
        } catch {
            fail("SMTPReplyParser refused an encoded reply: \(error)")
        }
        require((result == nil) == (index < lines.count - 1), "SMTPReplyParser ended the reply at the wrong line")
    }
    // encoded() turns CR and LF inside a line into spaces
    let expected = SMTPReply(reply.code, reply.status, reply.lines.map { line in
        String(decoding: line.utf8.map { $0 == 13 || $0 == 10 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
    })
    require(result == expected, "SMTPReplyParser gave back \(String(describing: result)) for \(expected)")
}

/// DATA content as delivered: CRLF line ends only, and it goes through dot-stuffing and the framer unchanged.
func checkContent(_ content: [UInt8]) {
    for (index, byte) in content.enumerated() where byte == 10 {
        require(index > 0 && content[index - 1] == 13, "a bare LF in DATA content")
    }
    require(content.isEmpty || content.suffix(2) == [13, 10], "DATA content not ended by CRLF")
    require(dotTerminated(DotStuffing.encode(content)) == content, "DATA content changed by stuffing and framing")
}

/// The raw input as a message body: stuffed and framed back, it is the input with every line end made CRLF (and a
/// last CRLF added when it did not end with one).
func checkDotStuffingRoundTrip(_ input: [UInt8]) {
    var expected: [UInt8] = []
    expected.reserveCapacity(input.count + 16)
    for (index, byte) in input.enumerated() {
        if byte == 10 && (index == 0 || input[index - 1] != 13) { expected.append(13) }
        expected.append(byte)
    }
    if !expected.isEmpty && expected.suffix(2) != [13, 10] { expected += [13, 10] }
    let stuffed = DotStuffing.encode(input)
    require(stuffed.suffix(3) == Array(".\r\n".utf8), "stuffed content without its terminator")
    require(dotTerminated(stuffed) == expected, "dot-stuffing round trip differs")
}

/// Runs `stuffed` (which must end with the terminator) through a framer in `.dotTerminated` mode.
func dotTerminated(_ stuffed: [UInt8]) -> [UInt8] {
    var framer = InboundFramer(mode: .dotTerminated)
    framer.append(stuffed)
    var content: [UInt8] = []
    while let frame = framer.nextFrame() {
        guard case .data(let piece, let end) = frame else { fail("a non-DATA frame in DATA mode") }
        content += piece
        if end {
            require(framer.bufferedByteCount == 0, "bytes left after the terminator of stuffed content")
            return content
        }
    }
    fail("stuffed content without a terminator the framer sees")
}
