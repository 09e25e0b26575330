// TLS as a byte transform, tested in memory: a client and a server transport pass bytes to each other directly.

import Foundation
import Testing
import TernCore
import TernTLS

struct CertificateFixture {
    let directory: String
    let certificate: String
    let key: String

    init(hostname: String) throws {
        directory = NSTemporaryDirectory() + "tern-tls-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        certificate = directory + "/cert.pem"
        key = directory + "/key.pem"
        try SelfSignedCertificate.generate(hostname: hostname, certificatePath: certificate, keyPath: key)
    }
}

/// Runs the handshake by moving bytes between the two transports until neither has anything to say.
func pump(client: any SecureTransport, server: any SecureTransport) throws -> (toClient: [UInt8], toServer: [UInt8]) {
    var toServer: [UInt8] = []
    var toClient: [UInt8] = []
    var clientPlain: [UInt8] = []
    var serverPlain: [UInt8] = []
    _ = try client.receive(UnsafeRawBufferPointer(start: nil, count: 0), plaintext: &clientPlain, ciphertext: &toServer)
    for _ in 0..<10 where !toServer.isEmpty || !toClient.isEmpty {
        let forServer = toServer
        toServer = []
        _ = try forServer.withUnsafeBytes { try server.receive($0, plaintext: &serverPlain, ciphertext: &toClient) }
        let forClient = toClient
        toClient = []
        _ = try forClient.withUnsafeBytes { try client.receive($0, plaintext: &clientPlain, ciphertext: &toServer) }
    }
    return (toClient, toServer)
}

@Suite struct TLSTransportTests {
    @Test func handshakeThenDataBothWays() throws {
        let fixture = try CertificateFixture(hostname: "mail.example.test")
        let serverContext = try TLSServerContext(certificateChainPath: fixture.certificate, privateKeyPath: fixture.key)
        let clientContext = try TLSClientContext(verifyPeer: true, caFile: fixture.certificate)
        let server = try TLSServerTransportFactory(serverContext).makeServerTransport()
        let client = try clientContext.makeTransport(serverName: "mail.example.test")
        _ = try pump(client: client, server: server)
        #expect(client.isHandshakeComplete)
        #expect(server.isHandshakeComplete)
        #expect(server.sessionDescription?.hasPrefix("TLSv1.3 ") == true)

        var record: [UInt8] = []
        let message = Array("A1 LOGIN alice secret\r\n".utf8) + [UInt8](repeating: 0x41, count: 40_000)
        try client.send(message, ciphertext: &record)
        #expect(record.count > message.count) // encrypted, with record overhead
        #expect(!record.starts(with: Array("A1 LOGIN".utf8)))
        var plain: [UInt8] = []
        var reply: [UInt8] = []
        // Delivered in awkward pieces: partial records must be reassembled.
        var offset = 0
        for size in [1, 4, 1000, 17_000] + Array(repeating: 30_000, count: 3) where offset < record.count {
            let end = min(offset + size, record.count)
            _ = try record[offset..<end].withUnsafeBytes { try server.receive($0, plaintext: &plain, ciphertext: &reply) }
            offset = end
        }
        #expect(plain == message)
    }

    @Test func wrongHostNameFailsVerification() throws {
        let fixture = try CertificateFixture(hostname: "mail.example.test")
        let server = try TLSServerTransportFactory(
            TLSServerContext(certificateChainPath: fixture.certificate, privateKeyPath: fixture.key)
        ).makeServerTransport()
        let client = try TLSClientContext(verifyPeer: true, caFile: fixture.certificate)
            .makeTransport(serverName: "other.example.test")
        #expect(throws: TLSError.self) { _ = try pump(client: client, server: server) }
        #expect(!client.isHandshakeComplete)
    }

    /// TLS 1.0 and 1.1 are refused: the server answers a protocol_version alert and the handshake fails.
    @Test(arguments: [TLSVersion.v1_0, .v1_1])
    func oldProtocolVersionsAreRefused(_ version: TLSVersion) throws {
        let fixture = try CertificateFixture(hostname: "localhost")
        let server = try TLSServerTransportFactory(
            TLSServerContext(certificateChainPath: fixture.certificate, privateKeyPath: fixture.key)
        ).makeServerTransport()
        let client = try TLSClientContext(verifyPeer: false, minimumVersion: version, maximumVersion: version,
                                          securityLevel: 0).makeTransport(serverName: nil)
        #expect(throws: TLSError.self) { _ = try pump(client: client, server: server) }
        #expect(!server.isHandshakeComplete)
    }

    @Test func tls12IsAcceptedWithAnAEADCipher() throws {
        let fixture = try CertificateFixture(hostname: "localhost")
        let server = try TLSServerTransportFactory(
            TLSServerContext(certificateChainPath: fixture.certificate, privateKeyPath: fixture.key)
        ).makeServerTransport()
        let client = try TLSClientContext(verifyPeer: false, minimumVersion: .v1_2, maximumVersion: .v1_2)
            .makeTransport(serverName: nil)
        _ = try pump(client: client, server: server)
        let description = try #require(server.sessionDescription)
        #expect(description.hasPrefix("TLSv1.2 ECDHE-"))
        #expect(description.contains("GCM") || description.contains("CHACHA20"))
    }

    /// A reload changes the certificate for new sessions only.
    @Test func reloadSwapsTheCertificateForNewSessions() throws {
        let first = try CertificateFixture(hostname: "old.example.test")
        let second = try CertificateFixture(hostname: "new.example.test")
        let factory = TLSServerTransportFactory(
            try TLSServerContext(certificateChainPath: first.certificate, privateKeyPath: first.key))
        let before = try factory.makeServerTransport()
        factory.reload(try TLSServerContext(certificateChainPath: second.certificate, privateKeyPath: second.key))
        let after = try factory.makeServerTransport()

        let trustsSecond = try TLSClientContext(verifyPeer: true, caFile: second.certificate)
        _ = try pump(client: try trustsSecond.makeTransport(serverName: "new.example.test"), server: after)
        #expect(after.isHandshakeComplete)
        #expect(throws: TLSError.self) {
            _ = try pump(client: try trustsSecond.makeTransport(serverName: "new.example.test"), server: before)
        }
    }

    @Test func mismatchedKeyIsRejectedAtLoad() throws {
        let first = try CertificateFixture(hostname: "a.test")
        let second = try CertificateFixture(hostname: "b.test")
        #expect(throws: TLSError.self) {
            try TLSServerContext(certificateChainPath: first.certificate, privateKeyPath: second.key)
        }
        #expect(throws: TLSError.self) {
            try TLSServerContext(certificateChainPath: first.directory + "/missing.pem", privateKeyPath: first.key)
        }
    }

    @Test func generatedKeyIsPrivate() throws {
        let fixture = try CertificateFixture(hostname: "localhost")
        let attributes = try FileManager.default.attributesOfItem(atPath: fixture.key)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
    }
}
