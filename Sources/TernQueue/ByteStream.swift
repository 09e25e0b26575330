// The byte streams the SMTP client talks over: a socket, TLS over a socket, or an in-memory peer in tests. Every
// read and write has a deadline, so a silent or slow server can only cost the time RFC 5321 allows.

public import TernPosix
import TernCore
import TernTLS

/// A blocking stream with deadlines, used by one thread at a time.
public protocol SMTPByteStream: AnyObject {
    /// Some bytes (at most `maxBytes`); empty when the peer closed. Throws on timeout or error.
    func read(maxBytes: Int, deadline: ContinuousClock.Instant) throws -> [UInt8]
    /// All of `bytes`. Throws on timeout or error.
    func write(_ bytes: [UInt8], deadline: ContinuousClock.Instant) throws
    func close()
}

extension ClientSocket: SMTPByteStream {}

public struct TLSStreamError: Error, CustomStringConvertible {
    public let description: String
}

/// TLS over another stream, through TernTLS's in-memory transport. The handshake runs in `init`.
final class TLSByteStream: SMTPByteStream {
    private let inner: any SMTPByteStream
    private let transport: any SecureTransport
    private var plaintext: [UInt8] = []
    private var closedByPeer = false

    init(over inner: any SMTPByteStream, transport: any SecureTransport, deadline: ContinuousClock.Instant) throws {
        self.inner = inner
        self.transport = transport
        var output: [UInt8] = []
        _ = try transport.receive(UnsafeRawBufferPointer(start: nil, count: 0), plaintext: &plaintext, ciphertext: &output)
        try inner.write(output, deadline: deadline)
        while !transport.isHandshakeComplete {
            let chunk = try inner.read(maxBytes: 16 * 1024, deadline: deadline)
            guard !chunk.isEmpty else { throw TLSStreamError(description: "connection closed during the TLS handshake") }
            output = []
            _ = try chunk.withUnsafeBytes { try transport.receive($0, plaintext: &plaintext, ciphertext: &output) }
            if !output.isEmpty { try inner.write(output, deadline: deadline) }
        }
    }

    var sessionDescription: String? { transport.sessionDescription }

    func read(maxBytes: Int, deadline: ContinuousClock.Instant) throws -> [UInt8] {
        while plaintext.isEmpty && !closedByPeer {
            let chunk = try inner.read(maxBytes: 16 * 1024, deadline: deadline)
            if chunk.isEmpty {
                closedByPeer = true
                break
            }
            var output: [UInt8] = []
            let status = try chunk.withUnsafeBytes { try transport.receive($0, plaintext: &plaintext, ciphertext: &output) }
            if !output.isEmpty { try inner.write(output, deadline: deadline) }
            if status == .closed { closedByPeer = true }
        }
        let taken = Array(plaintext.prefix(maxBytes))
        plaintext.removeFirst(taken.count)
        return taken
    }

    func write(_ bytes: [UInt8], deadline: ContinuousClock.Instant) throws {
        var output: [UInt8] = []
        try transport.send(bytes, ciphertext: &output)
        try inner.write(output, deadline: deadline)
    }

    func close() {
        var output: [UInt8] = []
        transport.shutdown(ciphertext: &output)
        if !output.isEmpty { try? inner.write(output, deadline: .now + .seconds(1)) }
        inner.close()
    }
}
