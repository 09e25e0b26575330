// FETCH (RFC 9051 §6.4.5) with RFC 3516 BINARY, RFC 7162 CONDSTORE/QRESYNC modifiers, RFC 8514 SAVEDATE,
// RFC 8474 OBJECTID and RFC 8970 PREVIEW.

extension Reader {
    /// `fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" / fetch-att / "(" fetch-att *(SP fetch-att) ")")
    /// [fetch-modifiers]`; the macros expand as RFC 9051 §6.4.5 says.
    mutating func fetch(uid: Bool) throws -> Command {
        try space("before the sequence set")
        let set = try sequenceSet()
        try space("after the sequence set")
        var attributes: [FetchAttribute]
        if try peek() == UInt8(ascii: "(") {
            attributes = try list("fetch attributes") { try $0.fetchAttribute() }
        } else {
            let start = index
            switch try keyword() {
            case "ALL": attributes = [.flags, .internalDate, .rfc822Size, .envelope]
            case "FAST": attributes = [.flags, .internalDate, .rfc822Size]
            case "FULL": attributes = [.flags, .internalDate, .rfc822Size, .envelope, .body]
            default:
                index = start
                attributes = [try fetchAttribute()]
            }
        }
        var modifiers = FetchModifiers()
        if try consume(0x20) {
            // RFC 7162: fetch-modifiers = SP "(" fetch-modifier *(SP fetch-modifier) ")";
            // fetch-modifier =/ chgsince-fetch-mod / "VANISHED"; chgsince-fetch-mod = "CHANGEDSINCE" SP
            // mod-sequence-value (0 is tolerated).
            _ = try list("fetch modifiers") { reader -> Void in
                switch try reader.keyword() {
                case "CHANGEDSINCE":
                    try reader.space("after CHANGEDSINCE")
                    modifiers.changedSince = try reader.modSequence("a mod-sequence")
                case "VANISHED":
                    modifiers.vanished = true
                default: throw ParseError.syntax("Expected CHANGEDSINCE or VANISHED")
                }
            }
        }
        return .fetch(set, attributes, modifiers, uid: uid)
    }

    /// `fetch-att = "ENVELOPE" / "FLAGS" / "INTERNALDATE" / "RFC822" [".HEADER" / ".SIZE" / ".TEXT"] /
    /// "BODY" ["STRUCTURE"] / "UID" / "BODY" section [partial] / "BODY.PEEK" section [partial] /
    /// "BINARY" [".PEEK"] section-binary [partial] / "BINARY.SIZE" section-binary` plus MODSEQ, SAVEDATE, EMAILID,
    /// THREADID, `"PREVIEW" [SP "(" "LAZY" ")"]`.
    mutating func fetchAttribute() throws -> FetchAttribute {
        let name = try keyword()
        switch name {
        case "ENVELOPE": return .envelope
        case "FLAGS": return .flags
        case "INTERNALDATE": return .internalDate
        case "RFC822": return .rfc822
        case "RFC822.HEADER": return .rfc822Header
        case "RFC822.SIZE": return .rfc822Size
        case "RFC822.TEXT": return .rfc822Text
        case "BODYSTRUCTURE": return .bodyStructure
        case "UID": return .uid
        case "MODSEQ": return .modSeq
        case "SAVEDATE": return .saveDate
        case "EMAILID": return .emailID
        case "THREADID": return .threadID
        case "BODY", "BODY.PEEK":
            guard try peek() == UInt8(ascii: "[") else {
                guard name == "BODY" else { throw ParseError.syntax("Expected a section after BODY.PEEK") }
                return .body
            }
            let section = try section()
            return .bodySection(section, partial: try partial(), peek: name == "BODY.PEEK")
        case "BINARY", "BINARY.PEEK":
            let part = try sectionBinary()
            return .binary(part: part, partial: try partial(), peek: name == "BINARY.PEEK")
        case "BINARY.SIZE":
            return .binarySize(part: try sectionBinary())
        case "PREVIEW":
            // RFC 8970: the modifier list only if it is `(LAZY…`, so `FETCH 1 PREVIEW (CHANGEDSINCE 5)` still works.
            guard try peek() == 0x20, try peek(at: 1) == UInt8(ascii: "(") else { return .preview(lazy: false) }
            let start = index
            index += 2
            guard try keyword() == "LAZY" else {
                index = start
                return .preview(lazy: false)
            }
            index = start + 1
            _ = try list("preview modifiers") { reader -> Void in
                guard try reader.keyword() == "LAZY" else { throw ParseError.syntax("Expected LAZY") }
            }
            return .preview(lazy: true)
        case "": throw ParseError.syntax("Expected a fetch attribute")
        default: throw ParseError.syntax("Unknown fetch attribute \(name)")
        }
    }

    /// `section = "[" [section-spec] "]"`; `section-spec = section-msgtext / (section-part ["." section-text])`;
    /// `section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"`;
    /// `section-part = nz-number *("." nz-number)`; `section-text = section-msgtext / "MIME"`.
    mutating func section() throws -> SectionSpec {
        try expect(UInt8(ascii: "["), "\"[\"")
        var spec = SectionSpec()
        if try consume(UInt8(ascii: "]")) { return spec }
        while try IMAPCharacter.isDigit(peek()) {
            spec.part.append(Int(try nzNumber("section part")))
            try checkItems(spec.part.count, "section parts")
            guard try consume(UInt8(ascii: ".")) else {
                try expect(UInt8(ascii: "]"), "\"]\" after the section")
                return spec
            }
        }
        let name = try keyword()
        switch name {
        case "HEADER": spec.text = .header
        case "TEXT": spec.text = .text
        case "MIME":
            guard !spec.part.isEmpty else { throw ParseError.syntax("MIME needs a part number") }
            spec.text = .mime
        case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
            try space("after \(name)")
            let fields = try list("header field names") { String(asciiUppercased: try $0.astring("a header field name")) }
            spec.text = name == "HEADER.FIELDS" ? .headerFields(fields) : .headerFieldsNot(fields)
        default:
            throw ParseError.syntax("Expected HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT, TEXT or MIME")
        }
        try expect(UInt8(ascii: "]"), "\"]\" after the section")
        return spec
    }

    /// RFC 3516 `section-binary = "[" [section-part] "]"`.
    mutating func sectionBinary() throws -> [Int] {
        try expect(UInt8(ascii: "["), "\"[\"")
        var part: [Int] = []
        if try consume(UInt8(ascii: "]")) { return part }
        repeat {
            part.append(Int(try nzNumber("section part")))
            try checkItems(part.count, "section parts")
        } while try consume(UInt8(ascii: "."))
        try expect(UInt8(ascii: "]"), "\"]\" after the section")
        return part
    }

    /// `partial = "<" number64 "." nz-number64 ">"` (32-bit values here).
    mutating func partial() throws -> Partial? {
        guard try consume(UInt8(ascii: "<")) else { return nil }
        let offset = try number32("a partial offset")
        try expect(UInt8(ascii: "."), "\".\" in a partial")
        let length = try nzNumber("partial length")
        try expect(UInt8(ascii: ">"), "\">\" after a partial")
        return Partial(offset: offset, length: length)
    }
}
