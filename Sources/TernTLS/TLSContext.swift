// TLS contexts (OpenSSL SSL_CTX): certificates, protocol versions and ciphers for servers and clients.
//
// Defaults follow Mozilla's "intermediate" profile: TLS 1.2 minimum, ECDHE with AES-GCM or ChaCha20-Poly1305 for
// TLS 1.2, OpenSSL's TLS 1.3 suites, no compression, no renegotiation, server cipher preference.

internal import CTernOpenSSL
public import TernCore
import Synchronization

public enum TLSVersion: String, Sendable, CaseIterable {
    case v1_0 = "1.0"
    case v1_1 = "1.1"
    case v1_2 = "1.2"
    case v1_3 = "1.3"

    var openSSLValue: Int32 {
        switch self {
        case .v1_0: return c_tern_TLS1_VERSION()
        case .v1_1: return c_tern_TLS1_1_VERSION()
        case .v1_2: return c_tern_TLS1_2_VERSION()
        case .v1_3: return c_tern_TLS1_3_VERSION()
        }
    }
}

public struct TLSError: Error, CustomStringConvertible, Sendable {
    public let operation: String
    public let detail: String
    public var description: String { detail.isEmpty ? operation : "\(operation): \(detail)" }

    /// Captures and clears OpenSSL's error queue.
    static func fromQueue(_ operation: String) -> TLSError {
        var messages: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            messages.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return TLSError(operation: operation, detail: messages.joined(separator: "; "))
    }
}

private let intermediateTLS12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    + "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/// An immutable server context: a certificate chain and key loaded from PEM files.
///
/// Sendable because the SSL_CTX is fully configured in `init` and never changed afterwards (the type has no
/// mutating API); OpenSSL allows SSL_new on one SSL_CTX from many threads at once.
public final class TLSServerContext: @unchecked Sendable {
    let context: OpaquePointer
    public let certificatePath: String
    public let keyPath: String

    public init(certificateChainPath: String, privateKeyPath: String, minimumVersion: TLSVersion = .v1_2) throws {
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_server_method()) else { throw TLSError.fromQueue("SSL_CTX_new") }
        self.context = context
        certificatePath = certificateChainPath
        keyPath = privateKeyPath
        try configureCommon(context, minimumVersion: minimumVersion)
        _ = c_tern_SSL_CTX_set_options(context, c_tern_SSL_OP_CIPHER_SERVER_PREFERENCE())
        _ = c_tern_SSL_CTX_set_session_cache_mode(context, c_tern_SSL_SESS_CACHE_SERVER())
        _ = c_tern_SSL_CTX_sess_set_cache_size(context, 1024)
        guard SSL_CTX_use_certificate_chain_file(context, certificateChainPath) == 1 else {
            throw TLSError.fromQueue("cannot load certificate chain \(certificateChainPath)")
        }
        guard SSL_CTX_use_PrivateKey_file(context, privateKeyPath, SSL_FILETYPE_PEM) == 1 else {
            throw TLSError.fromQueue("cannot load private key \(privateKeyPath)")
        }
        guard SSL_CTX_check_private_key(context) == 1 else {
            throw TLSError.fromQueue("private key \(privateKeyPath) does not match certificate \(certificateChainPath)")
        }
    }

    deinit { SSL_CTX_free(context) }

    func makeTransport() throws -> TLSTransport {
        try TLSTransport(context: context, isServer: true, serverName: nil)
    }
}

/// A client context, for outgoing connections (the outbound queue, migration) and tests.
///
/// Sendable for the same reason as `TLSServerContext`: configured in `init`, never changed afterwards.
public final class TLSClientContext: @unchecked Sendable {
    let context: OpaquePointer

    /// - Parameters:
    ///   - verifyPeer: check the server's certificate against the system trust store (and `caFile` if given).
    ///   - maximumVersion: for tests that must offer an old protocol version only.
    ///   - securityLevel: OpenSSL security level; tests offering TLS 1.0/1.1 need 0.
    public init(
        verifyPeer: Bool, caFile: String? = nil, minimumVersion: TLSVersion = .v1_2,
        maximumVersion: TLSVersion? = nil, securityLevel: Int32? = nil
    ) throws {
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw TLSError.fromQueue("SSL_CTX_new") }
        self.context = context
        try configureCommon(context, minimumVersion: minimumVersion)
        if let maximumVersion {
            _ = c_tern_SSL_CTX_set_max_proto_version(context, maximumVersion.openSSLValue)
        }
        if let securityLevel {
            SSL_CTX_set_security_level(context, securityLevel)
            _ = SSL_CTX_set_cipher_list(context, "DEFAULT:@SECLEVEL=\(securityLevel)")
        }
        if verifyPeer {
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
            if let caFile {
                guard SSL_CTX_load_verify_locations(context, caFile, nil) == 1 else {
                    throw TLSError.fromQueue("cannot load CA file \(caFile)")
                }
            } else {
                _ = SSL_CTX_set_default_verify_paths(context)
            }
        } else {
            SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
        }
    }

    deinit { SSL_CTX_free(context) }

    /// A client-side transport; `serverName` is sent as SNI and checked against the certificate when verifying.
    public func makeTransport(serverName: String?) throws -> any SecureTransport {
        try TLSTransport(context: context, isServer: false, serverName: serverName)
    }
}

private func configureCommon(_ context: OpaquePointer, minimumVersion: TLSVersion) throws {
    guard c_tern_SSL_CTX_set_min_proto_version(context, minimumVersion.openSSLValue) == 1 else {
        throw TLSError.fromQueue("cannot set minimum TLS version \(minimumVersion.rawValue)")
    }
    _ = c_tern_SSL_CTX_set_options(context, c_tern_SSL_OP_NO_COMPRESSION() | c_tern_SSL_OP_NO_RENEGOTIATION())
    // Give OpenSSL's record buffers back while a connection is idle: most mail connections are.
    _ = c_tern_SSL_CTX_set_mode(context, c_tern_SSL_MODE_RELEASE_BUFFERS())
    if minimumVersion == .v1_2 {
        guard SSL_CTX_set_cipher_list(context, intermediateTLS12Ciphers) == 1 else {
            throw TLSError.fromQueue("cannot set TLS 1.2 ciphers")
        }
    }
}

/// Makes server transports from the current context; `reload` swaps the context for connections accepted later,
/// while open connections keep the one they started with.
public final class TLSServerTransportFactory: SecureTransportFactory {
    private let current: Mutex<TLSServerContext>

    public init(_ context: TLSServerContext) { current = Mutex(context) }

    public var context: TLSServerContext { current.withLock { $0 } }

    public func reload(_ context: TLSServerContext) { current.withLock { $0 = context } }

    public func makeServerTransport() throws -> any SecureTransport {
        try current.withLock { $0 }.makeTransport()
    }
}

public enum SelfSignedCertificate {
    /// Writes a self-signed certificate for `hostname` and its key (mode 0600).
    public static func generate(hostname: String, certificatePath: String, keyPath: String, days: Int = 3650) throws {
        ERR_clear_error()
        guard c_tern_make_self_signed(hostname, certificatePath, keyPath, Int32(days)) == 1 else {
            throw TLSError.fromQueue("cannot create a self-signed certificate at \(certificatePath)")
        }
    }
}
