// TLS over a blocking stream (STARTTLS and implicit TLS for Tern's outgoing clients), through the in-memory
// `SecureTransport`: the handshake runs in `init`, then reads and writes pass through the transport.

public import TernCore

public struct TLSStreamError: Error, CustomStringConvertible {
    public let description: String
}

/// TLS over another stream. The handshake runs in `init`, bounded by `deadline`.
public final class TLSBlockingStream: BlockingByteStream {
    private let inner: any BlockingByteStream
    private let transport: any SecureTransport
    private var plaintext: [UInt8] = []
    private var closedByPeer = false

    public init(over inner: any BlockingByteStream, transport: any SecureTransport, deadline: ContinuousClock.Instant) throws {
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

    /// Protocol and cipher, for logs and Received headers.
    public var sessionDescription: String? { transport.sessionDescription }

    /// The server's certificate (DER), when there is one.
    public var peerCertificateDER: [UInt8]? { (transport as? TLSTransport)?.peerCertificateDER }

    public func read(maxBytes: Int, deadline: ContinuousClock.Instant) throws -> [UInt8] {
        while plaintext.isEmpty && !closedByPeer {
            let chunk = try inner.read(maxBytes: 64 * 1024, deadline: deadline)
            if chunk.isEmpty {
                closedByPeer = true
                break
            }
            var output: [UInt8] = []
            let status = try chunk.withUnsafeBytes { try transport.receive($0, plaintext: &plaintext, ciphertext: &output) }
            if !output.isEmpty { try inner.write(output, deadline: deadline) }
            if status == .closed { closedByPeer = true }
        }
        if plaintext.count <= maxBytes {
            defer { plaintext = [] }
            return plaintext
        }
        let taken = Array(plaintext.prefix(maxBytes))
        plaintext.removeFirst(taken.count)
        return taken
    }

    public func write(_ bytes: [UInt8], deadline: ContinuousClock.Instant) throws {
        var output: [UInt8] = []
        try transport.send(bytes, ciphertext: &output)
        try inner.write(output, deadline: deadline)
    }

    public func close() {
        var output: [UInt8] = []
        transport.shutdown(ciphertext: &output)
        if !output.isEmpty { try? inner.write(output, deadline: .now + .seconds(1)) }
        inner.close()
    }
}
