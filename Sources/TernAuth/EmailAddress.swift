// Email addresses as Tern stores them: `local@domain`, compared case-insensitively (stored lower-case), with the
// RFC 5322 dot-atom form for the local part. Quoted local parts are refused: no mail program needs them for a
// login name, and they make every comparison ambiguous.

public struct EmailAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let localPart: String
    public let domain: String

    public var description: String { "\(localPart)@\(domain)" }

    public static func < (lhs: EmailAddress, rhs: EmailAddress) -> Bool { lhs.description < rhs.description }

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case missingAt(String)
        case badLocalPart(String)
        case badDomain(String)
        public var description: String {
            switch self {
            case .missingAt(let text): return "'\(text)' is not an email address (no @)"
            case .badLocalPart(let text):
                return "'\(text)': the part before @ must be 1-64 letters, digits or !#$%&'*+-/=?^_`{|}~ with single dots"
            case .badDomain(let text): return "'\(text)': the part after @ is not a valid domain name"
            }
        }
    }

    public init(parsing text: String) throws(ParseError) {
        let trimmed = text.lowercased()
        guard let at = trimmed.lastIndex(of: "@") else { throw .missingAt(text) }
        let local = String(trimmed[..<at])
        let domain = String(trimmed[trimmed.index(after: at)...])
        guard Self.isDotAtom(local) else { throw .badLocalPart(text) }
        guard Self.isDomain(domain) else { throw .badDomain(text) }
        localPart = local
        self.domain = domain
    }

    static func isDotAtom(_ text: String) -> Bool {
        let special = Set("!#$%&'*+-/=?^_`{|}~")
        guard !text.isEmpty, text.utf8.count <= 64, !text.hasPrefix("."), !text.hasSuffix("."),
              !text.contains("..") else { return false }
        return text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || special.contains($0)) }
    }

    /// A host name: labels of letters, digits and hyphens, 1-63 bytes each, 253 in all.
    public static func isDomain(_ text: String) -> Bool {
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        return labels.count >= 1 && text.utf8.count <= 253 && labels.allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }
}
