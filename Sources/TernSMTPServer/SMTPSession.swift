// One SMTP connection: greeting, EHLO, STARTTLS, AUTH, and transactions (SMTPSession+Transaction.swift).
//
// Invariants:
// - Commands run in order. While one waits for the blocking pool (AUTH, RCPT lookups, the final delivery) input
//   is paused, so pipelined commands (RFC 2920) wait in the framer and replies leave in command order.
// - Every reply goes through `reply(_:)`; the connection is closed only through `close(with:)` or by the loop.
// - STARTTLS forgets everything the client said before it (RFC 3207 §4.2), including buffered input.

import Logging
import TernAuth
import TernCore
import TernSMTPCore

final class SMTPSession: ConnectionHandler {
    let environment: SMTPEnvironment
    let mode: SMTPMode
    var connection: (any ConnectionContext)!
    var logger: Logger
    var limits: SMTPLimits { environment.configuration.limits }
    var hostname: String { environment.configuration.hostname }

    /// What the client said in EHLO/HELO; nil until then (and again after STARTTLS).
    var heloName: String?
    var isExtended = false
    /// The logged-in account and the addresses it may send as.
    var account: EmailAddress?
    var allowedSenders: Set<String> = []
    var transaction: Transaction?

    enum InputState {
        case commands
        /// AUTH in progress: the next line is a SASL response.
        case sasl(SASLStep)
        /// DATA: dot-terminated content until the end.
        case data
        /// BDAT: `remaining` bytes of the current chunk; `last` is BDAT … LAST.
        case chunk(last: Bool)
    }
    enum SASLStep {
        case plain
        case loginUsername
        case loginPassword(username: String)
    }
    var input = InputState.commands
    /// Set when a BDAT chunk must be read but its transaction is refused (RFC 3030 §2): the reply after the chunk.
    var pendingChunkRefusal: SMTPReply?
    var isBusy = false
    var shutdownRequested = false
    /// Commands that did no mail work (errors, NOOP, RSET, VRFY…) in a row; too many closes the session.
    var junkCommands = 0

    init(environment: SMTPEnvironment, mode: SMTPMode) {
        self.environment = environment
        self.mode = mode
        logger = environment.logger
        logger[metadataKey: "service"] = "\(mode.rawValue)"
    }

    // MARK: ConnectionHandler

    func connectionDidBecomeActive(_ connection: any ConnectionContext) {
        self.connection = connection
        logger[metadataKey: "conn"] = "\(connection.id)"
        connection.readMode = .line(maxLength: limits.maxCommandLine)
        connection.setIdleTimeout(environment.configuration.commandTimeout)
        reply(SMTPReply(220, nil, "\(hostname) ESMTP Tern"))
    }

    func connection(_ connection: any ConnectionContext, didReceive frame: Frame) {
        switch (input, frame) {
        case (.data, .data(let chunk, let end)):
            receiveData(chunk, end: end)
        case (.chunk(let last), .bytes(let chunk, let remaining)):
            receiveChunk(chunk, remaining: remaining, last: last)
        case (.sasl(let step), .line(let line)):
            continueSASL(step, response: line)
        case (.sasl, .lineTooLong):
            input = .commands
            reply(SMTPReply(500, EnhancedStatus(5, 5, 6), "Authentication exchange line is too long"))
        case (.commands, .line(let line)):
            command(line)
        case (.commands, .lineTooLong):
            junk(SMTPReply(500, EnhancedStatus(5, 5, 6), "Line too long"))
        default:
            break  // A frame from a mode we already left; cannot happen with the loop's ordering.
        }
    }

    func connectionDidTimeOut(_ connection: any ConnectionContext) {
        connection.write(SMTPReply(421, EnhancedStatus(4, 4, 2), "\(hostname) Timeout exceeded, closing connection").encoded())
    }

    func connectionShouldShutDown(_ connection: any ConnectionContext) {
        if isBusy {
            shutdownRequested = true
        } else {
            close(with: SMTPReply(421, EnhancedStatus(4, 3, 2), "\(hostname) Server shutting down"))
        }
    }

    func connectionDidClose(_ connection: any ConnectionContext, reason: CloseReason) {
        transaction = nil
    }

    // MARK: Replies and flow

    func reply(_ reply: SMTPReply) {
        connection.write(reply.encoded())
    }

    func close(with reply: SMTPReply) {
        self.reply(reply)
        connection.close()
    }

    /// A reply to a command that did nothing useful; the session ends after too many in a row.
    func junk(_ reply: SMTPReply) {
        junkCommands += 1
        if junkCommands > limits.maxJunkCommands {
            logger.notice("too many useless commands; closing", metadata: ["client": "\(connection.peerHost)"])
            close(with: SMTPReply(421, EnhancedStatus(4, 7, 0), "\(hostname) Too many errors, closing connection"))
            return
        }
        self.reply(reply)
    }

    /// Runs `work` on the blocking pool with input paused; `done` runs on the loop.
    func perform<T: Sendable>(_ work: @escaping @Sendable () throws -> T, done: @escaping (Result<T, any Error>) -> Void) {
        isBusy = true
        connection.pauseReading()
        connection.offload(work) { [self] result in
            isBusy = false
            done(result)
            if shutdownRequested, !isBusy {
                close(with: SMTPReply(421, EnhancedStatus(4, 3, 2), "\(hostname) Server shutting down"))
                return
            }
            if !isBusy { connection.resumeReading() }
        }
    }

    // MARK: Commands

    private func command(_ line: [UInt8]) {
        let parsed: SMTPCommand
        do throws(SMTPParseError) {
            parsed = try SMTPCommandParser.parse(line, utf8Transaction: transaction?.envelope.parameters.smtpUTF8 ?? false)
        } catch {
            junk(error.reply)
            return
        }
        switch parsed {
        case .ehlo(let name): greet(name, extended: true)
        case .helo(let name): greet(name, extended: false)
        case .startTLS: startTLS()
        case .auth(let mechanism, let initial): auth(mechanism: mechanism, initialResponse: initial)
        case .mail(let path, let parameters): mail(path, parameters)
        case .rcpt(let path, let parameters): recipient(path, parameters)
        case .data: data()
        case .bdat(let size, let last): bdat(size: size, last: last)
        case .rset:
            transaction = nil
            junk(SMTPReply(250, EnhancedStatus(2, 0, 0), "Reset"))
        case .noop:
            junk(SMTPReply(250, EnhancedStatus(2, 0, 0), "OK"))
        case .quit:
            close(with: SMTPReply(221, EnhancedStatus(2, 0, 0), "\(hostname) Bye"))
        case .help:
            junk(SMTPReply(214, EnhancedStatus(2, 0, 0), "See RFC 5321; commands: EHLO HELO STARTTLS AUTH MAIL RCPT DATA BDAT RSET NOOP QUIT"))
        case .vrfy:
            // RFC 5321 §3.5.3: 252 is the answer when the server will not say (no address harvesting).
            junk(SMTPReply(252, EnhancedStatus(2, 5, 0), "Cannot VRFY user, but will accept the message and attempt delivery"))
        case .expn:
            junk(SMTPReply(502, EnhancedStatus(5, 5, 1), "EXPN is not available"))
        }
    }

    var capabilities: [String] {
        var lines = ["PIPELINING", "SIZE \(limits.maxMessageSize)", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES",
                     "CHUNKING", "DSN"]
        if connection.canStartTLS && !connection.isSecure { lines.append("STARTTLS") }
        // AUTH only where it belongs (submission), and only over TLS (RFC 8314, RFC 4954 §4).
        if mode == .submission && connection.isSecure && account == nil { lines.append("AUTH PLAIN LOGIN") }
        return lines
    }

    private func greet(_ name: String, extended: Bool) {
        // RFC 5321 §4.1.4: EHLO in the middle of a transaction resets it.
        transaction = nil
        heloName = name
        isExtended = extended
        let first = "\(hostname) Hello \(TraceHeaders.sanitized(name))"
        reply(SMTPReply(250, nil, extended ? [first] + capabilities : [first]))
    }

    private func startTLS() {
        guard connection.canStartTLS else {
            junk(SMTPReply(502, EnhancedStatus(5, 5, 1), "STARTTLS is not available here"))
            return
        }
        guard !connection.isSecure else {
            junk(SMTPReply(503, EnhancedStatus(5, 5, 1), "TLS is already active"))
            return
        }
        reply(SMTPReply(220, EnhancedStatus(2, 0, 0), "Ready to start TLS"))
        do {
            let dropped = try connection.startTLS()
            if dropped > 0 {
                logger.notice("discarded commands sent before the TLS handshake", metadata: ["bytes": "\(dropped)"])
            }
        } catch {
            logger.error("STARTTLS failed", metadata: ["error": "\(error)"])
            connection.close()
            return
        }
        heloName = nil
        isExtended = false
        transaction = nil
    }
}
