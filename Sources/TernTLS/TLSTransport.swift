// One TLS session as a byte transform: ciphertext in → plaintext out, plaintext in → ciphertext out. No sockets:
// OpenSSL reads and writes through a BIO over Swift-owned memory (CTernOpenSSL's tern-buffer BIO).
//
// Invariants: used on one thread at a time (its connection's loop); `ERR_clear_error()` before every OpenSSL call
// whose result is checked with SSL_get_error; the input span given to the BIO is only valid during one call.

internal import CTernOpenSSL
import TernCore

final class TLSTransport: SecureTransport {
    private let ssl: OpaquePointer
    private let bioState: UnsafeMutablePointer<c_tern_bio_state>
    private(set) var isHandshakeComplete = false
    private var sentShutdown = false

    init(context: OpaquePointer, isServer: Bool, serverName: String?) throws {
        ERR_clear_error()
        guard let ssl = SSL_new(context) else { throw TLSError.fromQueue("SSL_new") }
        bioState = .allocate(capacity: 1)
        bioState.initialize(to: c_tern_bio_state())
        guard let bio = c_tern_bio_new(bioState) else {
            SSL_free(ssl)
            bioState.deallocate()
            throw TLSError.fromQueue("BIO_new")
        }
        SSL_set_bio(ssl, bio, bio)
        if isServer {
            SSL_set_accept_state(ssl)
        } else {
            SSL_set_connect_state(ssl)
            if let serverName {
                _ = c_tern_SSL_set_tlsext_host_name(ssl, serverName)
                _ = SSL_set1_host(ssl, serverName)
            }
        }
        self.ssl = ssl
    }

    deinit {
        SSL_free(ssl)
        c_tern_bio_state_release(bioState)
        bioState.deallocate()
    }

    /// The peer's certificate in DER, once the handshake is complete (for pinning a known certificate).
    var peerCertificateDER: [UInt8]? {
        guard isHandshakeComplete, let certificate = SSL_get1_peer_certificate(ssl) else { return nil }
        defer { X509_free(certificate) }
        let length = i2d_X509(certificate, nil)
        guard length > 0 else { return nil }
        var der = [UInt8](repeating: 0, count: Int(length))
        let written = der.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor = buffer.baseAddress
            return i2d_X509(certificate, &cursor)
        }
        return written == length ? der : nil
    }

    var sessionDescription: String? {
        guard isHandshakeComplete else { return nil }
        let version = String(cString: SSL_get_version(ssl))
        guard let cipher = SSL_get_current_cipher(ssl) else { return version }
        return "\(version) \(String(cString: SSL_CIPHER_get_name(cipher)))"
    }

    func receive(
        _ input: UnsafeRawBufferPointer, plaintext: inout [UInt8], ciphertext: inout [UInt8]
    ) throws -> TransportStatus {
        bioState.pointee.input = input.baseAddress?.assumingMemoryBound(to: UInt8.self)
        bioState.pointee.input_length = input.count
        bioState.pointee.input_consumed = 0
        defer {
            bioState.pointee.input = nil
            bioState.pointee.input_length = 0
            drainOutput(into: &ciphertext)
        }
        if !isHandshakeComplete {
            ERR_clear_error()
            let result = SSL_do_handshake(ssl)
            if result == 1 {
                isHandshakeComplete = true
            } else {
                switch SSL_get_error(ssl, result) {
                case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                    return .open
                default:
                    var error = TLSError.fromQueue("TLS handshake failed")
                    // A client that verifies: say why the certificate was refused (self-signed, expired, name).
                    let verify = SSL_get_verify_result(ssl)
                    if verify != Int(X509_V_OK), let reason = X509_verify_cert_error_string(verify) {
                        error = TLSError(operation: error.operation,
                                         detail: error.detail + "; certificate: " + String(cString: reason))
                    }
                    throw error
                }
            }
        }
        return try withUnsafeTemporaryAllocation(byteCount: 16 * 1024, alignment: 1) { scratch in
            while true {
                ERR_clear_error()
                let count = SSL_read(ssl, scratch.baseAddress, Int32(scratch.count))
                if count > 0 {
                    plaintext.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[0..<Int(count)]))
                    continue
                }
                switch SSL_get_error(ssl, count) {
                case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                    return .open
                case SSL_ERROR_ZERO_RETURN:
                    return .closed
                default:
                    throw TLSError.fromQueue("TLS read failed")
                }
            }
        }
    }

    func send(_ plaintext: [UInt8], ciphertext: inout [UInt8]) throws {
        precondition(isHandshakeComplete, "TLS send before the handshake completed")
        defer { drainOutput(into: &ciphertext) }
        try plaintext.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                ERR_clear_error()
                let chunk = min(raw.count - offset, Int(Int32.max))
                let written = SSL_write(ssl, raw.baseAddress! + offset, Int32(chunk))
                guard written > 0 else { throw TLSError.fromQueue("TLS write failed") }
                offset += Int(written)
            }
        }
    }

    func shutdown(ciphertext: inout [UInt8]) {
        guard isHandshakeComplete, !sentShutdown else { return }
        sentShutdown = true
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
        drainOutput(into: &ciphertext)
    }

    /// Moves what OpenSSL wrote into `ciphertext` and frees the BIO's buffer, so idle sessions hold none.
    private func drainOutput(into ciphertext: inout [UInt8]) {
        let state = bioState.pointee
        guard state.output_length > 0, let output = state.output else { return }
        ciphertext.append(contentsOf: UnsafeBufferPointer(start: output, count: state.output_length))
        c_tern_bio_state_release(bioState)
    }
}
