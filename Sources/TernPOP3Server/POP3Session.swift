// One POP3 connection (RFC 1939): AUTHORIZATION (CAPA, STLS, USER/PASS, AUTH PLAIN, QUIT), TRANSACTION over a
// snapshot of the account's INBOX (STAT, LIST, UIDL, RETR, TOP, DELE, NOOP, RSET, CAPA), and UPDATE on QUIT.
//
// Invariants:
// - Commands run in order. While one waits for the blocking pool (login, opening the maildrop, RETR/TOP, UPDATE)
//   input is paused, so pipelined commands (RFC 2449 PIPELINING) wait in the framer and replies leave in order.
// - Logins only over TLS (RFC 2595 §2.2, RFC 8314): USER, PASS and AUTH are refused before STLS, and CAPA does not
//   offer them there. STLS discards input buffered before the handshake (CVE-2011-0411).
// - The store changes only in the UPDATE state, after QUIT: DELE'd messages are soft-deleted (recoverable with
//   `ternctl deleted restore`), retrieved ones are marked \Seen. A connection that ends any other way changes nothing.
// - One POP3 session per maildrop (RFC 1939 §8, `MaildropLocks`); the lock and the store are given back as soon as
//   the session leaves TRANSACTION, and always by `connectionDidClose`.
// - Passwords and SASL payloads are never logged.

import Logging
import Synchronization
import TernAuth
import TernCore
import TernPOP3Core
import TernStore

final class POP3Session: ConnectionHandler {
    let environment: POP3Environment
    var connection: (any ConnectionContext)!
    var logger: Logger
    var configuration: POP3Configuration { environment.configuration }

    enum State {
        case authorization
        case transaction
        /// After QUIT (or a fatal error): nothing more is read.
        case done
    }
    var state = State.authorization
    /// AUTH PLAIN is waiting for the client's response line.
    var awaitingSASLResponse = false
    /// The name given with USER, for the next PASS.
    var pendingUser: String?
    /// The logged-in account while it holds the maildrop lock.
    var lockedAccount: String?
    var maildrop: Maildrop?
    var store: AccountStore?
    let storeHold = StoreHold()
    var isBusy = false
    var shutdownRequested = false
    var badCommands = 0

    init(environment: POP3Environment) {
        self.environment = environment
        logger = environment.logger
        logger[metadataKey: "service"] = "pop3"
    }

    // MARK: ConnectionHandler

    func connectionDidBecomeActive(_ connection: any ConnectionContext) {
        self.connection = connection
        logger[metadataKey: "conn"] = "\(connection.id)"
        logger.debug("pop3 connection", metadata: ["client": "\(connection.peerHost)", "tls": "\(connection.isSecure)"])
        connection.readMode = .line(maxLength: POP3Limits.maxCommandLine)
        connection.setIdleTimeout(configuration.preLoginTimeout)
        send(POP3Response.ok("\(configuration.hostname) Tern POP3 ready"))
    }

    func connection(_ connection: any ConnectionContext, didReceive frame: Frame) {
        guard state != .done else { return }
        if awaitingSASLResponse {
            awaitingSASLResponse = false
            connection.readMode = .line(maxLength: POP3Limits.maxCommandLine)
            switch frame {
            case .line(let line): saslResponse(line)
            default: bad("Authentication exchange line is too long")
            }
            return
        }
        switch frame {
        case .line(let line):
            do throws(POP3ParseError) {
                let command = try POP3CommandParser.parse(line)
                execute(command)
            } catch {
                bad(error.text)
            }
        case .lineTooLong:
            bad("Command line too long (RFC 2449: at most 255 octets)")
        case .bytes, .data:
            break  // POP3 never asks for these.
        }
    }

    func connectionDidTimeOut(_ connection: any ConnectionContext) {
        // RFC 1939 §3: an autologout does not enter the UPDATE state.
        send(POP3Response.error("Disconnected for inactivity"))
    }

    func connectionShouldShutDown(_ connection: any ConnectionContext) {
        shutdownRequested = true
        guard !isBusy else { return }  // the running command finishes first; see `perform`
        closeForShutdown()
    }

    func connectionDidClose(_ connection: any ConnectionContext, reason: CloseReason) {
        state = .done
        leaveMaildrop(closing: true)
        logger.debug("pop3 connection closed", metadata: ["reason": "\(reason)"])
    }

    // MARK: Output and flow

    func send(_ bytes: [UInt8]) { connection.write(bytes) }

    func ok(_ text: String) {
        badCommands = 0
        send(POP3Response.ok(text))
    }

    func multiline(_ first: String, _ lines: [String]) {
        badCommands = 0
        send(POP3Response.multiline(first, lines: lines))
    }

    func fail(_ code: POP3ResponseCode?, _ text: String) {
        send(POP3Response.error(code, text))
    }

    /// A refused command; too many in a row end the session.
    func bad(_ text: String, code: POP3ResponseCode? = nil) {
        badCommands += 1
        if badCommands > configuration.maxBadCommands {
            logger.notice("too many bad commands; closing", metadata: ["client": "\(connection.peerHost)"])
            fail(nil, "Too many bad commands, closing the connection")
            close()
            return
        }
        fail(code, text)
    }

    func close() {
        state = .done
        connection.close()
    }

    private func closeForShutdown() {
        fail(.sysTemp, "Server shutting down; nothing was changed")
        close()
    }

    /// Runs `work` on the blocking pool with input paused; `done` runs on the loop.
    func perform<T: Sendable>(_ work: @escaping @Sendable () throws -> T, done: @escaping (Result<T, any Error>) -> Void) {
        isBusy = true
        connection.pauseReading()
        connection.offload(work) { [self] result in
            done(result)
            endWork()
        }
    }

    /// Ends what `perform` (or a throttle delay) started.
    func endWork() {
        isBusy = false
        guard state != .done else { return }
        if shutdownRequested {
            closeForShutdown()
            return
        }
        connection.resumeReading()
    }

    // MARK: Commands

    private func execute(_ command: POP3Command) {
        switch (state, command) {
        case (_, .capa):
            multiline("Capability list follows", capabilities)
        case (.authorization, .stls): startTLS()
        case (.authorization, .user(let name)): user(name)
        case (.authorization, .pass(let password)): pass(password)
        case (.authorization, .auth(let mechanism, let initialResponse)): auth(mechanism, initialResponse)
        case (.authorization, .quit):
            ok("\(configuration.hostname) Tern POP3 signing off")
            close()
        case (.authorization, .stat), (.authorization, .list), (.authorization, .uidl), (.authorization, .retr),
             (.authorization, .top), (.authorization, .dele), (.authorization, .noop), (.authorization, .rset):
            bad("Log in first")
        case (.transaction, .stls):
            bad("STLS is only allowed before login")
        case (.transaction, .user), (.transaction, .pass), (.transaction, .auth):
            bad("Already logged in")
        case (.transaction, .stat):
            let totals = maildrop!.totals
            ok("\(totals.count) \(totals.octets)")
        case (.transaction, .list(let number)): list(number)
        case (.transaction, .uidl(let number)): uidl(number)
        case (.transaction, .retr(let number)): retrieve(number, topLines: nil)
        case (.transaction, .top(let number, let lines)): retrieve(number, topLines: lines)
        case (.transaction, .dele(let number)):
            do throws(Maildrop.Refusal) {
                try maildrop!.markDeleted(number)
                ok("Message \(number) deleted")
            } catch {
                bad(error.text)
            }
        case (.transaction, .noop):
            ok("")
        case (.transaction, .rset):
            maildrop!.reset()
            let totals = maildrop!.totals
            ok("Maildrop has \(totals.count) messages (\(totals.octets) octets)")
        case (.transaction, .quit): update()
        case (.done, _):
            break
        }
    }

    /// RFC 2449 §5. Before login over TLS: USER and SASL; before TLS: STLS instead (RFC 2595 §4).
    var capabilities: [String] {
        var lines = ["CAPA", "TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"]
        if state == .authorization {
            if connection.isSecure {
                lines += ["USER", "SASL PLAIN"]
            } else if connection.canStartTLS {
                lines.append("STLS")
            }
        }
        lines.append("IMPLEMENTATION Tern")
        return lines
    }

    private func startTLS() {
        guard !connection.isSecure else {
            bad("TLS is already active")
            return
        }
        guard connection.canStartTLS else {
            bad("STLS is not available here")
            return
        }
        ok("Begin TLS negotiation")
        do {
            let dropped = try connection.startTLS()
            if dropped > 0 {
                logger.notice("discarded commands sent before the TLS handshake", metadata: ["bytes": "\(dropped)"])
            }
        } catch {
            logger.error("STLS failed", metadata: ["error": "\(error)"])
            close()
            return
        }
        pendingUser = nil
    }

    // MARK: TRANSACTION

    private func list(_ number: POP3MessageNumber?) {
        let maildrop = maildrop!
        guard let number else {
            let totals = maildrop.totals
            multiline("\(totals.count) messages (\(totals.octets) octets)", maildrop.listing.map { "\($0.number) \($0.info.size)" })
            return
        }
        do throws(Maildrop.Refusal) {
            ok("\(number) \(try maildrop.message(number).size)")
        } catch {
            bad(error.text)
        }
    }

    private func uidl(_ number: POP3MessageNumber?) {
        let maildrop = maildrop!
        guard let number else {
            multiline("Unique ids follow", maildrop.listing.map { "\($0.number) \(maildrop.uniqueID($0.info))" })
            return
        }
        do throws(Maildrop.Refusal) {
            ok("\(number) \(maildrop.uniqueID(try maildrop.message(number)))")
        } catch {
            bad(error.text)
        }
    }

    /// RETR (`topLines` nil) or TOP: the file is read and dot-stuffed on the pool, into one buffer.
    private func retrieve(_ number: POP3MessageNumber, topLines: Int?) {
        let info: MessageInfo
        do throws(Maildrop.Refusal) {
            info = try maildrop!.message(number)
        } catch {
            bad(error.text)
            return
        }
        guard let store else { return }
        let mailbox = maildrop!.mailbox
        perform({ () throws -> [UInt8]? in
            guard let record = try store.records(mailbox, uids: [info.uid]).first else { return nil }
            let bytes = try record.contents()
            if let topLines {
                return POP3Response.message("Top of message \(number) follows", POP3Response.top(of: bytes, lines: topLines))
            }
            return POP3Response.message("\(bytes.count) octets", bytes)
        }) { [self] result in
            switch result {
            case .success(let response?):
                badCommands = 0
                send(response)
                if topLines == nil { maildrop?.markRetrieved(number) }
            case .success(nil):
                bad("Message \(number) was deleted by another session")
            case .failure(let failure):
                logger.error("cannot read message", metadata: ["account": "\(lockedAccount ?? "")", "uid": "\(info.uid)",
                                                                "error": "\(failure)"])
                fail(.sysTemp, "Message \(number) cannot be read right now; try again later")
            }
        }
    }

    /// RFC 1939 §6: the UPDATE state. DELE'd messages are expunged through the store's soft delete, retrieved ones
    /// marked \Seen (as Dovecot does); then the lock goes and the session ends.
    private func update() {
        guard let store, let maildrop else { return }
        let (expunge, seen) = maildrop.update
        let mailbox = maildrop.mailbox
        state = .done
        perform({ () throws -> Int in
            if !seen.isEmpty { try store.setFlags(mailbox, uids: seen, .seen, .add) }
            return expunge.isEmpty ? 0 : try store.expunge(mailbox, uids: expunge).count
        }) { [self] result in
            let account = lockedAccount ?? ""
            leaveMaildrop()
            switch result {
            case .success(let removed):
                logger.info("pop3 update", metadata: ["account": "\(account)", "deleted": "\(removed)",
                                                      "seen": "\(seen.count)"])
                send(POP3Response.ok("\(configuration.hostname) Tern POP3 signing off (\(removed) messages deleted)"))
            case .failure(let failure):
                logger.error("pop3 update failed", metadata: ["account": "\(account)", "error": "\(failure)"])
                send(POP3Response.error(.sysTemp, "Some deleted messages were not removed; try again later"))
            }
            connection.close()
        }
    }

    /// Gives back the maildrop lock and the store (idempotent). `closing`: the connection is gone, so a store still
    /// being opened on the pool is released there.
    func leaveMaildrop(closing: Bool = false) {
        if let account = lockedAccount {
            environment.locks.unlock(account)
            lockedAccount = nil
        }
        storeHold.release(environment.stores, closing: closing)
        store = nil
        maildrop = nil
    }
}

/// The store a session acquired on the pool, so that a connection closed while the store was being opened (the
/// completion is then dropped) still releases it: whichever of `adopt` and `close` comes second does the release.
final class StoreHold: Sendable {
    private let state = Mutex<(account: String?, closed: Bool)>((nil, false))

    /// Called on the pool after `StoreRegistry.acquire`. False if the session is gone: the caller releases.
    func adopt(_ account: String) -> Bool {
        state.withLock { state in
            guard !state.closed else { return false }
            state.account = account
            return true
        }
    }

    /// The session is done with the store: releases it if it was adopted. After `closing`, `adopt` returns false.
    func release(_ stores: StoreRegistry, closing: Bool) {
        let account = state.withLock { state -> String? in
            defer { state = (nil, state.closed || closing) }
            return state.account
        }
        if let account { stores.release(account) }
    }
}
