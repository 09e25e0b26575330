// Parsing of listener addresses as written in the config: `127.0.0.1:143`, `[::1]:143`, `0.0.0.0:25`, `[::]:993`.

public struct ListenAddress: Hashable, Sendable, CustomStringConvertible {
    public enum Family: Sendable { case ipv4, ipv6 }
    public let host: String
    public let port: UInt16
    public let family: Family

    public init(host: String, port: UInt16, family: Family) {
        self.host = host
        self.port = port
        self.family = family
    }

    public var description: String { family == .ipv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case missingPort(String)
        case badPort(String)
        case badHost(String)
        public var description: String {
            switch self {
            case .missingPort(let text): return "'\(text)' has no port (write host:port, or [ipv6]:port)"
            case .badPort(let text): return "'\(text)' has a port outside 0...65535"
            case .badHost(let text):
                return "'\(text)' is not a numeric IPv4 or IPv6 address (host names are not resolved for listeners)"
            }
        }
    }

    /// Parses `host:port` where host is a numeric IPv4 address or a bracketed IPv6 address.
    public init(parsing text: String) throws(ParseError) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw .badHost(text) }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw .missingPort(text) }
            portText = rest.dropFirst()
            guard Self.isIPv6(host) else { throw .badHost(text) }
            family = .ipv6
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw .missingPort(text) }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            guard Self.isIPv4(host) else { throw .badHost(text) }
            family = .ipv4
        }
        guard !portText.isEmpty, portText.allSatisfy(\.isASCII), let port = UInt16(portText) else {
            throw .badPort(text)
        }
        self.host = String(host)
        self.port = port
    }

    private static func isIPv4(_ text: Substring) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in
            !part.isEmpty && part.count <= 3 && part.allSatisfy { $0.isASCII && $0.isNumber } && Int(part)! <= 255
        }
    }

    private static func isIPv6(_ text: Substring) -> Bool {
        // Shape check only; the kernel's inet_pton is the final judge when the socket is bound.
        !text.isEmpty && text.contains(":")
            && text.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
    }
}
