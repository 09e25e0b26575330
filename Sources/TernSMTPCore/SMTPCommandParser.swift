// Parses one SMTP command line (without CRLF) into an `SMTPCommand`, or the reply that refuses it.
// Grammar: RFC 5321 §4.1.1–4.1.3 (verbs, paths, mailboxes, address literals), RFC 6531 §3.3 (UTF-8 in
// mailboxes, only when SMTPUTF8 is declared), RFC 3461 §4 (NOTIFY, ORCPT, RET, ENVID), RFC 1870 (SIZE),
// RFC 4954 §4–5 (AUTH, AUTH=), RFC 3030 (BDAT). Verbs and keywords are case-insensitive.
//
// Leniency, on purpose and like the large servers: a space after `MAIL FROM:` / `RCPT TO:`, and a path without
// angle brackets when it is a plain address; EHLO/HELO accept any word (mail programs send machine names that are
// not domains, and the name proves nothing anyway). Everything else is strict.

public struct SMTPParseError: Error, Sendable, Equatable {
    public let reply: SMTPReply
    init(_ code: Int, _ status: EnhancedStatus, _ text: String) { reply = SMTPReply(code, status, text) }

    static func syntax(_ text: String) -> SMTPParseError { SMTPParseError(501, EnhancedStatus(5, 5, 4), text) }
}

public enum SMTPCommandParser {
    /// Parses `line`. `utf8Transaction` says whether the current transaction declared SMTPUTF8 (for RCPT TO).
    public static func parse(_ line: [UInt8], utf8Transaction: Bool = false) throws(SMTPParseError) -> SMTPCommand {
        var scanner = Scanner(line)
        let verb = scanner.word().uppercased()
        let hasArgument = scanner.skip(UInt8(ascii: " "))
        if !hasArgument && !scanner.isAtEnd {
            // `MAIL:x` and the like: the verb is followed by something that is not a space.
            throw SMTPParseError(500, EnhancedStatus(5, 5, 2), "Syntax error, command unrecognized")
        }
        switch verb {
        case "EHLO", "HELO":
            let name = scanner.rest().trimmingSpaces()
            guard !name.isEmpty else { throw .syntax("\(verb) needs your host name") }
            guard name.allSatisfy({ $0 > 0x20 && $0 != 0x7F }) else { throw .syntax("Invalid host name") }
            let text = String(decoding: name, as: UTF8.self)
            return verb == "EHLO" ? .ehlo(text) : .helo(text)
        case "MAIL":
            guard scanner.skipKeyword("FROM:") else { throw .syntax("Syntax: MAIL FROM:<address>") }
            return try parseMail(&scanner)
        case "RCPT":
            guard scanner.skipKeyword("TO:") else { throw .syntax("Syntax: RCPT TO:<address>") }
            return try parseRecipient(&scanner, utf8: utf8Transaction)
        case "DATA", "RSET", "QUIT", "STARTTLS":
            guard scanner.rest().trimmingSpaces().isEmpty else { throw .syntax("\(verb) takes no arguments") }
            switch verb {
            case "DATA": return .data
            case "RSET": return .rset
            case "QUIT": return .quit
            default: return .startTLS
            }
        case "NOOP":
            return .noop
        case "HELP":
            return .help
        case "VRFY", "EXPN":
            let argument = scanner.rest().trimmingSpaces()
            guard !argument.isEmpty else { throw .syntax("\(verb) needs an argument") }
            let text = String(decoding: argument, as: UTF8.self)
            return verb == "VRFY" ? .vrfy(text) : .expn(text)
        case "BDAT":
            let size = scanner.word()
            guard !size.isEmpty, size.count <= 18, size.allSatisfy(\.isASCIIDigit), let count = Int(size) else {
                throw .syntax("Syntax: BDAT size [LAST]")
            }
            _ = scanner.skip(UInt8(ascii: " "))
            let last = scanner.word()
            guard last.isEmpty || last.uppercased() == "LAST", scanner.isAtEnd else {
                throw .syntax("Syntax: BDAT size [LAST]")
            }
            return .bdat(size: count, last: !last.isEmpty)
        case "AUTH":
            let mechanism = scanner.word().uppercased()
            guard !mechanism.isEmpty, mechanism.utf8.count <= 20,
                  mechanism.utf8.allSatisfy({ isUpperAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }) else {
                throw .syntax("Syntax: AUTH mechanism [initial-response]")
            }
            var initial: String?
            if scanner.skip(UInt8(ascii: " ")) {
                let response = scanner.word()
                guard !response.isEmpty, scanner.isAtEnd else { throw .syntax("Syntax: AUTH mechanism [initial-response]") }
                initial = response
            }
            guard scanner.isAtEnd else { throw .syntax("Syntax: AUTH mechanism [initial-response]") }
            return .auth(mechanism: mechanism, initialResponse: initial)
        case "":
            throw SMTPParseError(500, EnhancedStatus(5, 5, 2), "Syntax error, empty command")
        default:
            throw SMTPParseError(500, EnhancedStatus(5, 5, 2), "Syntax error, command unrecognized")
        }
    }

    private static func parseMail(_ scanner: inout Scanner) throws(SMTPParseError) -> SMTPCommand {
        while scanner.skip(UInt8(ascii: " ")) {}
        let rawPath = try scanner.path()
        let parameters = try parameters(&scanner)
        var mail = MailParameters()
        var seen: Set<String> = []
        for (keyword, value) in parameters {
            guard seen.insert(keyword).inserted else { throw .syntax("Parameter \(keyword) given twice") }
            switch keyword {
            case "SIZE":
                guard let value, !value.isEmpty, value.count <= 18, value.allSatisfy(\.isASCIIDigit), let size = Int(value) else {
                    throw .syntax("SIZE needs a number")
                }
                mail.size = size
            case "BODY":
                guard let value, let body = BodyType(rawValue: value.uppercased()) else {
                    throw .syntax("BODY must be 7BIT, 8BITMIME or BINARYMIME")
                }
                mail.body = body
            case "SMTPUTF8":
                guard value == nil else { throw .syntax("SMTPUTF8 takes no value") }
                mail.smtpUTF8 = true
            case "RET":
                guard let value, let ret = DSNReturn(rawValue: value.uppercased()) else { throw .syntax("RET must be FULL or HDRS") }
                mail.ret = ret
            case "ENVID":
                guard let value, let decoded = XText.decode(value), !decoded.isEmpty, decoded.utf8.count <= 100 else {
                    throw .syntax("ENVID must be xtext of at most 100 characters")
                }
                mail.envelopeID = decoded
            case "AUTH":
                guard let value, let decoded = XText.decode(value) else { throw .syntax("AUTH= must be xtext") }
                mail.auth = decoded == "<>" ? nil : decoded
            default:
                throw SMTPParseError(555, EnhancedStatus(5, 5, 4), "Unsupported parameter \(keyword)")
            }
        }
        let path: ReversePath
        if rawPath.isEmpty {
            path = .null
        } else {
            path = .mailbox(try mailbox(rawPath, utf8: mail.smtpUTF8, sender: true))
        }
        return .mail(path, mail)
    }

    private static func parseRecipient(_ scanner: inout Scanner, utf8: Bool) throws(SMTPParseError) -> SMTPCommand {
        while scanner.skip(UInt8(ascii: " ")) {}
        let rawPath = try scanner.path()
        let parameters = try parameters(&scanner)
        var rcpt = RecipientParameters()
        var seen: Set<String> = []
        for (keyword, value) in parameters {
            guard seen.insert(keyword).inserted else { throw .syntax("Parameter \(keyword) given twice") }
            switch keyword {
            case "NOTIFY":
                guard let value else { throw .syntax("NOTIFY needs a value") }
                let items = value.uppercased().split(separator: ",", omittingEmptySubsequences: false)
                if items == ["NEVER"] {
                    rcpt.notify = .never
                } else {
                    var notify: DSNNotify = []
                    for item in items {
                        switch item {
                        case "SUCCESS": notify.insert(.success)
                        case "FAILURE": notify.insert(.failure)
                        case "DELAY": notify.insert(.delay)
                        default: throw .syntax("NOTIFY must be NEVER or a list of SUCCESS, FAILURE, DELAY")
                        }
                    }
                    rcpt.notify = notify
                }
            case "ORCPT":
                guard let value, let semicolon = value.firstIndex(of: ";"),
                      let address = XText.decode(value[value.index(after: semicolon)...]), !address.isEmpty else {
                    throw .syntax("ORCPT must be addr-type;xtext")
                }
                let type = value[..<semicolon]
                guard !type.isEmpty, type.utf8.allSatisfy({ isUpperAlnum($0) || isLowerAlpha($0) || $0 == UInt8(ascii: "-") }) else {
                    throw .syntax("ORCPT must be addr-type;xtext")
                }
                rcpt.originalRecipient = (type.lowercased(), address)
            default:
                throw SMTPParseError(555, EnhancedStatus(5, 5, 4), "Unsupported parameter \(keyword)")
            }
        }
        if rawPath.count == 10, String(decoding: rawPath, as: UTF8.self).lowercased() == "postmaster" {
            return .rcpt(.postmaster, rcpt)
        }
        guard !rawPath.isEmpty else { throw SMTPParseError(501, EnhancedStatus(5, 1, 3), "A recipient address is needed") }
        return .rcpt(.mailbox(try mailbox(rawPath, utf8: utf8, sender: false)), rcpt)
    }

    /// `keyword[=value]` pairs after the path, separated by spaces. Keywords upper-cased.
    private static func parameters(_ scanner: inout Scanner) throws(SMTPParseError) -> [(String, String?)] {
        var result: [(String, String?)] = []
        while !scanner.isAtEnd {
            guard scanner.skip(UInt8(ascii: " ")) else { throw .syntax("Garbage after the address") }
            while scanner.skip(UInt8(ascii: " ")) {}
            if scanner.isAtEnd { break }
            let item = scanner.word()
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let keyword = String(parts[0]).uppercased()
            guard !keyword.isEmpty, keyword.utf8.allSatisfy({ isUpperAlnum($0) || $0 == UInt8(ascii: "-") }),
                  isUpperAlnum(keyword.utf8.first!) else {
                throw .syntax("Malformed parameter")
            }
            var value: String?
            if parts.count == 2 {
                let text = String(parts[1])
                // esmtp-value: no "=", no controls, no space (RFC 5321 §4.1.2), UTF-8 allowed (RFC 6531).
                guard text.utf8.allSatisfy({ $0 > 0x20 && $0 != 0x7F && $0 != UInt8(ascii: "=") }) else {
                    throw .syntax("Malformed value for \(keyword)")
                }
                value = text
            }
            result.append((keyword, value))
            guard result.count <= 16 else { throw .syntax("Too many parameters") }
        }
        return result
    }

    /// Mailbox = Local-part "@" ( Domain / address-literal ).
    static func mailbox(_ raw: [UInt8], utf8: Bool, sender: Bool) throws(SMTPParseError) -> SMTPMailbox {
        let bad = SMTPParseError(501, EnhancedStatus(5, 1, sender ? 7 : 3),
                                 "Bad \(sender ? "sender" : "recipient") address syntax")
        guard raw.count <= 320 else { throw bad }
        if !utf8, raw.contains(where: { $0 >= 0x80 }) {
            throw SMTPParseError(553, EnhancedStatus(5, 6, 7), "Non-ASCII addresses need SMTPUTF8")
        }
        guard String(validatingUTF8: raw) != nil else { throw bad }
        var index = 0
        let localPart: String
        if raw.first == UInt8(ascii: "\"") {
            // Quoted-string: qtextSMTP or quoted-pair.
            index = 1
            var closed = false
            while index < raw.count {
                let byte = raw[index]
                if byte == UInt8(ascii: "\\") {
                    guard index + 1 < raw.count, raw[index + 1] >= 0x20, raw[index + 1] != 0x7F else { throw bad }
                    index += 2
                } else if byte == UInt8(ascii: "\"") {
                    closed = true
                    index += 1
                    break
                } else {
                    guard byte >= 0x20, byte != 0x7F else { throw bad }
                    index += 1
                }
            }
            guard closed else { throw bad }
            localPart = String(decoding: raw[..<index], as: UTF8.self)
        } else {
            guard let at = raw.lastIndex(of: UInt8(ascii: "@")) else { throw bad }
            let local = raw[..<at]
            guard isDotString(local) else { throw bad }
            index = at
            localPart = String(decoding: local, as: UTF8.self)
        }
        guard index < raw.count, raw[index] == UInt8(ascii: "@"), localPart.utf8.count <= 64 else { throw bad }
        let domainBytes = raw[(index + 1)...]
        guard let domain = domainText(domainBytes) else { throw bad }
        return SMTPMailbox(localPart: localPart, domain: domain)
    }

    /// Atom *("." Atom), atext per RFC 5322 plus UTF-8 (RFC 6531).
    private static func isDotString(_ bytes: ArraySlice<UInt8>) -> Bool {
        guard !bytes.isEmpty, bytes.first != UInt8(ascii: "."), bytes.last != UInt8(ascii: ".") else { return false }
        var previousDot = false
        for byte in bytes {
            if byte == UInt8(ascii: ".") {
                if previousDot { return false }
                previousDot = true
                continue
            }
            previousDot = false
            guard byte >= 0x80 || isAtext(byte) else { return false }
        }
        return true
    }

    static func isAtext(_ byte: UInt8) -> Bool {
        isUpperAlnum(byte) || isLowerAlpha(byte) || "!#$%&'*+-/=?^_`{|}~".utf8.contains(byte)
    }

    /// A domain (LDH labels, or U-labels in UTF-8), lower-cased; or an address literal kept as written.
    static func domainText(_ bytes: ArraySlice<UInt8>) -> String? {
        guard !bytes.isEmpty, bytes.count <= 255 else { return nil }
        if bytes.first == UInt8(ascii: "[") {
            guard bytes.last == UInt8(ascii: "]"), bytes.count > 2 else { return nil }
            let inner = bytes.dropFirst().dropLast()
            guard inner.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "[") && $0 != UInt8(ascii: "]") && $0 != UInt8(ascii: "\\") }) else {
                return nil
            }
            return String(decoding: bytes, as: UTF8.self)
        }
        let labels = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        for label in labels {
            guard !label.isEmpty, label.count <= 63, label.first != UInt8(ascii: "-"), label.last != UInt8(ascii: "-"),
                  label.allSatisfy({ $0 >= 0x80 || isUpperAlnum($0) || isLowerAlpha($0) || $0 == UInt8(ascii: "-") }) else {
                return nil
            }
        }
        return String(decoding: bytes, as: UTF8.self).lowercased()
    }

    static func isUpperAlnum(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) }
    static func isLowerAlpha(_ byte: UInt8) -> Bool { (0x61...0x7A).contains(byte) }
}

/// xtext (RFC 3461 §4): `+XX` escapes for "+", "=", controls and space.
public enum XText {
    public static func decode(_ text: some StringProtocol) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "+") {
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
                bytes.append(high << 4 | low)
            } else {
                guard byte > 0x20, byte != UInt8(ascii: "=") else { return nil }
                bytes.append(byte)
            }
        }
        return String(validatingUTF8: bytes)
    }

    public static func encode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            if byte < 0x21 || byte > 0x7E || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "=") {
                out += "+" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            } else {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            }
        }
        return out
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        default: nil  // RFC 3461 hexchar is upper case only.
        }
    }
}

extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }

    init?(validatingUTF8 bytes: some Collection<UInt8>) {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var scalars = String.UnicodeScalarView()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): scalars.append(scalar)
            case .emptyInput: self = String(scalars); return
            case .error: return nil
            }
        }
    }
}

extension ArraySlice<UInt8> {
    func trimmingSpaces() -> ArraySlice<UInt8> {
        var slice = self
        while slice.first == UInt8(ascii: " ") || slice.first == 9 { slice = slice.dropFirst() }
        while slice.last == UInt8(ascii: " ") || slice.last == 9 { slice = slice.dropLast() }
        return slice
    }
}

/// A cursor over one command line.
struct Scanner {
    let bytes: [UInt8]
    var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { index >= bytes.count }

    mutating func skip(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    /// Bytes up to the next space or the end.
    mutating func word() -> String {
        let start = index
        while index < bytes.count, bytes[index] != UInt8(ascii: " ") { index += 1 }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    mutating func rest() -> ArraySlice<UInt8> {
        defer { index = bytes.count }
        return bytes[index...]
    }

    /// A case-insensitive ASCII keyword such as `FROM:`.
    mutating func skipKeyword(_ keyword: String) -> Bool {
        let expected = Array(keyword.utf8)
        guard bytes.count - index >= expected.count else { return false }
        for (offset, byte) in expected.enumerated() {
            let actual = bytes[index + offset]
            let folded = (0x61...0x7A).contains(actual) ? actual - 0x20 : actual
            guard folded == byte else { return false }
        }
        index += expected.count
        return true
    }

    /// `<[A-d-l:]mailbox>` or `<>` or a bare address up to the next space; returns the mailbox bytes (empty for
    /// `<>`). Source routes (A-d-l) are read and ignored (RFC 5321 §4.1.2, §C).
    mutating func path() throws(SMTPParseError) -> [UInt8] {
        guard index < bytes.count else { throw .syntax("An address in angle brackets is needed") }
        if bytes[index] != UInt8(ascii: "<") {
            let start = index
            while index < bytes.count, bytes[index] != UInt8(ascii: " ") { index += 1 }
            let bare = Array(bytes[start..<index])
            guard bare.contains(UInt8(ascii: "@")) || bare.count == 10, !bare.contains(UInt8(ascii: ">")) else {
                throw .syntax("An address in angle brackets is needed")
            }
            return bare
        }
        index += 1
        var start = index
        var inQuotes = false
        while index < bytes.count {
            let byte = bytes[index]
            if inQuotes {
                if byte == UInt8(ascii: "\\") { index += 1 } else if byte == UInt8(ascii: "\"") { inQuotes = false }
            } else if byte == UInt8(ascii: "\"") {
                inQuotes = true
            } else if byte == UInt8(ascii: ">") {
                break
            } else if byte == UInt8(ascii: ":") && bytes[start] == UInt8(ascii: "@") {
                start = index + 1  // The end of a source route.
            }
            index += 1
        }
        guard index < bytes.count else { throw .syntax("Missing > after the address") }
        let path = Array(bytes[start..<index])
        index += 1
        return path
    }
}
