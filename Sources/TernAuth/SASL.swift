// SASL payloads for PLAIN (RFC 4616) and LOGIN (draft-murchison-sasl-login), shared by IMAP AUTHENTICATE and
// SMTP AUTH. Pure decoding: what the mechanism carried, or why it is malformed. Payloads are secrets: never log them.

import TernCore

public struct SASLCredentials: Sendable, Equatable {
    public let username: String
    public let password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }
}

public enum SASLError: Error, Equatable, CustomStringConvertible {
    case notBase64
    case malformed
    case authorizationIdentityNotAllowed
    case cancelled

    public var description: String {
        switch self {
        case .notBase64: return "the SASL response is not valid base64"
        case .malformed: return "the SASL response is malformed"
        case .authorizationIdentityNotAllowed: return "acting as another user (authorization identity) is not allowed"
        case .cancelled: return "authentication cancelled"
        }
    }
}

public enum SASLPlain {
    /// Decodes `base64(authzid NUL authcid NUL passwd)`. An authorization identity must be empty or the same user.
    public static func decode(_ response: [UInt8]) throws(SASLError) -> SASLCredentials {
        if response == Array("*".utf8) { throw .cancelled }
        guard let bytes = Base64.decode(response) else { throw .notBase64 }
        let parts = bytes.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[1].isEmpty, !parts[2].isEmpty, parts[2].count <= 1024,
              let authzid = String(validating: parts[0], as: UTF8.self),
              let username = String(validating: parts[1], as: UTF8.self),
              let password = String(validating: parts[2], as: UTF8.self) else { throw .malformed }
        guard authzid.isEmpty || authzid.lowercased() == username.lowercased() else {
            throw .authorizationIdentityNotAllowed
        }
        return SASLCredentials(username: username, password: password)
    }
}

public enum SASLLogin {
    /// The server's two challenges, already base64: "Username:" and "Password:".
    public static let usernameChallenge = Base64.encode(Array("Username:".utf8))
    public static let passwordChallenge = Base64.encode(Array("Password:".utf8))

    /// Decodes one step's response (the user name, then the password).
    public static func decodeStep(_ response: [UInt8]) throws(SASLError) -> String {
        if response == Array("*".utf8) { throw .cancelled }
        guard let bytes = Base64.decode(response) else { throw .notBase64 }
        guard !bytes.isEmpty, bytes.count <= 1024, !bytes.contains(0),
              let text = String(validating: bytes, as: UTF8.self) else { throw .malformed }
        return text
    }
}
