// FETCH body sections (RFC 9051 §6.4.5) over a parsed message: part numbering, HEADER, HEADER.FIELDS[.NOT], TEXT,
// MIME and the transfer-decoded content for BINARY (RFC 3516 / RFC 9051 §6.4.5 BINARY[]).
//
// Numbering: the parts of a multipart are 1, 2, ...; the parts of a message/rfc822 part are those of its
// embedded message; a message that is not multipart has only part 1, its body. `[]` is the whole message.
// All bytes are the stored bytes (CRLF or bare LF as delivered), except the final CRLF of HEADER.FIELDS.

/// The text part of a section specification, after the part numbers.
public enum SectionText: Sendable, Equatable {
    /// The header of the message (top level or embedded), including the blank line.
    case header
    /// Only the named fields (any case), in message order, each with its folding and line end, then CRLF.
    case headerFields([String])
    /// All fields except the named ones, in the same form.
    case headerFieldsNot([String])
    /// The body of the message (top level or embedded).
    case text
    /// The MIME header of a part (only with part numbers).
    case mime
}

/// What BINARY[part] yields.
public enum BinaryContent: Sendable, Equatable {
    case decoded([UInt8])
    /// The part's Content-Transfer-Encoding is not one Tern can decode: the server answers [UNKNOWN-CTE].
    case unknownTransferEncoding
}

extension MIMEMessage {
    /// The part with IMAP part number `path` (`[]` is the whole message); nil if there is none.
    public func part(at path: [Int]) -> MessagePart? {
        var node = root
        var nodeIsMessage = true
        for number in path {
            let container: MessagePart
            if nodeIsMessage || node.contentType.isMultipart && !node.isOpaque {
                container = node
            } else if let embedded = node.encapsulated {
                container = embedded
            } else {
                return nil
            }
            if case .multipart(let children) = container.content {
                guard number >= 1, number <= children.count else { return nil }
                node = children[number - 1]
            } else {
                guard number == 1 else { return nil }
                node = container
            }
            nodeIsMessage = false
        }
        return node
    }

    /// The bytes of section `path` + `text` (BODY[1.2.HEADER] is `section([1, 2], .header)`); nil if the
    /// section does not exist (no such part, HEADER of a part that is not a message, MIME of the whole message).
    public func section(_ path: [Int], _ text: SectionText? = nil) -> [UInt8]? {
        guard let part = part(at: path) else { return nil }
        guard let text else {
            return path.isEmpty ? bytes : Array(part.bodyBytes)
        }
        if text == .mime {
            return path.isEmpty ? nil : Array(part.headerBytes)
        }
        // HEADER, HEADER.FIELDS and TEXT apply to a message: the top level, or a message/rfc822 part's content.
        let message: MessagePart
        if path.isEmpty {
            message = root
        } else if let embedded = part.encapsulated {
            message = embedded
        } else {
            return nil
        }
        switch text {
        case .header: return Array(message.headerBytes)
        case .text: return Array(message.bodyBytes)
        case .headerFields(let names): return Self.headerFields(message.source, message.header.fields, names: names, matching: true)
        case .headerFieldsNot(let names): return Self.headerFields(message.source, message.header.fields, names: names, matching: false)
        case .mime: return nil
        }
    }

    /// HEADER, HEADER.FIELDS or HEADER.FIELDS.NOT of the top-level message, from its bytes without parsing the MIME
    /// structure (a mail program's header sync asks this of every message): the same bytes as
    /// `MIMEMessage(parsing: bytes, limits: limits).section([], text)`. Nil for TEXT and MIME.
    public static func topLevelHeaderSection(_ bytes: [UInt8], _ text: SectionText, limits: MIMELimits = .default) -> [UInt8]? {
        let (header, bodyStart) = MessageHeader.parse(bytes, limits: limits)
        switch text {
        case .header: return Array(bytes[0..<bodyStart])
        case .headerFields(let names): return headerFields(bytes, header.fields, names: names, matching: true)
        case .headerFieldsNot(let names): return headerFields(bytes, header.fields, names: names, matching: false)
        case .text, .mime: return nil
        }
    }

    /// BINARY[path]: the part's content with its transfer encoding removed; nil if there is no such part.
    /// `[]` is the whole message as stored (RFC 3516 §4.2).
    public func binary(_ path: [Int]) -> BinaryContent? {
        guard let part = part(at: path) else { return nil }
        if path.isEmpty { return .decoded(bytes) }
        guard let decoded = part.transferEncoding.decode(part.bodyBytes) else { return .unknownTransferEncoding }
        return .decoded(decoded)
    }

    private static func headerFields(_ source: [UInt8], _ fields: [HeaderField], names: [String], matching: Bool) -> [UInt8] {
        var output: [UInt8] = []
        for field in fields where names.contains(where: { field.hasName($0) }) == matching {
            let fieldBytes = source[field.range]
            output += fieldBytes
            if fieldBytes.last != ASCII.lf { output += [ASCII.cr, ASCII.lf] }
        }
        output += [ASCII.cr, ASCII.lf]
        return output
    }
}
