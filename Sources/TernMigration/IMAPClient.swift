// A blocking IMAP client for talking to an old server: connect (implicit TLS, STARTTLS or plain), log in, run
// commands and hand each untagged response to the caller as it arrives. One thread uses a client at a time.
//
// It speaks with TernIMAPCore's grammar: `ResponseFramer` splits the stream, `ResponseParser` reads responses, and
// commands carry strings quoted or as literals (non-synchronizing with LITERAL+, else waiting for "+").
//
// Safety: every read waits at most `timeout` for the next bytes (an old server streaming a large folder is not cut
// off, a silent one is); certificates are verified against the system's trust store, a CA file, or one pinned
// SHA-256 fingerprint; passwords never reach an error text.

import TernCore
public import TernIMAPCore
import TernPosix
import TernTLS

/// The old server, from `imaps://host[:port]` (implicit TLS, 993), `imap://host[:port]` (STARTTLS, 143) or
/// `imap://host[:port]` with `security: .none` (plain, for loopback tests and trusted networks only).
public struct OldServer: Sendable, Equatable, CustomStringConvertible {
    public enum Security: String, Sendable, Equatable {
        case implicitTLS = "implicit TLS"
        case startTLS = "STARTTLS"
        case none = "no TLS"
    }

    public var host: String
    public var port: UInt16
    public var security: Security

    public init(host: String, port: UInt16, security: Security) {
        self.host = host
        self.port = port
        self.security = security
    }

    /// Parses a URL; `plaintext` turns `imap://` into a connection without TLS.
    public init(url: String, plaintext: Bool = false) throws(MigrationError) {
        let lower = url.lowercased()
        let rest: Substring
        if lower.hasPrefix("imaps://") {
            guard !plaintext else { throw .badServer(url, "imaps:// always uses TLS; use imap:// for a plain connection") }
            security = .implicitTLS
            port = 993
            rest = url.dropFirst("imaps://".count)
        } else if lower.hasPrefix("imap://") {
            security = plaintext ? .none : .startTLS
            port = 143
            rest = url.dropFirst("imap://".count)
        } else {
            throw .badServer(url, "expected imaps://host[:port] or imap://host[:port]")
        }
        var hostPort = rest
        if hostPort.hasSuffix("/") { hostPort = hostPort.dropLast() }
        guard !hostPort.isEmpty, !hostPort.contains("/"), !hostPort.contains("@"), !hostPort.contains("?") else {
            throw .badServer(url, "expected only a host and an optional port after the scheme")
        }
        if hostPort.hasPrefix("[") {
            // [IPv6]:port
            guard let close = hostPort.firstIndex(of: "]") else { throw .badServer(url, "unclosed \"[\" in the host") }
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let after = hostPort[hostPort.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let value = UInt16(after.dropFirst()), value > 0 else {
                    throw .badServer(url, "invalid port")
                }
                port = value
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = String(hostPort[..<colon])
            guard let value = UInt16(hostPort[hostPort.index(after: colon)...]), value > 0 else {
                throw .badServer(url, "invalid port \"\(hostPort[hostPort.index(after: colon)...])\"")
            }
            port = value
        } else {
            host = String(hostPort)
        }
        guard !host.isEmpty else { throw .badServer(url, "no host") }
    }

    public var description: String {
        let scheme = security == .implicitTLS ? "imaps" : "imap"
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "\(scheme)://\(shownHost):\(port)\(security == .none ? " (no TLS)" : "")"
    }
}

/// How the old server's certificate is checked. Made once per migration and shared by its connections.
public final class CertificateTrust: Sendable {
    let verifying: TLSClientContext
    let nonVerifying: TLSClientContext
    /// SHA-256 of the one certificate to accept instead of verifying (`--fingerprint`).
    public let pinnedSHA256: [UInt8]?

    public init(caFile: String? = nil, pinnedSHA256: [UInt8]? = nil) throws(MigrationError) {
        do {
            verifying = try TLSClientContext(verifyPeer: true, caFile: caFile)
            nonVerifying = try TLSClientContext(verifyPeer: false)
        } catch {
            throw .tls("cannot set up TLS: \(error)")
        }
        self.pinnedSHA256 = pinnedSHA256
    }

    /// Parses `AB:CD:…`, `abcd…` or `SHA256:…` (64 hex digits).
    public static func parseFingerprint(_ text: String) -> [UInt8]? {
        var hex = text.lowercased()
        if hex.hasPrefix("sha256:") || hex.hasPrefix("sha256=") { hex.removeFirst(7) }
        hex = hex.filter { $0 != ":" && $0 != " " }
        guard hex.count == 64 else { return nil }
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }

    /// `AB:CD:…`, as `openssl x509 -fingerprint -sha256` prints it.
    public static func format(_ fingerprint: [UInt8]) -> String {
        fingerprint.map { byte in
            let digits = Array("0123456789ABCDEF")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
        }.joined(separator: ":")
    }
}

/// Everything that can go wrong with a migration, each with a text saying what to do.
public enum MigrationError: Error, Sendable, Equatable, CustomStringConvertible {
    case badServer(String, String)
    case unreachable(String, String)
    case untrustedCertificate(server: String, detail: String, fingerprint: String?)
    case fingerprintMismatch(server: String, expected: String, actual: String)
    case tls(String)
    case loginFailed(server: String, user: String, text: String)
    case noSecureLogin(String)
    case protocolError(String)
    case connectionLost(String)
    case refused(command: String, text: String)
    case store(String)
    case cancelled

    public var description: String {
        switch self {
        case .badServer(let url, let why): return "invalid old server \"\(url)\": \(why)"
        case .unreachable(let server, let why): return "cannot reach the old server \(server): \(why)"
        case .untrustedCertificate(let server, let detail, let fingerprint):
            var text = "the certificate of \(server) is not trusted (\(detail))"
            if let fingerprint {
                text += "; if you know this certificate is the old server's, accept it with --fingerprint \(fingerprint)"
            }
            return text
        case .fingerprintMismatch(let server, let expected, let actual):
            return "the certificate of \(server) has the SHA-256 fingerprint \(actual), not the \(expected) given with --fingerprint"
        case .tls(let text): return "TLS: \(text)"
        case .loginFailed(let server, let user, let text):
            return "the old server \(server) refused the login of \(user): \(text.isEmpty ? "no reason given" : text)"
        case .noSecureLogin(let server):
            return "the old server \(server) offers no TLS (STARTTLS) and the password would travel in clear; use imaps://, or --plaintext on a trusted network"
        case .protocolError(let text): return "the old server broke the IMAP protocol: \(text)"
        case .connectionLost(let text): return "the connection to the old server was lost: \(text)"
        case .refused(let command, let text): return "the old server refused \(command): \(text)"
        case .store(let text): return "cannot store here: \(text)"
        case .cancelled: return "cancelled"
        }
    }

    /// Worth another try later (the network, the old server's load), as opposed to a wrong setting or password.
    public var isTemporary: Bool {
        switch self {
        case .unreachable, .connectionLost, .protocolError: return true
        default: return false
        }
    }
}

/// One part of a command: text sent as it is, or a string sent quoted or as a literal.
public enum CommandPart: Sendable {
    case text(String)
    case string([UInt8])
}

public final class IMAPClient {
    public let server: OldServer
    public private(set) var capabilities: Set<String> = []
    /// The TLS protocol and cipher in use, for the summary.
    public private(set) var tlsDescription: String?
    private var stream: any BlockingByteStream
    private var framer = ResponseFramer()
    private var tagCounter = 0
    private let timeout: Duration
    private var readBuffer: [UInt8] = []

    /// Connects, reads the greeting and the capabilities, and secures the connection (implicit TLS or STARTTLS).
    public init(server: OldServer, trust: CertificateTrust, timeout: Duration = .seconds(120)) throws(MigrationError) {
        self.server = server
        self.timeout = timeout
        stream = try Self.connect(server, timeout: timeout)
        do {
            if server.security == .implicitTLS { try secure(trust) }
            let greeting = try readResponse()
            switch greeting {
            case .untagged(.status(.ok, let text)), .untagged(.status(.preauth, let text)):
                if case .capability(let list) = text.code { capabilities = Set(list.map { $0.uppercased() }) }
            case .untagged(.status(.bye, let text)):
                throw MigrationError.unreachable(server.description, "it said BYE: \(text.text)")
            default:
                throw MigrationError.protocolError("unexpected greeting")
            }
            if capabilities.isEmpty { try refreshCapabilities() }
            if server.security == .startTLS {
                guard capabilities.contains("STARTTLS") else { throw MigrationError.noSecureLogin(server.description) }
                _ = try run([.text("STARTTLS")])
                framer = ResponseFramer() // nothing sent before the handshake may be used after it
                try secure(trust)
                try refreshCapabilities()
            }
        } catch let error as MigrationError {
            stream.close()
            throw error
        } catch {
            stream.close()
            throw .protocolError("\(error)")
        }
    }

    deinit { stream.close() }

    private static func connect(_ server: OldServer, timeout: Duration) throws(MigrationError) -> ClientSocket {
        let addresses: [SocketAddress]
        do {
            addresses = try HostResolver.addresses(of: server.host, port: server.port)
        } catch {
            throw .unreachable(server.description, error.description)
        }
        var lastError = "no address"
        for address in addresses {
            do {
                return try ClientSocket(connectingTo: address, timeout: min(timeout, .seconds(30)))
            } catch {
                lastError = error.description
            }
        }
        throw .unreachable(server.description, lastError)
    }

    private func secure(_ trust: CertificateTrust) throws(MigrationError) {
        let context = trust.pinnedSHA256 == nil ? trust.verifying : trust.nonVerifying
        let secured: TLSBlockingStream
        do {
            let transport = try context.makeTransport(serverName: server.host)
            secured = try TLSBlockingStream(over: stream, transport: transport, deadline: .now + timeout)
        } catch {
            let detail = "\(error)"
            if trust.pinnedSHA256 == nil, detail.contains("certificate") {
                throw .untrustedCertificate(server: server.description, detail: Self.shortReason(detail),
                                            fingerprint: Self.probeFingerprint(server, trust: trust, timeout: timeout))
            }
            throw .tls("handshake with \(server.description) failed: \(detail)")
        }
        if let pinned = trust.pinnedSHA256 {
            let actual = secured.peerCertificateDER.map(Crypto.sha256) ?? []
            guard Crypto.constantTimeEqual(actual, pinned) else {
                secured.close()
                throw .fingerprintMismatch(server: server.description, expected: CertificateTrust.format(pinned),
                                           actual: actual.isEmpty ? "(none)" : CertificateTrust.format(actual))
            }
        }
        stream = secured
        tlsDescription = secured.sessionDescription
    }

    private static func shortReason(_ detail: String) -> String {
        let marker = "; certificate: "
        if let start = detail.indices.first(where: { detail[$0...].hasPrefix(marker) }) {
            return String(detail[start...].dropFirst(marker.count))
        }
        for reason in ["self-signed certificate in certificate chain", "self-signed certificate", "self signed certificate",
                       "certificate has expired", "hostname mismatch", "unable to get local issuer certificate"]
            where detail.contains(reason) { return reason }
        return "certificate verify failed"
    }

    /// The SHA-256 of the certificate the server presents, for the error text only (not trusted for anything).
    private static func probeFingerprint(_ server: OldServer, trust: CertificateTrust, timeout: Duration) -> String? {
        guard let socket = try? connect(server, timeout: timeout) else { return nil }
        defer { socket.close() }
        if server.security == .startTLS {
            // Greeting, then STARTTLS: enough of the protocol to reach the handshake.
            let deadline = ContinuousClock.now + timeout
            guard let greeting = try? socket.read(maxBytes: 4096, deadline: deadline), !greeting.isEmpty,
                  (try? socket.write(Array("P STARTTLS\r\n".utf8), deadline: deadline)) != nil else { return nil }
            var reply: [UInt8] = []
            while !reply.contains(0x0A) {
                guard let chunk = try? socket.read(maxBytes: 4096, deadline: deadline), !chunk.isEmpty else { return nil }
                reply += chunk
            }
        }
        guard let transport = try? trust.nonVerifying.makeTransport(serverName: server.host),
              let secured = try? TLSBlockingStream(over: socket, transport: transport, deadline: .now + timeout),
              let der = secured.peerCertificateDER else { return nil }
        return CertificateTrust.format(Crypto.sha256(der))
    }

    // MARK: Responses

    /// The next response, waiting at most `timeout` for each chunk of bytes.
    func readResponse() throws(MigrationError) -> ServerResponse {
        while true {
            let frame: [UInt8]?
            do { frame = try framer.next() } catch { throw .protocolError(error.description) }
            if let frame {
                switch ResponseParser.parse(frame) {
                case .success(let response): return response
                case .failure(let error): throw .protocolError(error.description)
                }
            }
            let chunk: [UInt8]
            do {
                chunk = try stream.read(maxBytes: 256 * 1024, deadline: .now + timeout)
            } catch {
                throw .connectionLost("\(error)")
            }
            guard !chunk.isEmpty else { throw .connectionLost("the server closed the connection") }
            framer.append(chunk)
        }
    }

    private func write(_ bytes: [UInt8]) throws(MigrationError) {
        do { try stream.write(bytes, deadline: .now + timeout) } catch { throw .connectionLost("\(error)") }
    }

    // MARK: Commands

    /// Sends a command and reads until its tagged response; untagged responses go to `untagged` as they come.
    /// A NO or BAD throws `.refused` with the server's text (`describe` names the command without secrets).
    @discardableResult
    public func run(_ parts: [CommandPart], describe: String? = nil,
                    untagged: (UntaggedResponse) throws(MigrationError) -> Void = { _ in }) throws(MigrationError) -> ResponseText {
        let tag = try send(parts, describe: describe, untagged: untagged)
        return try complete(tag, describe: describe ?? Self.name(of: parts), untagged: untagged)
    }

    /// Sends a command without waiting for its completion (pipelining: the server works on it while the caller
    /// finishes the previous one). Returns the tag for `complete`.
    public func send(_ parts: [CommandPart], describe: String? = nil,
                     untagged: (UntaggedResponse) throws(MigrationError) -> Void = { _ in }) throws(MigrationError) -> String {
        tagCounter += 1
        let tag = "M\(tagCounter)"
        var pending: [UInt8] = Array(tag.utf8)
        let nonSynchronizing = capabilities.contains("LITERAL+")
        for part in parts {
            pending.append(0x20)
            switch part {
            case .text(let text):
                pending += Array(text.utf8)
            case .string(let bytes):
                if Self.canQuote(bytes) {
                    pending.append(UInt8(ascii: "\""))
                    for byte in bytes {
                        if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { pending.append(UInt8(ascii: "\\")) }
                        pending.append(byte)
                    }
                    pending.append(UInt8(ascii: "\""))
                } else if nonSynchronizing {
                    pending += Array("{\(bytes.count)+}\r\n".utf8) + bytes
                } else {
                    pending += Array("{\(bytes.count)}\r\n".utf8)
                    try write(pending)
                    pending = []
                    try awaitContinuation(tag: tag, describe: describe ?? Self.name(of: parts), untagged: untagged)
                    pending = bytes
                }
            }
        }
        try write(pending + [0x0D, 0x0A])
        return tag
    }

    /// Reads until the tagged response of `tag` (commands must be completed in the order they were sent).
    @discardableResult
    public func complete(_ tag: String, describe: String,
                         untagged: (UntaggedResponse) throws(MigrationError) -> Void) throws(MigrationError) -> ResponseText {
        try awaitTagged(tag, describe: describe, untagged: untagged)
    }

    private static func name(of parts: [CommandPart]) -> String {
        var words: [String] = []
        for part in parts.prefix(2) {
            if case .text(let text) = part { words.append(text) }
        }
        return words.joined(separator: " ")
    }

    private func awaitContinuation(tag: String, describe: String,
                                   untagged: (UntaggedResponse) throws(MigrationError) -> Void) throws(MigrationError) {
        while true {
            switch try readResponse() {
            case .continuation: return
            case .untagged(let response): try untagged(response)
            case .tagged(let t, _, let text) where t == tag: throw .refused(command: describe, text: text.text)
            case .tagged: throw .protocolError("a tagged response for a command that was not sent")
            }
        }
    }

    private func awaitTagged(_ tag: String, describe: String,
                             untagged: (UntaggedResponse) throws(MigrationError) -> Void) throws(MigrationError) -> ResponseText {
        while true {
            switch try readResponse() {
            case .untagged(.status(.bye, let text)):
                throw .connectionLost("the server said BYE: \(text.text)")
            case .untagged(let response):
                try untagged(response)
            case .continuation:
                throw .protocolError("a continuation request where none was expected")
            case .tagged(let t, let status, let text):
                guard t == tag else { throw .protocolError("a tagged response for a command that was not sent") }
                if case .capability(let list) = text.code { capabilities = Set(list.map { $0.uppercased() }) }
                guard status == .ok else { throw .refused(command: describe, text: text.text) }
                return text
            }
        }
    }

    static func canQuote(_ bytes: [UInt8]) -> Bool {
        bytes.count < 1000 && bytes.allSatisfy { $0 != 0 && $0 != 0x0D && $0 != 0x0A && $0 < 0x80 }
    }

    public func refreshCapabilities() throws(MigrationError) {
        var found: [String]?
        try run([.text("CAPABILITY")]) { response throws(MigrationError) in
            if case .capability(let list) = response { found = list }
        }
        if let found { capabilities = Set(found.map { $0.uppercased() }) }
    }

    /// AUTHENTICATE PLAIN when offered (UTF-8 passwords survive it), else LOGIN. The password never appears in errors.
    public func login(user: String, password: String) throws(MigrationError) {
        if server.security == .none && capabilities.contains("LOGINDISABLED") {
            throw .noSecureLogin(server.description)
        }
        do {
            if capabilities.contains("AUTH=PLAIN") {
                let response = Base64.encode([0] + Array(user.utf8) + [0] + Array(password.utf8))
                if capabilities.contains("SASL-IR") {
                    try run([.text("AUTHENTICATE PLAIN"), .text(response)], describe: "AUTHENTICATE PLAIN")
                } else {
                    tagCounter += 1
                    let tag = "M\(tagCounter)"
                    try write(Array("\(tag) AUTHENTICATE PLAIN\r\n".utf8))
                    try awaitContinuation(tag: tag, describe: "AUTHENTICATE PLAIN") { _ throws(MigrationError) in }
                    try write(Array("\(response)\r\n".utf8))
                    let text = try awaitTagged(tag, describe: "AUTHENTICATE PLAIN") { _ throws(MigrationError) in }
                    if case .capability(let list) = text.code { capabilities = Set(list.map { $0.uppercased() }) }
                }
            } else {
                try run([.text("LOGIN"), .string(Array(user.utf8)), .string(Array(password.utf8))], describe: "LOGIN")
            }
        } catch {
            if case .refused(_, let text) = error { throw .loginFailed(server: server.description, user: user, text: text) }
            throw error
        }
        // Capabilities may grow after login (RFC 9051 §6.2.3); ask when the server did not send them.
        try refreshCapabilities()
    }

    public func logout() {
        _ = try? run([.text("LOGOUT")])
        stream.close()
    }
}
