// POP3 responses (RFC 1939 §3): `+OK text` / `-ERR [CODE] text` status lines, and multi-line responses whose lines
// are dot-stuffed and which end with a line holding a single ".".

/// RFC 2449 §8 extended response codes that Tern sends (RESP-CODES and AUTH-RESP-CODE).
public enum POP3ResponseCode: String, Sendable {
    /// RFC 3206 §5: the credentials are wrong (or the user may not log in): do not retry blindly.
    case auth = "AUTH"
    /// RFC 2449 §8.1.2: the maildrop is locked by another session.
    case inUse = "IN-USE"
    /// RFC 3206 §4: a temporary server-side problem; try again later.
    case sysTemp = "SYS/TEMP"
    /// RFC 3206 §4: a permanent server-side problem.
    case sysPerm = "SYS/PERM"
}

public enum POP3Response {
    /// `+OK text` with CRLF (`+OK` alone for an empty text).
    public static func ok(_ text: String) -> [UInt8] { Array((text.isEmpty ? "+OK\r\n" : "+OK \(text)\r\n").utf8) }

    /// `-ERR [CODE] text` with CRLF.
    public static func error(_ code: POP3ResponseCode?, _ text: String) -> [UInt8] {
        Array("-ERR \(code.map { "[\($0.rawValue)] " } ?? "")\(text)\r\n".utf8)
    }

    /// `-ERR text` with CRLF.
    public static func error(_ text: String) -> [UInt8] { error(nil, text) }

    /// A multi-line response: `+OK first`, then each line (dot-stuffed), then ".".
    public static func multiline(_ first: String, lines: [String]) -> [UInt8] {
        var out = ok(first)
        for line in lines {
            if line.utf8.first == UInt8(ascii: ".") { out.append(UInt8(ascii: ".")) }
            out += line.utf8
            out += [13, 10]
        }
        out += Array(".\r\n".utf8)
        return out
    }

    /// A message as a multi-line response (RFC 1939 §3): `+OK first`, the bytes with a dot added before every line
    /// that starts with one, bare LF made CRLF, a CRLF added when the last line has none, and the final ".". One
    /// output buffer sized up front: the message is not copied more than once.
    public static func message(_ first: String, _ bytes: some Collection<UInt8>) -> [UInt8] {
        var out = ok(first)
        out.reserveCapacity(out.count + bytes.count + bytes.count / 64 + 8)
        var atLineStart = true
        var previous: UInt8 = 0
        for byte in bytes {
            if atLineStart && byte == UInt8(ascii: ".") { out.append(byte) }
            if byte == 10 && previous != 13 { out.append(13) }
            out.append(byte)
            atLineStart = byte == 10
            previous = byte
        }
        if !atLineStart {
            if previous == 13 { out.append(10) } else { out += [13, 10] }
        }
        out += Array(".\r\n".utf8)
        return out
    }

    /// RFC 1939 §7 TOP: the header, the blank line after it, and at most `lines` lines of the body. A message
    /// without a blank line is all header.
    public static func top(of bytes: [UInt8], lines: Int) -> ArraySlice<UInt8> {
        // The end of the header: the index after the first empty line (CRLF CRLF or LF LF).
        var index = 0
        var lineStart = 0
        var bodyStart: Int?
        while index < bytes.count {
            if bytes[index] == 10 {
                let length = index - lineStart
                if length == 0 || (length == 1 && bytes[lineStart] == 13) {
                    bodyStart = index + 1
                    break
                }
                lineStart = index + 1
            }
            index += 1
        }
        guard let bodyStart else { return bytes[...] }
        var end = bodyStart
        var taken = 0
        while taken < lines && end < bytes.count {
            if let newline = bytes[end...].firstIndex(of: 10) {
                end = newline + 1
            } else {
                end = bytes.count
            }
            taken += 1
        }
        return bytes[..<end]
    }
}
