// The mail protocol listeners. Until the IMAP and SMTP sessions land (issues 5 and 6), a connection to these
// ports gets the protocol's own "service not available" reply and is closed, so a mail program shows a clear
// message instead of hanging: IMAP `* BYE [UNAVAILABLE]` (RFC 5530), SMTP `421 4.3.2` (RFC 5321 §3.8, RFC 3463).

import Logging
import TernCore

enum MailProtocol: Sendable {
    case imap
    case smtp
}

struct UnavailableMailService: ConnectionHandlerFactory {
    let proto: MailProtocol
    let hostname: String

    func makeHandler() -> any ConnectionHandler { UnavailableMailHandler(reply: greeting) }

    private var greeting: [UInt8] {
        switch proto {
        case .imap: return Array("* BYE [UNAVAILABLE] Tern IMAP is not available in this build yet\r\n".utf8)
        case .smtp: return Array("421 4.3.2 \(hostname) Tern SMTP is not available in this build yet\r\n".utf8)
        }
    }

    func refusal(_ reason: ConnectionRefusal) -> [UInt8]? {
        let text: String
        switch (proto, reason) {
        case (.imap, .shuttingDown): text = "* BYE [UNAVAILABLE] Server shutting down\r\n"
        case (.imap, _): text = "* BYE [UNAVAILABLE] Too many connections, try again later\r\n"
        case (.smtp, .shuttingDown): text = "421 4.3.2 \(hostname) Server shutting down\r\n"
        case (.smtp, _): text = "421 4.7.0 \(hostname) Too many connections, try again later\r\n"
        }
        return Array(text.utf8)
    }
}

private final class UnavailableMailHandler: ConnectionHandler {
    let reply: [UInt8]
    init(reply: [UInt8]) { self.reply = reply }
    func connectionDidBecomeActive(_ connection: any ConnectionContext) {
        connection.write(reply)
        connection.close()
    }
    func connection(_ connection: any ConnectionContext, didReceive frame: Frame) {}
    func connectionDidTimeOut(_ connection: any ConnectionContext) {}
    func connectionShouldShutDown(_ connection: any ConnectionContext) { connection.close() }
    func connectionDidClose(_ connection: any ConnectionContext, reason: CloseReason) {}
}
