// A scripted SMTP server on 127.0.0.1 for outbound tests: it answers from a `Script` (250, 4xx once then 250,
// 5xx…), optionally offers STARTTLS (TernTLS server transport) and AUTH PLAIN, and records every command and
// every message it was sent (unstuffed, as the client meant it). One thread accepts; one thread per connection.

import Foundation
import Glibc
import Synchronization
public import TernTLS
public import TernCore

public final class SMTPTestPeer: Sendable {
    public struct Script: Sendable {
        public var greeting = "220 peer.test ESMTP test peer"
        /// The reply to MAIL FROM.
        public var mail: @Sendable (String) -> String = { _ in "250 2.1.0 OK" }
        /// The reply to RCPT TO, given the address inside the brackets.
        public var rcpt: @Sendable (String) -> String = { _ in "250 2.1.5 OK" }
        /// The reply after the final dot, given how many final replies were given before (0 for the first).
        public var data: @Sendable (Int) -> String = { _ in "250 2.0.0 OK queued" }
        public var advertiseEHLO = true
        public var advertiseDSN = true
        public var advertiseSMTPUTF8 = true
        /// Offer STARTTLS with this certificate.
        public var tls: TLSServerTransportFactory?
        /// Offer AUTH PLAIN and require it before MAIL.
        public var credentials: (user: String, password: String)?

        public init() {}

        /// Every message accepted.
        public static var accept: Script { Script() }
        /// The first message gets 451 after its data, later ones 250.
        public static var temporaryFailureOnce: Script {
            var script = Script()
            script.data = { $0 == 0 ? "451 4.3.0 Try again later" : "250 2.0.0 OK queued" }
            return script
        }
        /// Every recipient refused with 550 5.1.1.
        public static var rejectRecipients: Script {
            var script = Script()
            script.rcpt = { "550 5.1.1 <\($0)>: Recipient address rejected: no such user" }
            return script
        }
    }

    /// One message the peer answered after its data.
    public struct Transaction: Sendable {
        public var helo: String
        /// MAIL FROM's argument as sent (`<a@b> SIZE=10 RET=HDRS`).
        public var mailFrom: String
        /// RCPT TO's arguments of the accepted recipients.
        public var recipients: [String]
        public var message: [UInt8]
        public var overTLS: Bool
        public var authenticatedUser: String?
        public var finalReply: String
    }

    private struct State {
        var script: Script
        var transactions: [Transaction] = []
        var commands: [String] = []
        var connections = 0
        var finals = 0
    }

    private let state: Mutex<State>
    private let running = Atomic<Bool>(true)
    private let listenFD: Int32
    public let port: UInt16

    public var address: ListenAddress { ListenAddress(host: "127.0.0.1", port: port, family: .ipv4) }

    /// Listens on 127.0.0.1:`port` (0: any free port).
    public init(script: Script = .accept, port: UInt16 = 0) throws {
        state = Mutex(State(script: script))
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = port.bigEndian
        inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &sin) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bind(fd, address, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, address, &length) == 0
            }
        }
        guard bound else {
            let code = errno
            close(fd)
            throw TestClientError.connectFailed("listen on 127.0.0.1:\(port)", errno: code)
        }
        listenFD = fd
        self.port = UInt16(bigEndian: sin.sin_port)
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    deinit { stop() }

    /// Stops accepting (connections under way finish on their own).
    public func stop() {
        if running.exchange(false, ordering: .acquiringAndReleasing) {
            shutdown(listenFD, Int32(SHUT_RDWR))
        }
    }

    public var script: Script {
        get { state.withLock { $0.script } }
        set { state.withLock { $0.script = newValue } }
    }

    public var transactions: [Transaction] { state.withLock { $0.transactions } }
    /// Transactions that got a 2xx after their data.
    public var delivered: [Transaction] { transactions.filter { $0.finalReply.hasPrefix("2") } }
    /// Every command line received (AUTH lines included: test credentials only).
    public var commands: [String] { state.withLock { $0.commands } }
    public var connectionCount: Int { state.withLock { $0.connections } }

    /// Waits until `count` messages were accepted; returns them (fewer on timeout).
    @discardableResult
    public func waitForDeliveries(_ count: Int, timeout: Duration = .seconds(20)) -> [Transaction] {
        let deadline = ContinuousClock.now + timeout
        while delivered.count < count && ContinuousClock.now < deadline { usleep(20_000) }
        return delivered
    }

    /// Waits until `count` data phases were answered (accepted or not).
    @discardableResult
    public func waitForTransactions(_ count: Int, timeout: Duration = .seconds(20)) -> [Transaction] {
        let deadline = ContinuousClock.now + timeout
        while transactions.count < count && ContinuousClock.now < deadline { usleep(20_000) }
        return transactions
    }

    private func acceptLoop() {
        defer { close(listenFD) }
        while running.load(ordering: .acquiring) {
            var entry = pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 100) > 0 else { continue }
            let client = accept(listenFD, nil, nil)
            guard client >= 0 else { continue }
            guard running.load(ordering: .acquiring) else {
                close(client)
                return
            }
            state.withLock { $0.connections += 1 }
            Thread.detachNewThread { [self] in
                let connection = PeerConnection(fd: client)
                serve(connection)
                connection.close()
            }
        }
    }

    private func serve(_ connection: PeerConnection) {
        let script = self.script
        connection.write(script.greeting)
        guard script.greeting.hasPrefix("220") else { return }
        var helo = ""
        var mailFrom: String?
        var recipients: [String] = []
        var authenticatedUser: String?
        while let line = connection.readLine() {
            state.withLock { $0.commands.append(line) }
            let upper = line.uppercased()
            let script = self.script
            if upper.hasPrefix("EHLO ") && script.advertiseEHLO {
                helo = String(line.dropFirst(5))
                var lines = ["peer.test greets \(helo)", "SIZE 10485760", "8BITMIME"]
                if script.advertiseDSN { lines.append("DSN") }
                if script.advertiseSMTPUTF8 { lines.append("SMTPUTF8") }
                if script.tls != nil && !connection.isTLS { lines.append("STARTTLS") }
                if script.credentials != nil { lines.append("AUTH PLAIN") }
                lines.append("ENHANCEDSTATUSCODES")
                for (index, text) in lines.enumerated() {
                    connection.write("250\(index == lines.count - 1 ? " " : "-")\(text)")
                }
            } else if upper.hasPrefix("HELO ") {
                helo = String(line.dropFirst(5))
                connection.write("250 peer.test")
            } else if upper == "STARTTLS", let tls = script.tls, !connection.isTLS {
                connection.write("220 2.0.0 Ready to start TLS")
                guard (try? connection.startTLS(tls)) != nil else { return }
                mailFrom = nil
                recipients = []
            } else if upper.hasPrefix("AUTH PLAIN "), let credentials = script.credentials {
                let decoded = Base64.decode(String(line.dropFirst(11))) ?? []
                let parts = decoded.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
                if parts.count == 3 && parts[1] == credentials.user && parts[2] == credentials.password {
                    authenticatedUser = parts[1]
                    connection.write("235 2.7.0 Authentication successful")
                } else {
                    connection.write("535 5.7.8 Authentication credentials invalid")
                }
            } else if upper.hasPrefix("MAIL FROM:") {
                if script.credentials != nil && authenticatedUser == nil {
                    connection.write("530 5.7.0 Authentication required")
                    continue
                }
                let argument = String(line.dropFirst(10))
                let reply = script.mail(argument)
                if reply.hasPrefix("2") {
                    mailFrom = argument
                    recipients = []
                }
                connection.write(reply)
            } else if upper.hasPrefix("RCPT TO:") {
                guard mailFrom != nil else {
                    connection.write("503 5.5.1 MAIL first")
                    continue
                }
                let argument = String(line.dropFirst(8))
                let address = argument.dropFirst().prefix { $0 != ">" }
                let reply = script.rcpt(String(address))
                if reply.hasPrefix("2") { recipients.append(argument) }
                connection.write(reply)
            } else if upper == "DATA" {
                guard let from = mailFrom, !recipients.isEmpty else {
                    connection.write("503 5.5.1 no valid recipients")
                    continue
                }
                connection.write("354 End data with <CR><LF>.<CR><LF>")
                var message: [UInt8] = []
                var ended = false
                while let dataLine = connection.readRawLine() {
                    if dataLine == Array(".".utf8) {
                        ended = true
                        break
                    }
                    message += dataLine.first == UInt8(ascii: ".") ? Array(dataLine.dropFirst()) : dataLine
                    message += [13, 10]
                }
                guard ended else { return }
                let reply = state.withLock { state in
                    defer { state.finals += 1 }
                    return script.data(state.finals)
                }
                state.withLock {
                    $0.transactions.append(Transaction(
                        helo: helo, mailFrom: from, recipients: recipients, message: message, overTLS: connection.isTLS,
                        authenticatedUser: authenticatedUser, finalReply: reply))
                }
                connection.write(reply)
                mailFrom = nil
                recipients = []
            } else if upper == "RSET" {
                mailFrom = nil
                recipients = []
                connection.write("250 2.0.0 OK")
            } else if upper == "NOOP" {
                connection.write("250 2.0.0 OK")
            } else if upper == "QUIT" {
                connection.write("221 2.0.0 Bye")
                return
            } else {
                connection.write("500 5.5.2 command not recognized")
            }
        }
    }
}

/// One accepted connection, plain or TLS, with 10 s receive timeouts so a test never hangs.
private final class PeerConnection {
    let fd: Int32
    private var transport: (any SecureTransport)?
    private var buffer: [UInt8] = []
    var isTLS: Bool { transport != nil }

    init(fd: Int32) {
        self.fd = fd
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    func close() { Glibc.close(fd) }

    func write(_ line: String) { writeBytes(Array((line + "\r\n").utf8)) }

    private func writeBytes(_ bytes: [UInt8]) {
        var output = bytes
        if let transport {
            output = []
            try? transport.send(bytes, ciphertext: &output)
        }
        rawSend(output)
    }

    private func rawSend(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { return }
            offset += sent
        }
    }

    private func rawReceive() -> [UInt8]? {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return count <= 0 ? nil : Array(chunk[0..<count])
    }

    /// More plaintext into `buffer`; false on EOF, timeout or TLS failure.
    private func fill() -> Bool {
        while true {
            guard let chunk = rawReceive() else { return false }
            guard let transport else {
                buffer += chunk
                return true
            }
            var output: [UInt8] = []
            let before = buffer.count
            guard let status = try? chunk.withUnsafeBytes({ try transport.receive($0, plaintext: &buffer, ciphertext: &output) })
            else { return false }
            rawSend(output)
            if buffer.count > before { return true }
            if status == .closed { return false }
        }
    }

    /// A line without its CRLF, as bytes.
    func readRawLine() -> [UInt8]? {
        while true {
            if let newline = buffer.firstIndex(of: 10) {
                var line = Array(buffer[..<newline])
                buffer.removeFirst(newline + 1)
                if line.last == 13 { line.removeLast() }
                return line
            }
            guard fill() else { return nil }
        }
    }

    func readLine() -> String? { readRawLine().map { String(decoding: $0, as: UTF8.self) } }

    func startTLS(_ factory: TLSServerTransportFactory) throws {
        buffer = []
        let transport = try factory.makeServerTransport()
        var plaintext: [UInt8] = []
        while !transport.isHandshakeComplete {
            guard let chunk = rawReceive() else { throw TestClientError.closedDuringHandshake }
            var output: [UInt8] = []
            _ = try chunk.withUnsafeBytes { try transport.receive($0, plaintext: &plaintext, ciphertext: &output) }
            rawSend(output)
        }
        buffer = plaintext
        self.transport = transport
    }
}
