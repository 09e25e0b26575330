// The SMTP client of the outbound queue: one transaction over a byte stream (RFC 5321 §3, §4).
//
// greeting → EHLO (HELO if refused) → STARTTLS when offered (opportunistic, RFC 3207/7435) → EHLO again → AUTH
// PLAIN (relay only, RFC 4954) → MAIL FROM (SIZE, BODY, SMTPUTF8, RET/ENVID only when advertised) → RCPT TO per
// recipient (NOTIFY/ORCPT only with DSN) → DATA (dot-stuffed) → final reply → QUIT.
//
// Rules: every wait has the RFC 5321 §4.5.3.2 timeout of its stage; a reply that does not parse, a reply line
// over 16 KiB, a closed connection or a timeout ends the session with an error that the runner treats as a
// temporary failure. Nothing the server sends can crash the client. Passwords never reach a log or an error text.

public import TernCore
public import TernSMTPCore
public import TernTLS

/// RFC 5321 §4.5.3.2 client timeouts, configurable so tests run in seconds.
public struct SMTPClientTimeouts: Sendable, Equatable {
    public var connect: Duration
    /// Initial 220 message: 5 minutes.
    public var greeting: Duration
    /// EHLO, STARTTLS, AUTH, RSET, QUIT (RFC 5321 has none; the MAIL value).
    public var command: Duration
    /// MAIL: 5 minutes.
    public var mail: Duration
    /// RCPT: 5 minutes.
    public var rcpt: Duration
    /// DATA initiation (the 354): 2 minutes.
    public var dataInitiation: Duration
    /// Each block of data written: 3 minutes.
    public var dataBlock: Duration
    /// The reply to the final dot: 10 minutes.
    public var dataTermination: Duration

    public init(connect: Duration = .seconds(30), greeting: Duration = .seconds(300), command: Duration = .seconds(300),
                mail: Duration = .seconds(300), rcpt: Duration = .seconds(300), dataInitiation: Duration = .seconds(120),
                dataBlock: Duration = .seconds(180), dataTermination: Duration = .seconds(600)) {
        self.connect = connect
        self.greeting = greeting
        self.command = command
        self.mail = mail
        self.rcpt = rcpt
        self.dataInitiation = dataInitiation
        self.dataBlock = dataBlock
        self.dataTermination = dataTermination
    }

    public static let rfc5321 = SMTPClientTimeouts()

    /// Every timeout the same (tests).
    public static func uniform(_ value: Duration) -> SMTPClientTimeouts {
        SMTPClientTimeouts(connect: value, greeting: value, command: value, mail: value, rcpt: value,
                           dataInitiation: value, dataBlock: value, dataTermination: value)
    }
}

/// A relay host's login. The password never appears in `description`.
public struct SMTPCredentials: Sendable, Equatable, CustomStringConvertible {
    public var user: String
    public var password: String
    public init(user: String, password: String) {
        self.user = user
        self.password = password
    }
    public var description: String { "\(user) (password hidden)" }
}

/// How STARTTLS is used.
public enum SMTPTLSPolicy: Sendable {
    /// Never (tests, or a relay on loopback).
    case disabled
    /// When the server offers it; a server without it gets plaintext (RFC 7435). The context decides whether the
    /// certificate is verified (not for MX delivery, yes for a relay unless configured otherwise).
    case opportunistic(TLSClientContext)
}

public struct SMTPClientOptions: Sendable {
    /// The name given in EHLO/HELO.
    public var heloName: String
    public var timeouts: SMTPClientTimeouts
    public var tls: SMTPTLSPolicy
    /// AUTH PLAIN for a relay; refused over plaintext unless `allowPlaintextAuth` (loopback relays).
    public var credentials: SMTPCredentials?
    public var allowPlaintextAuth: Bool

    public init(heloName: String, timeouts: SMTPClientTimeouts = .rfc5321, tls: SMTPTLSPolicy = .disabled,
                credentials: SMTPCredentials? = nil, allowPlaintextAuth: Bool = false) {
        self.heloName = heloName
        self.timeouts = timeouts
        self.tls = tls
        self.credentials = credentials
        self.allowPlaintextAuth = allowPlaintextAuth
    }
}

/// Why a session ended before per-recipient results: nothing was delivered in it.
public enum SMTPSessionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Connect, read or write failed, the server closed, or a timeout ran out.
    case network(String)
    /// The server's reply does not parse (or a line is far too long).
    case malformed(String)
    /// The server refused a stage before RCPT (greeting, EHLO, STARTTLS, AUTH, MAIL).
    case rejected(stage: String, reply: SMTPReply)
    /// The TLS handshake failed (opportunistic delivery may retry without TLS).
    case tlsFailed(String)
    /// Something this client will not do for this message/server (no SMTPUTF8, AUTH without TLS…).
    case unsupported(String, EnhancedStatus)

    public var description: String {
        switch self {
        case .network(let text): return text
        case .malformed(let text): return "malformed reply: \(text)"
        case .rejected(let stage, let reply): return "\(reply.oneLine) (in reply to \(stage))"
        case .tlsFailed(let text): return "TLS handshake failed: \(text)"
        case .unsupported(let text, _): return text
        }
    }

    /// Permanent failures (5xx, or a refusal that cannot change) end the message for its recipients.
    public var isPermanent: Bool {
        switch self {
        case .rejected(_, let reply): return reply.isPermanent
        case .unsupported(_, let status): return status.statusClass == 5
        case .network, .malformed, .tlsFailed: return false
        }
    }

    public var status: EnhancedStatus {
        switch self {
        case .network: return EnhancedStatus(4, 4, 2)
        case .malformed: return EnhancedStatus(4, 5, 0)
        case .tlsFailed: return EnhancedStatus(4, 7, 0)
        case .rejected(_, let reply): return reply.effectiveStatus
        case .unsupported(_, let status): return status
        }
    }
}

extension SMTPReply {
    /// `550 5.1.1 text`, one line.
    public var oneLine: String {
        "\(code) " + (status.map { "\($0) " } ?? "") + text
    }

    /// The enhanced status, or the class default (`4.0.0`) when the server gave none.
    var effectiveStatus: EnhancedStatus { status ?? EnhancedStatus(code / 100, 0, 0) }
}

/// One SMTP transaction with one server.
public final class SMTPClientSession {
    private var stream: any BlockingByteStream
    private let options: SMTPClientOptions
    private let remoteName: String
    private var buffer: [UInt8] = []
    private var parser = SMTPReplyParser()
    private var isTLS = false
    /// EHLO keywords (upper-cased) with their parameters.
    public private(set) var extensions: [String: String] = [:]
    /// The TLS version and cipher when STARTTLS was used.
    public private(set) var tlsDescription: String?

    static let maxReplyLine = 16 * 1024

    /// - Parameter remoteName: the server's host name (SNI, certificate checks for a relay, DSN Remote-MTA).
    public init(stream: any BlockingByteStream, options: SMTPClientOptions, remoteName: String) {
        self.stream = stream
        self.options = options
        self.remoteName = remoteName
    }

    /// Sends one message. Returns one outcome per envelope recipient, in order, or throws when the session ended
    /// before the recipients were settled (then nothing was delivered).
    public func deliver(_ envelope: MailEnvelope, message: [UInt8]) throws(SMTPSessionError) -> [DeliveryOutcome] {
        let timeouts = options.timeouts
        let greeting = try readReply(timeout: timeouts.greeting)
        guard greeting.code == 220 else { throw .rejected(stage: "the greeting", reply: greeting) }
        try hello()
        if extensions["STARTTLS"] != nil, case .opportunistic(let context) = options.tls {
            let reply = try command("STARTTLS", timeout: timeouts.command)
            if reply.code == 220 {
                try startTLS(context)
                try hello()
            }
            // Any other reply: go on without TLS (opportunistic, RFC 7435 §3).
        }
        if let credentials = options.credentials { try authenticate(credentials) }

        let needsUTF8 = envelope.parameters.smtpUTF8 || envelope.sender.mailbox?.isInternationalized == true
            || envelope.recipients.contains { $0.mailbox.isInternationalized }
        let hasDSN = extensions["DSN"] != nil
        var mail = "MAIL FROM:<\(envelope.sender)>"
        if extensions["SIZE"] != nil {
            if let limit = extensions["SIZE"].flatMap({ Int($0) }), limit > 0, message.count > limit {
                throw .unsupported("the message (\(message.count) bytes) is larger than \(remoteName) accepts (\(limit))",
                                   EnhancedStatus(5, 3, 4))
            }
            mail += " SIZE=\(message.count)"
        }
        let eightBit = message.contains { $0 >= 0x80 }
        if extensions["8BITMIME"] != nil, eightBit || envelope.parameters.body == .eightBitMIME {
            mail += " BODY=8BITMIME"
        }
        if needsUTF8 {
            guard extensions["SMTPUTF8"] != nil else {
                throw .unsupported("\(remoteName) does not support SMTPUTF8, which this message needs",
                                   EnhancedStatus(5, 6, 7))
            }
            mail += " SMTPUTF8"
        }
        if hasDSN {
            if let ret = envelope.parameters.ret { mail += " RET=\(ret.rawValue)" }
            if let envid = envelope.parameters.envelopeID { mail += " ENVID=\(XText.encode(envid))" }
        }
        let mailReply = try command(mail, timeout: timeouts.mail)
        guard mailReply.code == 250 else { throw .rejected(stage: "MAIL FROM", reply: mailReply) }

        var outcomes: [DeliveryOutcome?] = Array(repeating: nil, count: envelope.recipients.count)
        var accepted: [Int] = []
        for (index, recipient) in envelope.recipients.enumerated() {
            var rcpt = "RCPT TO:<\(recipient.mailbox)>"
            if hasDSN {
                if let notify = recipient.parameters.notify { rcpt += " NOTIFY=\(notify.parameterValue)" }
                if let original = recipient.parameters.originalRecipient {
                    rcpt += " ORCPT=\(original.type);\(XText.encode(original.address))"
                }
            }
            let reply = try command(rcpt, timeout: timeouts.rcpt)
            if reply.code == 250 || reply.code == 251 {
                accepted.append(index)
            } else {
                outcomes[index] = outcome(for: reply)
            }
        }
        if !accepted.isEmpty {
            let dataReply = try command("DATA", timeout: timeouts.dataInitiation)
            let final: SMTPReply
            if dataReply.code == 354 {
                try sendData(DotStuffing.encode(message))
                final = try readReply(timeout: timeouts.dataTermination)
            } else {
                final = dataReply
            }
            for index in accepted { outcomes[index] = outcome(for: final) }
        }
        quit()
        return outcomes.map { $0! }
    }

    private func outcome(for reply: SMTPReply) -> DeliveryOutcome {
        if reply.code < 300 { return .delivered(reply: reply.oneLine, remoteMTA: remoteName) }
        if reply.isPermanent { return .permanent(reply: reply.oneLine, status: reply.effectiveStatus, remoteMTA: remoteName) }
        // 3xx where 2xx was due is a protocol error: try again later.
        return .temporary(reply: reply.oneLine, status: reply.code < 400 ? EnhancedStatus(4, 5, 0) : reply.effectiveStatus,
                          remoteMTA: remoteName)
    }

    /// EHLO, or HELO when EHLO is refused (RFC 5321 §3.2).
    private func hello() throws(SMTPSessionError) {
        let reply = try command("EHLO \(options.heloName)", timeout: options.timeouts.command)
        extensions = [:]
        if reply.code == 250 {
            for line in reply.lines.dropFirst() {
                let parts = line.split(separator: " ", maxSplits: 1)
                guard let keyword = parts.first else { continue }
                extensions[keyword.uppercased()] = parts.count > 1 ? String(parts[1]) : ""
            }
            return
        }
        guard reply.isPermanent else { throw .rejected(stage: "EHLO", reply: reply) }
        let helo = try command("HELO \(options.heloName)", timeout: options.timeouts.command)
        guard helo.code == 250 else { throw .rejected(stage: "HELO", reply: helo) }
    }

    private func startTLS(_ context: TLSClientContext) throws(SMTPSessionError) {
        // Anything the server sent after its 220 came before encryption: never trust it (CVE-2011-0411).
        buffer = []
        parser = SMTPReplyParser()
        do {
            let transport = try context.makeTransport(serverName: remoteName)
            let secure = try TLSBlockingStream(over: stream, transport: transport, deadline: .now + options.timeouts.command)
            tlsDescription = secure.sessionDescription
            stream = secure
            isTLS = true
        } catch {
            throw .tlsFailed("\(error)")
        }
    }

    /// AUTH PLAIN with an initial response (RFC 4954, RFC 4616).
    private func authenticate(_ credentials: SMTPCredentials) throws(SMTPSessionError) {
        guard isTLS || options.allowPlaintextAuth else {
            throw .unsupported("\(remoteName) offers no STARTTLS: the relay password is not sent in clear",
                               EnhancedStatus(4, 7, 10))
        }
        let mechanisms = (extensions["AUTH"] ?? "").uppercased().split(separator: " ")
        guard mechanisms.contains("PLAIN") else {
            throw .unsupported("\(remoteName) does not offer AUTH PLAIN", EnhancedStatus(4, 7, 0))
        }
        let token = Base64.encode(Array("\0\(credentials.user)\0\(credentials.password)".utf8))
        // Not through `command`, so the line can never end up in an error text.
        try send(Array("AUTH PLAIN \(token)\r\n".utf8), timeout: options.timeouts.command)
        let reply = try readReply(timeout: options.timeouts.command)
        guard reply.code == 235 else { throw .rejected(stage: "AUTH", reply: reply) }
    }

    private func sendData(_ bytes: [UInt8]) throws(SMTPSessionError) {
        let block = 64 * 1024
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + block, bytes.count)
            try send(Array(bytes[offset..<end]), timeout: options.timeouts.dataBlock)
            offset = end
        }
    }

    /// QUIT, best effort: the transaction is already settled.
    private func quit() {
        _ = try? command("QUIT", timeout: min(options.timeouts.command, .seconds(10)))
        stream.close()
    }

    /// Closes the connection without QUIT (after an error).
    public func abort() { stream.close() }

    // MARK: - Lines and replies

    private func command(_ line: String, timeout: Duration) throws(SMTPSessionError) -> SMTPReply {
        try send(Array((line + "\r\n").utf8), timeout: timeout)
        return try readReply(timeout: timeout)
    }

    private func send(_ bytes: [UInt8], timeout: Duration) throws(SMTPSessionError) {
        do {
            try stream.write(bytes, deadline: .now + timeout)
        } catch {
            throw .network("\(error)")
        }
    }

    private func readReply(timeout: Duration) throws(SMTPSessionError) -> SMTPReply {
        let deadline = ContinuousClock.now + timeout
        while true {
            let line = try readLine(deadline: deadline)
            do {
                if let reply = try parser.feed(line) { return reply }
            } catch {
                throw .malformed("\(error) from \(remoteName)")
            }
        }
    }

    private func readLine(deadline: ContinuousClock.Instant) throws(SMTPSessionError) -> [UInt8] {
        var scanned = 0
        while true {
            if let newline = buffer[scanned...].firstIndex(of: 10) {
                var line = Array(buffer[..<newline])
                buffer.removeFirst(newline + 1)
                if line.last == 13 { line.removeLast() }
                return line
            }
            scanned = buffer.count
            guard buffer.count <= Self.maxReplyLine else {
                throw .malformed("a reply line longer than \(Self.maxReplyLine) bytes from \(remoteName)")
            }
            let chunk: [UInt8]
            do {
                chunk = try stream.read(maxBytes: 16 * 1024, deadline: deadline)
            } catch {
                throw .network("\(error)")
            }
            guard !chunk.isEmpty else { throw .network("\(remoteName) closed the connection") }
            buffer += chunk
        }
    }
}
