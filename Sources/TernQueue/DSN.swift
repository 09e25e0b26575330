// Delivery status notifications (RFC 3464 report, RFC 3461 semantics, RFC 6522 multipart/report): pure
// composition with the clock, boundary and Message-ID given by the caller, so fixtures can hold exact bytes.
//
// Sent with a null envelope sender (RFC 5321 §4.5.5) by the runner; never sent for a message whose own sender is
// null. What is returned: the whole message (message/rfc822) for failures unless RET=HDRS; only the header
// (text/rfc822-headers) for delay warnings, success reports, RET=HDRS, and messages over `maxReturnedSize`.

import TernMIME
public import TernSMTPCore

public enum DSNAction: String, Sendable {
    case failed
    case delayed
    case delivered
}

/// One recipient's part of a report.
public struct DSNRecipient: Sendable {
    public var finalRecipient: SMTPMailbox
    /// ORCPT as given (type and decoded address).
    public var originalRecipient: (type: String, address: String)?
    public var action: DSNAction
    /// Enhanced status, `5.1.1`.
    public var status: String
    public var remoteMTA: String?
    /// The server's reply (`550 5.1.1 No such user`) or our own explanation.
    public var diagnostic: String?
    public var lastAttempt: Int64?
    /// For delayed: when the queue gives up.
    public var willRetryUntil: Int64?

    public init(finalRecipient: SMTPMailbox, originalRecipient: (type: String, address: String)? = nil, action: DSNAction,
                status: String, remoteMTA: String? = nil, diagnostic: String? = nil, lastAttempt: Int64? = nil,
                willRetryUntil: Int64? = nil) {
        self.finalRecipient = finalRecipient
        self.originalRecipient = originalRecipient
        self.action = action
        self.status = status
        self.remoteMTA = remoteMTA
        self.diagnostic = diagnostic
        self.lastAttempt = lastAttempt
        self.willRetryUntil = willRetryUntil
    }
}

public struct DSNReport: Sendable {
    /// This server's host name (Reporting-MTA, From: MAILER-DAEMON@…).
    public var reportingMTA: String
    /// Who gets the report: the original envelope sender.
    public var recipient: SMTPMailbox
    public var envelopeID: String?
    public var arrival: Int64
    public var recipients: [DSNRecipient]
    /// RET from the original MAIL FROM (nil: not given).
    public var ret: DSNReturn?
    public var originalMessage: [UInt8]
    /// The report's Date.
    public var date: Int64
    public var boundary: String
    /// With angle brackets.
    public var messageID: String
    /// Larger originals are returned as headers only.
    public var maxReturnedSize = 10 * 1024 * 1024

    public init(reportingMTA: String, recipient: SMTPMailbox, envelopeID: String?, arrival: Int64,
                recipients: [DSNRecipient], ret: DSNReturn?, originalMessage: [UInt8], date: Int64, boundary: String,
                messageID: String) {
        self.reportingMTA = reportingMTA
        self.recipient = recipient
        self.envelopeID = envelopeID
        self.arrival = arrival
        self.recipients = recipients
        self.ret = ret
        self.originalMessage = originalMessage
        self.date = date
        self.boundary = boundary
        self.messageID = messageID
    }

    private var hasFailures: Bool { recipients.contains { $0.action == .failed } }

    public var subject: String {
        if hasFailures { return "Undelivered Mail Returned to Sender" }
        if recipients.contains(where: { $0.action == .delayed }) { return "Delayed Mail (still being retried)" }
        return "Successful Mail Delivery Report"
    }

    /// Whether the whole original goes back (otherwise its header only).
    public var returnsFullMessage: Bool {
        hasFailures && ret != .headers && originalMessage.count <= maxReturnedSize
    }

    /// The report as a message, CRLF line endings.
    public func render() -> [UInt8] {
        var out = ""
        func line(_ text: String = "") { out += text + "\r\n" }
        line("From: Mail Delivery System <MAILER-DAEMON@\(reportingMTA)>")
        line("To: <\(recipient)>")
        line("Subject: \(subject)")
        line("Date: \(Self.rfc5322Date(date))")
        line("Message-ID: \(messageID)")
        line("Auto-Submitted: auto-replied")
        line("MIME-Version: 1.0")
        line("Content-Type: multipart/report; report-type=delivery-status;")
        line("\tboundary=\"\(boundary)\"")
        line()
        line("This is a MIME-encapsulated message.")
        line()
        line("--\(boundary)")
        line("Content-Description: Notification")
        line("Content-Type: text/plain; charset=utf-8")
        line("Content-Transfer-Encoding: 8bit")
        line()
        line("This is the mail delivery system at \(reportingMTA).")
        for action in [DSNAction.failed, .delayed, .delivered] {
            let group = recipients.filter { $0.action == action }
            guard !group.isEmpty else { continue }
            line()
            switch action {
            case .failed: line("Your message could not be delivered to these recipients:")
            case .delayed: line("Your message has not been delivered yet to these recipients:")
            case .delivered: line("Your message was delivered to these recipients:")
            }
            line()
            for recipient in group {
                var text = "  <\(recipient.finalRecipient)>"
                if let diagnostic = recipient.diagnostic { text += ": \(Self.clean(diagnostic))" }
                if let mta = recipient.remoteMTA { text += " (\(Self.clean(mta)))" }
                line(text)
            }
            if action == .delayed, let until = group.compactMap(\.willRetryUntil).max() {
                line()
                line("Delivery will be tried until \(Self.rfc5322Date(until)). You do not need to send it again.")
            }
        }
        line()
        line(returnsFullMessage ? "Your message is attached." : "The header of your message is attached.")
        line()
        line("--\(boundary)")
        line("Content-Description: Delivery report")
        line("Content-Type: message/delivery-status")
        line()
        line("Reporting-MTA: dns; \(reportingMTA)")
        if let envelopeID { line("Original-Envelope-Id: \(Self.clean(envelopeID))") }
        line("Arrival-Date: \(Self.rfc5322Date(arrival))")
        for recipient in recipients {
            line()
            if let original = recipient.originalRecipient {
                line("Original-Recipient: \(Self.clean(original.type)); \(Self.clean(original.address))")
            }
            let type = recipient.finalRecipient.isInternationalized ? "utf-8" : "rfc822"
            line("Final-Recipient: \(type); \(recipient.finalRecipient)")
            line("Action: \(recipient.action.rawValue)")
            line("Status: \(recipient.status)")
            if let mta = recipient.remoteMTA { line("Remote-MTA: dns; \(Self.clean(mta))") }
            if let diagnostic = recipient.diagnostic {
                // "smtp" for a server's reply; our own explanations (connection refused…) get an X- type.
                let isReply = diagnostic.utf8.count >= 3 && diagnostic.utf8.prefix(3).allSatisfy { (0x30...0x39).contains($0) }
                line("Diagnostic-Code: \(isReply ? "smtp" : "X-Tern"); \(Self.clean(diagnostic))")
            }
            if let last = recipient.lastAttempt { line("Last-Attempt-Date: \(Self.rfc5322Date(last))") }
            if let until = recipient.willRetryUntil { line("Will-Retry-Until: \(Self.rfc5322Date(until))") }
        }
        line()
        line("--\(boundary)")
        var bytes = Array(out.utf8)
        if returnsFullMessage {
            line("Content-Description: Undelivered message")
            line("Content-Type: message/rfc822")
            line()
            bytes = Array(out.utf8) + originalMessage
            if !originalMessage.isEmpty && originalMessage.last != 10 { bytes += Array("\r\n".utf8) }
        } else {
            line("Content-Description: Message header")
            line("Content-Type: text/rfc822-headers")
            line()
            bytes = Array(out.utf8) + Self.header(of: originalMessage)
        }
        bytes += Array("\r\n--\(boundary)--\r\n".utf8)
        return bytes
    }

    /// The original's header, up to and including its ending blank line.
    static func header(of message: [UInt8]) -> [UInt8] {
        var index = 0
        while index < message.count {
            if message[index] == 10 {
                if index + 1 < message.count, message[index + 1] == 10 { return Array(message[...index]) }
                if index + 2 < message.count, message[index + 1] == 13, message[index + 2] == 10 {
                    return Array(message[...index])
                }
            }
            index += 1
        }
        var whole = message
        if !whole.isEmpty && whole.last != 10 { whole += Array("\r\n".utf8) }
        return whole
    }

    /// One header line's worth of text: control characters become spaces, at most 900 bytes.
    static func clean(_ text: String) -> String {
        var result = String(String.UnicodeScalarView(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? " " : $0 }))
        if result.utf8.count > 900 { result = String(decoding: result.utf8.prefix(900), as: UTF8.self) }
        return result
    }

    /// `Tue, 01 Jul 2025 12:00:00 +0000` (RFC 5322 §3.3), in UTC.
    public static func rfc5322Date(_ seconds: Int64) -> String { MessageDate.rfc5322(seconds) }
}

extension DSNNotify {
    /// What to do without NOTIFY (RFC 3461 §4.1: failures and, at the MTA's choice, delays are reported).
    static let implicit: DSNNotify = [.failure, .delay]
}
