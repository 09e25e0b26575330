// Account lists exported by other mail servers, read for `ternctl user import`.
//
// - Dovecot passwd-file (doc.dovecot.org, "Passwd-file"): `user:password:uid:gid:gecos:home:shell:extra_fields`,
//   one account a line. Only the first two fields are read; uid, home and extra fields mean nothing to Tern. Blank
//   lines and lines starting with `#` are skipped, as Dovecot skips them. As in Dovecot, a password cannot hold ':'.
// - CSV (RFC 4180): `address,password[,display name[,quota]]`. A field may be quoted ("…", a quote inside written
//   as ""), and a quoted field may hold commas and line breaks. CRLF or LF line ends. The first record is a header,
//   not an account, when its first two fields are column names (`address`/`email`/`user`… and
//   `password`/`hash`…). An unquoted field may contain a quote (spreadsheets write such files).
//
// Invariants:
// - Only splitting happens here: addresses, password fields, domains and quotas are the caller's to check.
// - An entry's (or problem's) line is the line its record starts on, counting from 1, so reports read `FILE:LINE`.
// - A problem never repeats a password field or any part of a line that could not be split (it may hold one).
// - A leading UTF-8 byte order mark (spreadsheet exports) is ignored; other than that, fields must be UTF-8.

public enum AccountListFormat: String, Sendable, CaseIterable {
    case passwd
    case csv
}

/// One account line as written: nothing is checked yet.
public struct AccountListEntry: Sendable, Equatable {
    public var line: Int
    /// A full address or a bare local part, whitespace trimmed.
    public var user: String
    /// The password field exactly as written (see `PasswordHash.imported`).
    public var password: String
    public var displayName: String
    /// As written, trimmed; empty when absent.
    public var quota: String

    public init(line: Int, user: String, password: String, displayName: String = "", quota: String = "") {
        self.line = line
        self.user = user
        self.password = password
        self.displayName = displayName
        self.quota = quota
    }
}

/// A line that cannot be split into an account.
public struct AccountListProblem: Sendable, Equatable {
    public var line: Int
    public var reason: String

    public init(line: Int, reason: String) {
        self.line = line
        self.reason = reason
    }
}

public struct AccountList: Sendable, Equatable {
    public private(set) var entries: [AccountListEntry] = []
    public private(set) var problems: [AccountListProblem] = []
    /// CSV only: the first record named the columns.
    public private(set) var hasHeader = false

    public init(parsing bytes: [UInt8], format: AccountListFormat) {
        let body = Self.droppingByteOrderMark(bytes)
        switch format {
        case .passwd: parsePasswd(body)
        case .csv: parseCSV(body)
        }
    }

    /// The format of the first line that is neither blank nor a `#` comment: a leading quote, or a ',' before any
    /// ':', means CSV; a ':' first means passwd-file. Crypt hashes hold neither character, so the separator after
    /// the user name decides. Nil when no line has either.
    public static func detectFormat(_ bytes: [UInt8]) -> AccountListFormat? {
        for line in droppingByteOrderMark(bytes).split(separator: UInt8(ascii: "\n")) {
            let text = line.drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
            guard let first = text.first, first != UInt8(ascii: "\r"), first != UInt8(ascii: "#") else { continue }
            if first == UInt8(ascii: "\"") { return .csv }
            for byte in text {
                if byte == UInt8(ascii: ":") { return .passwd }
                if byte == UInt8(ascii: ",") { return .csv }
            }
            return nil
        }
        return nil
    }

    private static func droppingByteOrderMark(_ bytes: [UInt8]) -> ArraySlice<UInt8> {
        bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? bytes.dropFirst(3) : bytes[...]
    }

    // MARK: passwd-file

    private mutating func parsePasswd(_ bytes: ArraySlice<UInt8>) {
        let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        for (index, rawLine) in lines.enumerated() {
            let number = index + 1
            let line = rawLine.last == UInt8(ascii: "\r") ? rawLine.dropLast() : rawLine
            guard let text = String(validating: line, as: UTF8.self) else {
                problems.append(AccountListProblem(line: number, reason: "the line is not valid UTF-8"))
                continue
            }
            let trimmed = text.trimmingWhitespace
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let fields = text.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count >= 2 else {
                problems.append(AccountListProblem(
                    line: number, reason: "malformed line: no ':' after the user name (expected user:password:…)"))
                continue
            }
            let user = String(fields[0]).trimmingWhitespace
            guard !user.isEmpty else {
                problems.append(AccountListProblem(
                    line: number, reason: "malformed line: no user name before the first ':'"))
                continue
            }
            entries.append(AccountListEntry(line: number, user: user, password: String(fields[1])))
        }
    }

    // MARK: CSV (RFC 4180)

    private static let addressColumns: Set<String> = ["address", "email", "e-mail", "mail", "user", "username", "login",
                                                      "account"]
    private static let passwordColumns: Set<String> = ["password", "hash", "password_hash", "password hash",
                                                       "passwordhash", "passwd", "crypt", "pass"]

    private mutating func parseCSV(_ bytes: ArraySlice<UInt8>) {
        var reader = CSVReader(bytes: bytes)
        var isFirst = true
        while let record = reader.next() {
            let fields: [String]
            switch record.fields {
            case .failure(let failure):
                problems.append(AccountListProblem(line: record.line, reason: failure.reason))
                isFirst = false
                continue
            case .success(let raw):
                // `file.csv` ending in "\n" or holding blank lines: nothing there.
                if raw.count == 1 && raw[0].allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) {
                    continue
                }
                guard let decoded = Self.decode(raw) else {
                    problems.append(AccountListProblem(line: record.line, reason: "the record is not valid UTF-8"))
                    isFirst = false
                    continue
                }
                fields = decoded
            }
            defer { isFirst = false }
            if isFirst && fields.count >= 2
                && Self.addressColumns.contains(fields[0].trimmingWhitespace.lowercased())
                && Self.passwordColumns.contains(fields[1].trimmingWhitespace.lowercased()) {
                hasHeader = true
                continue
            }
            guard (2...4).contains(fields.count) else {
                let found = fields.count == 1 ? "one field" : "\(fields.count) fields"
                problems.append(AccountListProblem(
                    line: record.line, reason: "expected address,password[,display name[,quota]] but found \(found)"))
                continue
            }
            let user = fields[0].trimmingWhitespace
            guard !user.isEmpty else {
                problems.append(AccountListProblem(line: record.line, reason: "the address field is empty"))
                continue
            }
            entries.append(AccountListEntry(
                line: record.line, user: user, password: fields[1],
                displayName: fields.count > 2 ? fields[2].trimmingWhitespace : "",
                quota: fields.count > 3 ? fields[3].trimmingWhitespace : ""))
        }
    }

    private static func decode(_ fields: [[UInt8]]) -> [String]? {
        var result: [String] = []
        for field in fields {
            guard let text = String(validating: field, as: UTF8.self) else { return nil }
            result.append(text)
        }
        return result
    }
}

/// Splits CSV bytes into records of raw fields (RFC 4180 §2), remembering the line each record starts on.
public struct CSVReader {
    public struct Record {
        public let line: Int
        public let fields: Result<[[UInt8]], Failure>
    }

    public struct Failure: Error {
        public let reason: String
    }

    private let bytes: ArraySlice<UInt8>
    private var index: Int
    private var line = 1

    public init(bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        index = bytes.startIndex
    }

    private static let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), lf = UInt8(ascii: "\n"),
                       cr = UInt8(ascii: "\r")

    /// The next record, or nil at the end of the input.
    public mutating func next() -> Record? {
        guard index < bytes.endIndex else { return nil }
        let start = line
        var fields: [[UInt8]] = []
        while true {
            var field: [UInt8] = []
            // RFC 4180 §2 rule 5-7: escaped = DQUOTE *(TEXTDATA / COMMA / CR / LF / 2DQUOTE) DQUOTE
            if index < bytes.endIndex && bytes[index] == Self.quote {
                index += 1
                while true {
                    guard index < bytes.endIndex else {
                        return Record(line: start, fields: .failure(Failure(reason: "a quoted field that starts here "
                            + "is never closed (a quote inside a field is written \"\")")))
                    }
                    let byte = bytes[index]
                    index += 1
                    if byte == Self.quote {
                        guard index < bytes.endIndex && bytes[index] == Self.quote else { break }
                        index += 1
                    } else if byte == Self.lf {
                        line += 1
                    }
                    field.append(byte)
                }
                if index < bytes.endIndex && bytes[index] == Self.cr
                    && (index + 1 == bytes.endIndex || bytes[index + 1] == Self.lf) {
                    index += 1
                }
                if index < bytes.endIndex && bytes[index] != Self.comma && bytes[index] != Self.lf {
                    skipToNextLine()
                    return Record(line: start, fields: .failure(Failure(
                        reason: "text after a closing quote (a quote inside a quoted field is written \"\")")))
                }
            } else {
                // non-escaped = *TEXTDATA; a stray quote is kept as written.
                while index < bytes.endIndex && bytes[index] != Self.comma && bytes[index] != Self.lf {
                    field.append(bytes[index])
                    index += 1
                }
                if field.last == Self.cr && (index == bytes.endIndex || bytes[index] == Self.lf) { field.removeLast() }
            }
            fields.append(field)
            guard index < bytes.endIndex else { return Record(line: start, fields: .success(fields)) }
            let separator = bytes[index]
            index += 1
            if separator == Self.lf {
                line += 1
                return Record(line: start, fields: .success(fields))
            }
        }
    }

    private mutating func skipToNextLine() {
        while index < bytes.endIndex {
            let byte = bytes[index]
            index += 1
            if byte == Self.lf {
                line += 1
                return
            }
        }
    }
}
