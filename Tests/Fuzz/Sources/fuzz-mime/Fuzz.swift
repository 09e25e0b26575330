// Fuzzes TernMIME: parse the input as a message, render ENVELOPE, BODY and BODYSTRUCTURE, fetch every section
// (HEADER, TEXT, MIME, HEADER.FIELDS[.NOT], BINARY) of every part, and compute everything SEARCH and SORT use.
// It must never crash or hang, and the parts must lie inside the message.
import TernMIME

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // Small limits too, so the fuzzer reaches the flattening paths with short inputs.
    let limits = bytes.first.map { $0 & 1 == 0 } ?? true
        ? MIMELimits.default : MIMELimits(maxNestingDepth: 3, maxParts: 8, maxHeaderFieldsPerPart: 4)
    let message = MIMEMessage(parsing: bytes, limits: limits)
    _ = IMAPRendering.envelope(of: message.root)
    _ = IMAPRendering.bodyStructure(of: message.root, extended: true)
    _ = IMAPRendering.bodyStructure(of: message.root, extended: false)

    var paths: [[Int]] = [[]]
    var index = 0
    while index < paths.count, paths.count < 2_000 {
        let path = paths[index]
        index += 1
        guard let part = message.part(at: path) else { preconditionFailure("announced part \(path) missing") }
        precondition(part.range.lowerBound >= 0 && part.range.upperBound <= bytes.count, "part outside message")
        precondition(part.headerRange.upperBound == part.bodyRange.lowerBound, "header and body not adjacent")
        _ = message.section(path)
        for text: SectionText in [.header, .text, .mime, .headerFields(["subject", "from"]), .headerFieldsNot(["to"])] {
            _ = message.section(path, text)
        }
        _ = message.binary(path)
        _ = part.decodedText()
        var number = 1
        while message.part(at: path + [number]) != nil, number <= 64 {
            if path.count < 200 { paths.append(path + [number]) }
            number += 1
        }
    }

    let header = message.root.header
    for name in ["Subject", "From", "To", "Cc", "Date"] { _ = header.decodedValue(name) }
    _ = header.displayAddress("From")
    _ = header.firstAddress("To")
    if let date = header.unfoldedValue("Date") { _ = MessageDate.parse(date) }
    if let subject = header.decodedValue("Subject") { _ = BaseSubject.extract(subject) }
    _ = message.searchableText
    return 0
}
