// AUTH (RFC 4954) with PLAIN (RFC 4616, initial response allowed) and LOGIN, on submission over TLS only. The
// check itself (throttle, login cache, crypt) is the Authenticator's, shared with IMAP, so failures from both
// protocols count together and the log lines are the same.

import Logging
import TernAuth
import TernCore
import TernSMTPCore

extension SMTPSession {
    func auth(mechanism: String, initialResponse: String?) {
        guard mode == .submission else {
            junk(SMTPReply(502, EnhancedStatus(5, 5, 1), "AUTH is not available on this port; use submission (587 or 465)"))
            return
        }
        guard heloName != nil else {
            junk(SMTPReply(503, EnhancedStatus(5, 5, 1), "Send EHLO first"))
            return
        }
        guard connection.isSecure else {
            junk(SMTPReply(538, EnhancedStatus(5, 7, 11), "Encryption required for requested authentication mechanism; use STARTTLS"))
            return
        }
        guard account == nil else {
            junk(SMTPReply(503, EnhancedStatus(5, 5, 1), "Already authenticated"))
            return
        }
        guard transaction == nil else {
            junk(SMTPReply(503, EnhancedStatus(5, 5, 1), "AUTH is not allowed during a mail transaction"))
            return
        }
        switch mechanism {
        case "PLAIN":
            if let initialResponse {
                // "=" is an empty initial response (RFC 4954 §4): ask for it again.
                if initialResponse == "=" {
                    input = .sasl(.plain)
                    reply(SMTPReply(334, nil, ""))
                } else {
                    continueSASL(.plain, response: Array(initialResponse.utf8))
                }
            } else {
                input = .sasl(.plain)
                reply(SMTPReply(334, nil, ""))
            }
        case "LOGIN":
            if let initialResponse, initialResponse != "=" {
                continueSASL(.loginUsername, response: Array(initialResponse.utf8))
            } else {
                input = .sasl(.loginUsername)
                reply(SMTPReply(334, nil, SASLLogin.usernameChallenge))
            }
        default:
            junk(SMTPReply(504, EnhancedStatus(5, 5, 4), "Unrecognized authentication mechanism; use PLAIN or LOGIN"))
        }
    }

    func continueSASL(_ step: SASLStep, response: [UInt8]) {
        input = .commands
        do throws(SASLError) {
            switch step {
            case .plain:
                let credentials = try SASLPlain.decode(response)
                check(username: credentials.username, password: credentials.password)
            case .loginUsername:
                let username = try SASLLogin.decodeStep(response)
                input = .sasl(.loginPassword(username: username))
                reply(SMTPReply(334, nil, SASLLogin.passwordChallenge))
            case .loginPassword(let username):
                check(username: username, password: try SASLLogin.decodeStep(response))
            }
        } catch {
            switch error {
            case .cancelled: junk(SMTPReply(501, EnhancedStatus(5, 7, 0), "Authentication cancelled"))
            default: junk(SMTPReply(501, EnhancedStatus(5, 5, 2), "Cannot decode the response: \(error)"))
            }
        }
    }

    private func check(username: String, password: String) {
        let authenticator = environment.authenticator
        let client = connection.peerHost
        perform({ () -> (AuthOutcome, Set<String>) in
            let outcome = authenticator.authenticate(username: username, password: password, clientAddress: client)
            guard case .success(let address, _) = outcome else { return (outcome, []) }
            // The senders this account may use, read once per session (RFC 6409 §6.1).
            let senders = (try? authenticator.directory.allowedSenders(address)) ?? [address]
            return (outcome, Set(senders.map(\.description)))
        }) { [self] result in
            guard case .success(let (outcome, senders)) = result else {
                reply(SMTPReply(454, EnhancedStatus(4, 7, 0), "Temporary authentication failure; try again"))
                return
            }
            switch outcome {
            case .success(let address, let cached):
                logger.info("login", metadata: ["account": "\(address)", "client": "\(client)", "cached": "\(cached)"])
                account = address
                allowedSenders = senders
                junkCommands = 0
                reply(SMTPReply(235, EnhancedStatus(2, 7, 0), "Authentication successful"))
            case .passwordExpired(let address):
                logger.notice("login refused: password must be changed", metadata: ["account": "\(address)", "client": "\(client)"])
                junk(SMTPReply(535, EnhancedStatus(5, 7, 8),
                               "Your password has expired and must be changed; ask your administrator"))
            case .failed(let reason, let delay, let newBlock):
                logger.notice("login failed", metadata: ["user": "\(username)", "client": "\(client)", "reason": "\(reason.rawValue)"])
                if let newBlock {
                    logger.warning("login blocked", metadata: ["client": "\(client)", "account": "\(username)", "scope": "\(newBlock)"])
                }
                // The throttle's delay: paused input keeps the client's next command waiting too.
                isBusy = true
                connection.pauseReading()
                connection.schedule(after: delay) { [self] in
                    isBusy = false
                    junk(SMTPReply(535, EnhancedStatus(5, 7, 8), "Authentication credentials invalid"))
                    if shutdownRequested {
                        close(with: SMTPReply(421, EnhancedStatus(4, 3, 2), "\(hostname) Server shutting down"))
                    } else {
                        connection.resumeReading()
                    }
                }
            case .blocked(let scope):
                logger.notice("login refused: blocked", metadata: ["client": "\(client)", "account": "\(username)", "scope": "\(scope)"])
                junk(SMTPReply(454, EnhancedStatus(4, 7, 0), "Too many failed logins; try again later"))
            }
        }
    }
}
