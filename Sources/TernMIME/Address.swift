// RFC 5322 §3.4 address lists, parsed best-effort the way IMAP's ENVELOPE needs them (RFC 9051 §7.5.2): a flat
// list of addresses with group start and end markers. Display names stay raw (not RFC 2047 decoded) because
// ENVELOPE carries them as written; `displayName` decodes.
//
// Accepted besides the RFC 5322 grammar: obsolete routes `<@a,@b:user@host>` (§4.4 obs-route), a comment as
// the display name of a bare addr-spec (`user@host (Name)`), missing domains and mailboxes (filled with
// MISSING_DOMAIN / MISSING_MAILBOX as Dovecot does), unclosed quotes, comments and angle brackets, stray
// specials. The scan is linear: every step consumes at least one token.

/// One ENVELOPE address, or a group marker: a group starts with `(NIL NIL "name" NIL)` (host nil, mailbox the
/// group name) and ends with `(NIL NIL NIL NIL)` (RFC 9051 §7.5.2).
public struct Address: Sendable, Equatable {
    /// The display name as written (quotes removed, encoded words not decoded, whitespace collapsed).
    public var name: String?
    /// The obsolete source route (`adl`), e.g. "@a,@b".
    public var route: String?
    /// The local part, or the group name of a group start marker.
    public var mailbox: String?
    public var host: String?

    public init(name: String? = nil, route: String? = nil, mailbox: String? = nil, host: String? = nil) {
        self.name = name
        self.route = route
        self.mailbox = mailbox
        self.host = host
    }

    public var isGroupStart: Bool { host == nil && mailbox != nil }
    public var isGroupEnd: Bool { host == nil && mailbox == nil }

    /// The display name with RFC 2047 encoded words decoded.
    public var displayName: String? { name.map { EncodedWords.decode(Array($0.utf8)) } }

    /// `mailbox@host`, for a real address (nil for group markers).
    public var addressSpec: String? {
        guard let mailbox, let host else { return nil }
        return host.isEmpty ? mailbox : mailbox + "@" + host
    }

    /// Parses an address-list header value (From, To, Cc, ...); garbage gives what could be recovered.
    public static func parseList(_ value: some Collection<UInt8>, limit: Int = MIMELimits.default.maxAddressesPerField)
        -> [Address]
    {
        var parser = AddressParser(tokens: AddressToken.scan(Array(value)), limit: limit)
        return parser.parseAddressList()
    }
}

enum AddressToken: Equatable {
    /// An atom or dot-atom run (dots included: obs-local-part and "John Q. Public" both work).
    case atom([UInt8])
    case quoted([UInt8])
    case domainLiteral([UInt8])
    case comment([UInt8])
    case special(UInt8)

    static func isSpecial(_ byte: UInt8) -> Bool {
        "<>@,;:[]\"()\\".utf8.contains(byte)
    }

    /// RFC 5322 §3.2 lexical scan.
    static func scan(_ bytes: [UInt8]) -> [AddressToken] {
        var tokens: [AddressToken] = []
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if ASCII.isLinearWhitespace(byte) {
                index += 1
            } else if byte == ASCII.quote {
                index += 1
                var content: [UInt8] = []
                while index < bytes.count, bytes[index] != ASCII.quote {
                    if bytes[index] == ASCII.backslash, index + 1 < bytes.count { index += 1 }
                    if bytes[index] != ASCII.cr && bytes[index] != ASCII.lf { content.append(bytes[index]) }
                    index += 1
                }
                index += 1
                tokens.append(.quoted(content))
            } else if byte == ASCII.openParen {
                var depth = 0
                var content: [UInt8] = []
                while index < bytes.count {
                    let current = bytes[index]
                    if current == ASCII.backslash, index + 1 < bytes.count {
                        content.append(bytes[index + 1])
                        index += 2
                        continue
                    }
                    index += 1
                    if current == ASCII.openParen {
                        depth += 1
                        if depth == 1 { continue }
                    } else if current == ASCII.closeParen {
                        depth -= 1
                        if depth == 0 { break }
                    }
                    content.append(current)
                }
                tokens.append(.comment(content))
            } else if byte == UInt8(ascii: "[") {
                var content: [UInt8] = [byte]
                index += 1
                while index < bytes.count, bytes[index] != UInt8(ascii: "]") {
                    if !ASCII.isLinearWhitespace(bytes[index]) { content.append(bytes[index]) }
                    index += 1
                }
                content.append(UInt8(ascii: "]"))
                index += 1
                tokens.append(.domainLiteral(content))
            } else if isSpecial(byte) {
                tokens.append(.special(byte))
                index += 1
            } else {
                let start = index
                while index < bytes.count, !isSpecial(bytes[index]), !ASCII.isLinearWhitespace(bytes[index]) {
                    index += 1
                }
                tokens.append(.atom(Array(bytes[start..<index])))
            }
        }
        return tokens
    }
}

struct AddressParser {
    let tokens: [AddressToken]
    let limit: Int
    var index = 0
    var output: [Address] = []

    init(tokens: [AddressToken], limit: Int) {
        self.tokens = tokens
        self.limit = limit
    }

    private var current: AddressToken? { index < tokens.count ? tokens[index] : nil }

    private mutating func skipComments() {
        while case .comment? = current { index += 1 }
    }

    private func isSpecial(_ byte: UInt8) -> Bool {
        if case .special(let found)? = current { return found == byte }
        return false
    }

    /// `address-list = (address *("," address)) / obs-addr-list` (RFC 5322 §3.4, §4.4).
    mutating func parseAddressList() -> [Address] {
        while index < tokens.count, output.count < limit {
            let before = index
            parseAddress(inGroup: false)
            // Skip to the next comma; a stray token that started nothing is dropped.
            while index < tokens.count, !isSpecial(UInt8(ascii: ",")) {
                if index == before { index += 1 } else { break }
            }
            if isSpecial(UInt8(ascii: ",")) { index += 1 }
            if index == before { index += 1 }
        }
        return output
    }

    /// `phrase = 1*word / obs-phrase`: words joined by one space, comments skipped. Stops at a special.
    private mutating func parsePhrase() -> (words: [[UInt8]], lastComment: [UInt8]?) {
        var words: [[UInt8]] = []
        var lastComment: [UInt8]?
        while let token = current {
            switch token {
            case .atom(let bytes), .quoted(let bytes), .domainLiteral(let bytes):
                words.append(bytes)
            case .comment(let bytes):
                lastComment = bytes
            case .special(let byte) where byte == UInt8(ascii: "."):
                words.append([byte])
            case .special:
                return (words, lastComment)
            }
            index += 1
        }
        return (words, lastComment)
    }

    /// `address = mailbox / group`.
    private mutating func parseAddress(inGroup: Bool) {
        let start = index
        let phrase = parsePhrase()
        if !inGroup, isSpecial(UInt8(ascii: ":")) {
            // group = display-name ":" [group-list] ";" [CFWS]
            index += 1
            let name = joinedPhrase(phrase.words)
            output.append(Address(mailbox: name ?? ""))
            while index < tokens.count, !isSpecial(ASCII.semicolon), output.count < limit {
                let before = index
                parseAddress(inGroup: true)
                if isSpecial(UInt8(ascii: ",")) { index += 1 }
                if index == before { index += 1 }
            }
            if isSpecial(ASCII.semicolon) { index += 1 }
            output.append(Address())
            return
        }
        if isSpecial(UInt8(ascii: "<")) {
            index += 1
            var address = parseAngleAddress()
            address.name = joinedPhrase(phrase.words)
            output.append(filled(address))
            skipComments()
            return
        }
        // addr-spec: the phrase was the local part; words join without spaces ("john.doe").
        index = start
        var localPart: [UInt8] = []
        var lastComment: [UInt8]?
        var sawWord = false
        loop: while let token = current {
            switch token {
            case .atom(let bytes), .quoted(let bytes), .domainLiteral(let bytes):
                localPart += bytes
                sawWord = true
            case .comment(let bytes): lastComment = bytes
            case .special(UInt8(ascii: ".")): localPart.append(UInt8(ascii: "."))
            default: break loop
            }
            index += 1
        }
        var host: [UInt8]?
        if isSpecial(UInt8(ascii: "@")) {
            index += 1
            let domain = parseDomain(until: [UInt8(ascii: ","), ASCII.semicolon, UInt8(ascii: ">")])
            host = domain.bytes
            if let comment = domain.lastComment { lastComment = comment }
        }
        guard sawWord || host != nil else { return }
        var address = Address(mailbox: sawWord ? headerString(localPart) : nil, host: host.map { headerString($0) })
        if let lastComment, !lastComment.isEmpty {
            address.name = headerString(collapsingWhitespace(lastComment))
        } else if host == nil, phrase.words.count > 1 {
            // Several words and no '@': a display name without an address (Dovecot keeps it as the name).
            address.name = joinedPhrase(phrase.words)
            address.mailbox = nil
        }
        output.append(filled(address))
    }

    /// `angle-addr = "<" [obs-route] addr-spec ">"`, after the "<".
    private mutating func parseAngleAddress() -> Address {
        var address = Address()
        skipComments()
        if isSpecial(UInt8(ascii: "@")) {
            // obs-route = obs-domain-list ":"; obs-domain-list = "@" domain *("," [CFWS] ["@" domain])
            var route: [String] = []
            while isSpecial(UInt8(ascii: "@")) {
                index += 1
                let domain = parseDomain(until: [UInt8(ascii: ","), UInt8(ascii: ":"), UInt8(ascii: ">")])
                route.append("@" + headerString(domain.bytes))
                while isSpecial(UInt8(ascii: ",")) { index += 1 }
                skipComments()
            }
            if isSpecial(UInt8(ascii: ":")) { index += 1 }
            address.route = route.joined(separator: ",")
        }
        var localPart: [UInt8] = []
        var sawWord = false
        loop: while let token = current {
            switch token {
            case .atom(let bytes), .quoted(let bytes), .domainLiteral(let bytes):
                localPart += bytes
                sawWord = true
            case .comment: break
            case .special(UInt8(ascii: ".")): localPart.append(UInt8(ascii: "."))
            default: break loop
            }
            index += 1
        }
        if sawWord { address.mailbox = headerString(localPart) }
        if isSpecial(UInt8(ascii: "@")) {
            index += 1
            address.host = headerString(parseDomain(until: [UInt8(ascii: ">")]).bytes)
        }
        // Skip to the closing ">" (or the end of the list item).
        while let token = current {
            index += 1
            if token == .special(UInt8(ascii: ">")) { break }
        }
        return address
    }

    /// `domain = dot-atom / domain-literal / obs-domain`, up to one of `stops` or another special.
    private mutating func parseDomain(until stops: [UInt8]) -> (bytes: [UInt8], lastComment: [UInt8]?) {
        var bytes: [UInt8] = []
        var lastComment: [UInt8]?
        loop: while let token = current {
            switch token {
            case .atom(let part), .domainLiteral(let part), .quoted(let part): bytes += part
            case .comment(let part): lastComment = part
            case .special(UInt8(ascii: ".")): bytes.append(UInt8(ascii: "."))
            case .special(let byte) where stops.contains(byte): break loop
            case .special: break loop
            }
            index += 1
        }
        return (bytes, lastComment)
    }

    private func joinedPhrase(_ words: [[UInt8]]) -> String? {
        guard !words.isEmpty else { return nil }
        var bytes: [UInt8] = []
        for word in words {
            if word == [UInt8(ascii: ".")] {
                bytes.append(UInt8(ascii: "."))
                continue
            }
            if !bytes.isEmpty { bytes.append(ASCII.space) }
            bytes += word
        }
        let collapsed = collapsingWhitespace(bytes)
        return collapsed.isEmpty ? nil : headerString(collapsed)
    }

    /// Dovecot's MESSAGE_ADDRESS_PARSE_FLAG_FILL_MISSING: an address always has a mailbox and a host.
    private func filled(_ address: Address) -> Address {
        var result = address
        if result.mailbox == nil || result.mailbox == "" { result.mailbox = "MISSING_MAILBOX" }
        if result.host == nil || result.host == "" { result.host = "MISSING_DOMAIN" }
        return result
    }
}
