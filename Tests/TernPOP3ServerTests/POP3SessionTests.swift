// The POP3 session in memory, over a fake connection that runs offloaded work at once: the timeouts (RFC 1939 §3:
// at least 10 minutes after login; 60 s before), the autologout changing nothing, and shutdown. The same
// transcripts run over real sockets in POP3IntegrationTests.

import Foundation
import Logging
import Testing
@testable import TernPOP3Server
import TernAuth
import TernCore
import TernStore

/// A connection in memory: writes are collected, offloaded work and scheduled bodies run at once.
final class FakeConnection: ConnectionContext {
    let id = ConnectionID(rawValue: 1)
    let peerHost = "192.0.2.1"
    let peerPort: UInt16 = 40000
    var isSecure: Bool
    let canStartTLS = true
    let tlsDescription: String? = nil
    var readMode: ReadMode = .line(maxLength: 1)
    var output: [UInt8] = []
    var idleTimeout: Duration?
    var isClosed = false
    var isPaused = false
    let pendingOutputBytes = 0

    init(secure: Bool) { isSecure = secure }

    func write(_ bytes: [UInt8]) { output += bytes }
    func startTLS() throws -> Int { isSecure = true; return 0 }
    func pauseReading() { isPaused = true }
    func resumeReading() { isPaused = false }
    func close() { isClosed = true }
    func setIdleTimeout(_ timeout: Duration?) { idleTimeout = timeout }
    func offload<T: Sendable>(_ work: @escaping @Sendable () throws -> T, completion: @escaping (Result<T, any Error>) -> Void) {
        completion(Result { try work() })
    }
    func schedule(after delay: Duration, _ body: @escaping () -> Void) { body() }
    func makeWaker(_ body: @escaping () -> Void) -> any ConnectionWaker { NoWaker() }
    func startCompression(_ compression: any StreamCompression) throws {}

    /// Output since the last call, as text.
    func take() -> String {
        defer { output = [] }
        return String(decoding: output, as: UTF8.self)
    }
}

struct NoWaker: ConnectionWaker { func wake() {} }

@Suite struct POP3SessionTests {
    let folder = NSTemporaryDirectory() + "pop3-session-\(UUID().uuidString)"
    static let hash = try! PasswordHash.make("Summer2024x")

    func environment() throws -> POP3Environment {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let directory = try Directory(path: folder + "/directory.sqlite")
        try directory.addDomain("example.net")
        try directory.addAccount(try EmailAddress(parsing: "alice@example.net"), passwordHash: Self.hash)
        let stores = StoreRegistry(dataDirectory: folder)
        let store = try stores.acquire("alice@example.net")
        try store.append(to: "INBOX", Array("Subject: one\r\n\r\nbody\r\n".utf8))
        stores.release("alice@example.net")
        return POP3Environment(configuration: POP3Configuration(), authenticator: try Authenticator(directory: directory),
                               stores: stores, logger: Logger(label: "test"))
    }

    func line(_ session: POP3Session, _ connection: FakeConnection, _ text: String) -> String {
        session.connection(connection, didReceive: .line(Array(text.utf8)))
        return connection.take()
    }

    @Test func timeoutsBeforeAndAfterLoginAndAutologoutChangesNothing() throws {
        let environment = try environment()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let connection = FakeConnection(secure: true)
        let session = POP3Session(environment: environment)
        session.connectionDidBecomeActive(connection)
        #expect(connection.take().hasPrefix("+OK localhost Tern POP3 ready"))
        #expect(connection.idleTimeout == .seconds(60))
        #expect(connection.readMode == .line(maxLength: 253))
        #expect(line(session, connection, "USER alice@example.net") == "+OK Send your password\r\n")
        #expect(line(session, connection, "PASS Summer2024x") == "+OK Logged in; 1 messages (22 octets)\r\n")
        #expect(connection.idleTimeout == .seconds(600), "RFC 1939 §3: at least 10 minutes")
        #expect(environment.locks.isLocked("alice@example.net"))
        #expect(line(session, connection, "DELE 1") == "+OK Message 1 deleted\r\n")
        // The autologout: -ERR, no UPDATE; the lock goes with the connection.
        session.connectionDidTimeOut(connection)
        #expect(connection.take() == "-ERR Disconnected for inactivity\r\n")
        session.connectionDidClose(connection, reason: .idleTimeout)
        #expect(!environment.locks.isLocked("alice@example.net"))
        let store = try environment.stores.acquire("alice@example.net")
        defer { environment.stores.release("alice@example.net") }
        #expect(try store.messages(in: "INBOX").count == 1)
    }

    @Test func saslResponseLinesMayBeLongerAndShutdownSaysSo() throws {
        let environment = try environment()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let connection = FakeConnection(secure: true)
        let session = POP3Session(environment: environment)
        session.connectionDidBecomeActive(connection)
        _ = connection.take()
        #expect(line(session, connection, "AUTH PLAIN") == "+ \r\n")
        #expect(connection.readMode == .line(maxLength: 12_288))
        session.connection(connection, didReceive: .lineTooLong(length: 20_000))
        #expect(connection.take() == "-ERR Authentication exchange line is too long\r\n")
        #expect(connection.readMode == .line(maxLength: 253))
        session.connectionShouldShutDown(connection)
        #expect(connection.take() == "-ERR [SYS/TEMP] Server shutting down; nothing was changed\r\n")
        #expect(connection.isClosed)
    }
}
