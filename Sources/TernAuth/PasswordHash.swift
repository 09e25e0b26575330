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
        case empty
        /// Neither `$…` nor `{SCHEME}`: maybe a password written in clear, so none of it is repeated.
        case notAHash
        case failed
        public var description: String {
            switch self {
            case .unsupported(let prefix):
                return "unsupported password hash '\(prefix)…' (use $y$ yescrypt, $6$ SHA-512-crypt, $5$ SHA-256-crypt or $2b$ bcrypt, optionally with a Dovecot {SCHEME} prefix)"
            case .empty: return "no password hash (the field is empty)"
            case .notAHash:
                return "not a password hash (use $y$ yescrypt, $6$ SHA-512-crypt, $5$ SHA-256-crypt or $2b$ bcrypt, optionally with a Dovecot {SCHEME} prefix, or {PLAIN} for a password in clear)"
            case .failed: return "crypt(3) failed"
            }
        }
    }

    /// A password field of another server's account list (`ternctl user import`).
    public enum ImportedPassword: Sendable, Equatable {
        /// A hash Tern can verify, normalized as `normalize` does; stored as it is.
        case hash(String)
        /// Dovecot's `{PLAIN}` / `{CLEARTEXT}`: a password in clear, to be checked against the policy and hashed.
        case plain(String)
    }

    /// Reads an imported password field: the hashes `normalize` accepts (the same check `ternctl user add --hash`
    /// makes), or `{PLAIN}`/`{CLEARTEXT}` passwords. Everything else ({PLAIN-MD5}, {SSHA}, {CRAM-MD5}, MD5-crypt,
    /// DES crypt, empty) throws: crypt(3) cannot verify it.
    public static func imported(_ field: String) throws(HashError) -> ImportedPassword {
        let trimmed = field.trimmingWhitespace
        guard !trimmed.isEmpty else { throw .empty }
        // The password is everything after the prefix, trailing spaces included: they may belong to it.
        let field = field.drop(while: \.isWhitespace)
        for prefix in ["{PLAIN}", "{CLEARTEXT}"] where field.prefix(prefix.count).uppercased() == prefix {
            return .plain(String(field.dropFirst(prefix.count)))
        }
        guard trimmed.hasPrefix("{") || trimmed.hasPrefix("$") else { throw .notAHash }
        return .hash(try normalize(trimmed))
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
        // Indices, not reversed copies: `user import` trims several fields on each of thousands of lines.
        guard let first = firstIndex(where: { !$0.isWhitespace }),
              let last = lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return String(self[first...last])
    }
}
