// AUTHORIZATION: USER/PASS (RFC 1939 §7) and AUTH PLAIN (RFC 5034, initial response or a `+ ` continuation, `*`
// cancels), only over TLS. The check (throttle, login cache, crypt) is the Authenticator's, shared with IMAP and
// SMTP, so failures from every protocol count together and the log lines are the same. After a good login: the
// maildrop lock (RFC 1939 §8, `[IN-USE]`), then the store and a snapshot of INBOX, on the pool.

import Logging
import TernAuth
import TernCore
import TernPOP3Core
import TernStore

extension POP3Session {
    /// Dovecot's wording: a client shows it, and [AUTH] tells it not to retry with the same password.
    private static let plaintextRefusal = "Plaintext authentication disallowed on non-secure connections; use STLS (or port 995)"

    func user(_ name: String) {
        guard connection.isSecure else {
            bad(Self.plaintextRefusal, code: .auth)
            return
        }
        pendingUser = name
        // RFC 1939 §7 allows +OK for any name: whether an account exists is not told here.
        ok("Send your password")
    }

    func pass(_ password: String) {
        guard connection.isSecure else {
            bad(Self.plaintextRefusal, code: .auth)
            return
        }
        guard let username = pendingUser else {
            bad("Send USER first")
            return
        }
        pendingUser = nil
        check(username: username, password: password)
    }

    func auth(_ mechanism: String?, _ initialResponse: [UInt8]?) {
        guard connection.isSecure else {
            bad(Self.plaintextRefusal, code: .auth)
            return
        }
        pendingUser = nil
        guard let mechanism else {
            // A bare AUTH lists the mechanisms (what Outlook and others probe with).
            multiline("Methods supported", ["PLAIN"])
            return
        }
        guard mechanism == "PLAIN" else {
            bad("Unsupported authentication mechanism; use PLAIN")
            return
        }
        if let initialResponse, initialResponse != Array("=".utf8) {
            saslResponse(initialResponse)
        } else {
            // RFC 5034 §4: an empty challenge; the response may be longer than a command line.
            awaitingSASLResponse = true
            connection.readMode = .line(maxLength: POP3Limits.maxAuthResponseLine)
            send(Array("+ \r\n".utf8))
        }
    }

    func saslResponse(_ response: [UInt8]) {
        do throws(SASLError) {
            let credentials = try SASLPlain.decode(response)
            check(username: credentials.username, password: credentials.password)
        } catch {
            switch error {
            case .cancelled: bad("Authentication cancelled")
            default: bad("Cannot decode the response: \(error)")
            }
        }
    }

    private func check(username: String, password: String) {
        let authenticator = environment.authenticator
        let client = connection.peerHost
        isBusy = true
        connection.pauseReading()
        connection.offload({ authenticator.authenticate(username: username, password: password, clientAddress: client) }) {
            [self] result in
            guard case .success(let outcome) = result else {
                fail(.sysTemp, "Login is not possible right now; try again later")
                endWork()
                return
            }
            switch outcome {
            case .success(let address, let cached):
                logger.info("login", metadata: ["account": "\(address)", "client": "\(client)", "cached": "\(cached)"])
                openMaildrop(address.description)
            case .passwordExpired(let address):
                logger.notice("login refused: password must be changed", metadata: ["account": "\(address)", "client": "\(client)"])
                bad("Your password has expired and must be changed; ask your administrator", code: .auth)
                endWork()
            case .failed(let reason, let delay, let newBlock):
                logger.notice("login failed", metadata: ["user": "\(username)", "client": "\(client)", "reason": "\(reason.rawValue)"])
                if let newBlock {
                    logger.warning("login blocked", metadata: ["client": "\(client)", "account": "\(username)", "scope": "\(newBlock)"])
                }
                // The throttle's delay: paused input keeps the client's next command waiting too.
                connection.schedule(after: delay) { [self] in
                    bad("Invalid user name or password", code: .auth)
                    endWork()
                }
            case .blocked(let scope):
                logger.notice("login refused: blocked", metadata: ["client": "\(client)", "account": "\(username)", "scope": "\(scope)"])
                bad("Too many failed logins; try again later", code: .sysTemp)
                endWork()
            }
        }
    }

    /// RFC 1939 §8: lock the maildrop, then open the store and take INBOX's snapshot (message numbers for the session).
    private func openMaildrop(_ address: String) {
        guard environment.locks.lock(address) else {
            logger.notice("login refused: maildrop in use", metadata: ["account": "\(address)"])
            fail(.inUse, "Your mailbox is in use by another POP3 session; try again later")
            endWork()
            return
        }
        lockedAccount = address
        let stores = environment.stores
        let hold = storeHold
        connection.offload({ () throws -> (AccountStore, MailboxSnapshot)? in
            let store = try stores.acquire(address)
            guard hold.adopt(address) else {
                stores.release(address)
                return nil
            }
            guard let inbox = try store.mailbox(named: "INBOX") else { throw StoreError.mailboxNotFound("INBOX") }
            return (store, try store.snapshot(inbox.id))
        }) { [self] result in
            switch result {
            case .success(let opened?):
                store = opened.0
                maildrop = Maildrop(opened.1)
                state = .transaction
                connection.setIdleTimeout(configuration.idleTimeout)
                let totals = maildrop!.totals
                ok("Logged in; \(totals.count) messages (\(totals.octets) octets)")
            case .success(nil):
                break  // the connection closed meanwhile
            case .failure(let failure):
                logger.error("cannot open mail store", metadata: ["account": "\(address)", "error": "\(failure)"])
                leaveMaildrop()
                fail(.sysTemp, "Your mailbox cannot be opened right now; try again later")
            }
            endWork()
        }
    }
}
