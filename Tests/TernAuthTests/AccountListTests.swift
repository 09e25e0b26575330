// The account-list reader behind `ternctl user import`: Dovecot passwd-files and RFC 4180 CSV, each case a row of
// input → entries and problems (with their line numbers).

import Testing
import TernAuth

private func entry(_ line: Int, _ user: String, _ password: String, _ name: String = "", _ quota: String = "")
    -> AccountListEntry {
    AccountListEntry(line: line, user: user, password: password, displayName: name, quota: quota)
}

struct ListCase: Sendable, CustomTestStringConvertible {
    let name: String
    let input: String
    let entries: [AccountListEntry]
    let problemLines: [Int]
    var testDescription: String { name }
}

@Suite struct AccountListTests {
    @Test(arguments: [
        ListCase(name: "all fields, comments and blank lines",
                 input: "# from dovecot\n\nalice@example.net:{SHA512-CRYPT}$6$s$h:1000:1000::/home/alice::userdb_quota_rule=*:storage=1G\n",
                 entries: [entry(3, "alice@example.net", "{SHA512-CRYPT}$6$s$h")], problemLines: []),
        ListCase(name: "two fields, bare user, CRLF",
                 input: "bob:$2b$05$x\r\n  carol@example.net :$y$j9T$a$b\r\n",
                 entries: [entry(1, "bob", "$2b$05$x"), entry(2, "carol@example.net", "$y$j9T$a$b")], problemLines: []),
        ListCase(name: "an empty password field is kept for the caller to refuse",
                 input: "dave@example.net::1000:1000\n", entries: [entry(1, "dave@example.net", "")], problemLines: []),
        ListCase(name: "malformed lines are problems, the others still read",
                 input: "no separator here\n:$6$s$h\nerin@example.net:{PLAIN}Secret 123\n",
                 entries: [entry(3, "erin@example.net", "{PLAIN}Secret 123")], problemLines: [1, 2]),
        ListCase(name: "no newline at the end", input: "a@b.c:$6$x", entries: [entry(1, "a@b.c", "$6$x")], problemLines: []),
    ])
    func passwdFiles(_ row: ListCase) {
        let list = AccountList(parsing: Array(row.input.utf8), format: .passwd)
        #expect(list.entries == row.entries)
        #expect(list.problems.map(\.line) == row.problemLines)
    }

    @Test(arguments: [
        ListCase(name: "header, two to four fields",
                 input: "address,hash,name,quota\nalice@example.net,$6$s$h,Alice,2G\nbob@example.net,$y$j$a$b\n",
                 entries: [entry(2, "alice@example.net", "$6$s$h", "Alice", "2G"), entry(3, "bob@example.net", "$y$j$a$b")],
                 problemLines: []),
        ListCase(name: "quoted fields with commas, doubled quotes and a line break; CRLF",
                 input: "\"alice@example.net\",\"$6$s$h\",\"Smith, Alice \"\"Al\"\"\"\r\nbob@example.net,$6$t$i,\"Bob\r\nthe second\",1G\r\ncarol@example.net,$6$u$j\r\n",
                 entries: [entry(1, "alice@example.net", "$6$s$h", "Smith, Alice \"Al\""),
                           entry(2, "bob@example.net", "$6$t$i", "Bob\r\nthe second", "1G"),
                           entry(4, "carol@example.net", "$6$u$j")],
                 problemLines: []),
        ListCase(name: "a byte order mark before the header (spreadsheet export)",
                 input: "\u{FEFF}Email,Password\nalice@example.net,{PLAIN}a,b\n",
                 entries: [entry(2, "alice@example.net", "{PLAIN}a", "b")], problemLines: []),
        ListCase(name: "no header: the first line is an account",
                 input: "alice@example.net,$6$s$h\n", entries: [entry(1, "alice@example.net", "$6$s$h")], problemLines: []),
        ListCase(name: "wrong field counts, an empty address",
                 input: "onlyone@example.net\na@example.net,h,n,q,extra\n,$6$s$h\nok@example.net,$6$s$h\n",
                 entries: [entry(4, "ok@example.net", "$6$s$h")], problemLines: [1, 2, 3]),
        ListCase(name: "text after a closing quote spoils only its own line",
                 input: "\"a@example.net\"x,$6$s$h\nb@example.net,$6$s$h\n",
                 entries: [entry(2, "b@example.net", "$6$s$h")], problemLines: [1]),
        ListCase(name: "an unclosed quote is reported where it opens",
                 input: "a@example.net,$6$s$h\nb@example.net,\"$6$s$h\nc@example.net,$6$s$h\n",
                 entries: [entry(1, "a@example.net", "$6$s$h")], problemLines: [2]),
        ListCase(name: "blank lines are skipped; a stray quote in an unquoted field is kept",
                 input: "\n\na@example.net,$6$s$h,Al \"the\" boss\n\n",
                 entries: [entry(3, "a@example.net", "$6$s$h", "Al \"the\" boss")], problemLines: []),
    ])
    func csvFiles(_ row: ListCase) {
        let list = AccountList(parsing: Array(row.input.utf8), format: .csv)
        #expect(list.entries == row.entries)
        #expect(list.problems.map(\.line) == row.problemLines)
    }

    @Test func headerIsRecognisedOnlyOnTheFirstRecord() {
        let list = AccountList(parsing: Array("a@example.net,$6$s$h\naddress,hash\n".utf8), format: .csv)
        #expect(!list.hasHeader)
        #expect(list.entries.map(\.user) == ["a@example.net", "address"])
        #expect(AccountList(parsing: Array("user,password\n".utf8), format: .csv).hasHeader)
    }

    @Test func invalidUTF8IsAProblemNotAGuess() {
        let bytes = Array("a@example.net:".utf8) + [0xFF, 0xFE] + Array("\nb@example.net:$6$s$h\n".utf8)
        let passwd = AccountList(parsing: bytes, format: .passwd)
        #expect(passwd.problems == [AccountListProblem(line: 1, reason: "the line is not valid UTF-8")])
        #expect(passwd.entries.map(\.line) == [2])
        let csv = AccountList(parsing: Array("a@example.net,".utf8) + [0xC3] + Array("\n".utf8), format: .csv)
        #expect(csv.problems.map(\.line) == [1])
    }

    /// A problem never repeats what was on the line: it may be a password.
    @Test func problemsDoNotQuoteTheLine() {
        let list = AccountList(parsing: Array("Secret2024x\n\"x,\"Hunter22\n".utf8), format: .csv)
        #expect(list.problems.count == 2)
        for problem in list.problems {
            #expect(!problem.reason.contains("Secret2024x") && !problem.reason.contains("Hunter22"))
        }
        let passwd = AccountList(parsing: Array("Secret2024x\n".utf8), format: .passwd)
        #expect(passwd.problems.count == 1 && !passwd.problems[0].reason.contains("Secret"))
    }

    @Test(arguments: [
        ("alice@example.net:$6$s$h\n", AccountListFormat?.some(.passwd)),
        ("# comment, with a comma\n\nalice:{PLAIN}x,y\n", .passwd),
        ("alice@example.net,$6$s$h\n", .csv),
        ("address,hash\n", .csv),
        ("\"alice@example.net\",x\n", .csv),
        ("\u{FEFF}alice@example.net,x\n", .csv),
        ("alice@example.net $6$s$h\n", nil),
        ("", nil),
    ])
    func formatDetection(_ input: String, _ expected: AccountListFormat?) {
        #expect(AccountList.detectFormat(Array(input.utf8)) == expected)
    }
}

@Suite struct ImportedPasswordTests {
    @Test(arguments: [
        ("{PLAIN}Summer2024x", PasswordHash.ImportedPassword.plain("Summer2024x")),
        ("{plain}with trailing space ", .plain("with trailing space ")),
        ("{CLEARTEXT}a:b", .plain("a:b")),
        ("{PLAIN}", .plain("")),
        ("$6$salt$hash", .hash("$6$salt$hash")),
        ("{SHA512-CRYPT}$6$salt$hash", .hash("$6$salt$hash")),
        ("{SHA256-CRYPT}$5$salt$hash", .hash("$5$salt$hash")),
        ("{BLF-CRYPT}$2y$05$abc", .hash("$2y$05$abc")),
        ("{CRYPT}$2b$05$abc", .hash("$2b$05$abc")),
        ("  $y$j9T$a$b", .hash("$y$j9T$a$b")),
    ])
    func accepted(_ field: String, _ expected: PasswordHash.ImportedPassword) throws {
        #expect(try PasswordHash.imported(field) == expected)
    }

    @Test(arguments: [
        ("{PLAIN-MD5}1a1dc91c907325c69271ddf0c944bc72", PasswordHash.HashError.unsupported("{PLAIN-MD5}")),
        ("{SSHA}abc", .unsupported("{SSHA}")),
        ("{CRAM-MD5}abc", .unsupported("{CRAM-MD5}")),
        ("{MD5-CRYPT}$1$abc$def", .unsupported("{MD5-CRYPT}")),
        ("$1$abc$def", .unsupported("$1$a")),
        ("{CRYPT}abJnggxhB/yWI", .unsupported("abJn")),
        ("", .empty),
        ("   ", .empty),
        ("Summer2024x", .notAHash),
    ])
    func refused(_ field: String, _ error: PasswordHash.HashError) {
        #expect(throws: error) { try PasswordHash.imported(field) }
    }
}
