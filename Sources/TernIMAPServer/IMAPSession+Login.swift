// LOGIN and AUTHENTICATE (PLAIN with SASL-IR, LOGIN): only over TLS; the check runs on the blocking pool through
// the shared Authenticator (throttle, verified-login cache, crypt(3)); failures wait the throttle's delay before the
// reply. Never logged: passwords, SASL payloads.

import Logging
import TernAuth
import TernCore
import TernIMAPCore
import TernStore

extension IMAPSession {
    func login(tag: Tag, user: [UInt8], password: [UInt8]) {
        guard state == .notAuthenticated else {
            send("\(tag) BAD Already logged in")
            return
        }
        guard connection.isSecure else {
            send("\(tag) NO [PRIVACYREQUIRED] Use STARTTLS before logging in")
            return
        }
        guard let username = String(validating: user, as: UTF8.self), let secret = String(validating: password, as: UTF8.self) else {
            send("\(tag) NO [AUTHENTICATIONFAILED] Invalid credentials")
            return
        }
        checkCredentials(tag: tag, username: username, password: secret)
    }

    func authenticate(tag: Tag, mechanism: String, initialResponse: [UInt8]?) {
        guard state == .notAuthenticated else {
            send("\(tag) BAD Already logged in")
            return
        }
        guard connection.isSecure else {
            send("\(tag) NO [PRIVACYREQUIRED] Use STARTTLS before logging in")
            return
        }
        switch mechanism {
        case "PLAIN":
            if let initialResponse {
                saslPlain(tag: tag, response: initialResponse == [UInt8(ascii: "=")] ? [] : initialResponse)
            } else {
                mode = .sasl(tag: tag, mechanism: .plain)
                send("+ ")
            }
        case "LOGIN":
            if let initialResponse {
                saslLoginUsername(tag: tag, response: initialResponse)
            } else {
                mode = .sasl(tag: tag, mechanism: .loginUsername)
                send("+ " + SASLLogin.usernameChallenge)
            }
        default:
            send("\(tag) NO [CANNOT] Unsupported authentication mechanism")
        }
    }

    func continueSASL(tag: Tag, mechanism: SASLMechanism, frame: Frame) {
        mode = .commands
        guard case .line(let line) = frame else {
            send("\(tag) BAD SASL response too long")
            return
        }
        if line == Array("*".utf8) {
            send("\(tag) BAD Authentication cancelled")
            return
        }
        switch mechanism {
        case .plain:
            saslPlain(tag: tag, response: line)
        case .loginUsername:
            saslLoginUsername(tag: tag, response: line)
        case .loginPassword(let username):
            do throws(SASLError) {
                let password = try SASLLogin.decodeStep(line)
                checkCredentials(tag: tag, username: username, password: password)
            } catch {
                send("\(tag) BAD \(error)")
            }
        }
    }

    private func saslPlain(tag: Tag, response: [UInt8]) {
        do throws(SASLError) {
            let credentials = try SASLPlain.decode(response)
            checkCredentials(tag: tag, username: credentials.username, password: credentials.password)
        } catch {
            switch error {
            case .cancelled: send("\(tag) BAD Authentication cancelled")
            case .authorizationIdentityNotAllowed: send("\(tag) NO [AUTHORIZATIONFAILED] Cannot act as another user")
            default: send("\(tag) BAD \(error)")
            }
        }
    }

    private func saslLoginUsername(tag: Tag, response: [UInt8]) {
        do throws(SASLError) {
            let username = try SASLLogin.decodeStep(response)
            mode = .sasl(tag: tag, mechanism: .loginPassword(username: username))
            send("+ " + SASLLogin.passwordChallenge)
        } catch {
            send("\(tag) BAD \(error)")
        }
    }

    private func checkCredentials(tag: Tag, username: String, password: String) {
        let authenticator = environment.authenticator
        let client = connection.peerHost
        perform({ authenticator.authenticate(username: username, password: password, clientAddress: client) }) { [self] result in
            guard case .success(let outcome) = result else {
                finish("\(tag) NO [UNAVAILABLE] Login is not possible right now")
                return
            }
            switch outcome {
            case .success(let address, let cached):
                logger.info("login", metadata: ["account": "\(address)", "client": "\(client)", "cached": "\(cached)"])
                openAccount(tag: tag, address: address.description)
            case .passwordExpired(let address):
                logger.notice("login refused: password must be changed",
                              metadata: ["account": "\(address)", "client": "\(client)"])
                finish("\(tag) NO [EXPIRED] Your password has expired and must be changed; ask your administrator")
            case .failed(let reason, let delay, let newBlock):
                logger.notice("login failed", metadata: ["user": "\(username)", "client": "\(client)", "reason": "\(reason.rawValue)"])
                if let newBlock {
                    logger.warning("login blocked", metadata: ["client": "\(client)", "account": "\(username)", "scope": "\(newBlock)"])
                }
                connection.schedule(after: delay) { [self] in
                    finish("\(tag) NO [AUTHENTICATIONFAILED] Invalid user name or password")
                }
            case .blocked(let scope):
                logger.notice("login refused: blocked", metadata: ["client": "\(client)", "account": "\(username)", "scope": "\(scope)"])
                finish("\(tag) NO [UNAVAILABLE] Too many failed logins; try again later")
            }
        }
    }

    private func openAccount(tag: Tag, address: String) {
        guard environment.sessionCounts.enter(address, limit: environment.configuration.maxSessionsPerAccount) else {
            logger.notice("login refused: too many sessions", metadata: ["account": "\(address)"])
            finish("\(tag) NO [LIMIT] Too many open sessions for this account")
            return
        }
        account = address
        let stores = environment.stores
        let directory = environment.authenticator.directory
        perform({ () throws -> (AccountStore, Quota) in
            let store = try stores.acquire(address)
            do {
                try store.ensureStandardMailboxes()
            } catch {
                stores.release(address)
                throw error
            }
            var quota = Quota()
            if let email = try? EmailAddress(parsing: address), let record = try? directory.account(email) {
                quota = Quota(maxBytes: record.quotaBytes, maxMessages: record.quotaMessages)
            }
            return (store, quota)
        }) { [self] result in
            switch result {
            case .success(let (store, quota)):
                self.store = store
                self.quota = quota
                state = .authenticated
                connection.setIdleTimeout(environment.configuration.idleTimeout)
                let waker = connection.makeWaker { [weak self] in self?.storeChanged() }
                let notifyChanges = notifyChanges
                subscription = store.changes.subscribe { change in
                    notifyChanges.record(change)
                    waker.wake()
                }
                finish("\(tag) OK [CAPABILITY \(capabilities.joined(separator: " "))] Logged in")
            case .failure(let error):
                environment.sessionCounts.leave(address)
                account = nil
                logger.error("cannot open mail store", metadata: ["account": "\(address)", "error": "\(error)"])
                finish("\(tag) NO [UNAVAILABLE] Your mailbox cannot be opened right now; try again later")
            }
        }
    }
}
