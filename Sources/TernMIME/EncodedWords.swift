// RFC 2047 encoded words (`=?charset?B|Q?text?=`) in unstructured header text and display names.
//
// Lenient like common readers: an encoded word is recognised anywhere, not only between whitespace; whitespace
// between two adjacent encoded words is dropped (RFC 2047 §6.2); adjacent words in the same charset are joined
// before conversion, so a multi-byte character split across words decodes whole. A word in an unknown charset
// or with bad syntax stays as written.

public enum EncodedWords {
    /// Decodes every encoded word in `text` (other bytes: UTF-8, or Latin-1 when not valid UTF-8).
    public static func decode(_ text: some Collection<UInt8>) -> String {
        let bytes = Array(text)
        var output = ""
        var plainStart = 0
        // Pending decoded bytes of adjacent encoded words in one charset, and where the last one ended.
        var pending: (charset: String, bytes: [UInt8])?
        var lastWordEnd: Int?
        var index = 0

        func flushPending() {
            if let run = pending {
                output += Charset.decode(run.bytes, charset: run.charset) ?? headerString(run.bytes)
                pending = nil
            }
        }

        while index + 1 < bytes.count {
            guard bytes[index] == ASCII.equals, bytes[index + 1] == UInt8(ascii: "?"),
                let word = parseWord(bytes, at: index), Charset.isKnown(word.charset)
            else {
                index += 1
                continue
            }
            let between = bytes[plainStart..<index]
            let onlyWhitespace = between.allSatisfy(ASCII.isLinearWhitespace)
            if lastWordEnd != nil, onlyWhitespace {
                // RFC 2047 §6.2: whitespace between adjacent encoded words is not displayed.
            } else {
                flushPending()
                output += headerString(between)
            }
            if let run = pending, Charset.canonicalName(run.charset) == Charset.canonicalName(word.charset) {
                pending = (run.charset, run.bytes + word.decoded)
            } else {
                flushPending()
                pending = (word.charset, word.decoded)
            }
            index = word.end
            plainStart = word.end
            lastWordEnd = word.end
        }
        flushPending()
        output += headerString(bytes[plainStart...])
        return output
    }

    /// `encoded-word = "=?" charset "?" encoding "?" encoded-text "?="` (RFC 2047 §2), at `start`.
    private static func parseWord(_ bytes: [UInt8], at start: Int) -> (charset: String, decoded: [UInt8], end: Int)? {
        let question = UInt8(ascii: "?")
        var index = start + 2
        let charsetStart = index
        // RFC 2047 §2: an encoded word is at most 75 bytes, but long ones are common; bound the scan at 1000.
        let limit = min(bytes.count, start + 1000)
        while index < limit, bytes[index] != question, !ASCII.isLinearWhitespace(bytes[index]) { index += 1 }
        guard index < limit, bytes[index] == question, index > charsetStart else { return nil }
        let charset = headerString(bytes[charsetStart..<index])
        index += 1
        guard index + 1 < limit, bytes[index + 1] == question else { return nil }
        let encoding = ASCII.lowercased(bytes[index])
        index += 2
        let textStart = index
        while index + 1 < limit, !(bytes[index] == question && bytes[index + 1] == ASCII.equals) {
            if bytes[index] == ASCII.cr || bytes[index] == ASCII.lf { return nil }
            index += 1
        }
        guard index + 1 < limit else { return nil }
        let text = bytes[textStart..<index]
        let decoded: [UInt8]
        switch encoding {
        case UInt8(ascii: "b"): decoded = TransferDecoding.base64(text)
        case UInt8(ascii: "q"): decoded = decodeQ(text)
        default: return nil
        }
        return (charset, decoded, index + 2)
    }

    /// RFC 2047 §4.2 "Q": `_` is a space, `=XX` a byte; anything else as is.
    static func decodeQ(_ text: ArraySlice<UInt8>) -> [UInt8] {
        var output: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let byte = text[index]
            if byte == UInt8(ascii: "_") {
                output.append(ASCII.space)
            } else if byte == ASCII.equals, index + 2 < text.endIndex,
                let high = ASCII.hexValue(text[index + 1]), let low = ASCII.hexValue(text[index + 2])
            {
                output.append(high << 4 | low)
                index += 2
            } else {
                output.append(byte)
            }
            index += 1
        }
        return output
    }
}
