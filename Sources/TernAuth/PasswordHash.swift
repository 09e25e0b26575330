// Password hashes through crypt(3) (libxcrypt): yescrypt for new hashes; SHA-512-crypt, SHA-256-crypt and bcrypt
// accepted as imported from other servers, with Dovecot's `{SCHEME}` prefixes. A successful login with an older
// scheme asks for a re-hash to yescrypt.
//
// Hashing is slow on purpose (~19 ms for yescrypt here): never call these on an event loop.

internal import CTernCrypt
import TernTLS

public enum PasswordHash {
    public enum Scheme: String, Sendable, CaseIterable {
        case yescrypt = "$y$"
        case sha512 = "$6$"
        case sha256 = "$5$"
        case bcrypt = "$2b$"
    }

    public enum HashError: Error, Equatable, CustomStringConvertible {
        case unsupported(String)
        case failed
        public var description: String {
            switch self {
            case .unsupported(let prefix):
                return "unsupported password hash '\(prefix)…' (use $y$ yescrypt, $6$ SHA-512-crypt, $5$ SHA-256-crypt or $2b$ bcrypt, optionally with a Dovecot {SCHEME} prefix)"
            case .failed: return "crypt(3) failed"
            }
        }
    }

    /// Removes a Dovecot-style `{SHA512-CRYPT}` / `{BLF-CRYPT}` / `{CRYPT}` prefix and checks the scheme.
    public static func normalize(_ stored: String) throws(HashError) -> String {
        var hash = stored.trimmingWhitespace
        if hash.hasPrefix("{"), let close = hash.firstIndex(of: "}") {
            let scheme = hash[hash.index(after: hash.startIndex)..<close].uppercased()
            guard ["SHA512-CRYPT", "SHA256-CRYPT", "BLF-CRYPT", "CRYPT"].contains(scheme) else {
                throw .unsupported(String(hash[...close]))
            }
            hash = String(hash[hash.index(after: close)...])
        }
        guard scheme(of: hash) != nil else { throw .unsupported(String(hash.prefix(4))) }
        // A crypt hash is printable ASCII without spaces; refuse anything else before it reaches the database.
        guard hash.utf8.count <= 512, hash.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f }) else {
            throw .unsupported(String(hash.prefix(4)))
        }
        return hash
    }

    public static func scheme(of hash: String) -> Scheme? {
        if hash.hasPrefix("$2a$") || hash.hasPrefix("$2y$") || hash.hasPrefix("$2b$") { return .bcrypt }
        return Scheme.allCases.first { hash.hasPrefix($0.rawValue) }
    }

    /// A new yescrypt hash of `password` with a fresh random salt.
    public static func make(_ password: String) throws(HashError) -> String {
        var setting = [CChar](repeating: 0, count: Int(CRYPT_GENSALT_OUTPUT_SIZE))
        guard crypt_gensalt_rn("$y$", 0, nil, 0, &setting, Int32(setting.count)) != nil else { throw .failed }
        return try crypt(password, setting: setting)
    }

    /// True if `password` matches `hash` (any supported scheme).
    public static func verify(_ password: String, against hash: String) -> Bool {
        guard let normalized = try? normalize(hash),
              let computed = try? crypt(password, setting: Array(normalized.utf8CString)) else { return false }
        return Crypto.constantTimeEqual(Array(computed.utf8), Array(normalized.utf8))
    }

    public static func needsRehash(_ hash: String) -> Bool { scheme(of: (try? normalize(hash)) ?? hash) != .yescrypt }

    private static func crypt(_ password: String, setting: [CChar]) throws(HashError) -> String {
        var data = crypt_data()
        let result = withUnsafeMutableBytes(of: &data) { raw -> String? in
            guard let output = crypt_rn(password, setting, raw.baseAddress, Int32(raw.count)) else { return nil }
            let text = String(cString: output)
            return text.hasPrefix("*") ? nil : text // "*0"/"*1" are libxcrypt's failure tokens
        }
        guard let result else { throw .failed }
        return result
    }
}

extension String {
    var trimmingWhitespace: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
