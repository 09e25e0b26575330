// Builds the bytes of one `* n FETCH (…)` response from a message's metadata and, when an item needs it, its file
// parsed with TernMIME. Runs on the blocking pool (file reads, MIME parsing); pure apart from reading the file.

import TernCore
import TernIMAPCore
import TernMIME
import TernStore

struct FetchRenderer: Sendable {
    let attributes: [FetchAttribute]
    /// UID FETCH: UID is always included (RFC 9051 §6.4.9).
    let includeUID: Bool
    /// CONDSTORE enabled (or CHANGEDSINCE given): MODSEQ goes with every response (RFC 7162 §3.1.4).
    let includeModSeq: Bool
    /// The session's \Recent messages (IMAP4rev1 only), shown in FLAGS.
    var recent: Set<UInt32> = []

    enum RenderError: Error {
        case unknownTransferEncoding
        case unreadable(String)
    }

    /// True if some item needs the message's bytes.
    var needsContent: Bool {  // (ENVELOPE and BODYSTRUCTURE may come from the index instead)
        attributes.contains { attribute in
            switch attribute {
            case .envelope, .body, .bodyStructure, .rfc822, .rfc822Header, .rfc822Text, .bodySection, .binary, .binarySize,
                 .preview:
                return true
            default:
                return false
            }
        }
    }

    /// True if some item is a header section of the whole message (BODY[HEADER], BODY[HEADER.FIELDS (…)],
    /// RFC822.HEADER): then the rows are read with the header the index caches.
    var usesTopLevelHeader: Bool {
        attributes.contains { attribute in
            switch attribute {
            case .rfc822Header: return true
            case .bodySection(let spec, _, _):
                guard spec.part.isEmpty else { return false }
                switch spec.text {
                case .header, .headerFields, .headerFieldsNot: return true
                default: return false
                }
            default: return false
            }
        }
    }

    /// True if some item sets \Seen when fetched (RFC 9051 §6.4.5: BODY[…] without .PEEK, BINARY[…], RFC822,
    /// RFC822.TEXT).
    var setsSeen: Bool {
        attributes.contains { attribute in
            switch attribute {
            case .bodySection(_, _, let peek), .binary(_, _, let peek): return !peek
            case .rfc822, .rfc822Text: return true
            default: return false
            }
        }
    }

    static func flagList(_ flags: SystemFlags, _ keywords: [String], recent: Bool = false) -> String {
        var names: [String] = []
        if recent { names.append("\\Recent") }
        if flags.contains(.answered) { names.append("\\Answered") }
        if flags.contains(.flagged) { names.append("\\Flagged") }
        if flags.contains(.deleted) { names.append("\\Deleted") }
        if flags.contains(.seen) { names.append("\\Seen") }
        if flags.contains(.draft) { names.append("\\Draft") }
        names += keywords
        return "(" + names.joined(separator: " ") + ")"
    }

    /// True if every item that needs the message needs only its top-level header (a mail program's header sync:
    /// `BODY.PEEK[HEADER.FIELDS (…)]`, RFC822.HEADER) and ENVELOPE/BODYSTRUCTURE come from the index: then only
    /// the header is read from the file.
    func needsOnlyHeader(_ record: MessageRecord) -> Bool {
        attributes.allSatisfy { attribute in
            switch attribute {
            case .bodySection(let spec, _, _):
                guard spec.part.isEmpty else { return false }
                switch spec.text {
                case .header, .headerFields, .headerFieldsNot: return true
                default: return false
                }
            case .rfc822Header: return true
            case .envelope, .body, .bodyStructure: return record.metadata != nil
            case .rfc822, .rfc822Text, .binary, .binarySize, .preview: return false
            default: return true
            }
        }
    }

    /// `* seq FETCH (…)\r\n` for one message. `forceFlags`: include FLAGS (\Seen was just set).
    func render(sequence: Int, record: MessageRecord, forceFlags: Bool) throws(RenderError) -> [UInt8] {
        var message: MIMEMessage?
        var whole: [UInt8]?
        let headerOnly = needsOnlyHeader(record)
        /// The whole message as stored, without parsing it (BODY[], RFC822: the most common download).
        func contents() throws(RenderError) -> [UInt8] {
            if let whole { return whole }
            do throws(StoreError) {
                whole = try record.contents()
            } catch {
                throw .unreadable("\(error)")
            }
            return whole!
        }
        /// What the items need: the header alone when that is all they use, else the whole message.
        func needed() throws(RenderError) -> [UInt8] {
            guard headerOnly else { return try contents() }
            do throws(StoreError) {
                return try record.header()
            } catch {
                throw .unreadable("\(error)")
            }
        }
        /// HEADER / HEADER.FIELDS[.NOT] of the whole message, from the header bytes alone (no MIME structure parse).
        func topHeader(_ text: TernMIME.SectionText) throws(RenderError) -> [UInt8]? {
            if let message { return message.section([], text) }
            return MIMEMessage.topLevelHeaderSection(try needed(), text)
        }
        func parsed() throws(RenderError) -> MIMEMessage {
            if let message { return message }
            let parsed = MIMEMessage(parsing: try needed())
            message = parsed
            return parsed
        }
        var out: [UInt8] = Array("* \(sequence) FETCH (".utf8)
        var first = true
        func item(_ text: String) {
            if !first { out.append(UInt8(ascii: " ")) }
            first = false
            out += Array(text.utf8)
        }
        func item(_ name: String, _ value: [UInt8]) {
            item(name + " ")
            out += value
        }
        let info = record.info
        if includeUID, !attributes.contains(.uid) { item("UID \(info.uid)") }
        var flagsDone = false
        for attribute in attributes {
            switch attribute {
            case .uid:
                item("UID \(info.uid)")
            case .flags:
                item("FLAGS \(Self.flagList(info.flags, info.keywords, recent: recent.contains(info.uid.rawValue)))")
                flagsDone = true
            case .internalDate:
                item("INTERNALDATE", IMAPDateTime(epochSeconds: info.internalDate).quoted)
            case .rfc822Size:
                item("RFC822.SIZE \(info.size)")
            case .modSeq:
                break  // below, once
            case .saveDate:
                item("SAVEDATE", IMAPDateTime(epochSeconds: record.saveDate).quoted)
            // Cached at delivery when the row has it; parsed from the file otherwise.
            case .envelope:
                if let cached = record.metadata?.envelope {
                    item("ENVELOPE", cached)
                } else {
                    item("ENVELOPE", IMAPRendering.envelope(of: try parsed().root))
                }
            case .bodyStructure:
                if let cached = record.metadata?.bodyStructure {
                    item("BODYSTRUCTURE", cached)
                } else {
                    item("BODYSTRUCTURE", IMAPRendering.bodyStructure(of: try parsed().root, extended: true))
                }
            case .body:
                if let cached = record.metadata?.body {
                    item("BODY", cached)
                } else {
                    item("BODY", IMAPRendering.bodyStructure(of: try parsed().root, extended: false))
                }
            case .rfc822:
                item("RFC822", IMAPString.literal(try contents()))
            case .rfc822Header:
                item("RFC822.HEADER", IMAPString.literal(try topHeader(.header) ?? []))
            case .rfc822Text:
                item("RFC822.TEXT", IMAPString.literal(try parsed().section([], .text) ?? []))
            case .bodySection(let spec, let partial, _):
                // BODY[] is the message as stored: no parse needed.
                let text = Self.sectionText(spec.text)
                let section: [UInt8]?
                switch (spec.part.isEmpty, text) {
                case (true, nil): section = try contents()
                case (true, .header?), (true, .headerFields?), (true, .headerFieldsNot?): section = try topHeader(text!)
                default: section = try parsed().section(spec.part, text)
                }
                var name = "BODY[\(Self.sectionText(spec))]"
                if let partial { name += "<\(partial.offset)>" }
                if var bytes = section, bytes.contains(0) {
                    // NUL cannot travel in a literal (RFC 9051 §4.3). A part's content is sent base64-encoded (as
                    // Dovecot does: the client learns the bytes, BINARY[] gives them raw); a whole message or header
                    // goes as literal8, which clients that asked for BINARY understand.
                    if !spec.part.isEmpty, spec.text == nil {
                        bytes = Array(Base64.encode(bytes).utf8)
                        item(name, IMAPString.literal(Self.slice(bytes, partial)))
                    } else {
                        let data = Self.slice(bytes, partial)
                        item(name, Array("~{\(data.count)}\r\n".utf8) + data)
                    }
                } else {
                    item(name, section.map { IMAPString.literal(Self.slice($0, partial)) } ?? Array("NIL".utf8))
                }
            case .binary(let part, let partial, _):
                var name = "BINARY[\(part.map(String.init).joined(separator: "."))]"
                if let partial { name += "<\(partial.offset)>" }
                switch try parsed().binary(part) {
                case nil:
                    item(name, Array("NIL".utf8))
                case .unknownTransferEncoding:
                    throw .unknownTransferEncoding
                case .decoded(let bytes):
                    let data = Self.slice(bytes, partial)
                    item(name, data.contains(0) ? Array("~{\(data.count)}\r\n".utf8) + data : IMAPString.literal(data))
                }
            case .binarySize(let part):
                let name = "BINARY.SIZE[\(part.map(String.init).joined(separator: "."))]"
                switch try parsed().binary(part) {
                case nil: item("\(name) 0")
                case .unknownTransferEncoding: throw .unknownTransferEncoding
                case .decoded(let bytes): item("\(name) \(bytes.count)")
                }
            case .preview:
                item("PREVIEW", IMAPString.quotedOrLiteral(Array(Self.preview(of: try parsed()).utf8)))
            case .emailID:
                item("EMAILID (M\(record.emailID))")
            case .threadID:
                item("THREADID NIL")  // RFC 8474 §5.2: threads are not computed
            }
        }
        if forceFlags, !flagsDone {
            item("FLAGS \(Self.flagList(info.flags, info.keywords, recent: recent.contains(info.uid.rawValue)))")
        }
        if includeModSeq || attributes.contains(.modSeq) { item("MODSEQ (\(info.modSeq))") }
        out += Array(")\r\n".utf8)
        return out
    }

    /// RFC 8970: up to 200 characters of the first text part, whitespace collapsed (HTML tags dropped when the
    /// only text is HTML). Never more than 256 octets.
    static func preview(of message: MIMEMessage) -> String {
        let parts = message.textParts
        let plain = parts.first { $0.contentType.subtype == "plain" } ?? parts.first
        guard let part = plain, var text = part.decodedText() else { return "" }
        if part.contentType.subtype == "html" {
            var stripped = ""
            var inTag = false
            for character in text {
                if character == "<" { inTag = true } else if character == ">" { inTag = false; stripped.append(" ") }
                else if !inTag { stripped.append(character) }
            }
            text = stripped
        }
        var result = ""
        var lastWasSpace = true
        for character in text {
            if character.isWhitespace || character.isNewline {
                if !lastWasSpace { result.append(" ") }
                lastWasSpace = true
            } else {
                result.append(character)
                lastWasSpace = false
            }
            if result.count >= 200 || result.utf8.count >= 250 { break }
        }
        while result.last == " " { result.removeLast() }
        return result
    }

    static func slice(_ bytes: [UInt8], _ partial: Partial?) -> [UInt8] {
        guard let partial else { return bytes }
        let start = min(Int(partial.offset), bytes.count)
        let end = min(start + Int(partial.length), bytes.count)
        return Array(bytes[start..<end])
    }

    static func sectionText(_ text: SectionSpec.Text?) -> TernMIME.SectionText? {
        switch text {
        case nil: nil
        case .header: .header
        case .headerFields(let names): .headerFields(names)
        case .headerFieldsNot(let names): .headerFieldsNot(names)
        case .text: .text
        case .mime: .mime
        }
    }

    /// The section as the response names it: `1.2.HEADER.FIELDS (FROM TO)`.
    static func sectionText(_ spec: SectionSpec) -> String {
        var parts = spec.part.map(String.init)
        switch spec.text {
        case nil: break
        case .header: parts.append("HEADER")
        case .text: parts.append("TEXT")
        case .mime: parts.append("MIME")
        case .headerFields(let names): parts.append("HEADER.FIELDS (\(names.joined(separator: " ")))")
        case .headerFieldsNot(let names): parts.append("HEADER.FIELDS.NOT (\(names.joined(separator: " ")))")
        }
        return parts.joined(separator: ".")
    }
}
