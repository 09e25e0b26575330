// What an IMAP account holds, as seen over the wire by any server (Dovecot, Tern): every mailbox LIST shows, and for
// each selectable one its messages as (SHA-256 of BODY[], RFC822.SIZE, flags, INTERNALDATE in epoch seconds). A
// migration test takes one of the old server and one of Tern and compares them.
//
// Invariants:
// - Read-only: mailboxes are opened with EXAMINE and bodies fetched with BODY.PEEK[], so taking a snapshot changes no
//   flag (\Seen stays as it was) and can be repeated.
// - Bodies are read as literals of their announced size (IMAPTestClient.readResponse, IMAPResponseScanner): the
//   digest is of the exact bytes the server sent.
// - Flags are normalized the same way everywhere (`normalizedFlags`): \Recent dropped (it belongs to a session, not
//   to the message), system flags in their RFC spelling, sorted, no duplicates. Keywords keep their case.
// - Messages are fetched in ranges of sequence numbers (one round trip per `batchSize` messages, not per message).

import TernCore
import TernTLS

public struct IMAPMailSnapshot: Sendable, Equatable, CustomStringConvertible {
    public enum Security: Sendable, CustomStringConvertible {
        /// TLS from the first byte (imaps, port 993 style).
        case implicitTLS
        /// Plaintext, then STARTTLS before LOGIN.
        case startTLS
        /// Plaintext throughout (loopback tests only).
        case plaintext

        public var description: String {
            switch self {
            case .implicitTLS: return "implicit TLS"
            case .startTLS: return "STARTTLS"
            case .plaintext: return "plaintext"
            }
        }
    }

    /// One message, without anything that depends on the server (no UID, no sequence number).
    public struct Message: Sendable, Hashable, CustomStringConvertible {
        /// SHA-256 of the message's bytes (BODY[]), 64 lower-case hex digits.
        public var sha256: String
        /// RFC822.SIZE as the server reported it (for a correct server, the number of bytes of BODY[]).
        public var size: Int
        /// Normalized (see `IMAPMailSnapshot.normalizedFlags`).
        public var flags: [String]
        /// INTERNALDATE as seconds since 1970-01-01 00:00:00 UTC (a server may answer in another time zone than
        /// the one the date was given in).
        public var internalDate: Int64

        public init(sha256: String, size: Int, flags: [String], internalDate: Int64) {
            self.sha256 = sha256
            self.size = size
            self.flags = IMAPMailSnapshot.normalizedFlags(flags)
            self.internalDate = internalDate
        }

        /// The message as a server holding exactly these bytes should report it.
        public init(bytes: [UInt8], flags: [String], internalDate: Int64) {
            self.init(sha256: IMAPMailSnapshot.hex(Crypto.sha256(bytes)), size: bytes.count, flags: flags,
                      internalDate: internalDate)
        }

        public var description: String {
            "\(sha256.prefix(12)) \(size) bytes (\(flags.joined(separator: " "))) @\(internalDate)"
        }
    }

    public struct Mailbox: Sendable, Equatable, CustomStringConvertible {
        /// The name with modified UTF-7 decoded (`Projects/Ärger`), or as sent if it does not decode.
        public var name: String
        /// The name as LIST sent it (`Projects/&AMQ-rger`).
        public var encodedName: String
        /// LIST's attributes as sent, sorted (`\HasNoChildren`, `\Sent`, `\Noselect`…), without \Marked and
        /// \Unmarked (RFC 9051 §7.3.1: whether there is new mail since the last select, which changes by looking).
        public var attributes: [String]
        public var isSelectable: Bool
        /// Whether LSUB (or LIST's \Subscribed) names it.
        public var isSubscribed: Bool
        /// The RFC 6154 special-use attribute among `attributes` (`\Sent`, `\Drafts`, `\Junk`, `\Trash`, `\Archive`,
        /// `\All`, `\Flagged`), if any.
        public var specialUse: String? {
            attributes.first { IMAPMailSnapshot.specialUseAttributes.contains($0.lowercased()) }
        }
        /// From EXAMINE; nil for a mailbox that cannot be selected.
        public var uidValidity: UInt32?
        /// The messages' UIDs, in the order of `messages`.
        public var uids: [UInt32]
        /// In UID order.
        public var messages: [Message]

        public init(name: String, encodedName: String, attributes: [String], isSelectable: Bool, isSubscribed: Bool,
                    uidValidity: UInt32?, uids: [UInt32], messages: [Message]) {
            self.name = name
            self.encodedName = encodedName
            self.attributes = attributes
            self.isSelectable = isSelectable
            self.isSubscribed = isSubscribed
            self.uidValidity = uidValidity
            self.uids = uids
            self.messages = messages
        }

        public var description: String {
            "\(name) (\(attributes.joined(separator: " ")))\(isSubscribed ? "" : " unsubscribed"): \(messages.count) messages"
        }
    }

    /// The hierarchy delimiter LIST reported (nil if the server has a flat namespace).
    public var separator: String?
    /// Every mailbox LIST "" "*" returned, sorted by name.
    public var mailboxes: [Mailbox]

    public init(separator: String?, mailboxes: [Mailbox]) {
        self.separator = separator
        self.mailboxes = mailboxes.sorted { $0.name < $1.name }
    }

    public subscript(name: String) -> Mailbox? { mailboxes.first { $0.name == name } }

    public var messageCount: Int { mailboxes.reduce(0) { $0 + $1.messages.count } }

    public var description: String {
        "\(mailboxes.count) mailboxes, \(messageCount) messages, separator \(separator ?? "NIL"):\n"
            + mailboxes.map { "  " + $0.description }.joined(separator: "\n")
    }

    // MARK: - Taking a snapshot

    /// Connects to `host:port` (`host` a numeric IPv4 address: the test client does not resolve names), logs in
    /// with LOGIN and takes the snapshot; the session is logged out afterwards. Certificates are not verified.
    public static func take(host: String = "127.0.0.1", port: UInt16, security: Security, login: String,
                            password: String, batchSize: Int = 100) throws -> IMAPMailSnapshot {
        let client = try IMAPTestClient.connect(host: host, port: port, security: security)
        try client.login(astring: login, password: password)
        let snapshot = try take(client, batchSize: batchSize)
        _ = try? client.command("LOGOUT")
        return snapshot
    }

    /// Takes the snapshot over a client that is logged in (and has no mailbox selected that it needs afterwards).
    public static func take(_ client: IMAPTestClient, batchSize: Int = 100) throws -> IMAPMailSnapshot {
        precondition(batchSize > 0)
        // RFC 9051 §6.3.9: LIST "" "*" returns every mailbox, with parents that only exist as such (\Noselect or
        // \NonExistent) where the hierarchy needs them.
        let list = try client.checked("LIST \"\" \"*\"")
        var listed: [(encodedName: String, attributes: [String], delimiter: String?)] = []
        for response in list.untaggedBytes {
            guard let entry = try parseList(response, verb: "LIST") else { continue }
            listed.append(entry)
        }
        let subscribed = try subscribedNames(client)
        var mailboxes: [Mailbox] = []
        for entry in listed {
            let lowered = Set(entry.attributes.map { $0.lowercased() })
            let selectable = !lowered.contains("\\noselect") && !lowered.contains("\\nonexistent")
            var mailbox = Mailbox(name: ModifiedUTF7.decode(entry.encodedName) ?? entry.encodedName,
                                  encodedName: entry.encodedName,
                                  attributes: entry.attributes.filter { !volatileAttributes.contains($0.lowercased()) }.sorted(),
                                  isSelectable: selectable, isSubscribed: subscribed.contains(entry.encodedName),
                                  uidValidity: nil, uids: [], messages: [])
            if selectable { try readMessages(of: &mailbox, client, batchSize: batchSize) }
            mailboxes.append(mailbox)
        }
        return IMAPMailSnapshot(separator: listed.lazy.compactMap(\.delimiter).first, mailboxes: mailboxes)
    }

    /// LSUB "" "*" (RFC 3501 §6.3.9); servers without it (IMAP4rev2 only): LIST (SUBSCRIBED) (RFC 5258 §3.1).
    private static func subscribedNames(_ client: IMAPTestClient) throws -> Set<String> {
        let lsub = try client.command("LSUB \"\" \"*\"")
        if lsub.ok {
            return Set(try lsub.untaggedBytes.compactMap { try parseList($0, verb: "LSUB")?.encodedName })
        }
        let list = try client.checked("LIST (SUBSCRIBED) \"\" \"*\"")
        return Set(try list.untaggedBytes.compactMap { response in
            guard let entry = try parseList(response, verb: "LIST"),
                  entry.attributes.contains(where: { $0.lowercased() == "\\subscribed" }) else { return nil }
            return entry.encodedName
        })
    }

    // RFC 9051 §9: mailbox-list = "(" [mbx-list-flags] ")" SP (DQUOTE QUOTED-CHAR DQUOTE / nil) SP mailbox
    //              [SP mbox-list-extended]
    private static func parseList(_ response: [UInt8], verb: String) throws
        -> (encodedName: String, attributes: [String], delimiter: String?)? {
        let prefix = Array("* \(verb) ".utf8)
        guard response.count > prefix.count,
              response[..<prefix.count].map({ $0 | 0x20 }) == prefix.map({ $0 | 0x20 }) else { return nil }
        var scanner = IMAPResponseScanner(response, offset: prefix.count)
        guard case .list(let flags) = try scanner.value() else {
            throw IMAPTestClientError.unexpected("\(verb) attributes", String(decoding: response, as: UTF8.self))
        }
        let delimiter = try scanner.value()
        guard let name = try scanner.value().text else {
            throw IMAPTestClientError.unexpected("\(verb) mailbox name", String(decoding: response, as: UTF8.self))
        }
        return (name, flags.compactMap(\.text), delimiter.text)
    }

    private static func readMessages(of mailbox: inout Mailbox, _ client: IMAPTestClient, batchSize: Int) throws {
        let examine = try client.checked("EXAMINE", argument: mailbox.encodedName)
        var exists = 0
        for line in examine.untagged {
            let words = line.split(separator: " ")
            if words.count >= 3, words[0] == "*", words[2].uppercased() == "EXISTS", let count = Int(words[1]) {
                exists = count
            }
            let upper = line.uppercased()
            if let range = upper.firstRange(of: "[UIDVALIDITY "), let end = upper[range.upperBound...].firstIndex(of: "]") {
                mailbox.uidValidity = UInt32(upper[range.upperBound..<end])
            }
        }
        var first = 1
        while first <= exists {
            let last = min(first + batchSize - 1, exists)
            let fetch = try client.checked("FETCH \(first):\(last) (UID RFC822.SIZE FLAGS INTERNALDATE BODY.PEEK[])")
            var found: [Int: FetchedMessage] = [:]
            for response in fetch.untaggedBytes {
                guard let (sequence, items) = try parseFetch(response) else { continue }
                found[sequence, default: FetchedMessage()].merge(items)
            }
            for sequence in first...last {
                guard let message = found[sequence], let uid = message.uid, let size = message.size,
                      let flags = message.flags, let date = message.internalDate, let digest = message.sha256 else {
                    throw IMAPTestClientError.unexpected(
                        "UID, RFC822.SIZE, FLAGS, INTERNALDATE and BODY[] of message \(sequence) in \(mailbox.name)",
                        String(describing: found[sequence]))
                }
                mailbox.uids.append(uid)
                mailbox.messages.append(Message(sha256: digest, size: size, flags: flags, internalDate: date))
            }
            first = last + 1
        }
        guard zip(mailbox.uids, mailbox.uids.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw IMAPTestClientError.unexpected("ascending UIDs in \(mailbox.name)", "\(mailbox.uids)")
        }
    }

    private struct FetchedMessage {
        var uid: UInt32?
        var size: Int?
        var flags: [String]?
        var internalDate: Int64?
        var sha256: String?

        mutating func merge(_ other: FetchedMessage) {
            uid = other.uid ?? uid
            size = other.size ?? size
            flags = other.flags ?? flags
            internalDate = other.internalDate ?? internalDate
            sha256 = other.sha256 ?? sha256
        }
    }

    // RFC 9051 §9: message-data = nz-number SP ("EXPUNGE" / ("FETCH" SP msg-att)); msg-att = "(" (msg-att-dynamic /
    // msg-att-static) *(SP (msg-att-dynamic / msg-att-static)) ")"
    private static func parseFetch(_ response: [UInt8]) throws -> (Int, FetchedMessage)? {
        var scanner = IMAPResponseScanner(response)
        let malformed = { IMAPTestClientError.unexpected("a FETCH response", String(decoding: response.prefix(300), as: UTF8.self)) }
        guard case .atom("*") = try scanner.value(), let sequence = try scanner.value().number,
              case .atom(let verb) = try scanner.value(), verb.uppercased() == "FETCH" else { return nil }
        guard case .list(let items) = try scanner.value(), items.count % 2 == 0 else { throw malformed() }
        var message = FetchedMessage()
        for index in stride(from: 0, to: items.count, by: 2) {
            guard let name = items[index].text?.uppercased() else { throw malformed() }
            let value = items[index + 1]
            switch name {
            case "UID":
                guard let uid = value.number, let small = UInt32(exactly: uid) else { throw malformed() }
                message.uid = small
            case "RFC822.SIZE":
                guard let size = value.number else { throw malformed() }
                message.size = Int(size)
            case "FLAGS":
                guard case .list(let flags) = value else { throw malformed() }
                message.flags = flags.compactMap(\.text)
            case "INTERNALDATE":
                guard let text = value.text, let seconds = epochSeconds(internalDate: text) else { throw malformed() }
                message.internalDate = seconds
            case "BODY[]":
                guard case .string(let bytes) = value else { throw malformed() }
                message.sha256 = hex(Crypto.sha256(bytes))
            default:
                continue
            }
        }
        return (Int(sequence), message)
    }

    // MARK: - Normalization

    static let volatileAttributes: Set<String> = ["\\marked", "\\unmarked"]
    static let specialUseAttributes: Set<String> = ["\\all", "\\archive", "\\drafts", "\\flagged", "\\junk", "\\sent", "\\trash"]
    private static let systemFlags = ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"]

    /// Flags as compared: \Recent dropped, system flags spelled as in RFC 9051 §2.3.2 whatever case the server used,
    /// keywords as sent, sorted, without duplicates.
    public static func normalizedFlags(_ flags: [String]) -> [String] {
        var result = Set<String>()
        for flag in flags {
            if flag.lowercased() == "\\recent" { continue }
            result.insert(systemFlags.first { $0.lowercased() == flag.lowercased() } ?? flag)
        }
        return result.sorted()
    }

    private static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    // RFC 9051 §9: date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE;
    // date-day-fixed = (SP DIGIT) / 2DIGIT; zone = ("+" / "-") 4DIGIT
    /// Seconds since the epoch of an INTERNALDATE value (without its quotes), nil if malformed.
    public static func epochSeconds(internalDate text: String) -> Int64? {
        let parts = text.split(separator: " ")
        guard parts.count == 3 else { return nil }
        let date = parts[0].split(separator: "-"), time = parts[1].split(separator: ":"), zone = parts[2]
        guard date.count == 3, time.count == 3, zone.count == 5, let day = Int64(date[0]),
              let month = months.firstIndex(of: date[1].lowercased()), let year = Int64(date[2]),
              let hour = Int64(time[0]), let minute = Int64(time[1]), let second = Int64(time[2]),
              let zoneDigits = Int64(zone.dropFirst()), zone.first == "+" || zone.first == "-",
              (1...31).contains(day), (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second)
        else { return nil }
        let offset = (zoneDigits / 100 * 60 + zoneDigits % 100) * 60 * (zone.first == "-" ? -1 : 1)
        let days = CivilDate.daysSinceEpoch(year: year, month: Int64(month + 1), day: day)
        return days * 86_400 + hour * 3_600 + minute * 60 + second - offset
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        var text = ""
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xf)])
        }
        return text
    }
}

/// Proleptic Gregorian calendar arithmetic (Howard Hinnant's days_from_civil / civil_from_days), so dates need no
/// Foundation calendar or time zone database.
enum CivilDate {
    static func daysSinceEpoch(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civil(daysSinceEpoch days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

extension IMAPTestClient {
    /// Connects to `host:port` (numeric IPv4) with `security` (STARTTLS done before returning, no certificate
    /// check) and reads the greeting.
    public static func connect(host: String = "127.0.0.1", port: UInt16,
                               security: IMAPMailSnapshot.Security) throws -> IMAPTestClient {
        let client = try IMAPTestClient(ListenAddress(host: host, port: port, family: .ipv4),
                                        tls: security == .implicitTLS)
        guard client.greeting.hasPrefix("* OK") || client.greeting.hasPrefix("* PREAUTH") else {
            throw IMAPTestClientError.unexpected("a greeting", client.greeting)
        }
        if security == .startTLS { try client.startTLS() }
        return client
    }

    /// LOGIN with both arguments as quoted strings (escaped; ASCII only).
    public func login(astring user: String, password: String) throws {
        _ = try checked("LOGIN \(Self.quoted(user)) \(Self.quoted(password))", what: "LOGIN")
    }

    /// Sends a command and returns its response; throws `IMAPTestClientError.refused` unless it is OK.
    @discardableResult
    public func checked(_ command: String, what: String? = nil) throws -> Response {
        let response = try self.command(command)
        guard response.ok else {
            throw IMAPTestClientError.refused(what ?? String(command.prefix(60)), response.tagged)
        }
        return response
    }

    /// `command` SP `argument`, the argument as a quoted string, or as a synchronizing literal when it holds 8-bit
    /// bytes, CR or LF (a name a UTF8=ACCEPT server sent as UTF-8); throws unless the reply is OK.
    @discardableResult
    public func checked(_ command: String, argument: String) throws -> Response {
        guard argument.utf8.allSatisfy({ $0 < 0x80 && $0 != 13 && $0 != 10 }) else {
            let bytes = Array(argument.utf8)
            let response = try self.command("\(command) {\(bytes.count)}", continuations: [bytes + [13, 10]])
            guard response.ok else { throw IMAPTestClientError.refused(command, response.tagged) }
            return response
        }
        return try checked(command + " " + Self.quoted(argument), what: command)
    }

    /// `text` as an IMAP quoted string (RFC 9051 §9: `\` and `"` escaped). Only for ASCII without CR or LF.
    public static func quoted(_ text: String) -> String {
        precondition(text.utf8.allSatisfy { $0 < 0x80 && $0 != 13 && $0 != 10 }, "not a quotable string: \(text)")
        var result = "\""
        for character in text {
            if character == "\\" || character == "\"" { result.append("\\") }
            result.append(character)
        }
        return result + "\""
    }
}
