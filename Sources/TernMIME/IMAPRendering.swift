// ENVELOPE, BODY and BODYSTRUCTURE as IMAP sends them (RFC 9051 §7.5.2, RFC 3501 §7.4.2). This lives in TernMIME,
// not the IMAP server, because the store renders them once at delivery and caches these exact bytes.
//
// Choices where the RFC leaves room, following Dovecot (src/lib-imap/imap-bodystructure.c, imap-envelope.c,
// imap-quote.c) unless noted:
// - Strings are quoted (with `\"` and `\\` escapes, at most 4 of them) unless they hold CR, LF, 8-bit bytes or
//   are longer than `quotedStringMaxLength`; then a literal `{n}\r\n`. NUL becomes 0x80 (IMAP strings cannot
//   carry NUL).
// - Media type, subtype and transfer encoding are upper-cased as in the RFC's examples ("TEXT" "PLAIN" "7BIT");
//   parameter names are lower-cased and values kept as written; text parts without a charset parameter get
//   ("charset" "us-ascii").
// - Subject and display names are "for humans": whitespace runs collapsed to one space, ends trimmed. Date,
//   In-Reply-To, Message-ID, Content-ID, -Description, -MD5, -Location are unfolded only.
// - Sender and Reply-To default to From. An absent field is NIL; an empty one is "".
// - Size and line count are of the body as stored; lines count line feeds.
// - A multipart without body parts gets one empty text/plain part; a multipart or message part left opaque (see
//   MessagePart.isOpaque) is application/octet-stream.

public enum IMAPRendering {
    /// Longer strings go out as literals even when they could be quoted.
    public static let quotedStringMaxLength = 1024
    /// Quoted-specials allowed in a quoted string before a literal is cheaper (Dovecot QUOTED_MAX_ESCAPE_CHARS).
    static let maxEscapes = 4

    /// The ENVELOPE list of a message's header, parentheses included.
    public static func envelope(of message: MessagePart, limits: MIMELimits = .default) -> [UInt8] {
        var output: [UInt8] = []
        writeEnvelope(Envelope(header: message.header, limits: limits), to: &output)
        return output
    }

    /// BODYSTRUCTURE (`extended`, with extension data) or BODY (without), parentheses included.
    public static func bodyStructure(of part: MessagePart, extended: Bool = true) -> [UInt8] {
        var output: [UInt8] = []
        writeBody(part, extended: extended, to: &output)
        return output
    }

    static func writeEnvelope(_ envelope: Envelope, to output: inout [UInt8]) {
        output.append(ASCII.openParen)
        writeNString(envelope.date, to: &output)
        output.append(ASCII.space)
        writeNString(envelope.subject.map { collapsingWhitespace($0) }, to: &output)
        for list in [
            envelope.from, envelope.sender.isEmpty ? envelope.from : envelope.sender,
            envelope.replyTo.isEmpty ? envelope.from : envelope.replyTo, envelope.to, envelope.cc, envelope.bcc,
        ] {
            output.append(ASCII.space)
            writeAddresses(list, to: &output)
        }
        output.append(ASCII.space)
        writeNString(envelope.inReplyTo, to: &output)
        output.append(ASCII.space)
        writeNString(envelope.messageID, to: &output)
        output.append(ASCII.closeParen)
    }

    /// `env-from` etc.: `"(" 1*address ")" / nil`, each `address = "(" addr-name SP addr-adl SP addr-mailbox SP
    /// addr-host ")"`.
    static func writeAddresses(_ addresses: [Address], to output: inout [UInt8]) {
        guard !addresses.isEmpty else {
            output += Array("NIL".utf8)
            return
        }
        output.append(ASCII.openParen)
        for address in addresses {
            output.append(ASCII.openParen)
            writeNString(address.name.map { collapsingWhitespace(Array($0.utf8)) }, to: &output)
            for field in [address.route, address.mailbox, address.host] {
                output.append(ASCII.space)
                writeNString(field.map { Array($0.utf8) }, to: &output)
            }
            output.append(ASCII.closeParen)
        }
        output.append(ASCII.closeParen)
    }

    private static func writeBody(_ part: MessagePart, extended: Bool, to output: inout [UInt8]) {
        output.append(ASCII.openParen)
        defer { output.append(ASCII.closeParen) }
        if case .multipart(let children) = part.content {
            // body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]
            if children.isEmpty {
                output += Array(
                    (extended
                        ? "(\"TEXT\" \"PLAIN\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 0 0 NIL NIL NIL NIL)"
                        : "(\"TEXT\" \"PLAIN\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 0 0)").utf8)
            }
            for child in children { writeBody(child, extended: extended, to: &output) }
            output.append(ASCII.space)
            writeString(Array(part.contentType.subtype.uppercased().utf8), to: &output)
            if extended {
                // body-ext-mpart = body-fld-param [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc ...]]]
                output.append(ASCII.space)
                writeParameters(part.contentType.parameters.rendered, to: &output)
                writeCommonExtension(part, to: &output)
            }
            return
        }

        // body-type-1part = (body-type-basic / body-type-msg / body-type-text) [SP body-ext-1part]
        let isText = !part.isOpaque && part.contentType.isText
        if part.isOpaque {
            output += Array("\"APPLICATION\" \"OCTET-STREAM\"".utf8)
        } else {
            writeString(Array(part.contentType.type.uppercased().utf8), to: &output)
            output.append(ASCII.space)
            writeString(Array(part.contentType.subtype.uppercased().utf8), to: &output)
        }
        // body-fields = body-fld-param SP body-fld-id SP body-fld-desc SP body-fld-enc SP body-fld-octets
        output.append(ASCII.space)
        var parameters = part.contentType.parameters.rendered
        if isText, !parameters.contains(where: { $0.name == "charset" }) {
            parameters.append(MIMEParameter(name: "charset", value: "us-ascii"))
        }
        writeParameters(parameters, to: &output)
        output.append(ASCII.space)
        writeNString(part.contentID, to: &output)
        output.append(ASCII.space)
        writeNString(part.contentDescription, to: &output)
        output.append(ASCII.space)
        writeString(Array((part.transferEncodingName.flatMap { $0.isEmpty ? nil : $0 } ?? "7bit").uppercased().utf8), to: &output)
        output += Array(" \(part.bodyRange.count)".utf8)
        if let message = part.encapsulated {
            // body-type-msg = media-message SP body-fields SP envelope SP body SP body-fld-lines
            output.append(ASCII.space)
            writeEnvelope(Envelope(header: message.header), to: &output)
            output.append(ASCII.space)
            writeBody(message, extended: extended, to: &output)
            output += Array(" \(part.bodyLineCount)".utf8)
        } else if isText {
            // body-type-text = media-text SP body-fields SP body-fld-lines
            output += Array(" \(part.bodyLineCount)".utf8)
        }
        if extended {
            // body-ext-1part = body-fld-md5 [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc ...]]]
            output.append(ASCII.space)
            writeNString(part.contentMD5, to: &output)
            writeCommonExtension(part, to: &output)
        }
    }

    /// SP body-fld-dsp SP body-fld-lang SP body-fld-loc.
    private static func writeCommonExtension(_ part: MessagePart, to output: inout [UInt8]) {
        output.append(ASCII.space)
        if let disposition = part.disposition {
            // body-fld-dsp = "(" string SP body-fld-param ")" / nil
            output.append(ASCII.openParen)
            writeString(Array(disposition.type.utf8), to: &output)
            output.append(ASCII.space)
            writeParameters(disposition.parameters.rendered, to: &output)
            output.append(ASCII.closeParen)
        } else {
            output += Array("NIL".utf8)
        }
        output.append(ASCII.space)
        // body-fld-lang = nstring / "(" string *(SP string) ")"
        if let languages = part.languages, !languages.isEmpty {
            output.append(ASCII.openParen)
            for (index, language) in languages.enumerated() {
                if index > 0 { output.append(ASCII.space) }
                writeString(Array(language.utf8), to: &output)
            }
            output.append(ASCII.closeParen)
        } else {
            output += Array("NIL".utf8)
        }
        output.append(ASCII.space)
        writeNString(part.contentLocation, to: &output)
    }

    /// body-fld-param = "(" string SP string *(SP string SP string) ")" / nil
    private static func writeParameters(_ parameters: [MIMEParameter], to output: inout [UInt8]) {
        guard !parameters.isEmpty else {
            output += Array("NIL".utf8)
            return
        }
        output.append(ASCII.openParen)
        for (index, parameter) in parameters.enumerated() {
            if index > 0 { output.append(ASCII.space) }
            writeString(Array(parameter.name.utf8), to: &output)
            output.append(ASCII.space)
            writeString(Array(parameter.value.utf8), to: &output)
        }
        output.append(ASCII.closeParen)
    }

    static func writeNString(_ value: [UInt8]?, to output: inout [UInt8]) {
        if let value { writeString(value, to: &output) } else { output += Array("NIL".utf8) }
    }

    /// `string = quoted / literal` (RFC 9051 §9).
    static func writeString(_ value: [UInt8], to output: inout [UInt8]) {
        var escapes = 0
        var needsLiteral = value.count > quotedStringMaxLength
        if !needsLiteral {
            for byte in value {
                if byte == ASCII.quote || byte == ASCII.backslash { escapes += 1 }
                if byte == ASCII.cr || byte == ASCII.lf || byte >= 0x80 || byte == 0 || escapes > maxEscapes {
                    needsLiteral = true
                    break
                }
            }
        }
        if needsLiteral {
            output += Array("{\(value.count)}\r\n".utf8)
            output += value.map { $0 == 0 ? 0x80 : $0 }
            return
        }
        output.append(ASCII.quote)
        for byte in value {
            if byte == ASCII.quote || byte == ASCII.backslash { output.append(ASCII.backslash) }
            output.append(byte)
        }
        output.append(ASCII.quote)
    }
}
