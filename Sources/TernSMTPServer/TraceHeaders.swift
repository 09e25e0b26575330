// Header fields the SMTP server adds: Received (RFC 5321 §4.4, with the RFC 3848 protocol names), Return-Path and
// Delivered-To at final delivery, and the Message-ID and Date a submission server supplies when the client left
// them out (RFC 6409 §8). Pure functions of their inputs, so they can be tested exactly.

import TernAuth
import TernMIME
import TernSMTPCore

enum TraceHeaders {
    struct Received {
        var heloName: String?
        var clientAddress: String?
        var hostname: String
        /// `ESMTP`, `ESMTPS`, `ESMTPSA`, `SMTP`… (RFC 3848).
        var protocolName: String
        var tlsDescription: String?
        var id: String
        var recipient: String?
        var date: Int64
    }

    /// `Received: from helo ([ip]) by host (Tern) with ESMTPSA (TLS…) id X for <rcpt>; date`, folded.
    static func received(_ info: Received) -> [UInt8] {
        var text = "Received:"
        if let helo = info.heloName {
            text += " from \(sanitized(helo))"
            if let address = info.clientAddress { text += " ([\(address)])" }
            text += "\r\n\t"
        } else {
            text += " "
        }
        text += "by \(info.hostname) (Tern) with \(info.protocolName)"
        if let tls = info.tlsDescription { text += "\r\n\t(\(sanitized(tls)))" }
        text += "\r\n\tid \(info.id)"
        if let recipient = info.recipient { text += "\r\n\tfor <\(sanitized(recipient))>" }
        text += "; \(rfc5322Date(info.date))\r\n"
        return Array(text.utf8)
    }

    /// Return-Path and Delivered-To, added when a message reaches a mailbox.
    static func finalDelivery(sender: ReversePath, recipient: EmailAddress) -> [UInt8] {
        Array("Return-Path: <\(sanitized(sender.description))>\r\nDelivered-To: \(recipient)\r\n".utf8)
    }

    /// Keeps header text on one line and free of characters that would end a comment or a field.
    static func sanitized(_ text: String) -> String {
        String(text.unicodeScalars.map { $0.value < 0x20 || $0 == "(" || $0 == ")" || $0 == "<" || $0 == ">" ? "_" : Character($0) })
    }

    /// `Sun, 22 Nov 2026 01:23:45 +0000` for seconds since 1970 (UTC).
    static func rfc5322Date(_ seconds: Int64) -> String {
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let secondOfDay = seconds - days * 86400
        // Howard Hinnant's civil-from-days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        let weekday = Int((days % 7 + 11) % 7)  // 1970-01-01 was a Thursday.
        let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(weekdays[weekday]), \(day) \(months[Int(month) - 1]) \(year) "
            + "\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)) +0000"
    }

    /// What a submission server checks and completes in the client's header.
    struct SubmittedHeader {
        /// Addresses in From: (lower-cased `local@domain`), empty if there is no From:.
        var fromAddresses: [String]
        /// From: fields that could not be read as addresses.
        var unreadableFrom: Bool
        var hasMessageID: Bool
        var hasDate: Bool
    }

    static func inspect(_ message: [UInt8]) -> SubmittedHeader {
        let (header, _) = MessageHeader.parse(message)
        var addresses: [String] = []
        var unreadable = false
        for field in header.fields(named: "From") {
            let parsed = Address.parseList(header.rawValue(of: field))
            // The parser fills gaps with MISSING_MAILBOX / MISSING_DOMAIN (the IMAP ENVELOPE convention).
            let specs = parsed.filter { !$0.isGroupStart && !$0.isGroupEnd }.compactMap(\.addressSpec)
            if specs.isEmpty || specs.contains(where: { !$0.contains("@") || $0.hasPrefix("MISSING_MAILBOX@") || $0.hasSuffix("@MISSING_DOMAIN") }) {
                unreadable = true
            }
            addresses += specs.map { $0.lowercased() }
        }
        return SubmittedHeader(fromAddresses: addresses, unreadableFrom: unreadable,
                               hasMessageID: !header.fields(named: "Message-ID").isEmpty,
                               hasDate: !header.fields(named: "Date").isEmpty)
    }
}
