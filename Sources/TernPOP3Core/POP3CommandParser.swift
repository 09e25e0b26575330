// The POP3 command parser: one line (without CRLF) in, one command or a reason out. Pure and total: any bytes give
// a command or a `POP3ParseError`, never a trap (fuzzed by `Tests/Fuzz` target `fuzz-pop3-command`).
//
// RFC 1939 §3: "Commands in the POP3 consist of a case-insensitive keyword, possibly followed by one or more
// arguments. [...] Keywords and arguments consist of printable ASCII characters. Keywords and arguments are each
// separated by a single SPACE character." Tolerated like other servers do: trailing spaces. PASS takes the rest
// of the line (RFC 1939 §13 allows passwords with spaces), and USER/PASS may carry UTF-8.

public enum POP3CommandParser {
    public static func parse(_ line: [UInt8]) throws(POP3ParseError) -> POP3Command {
        guard !line.isEmpty else { throw POP3ParseError("Empty command") }
        let space = UInt8(ascii: " ")
        let keywordEnd = line.firstIndex(of: space) ?? line.endIndex
        let keywordBytes = line[..<keywordEnd]
        guard (3...4).contains(keywordBytes.count), keywordBytes.allSatisfy(isAlpha) else {
            throw POP3ParseError("Unknown command")
        }
        let keyword = String(decoding: keywordBytes, as: UTF8.self).uppercased()
        // Everything after the single space that ends the keyword.
        let rest = keywordEnd < line.endIndex ? Array(line[(keywordEnd + 1)...]) : []
        if keyword == "PASS" {
            // RFC 1939 §7: PASS string. The whole rest of the line is the password.
            guard !rest.isEmpty else { throw POP3ParseError("PASS needs a password") }
            guard rest.allSatisfy({ $0 >= 0x20 && $0 != 0x7F }) else { throw POP3ParseError("Invalid characters in the password") }
            guard let password = String(validating: rest, as: UTF8.self) else { throw POP3ParseError("The password is not UTF-8") }
            return .pass(password)
        }
        var trimmed = rest[...]
        while trimmed.last == space { trimmed.removeLast() }
        let arguments = trimmed.isEmpty ? [] : trimmed.split(separator: space, omittingEmptySubsequences: false).map(Array.init)
        guard arguments.allSatisfy({ !$0.isEmpty }) else { throw POP3ParseError("Arguments are separated by a single space") }
        switch keyword {
        case "CAPA": try none(arguments, keyword); return .capa
        case "STLS": try none(arguments, keyword); return .stls
        case "QUIT": try none(arguments, keyword); return .quit
        case "STAT": try none(arguments, keyword); return .stat
        case "NOOP": try none(arguments, keyword); return .noop
        case "RSET": try none(arguments, keyword); return .rset
        case "USER":
            // RFC 1939 §7: USER name.
            guard arguments.count == 1 else { throw POP3ParseError("Syntax: USER name") }
            guard arguments[0].allSatisfy({ $0 > 0x20 && $0 != 0x7F }),
                  let name = String(validating: arguments[0], as: UTF8.self) else {
                throw POP3ParseError("Invalid characters in the user name")
            }
            return .user(name)
        case "LIST", "UIDL":
            // RFC 1939 §5, §7: LIST [msg], UIDL [msg].
            guard arguments.count <= 1 else { throw POP3ParseError("Syntax: \(keyword) [message number]") }
            let number = try arguments.first.map { (argument) throws(POP3ParseError) in try messageNumber(argument) }
            return keyword == "LIST" ? .list(number) : .uidl(number)
        case "RETR", "DELE":
            // RFC 1939 §5: RETR msg, DELE msg.
            guard arguments.count == 1 else { throw POP3ParseError("Syntax: \(keyword) message-number") }
            let number = try messageNumber(arguments[0])
            return keyword == "RETR" ? .retr(number) : .dele(number)
        case "TOP":
            // RFC 1939 §7: TOP msg n, n a non-negative number of lines.
            guard arguments.count == 2 else { throw POP3ParseError("Syntax: TOP message-number lines") }
            let number = try messageNumber(arguments[0])
            guard let lines = decimal(arguments[1]) else { throw POP3ParseError("Invalid number of lines") }
            return .top(number, lines: lines)
        case "AUTH":
            // RFC 5034 §4: AUTH mechanism [initial-response].
            guard arguments.count <= 2 else { throw POP3ParseError("Syntax: AUTH mechanism [initial-response]") }
            guard let first = arguments.first else { return .auth(mechanism: nil, initialResponse: nil) }
            // RFC 4422 §3.1: SASL mechanism names are 1-20 of A-Z, 0-9, "-" and "_".
            guard first.count <= 20, first.allSatisfy({ isAlpha($0) || isDigit($0) || $0 == 0x2D || $0 == 0x5F }) else {
                throw POP3ParseError("Invalid mechanism name")
            }
            let mechanism = String(decoding: first, as: UTF8.self).uppercased()
            guard arguments.count == 2 else { return .auth(mechanism: mechanism, initialResponse: nil) }
            let response = arguments[1]
            guard response.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { throw POP3ParseError("Invalid initial response") }
            return .auth(mechanism: mechanism, initialResponse: response)
        default:
            throw POP3ParseError("Unknown command")
        }
    }

    private static func none(_ arguments: [[UInt8]], _ keyword: String) throws(POP3ParseError) {
        guard arguments.isEmpty else { throw POP3ParseError("\(keyword) takes no arguments") }
    }

    /// RFC 1939 §3 message numbers: 1*DIGIT, never 0, at most `POP3Limits.maxNumber`.
    private static func messageNumber(_ bytes: [UInt8]) throws(POP3ParseError) -> POP3MessageNumber {
        guard let value = decimal(bytes) else { throw POP3ParseError("Invalid message number") }
        guard value > 0 else { throw POP3ParseError("No message 0; messages are numbered from 1") }
        return POP3MessageNumber(value)
    }

    /// 1*DIGIT up to `POP3Limits.maxNumber`, else nil (no overflow for any length).
    private static func decimal(_ bytes: [UInt8]) -> Int? {
        guard !bytes.isEmpty, bytes.count <= 10, bytes.allSatisfy(isDigit) else { return nil }
        var value = 0
        for byte in bytes { value = value * 10 + Int(byte - 0x30) }
        return value <= POP3Limits.maxNumber ? value : nil
    }

    private static func isAlpha(_ byte: UInt8) -> Bool { (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) }
    private static func isDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }
}
