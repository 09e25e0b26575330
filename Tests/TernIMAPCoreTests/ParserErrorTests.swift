import Testing
@testable import TernIMAPCore

/// Syntax errors keep the tag for a tagged BAD (RFC 9051 §7.1.5) and name what was expected.
let errorFixtures: [(String, TernIMAPCore.Tag?, String)] = [
    ("", nil, "Expected a tag"),
    ("+a NOOP", nil, "Expected a tag"),
    ("(a NOOP", nil, "Expected a tag"),
    ("a1", "a1", "Expected a space after the tag"),
    ("a1 ", "a1", "Expected a command name"),
    ("a1 FOO", "a1", "Unknown command FOO"),
    ("a1 SETQUOTA \"\" (STORAGE 512)", "a1", "Unknown command SETQUOTA"),
    ("a1 NOOP extra", "a1", "Unexpected characters at the end of the command"),
    ("a1 NOOP\r\nb1 NOOP", "a1", "Unexpected data after the command"),
    ("a1 FETCH", "a1", "Expected a space before the sequence set"),
    ("a1 FETCH x FLAGS", "a1", "Expected a sequence set"),
    ("a1 FETCH 0 FLAGS", "a1", "Expected a non-zero sequence number"),
    ("a1 FETCH 4294967296 FLAGS", "a1", "Number too large for sequence number"),
    ("a1 FETCH 1 FOO", "a1", "Unknown fetch attribute FOO"),
    ("a1 FETCH 1 (FLAGS ALL)", "a1", "Unknown fetch attribute ALL"),
    ("a1 FETCH 1 ()", "a1", "Expected fetch attributes"),
    ("a1 FETCH 1 (BODY[MIME])", "a1", "MIME needs a part number"),
    ("a1 FETCH 1 BODY.PEEK", "a1", "Expected a section after BODY.PEEK"),
    ("a1 FETCH 1 BODY[]<0.0>", "a1", "Expected a non-zero partial length"),
    ("a1 UID FETCH 1 (FLAGS) (CHANGEDSINCE 9223372036854775808)", "a1", "Number too large for a mod-sequence"),
    ("a1 UID FETCH 1 (FLAGS) (FOO)", "a1", "Expected CHANGEDSINCE or VANISHED"),
    ("a1 STORE 1 FLAGS (\\Recent)", "a1", "\\Recent cannot be set"),
    ("a1 STORE 1 +FLAGS \\Seen \\recent", "a1", "\\Recent cannot be set"),
    ("a1 STORE 1 FLAGS (\\*)", "a1", "Expected a flag name after \"\\\""),
    ("a1 STORE 1 LABELS (x)", "a1", "Expected FLAGS, +FLAGS or -FLAGS (optionally .SILENT)"),
    ("a1 APPEND INBOX (\\Recent) {1}\r\nx", "a1", "\\Recent cannot be set"),
    ("a1 APPEND INBOX", "a1", "Expected a space before the message"),
    ("a1 APPEND INBOX \"x\"", "a1", "Invalid day"),
    ("a1 APPEND INBOX \"31-Jun-2020 00:00:00 +0000\" {1}\r\nx", "a1", "Invalid day"),
    ("a1 APPEND INBOX \"1-Jun-2020 24:00:00 +0000\" {1}\r\nx", "a1", "Invalid time"),
    ("a1 APPEND INBOX \"1-Jun-2020 23:00:00 0000\" {1}\r\nx", "a1", "Invalid zone"),
    ("a1 APPEND INBOX hello", "a1", "Expected a literal with the message"),
    ("a1 LOGIN user", "a1", "Expected a space after the user name"),
    ("a1 LOGIN \"a\\b\" x", "a1", "Invalid escape in a quoted string"),
    ("a1 LOGIN ~{1}\r\nx y", "a1", "Expected a space after the user name"),
    ("a1 LOGIN {3}\r\na\u{0}b x", "a1", "NUL in a literal (only literal8 may hold NUL)"),
    ("a1 SELECT INBOX (FOO)", "a1", "Expected CONDSTORE or QRESYNC"),
    ("a1 SELECT INBOX (QRESYNC (0 1))", "a1", "Expected a non-zero UIDVALIDITY"),
    ("a1 CREATE x (FOO)", "a1", "Expected USE"),
    ("a1 LIST (RECURSIVEMATCH) \"\" *", "a1", "RECURSIVEMATCH needs a selection option it modifies"),
    ("a1 LIST \"\" * RETURN (FOO)", "a1", "Expected SUBSCRIBED, CHILDREN, SPECIAL-USE or STATUS"),
    ("a1 STATUS INBOX ()", "a1", "Expected status attributes"),
    ("a1 STATUS INBOX (MESSAGES FOO)", "a1", "Expected a status attribute"),
    ("a1 SEARCH", "a1", "Expected a space after SEARCH"),
    ("a1 SEARCH FOO", "a1", "Unknown search key FOO"),
    ("a1 SEARCH ()", "a1", "Expected a search key"),
    ("a1 SEARCH ON 30-Feb-2020", "a1", "Invalid day"),
    ("a1 SEARCH ON 1-Foo-2020", "a1", "Invalid month"),
    ("a1 SEARCH OR SEEN", "a1", "Expected a space between the keys of OR"),
    ("a1 SEARCH (SEEN", "a1", "Expected a space between search keys"),
    ("a1 SEARCH SEEN)", "a1", "Expected a search key"),
    ("a1 SEARCH RETURN (PARTIAL 1:10) ALL", "a1", "Expected MIN, MAX, ALL, COUNT or SAVE"),
    ("a1 SEARCH OLDER 0", "a1", "Expected a non-zero number of seconds"),
    ("a1 SEARCH EMAILID x.y", "a1", "Expected a search key"),
    ("a1 SORT (FOO) UTF-8 ALL", "a1", "Expected a sort key"),
    ("a1 SORT (DATE) ALL", "a1", "Expected a space after the charset"),
    ("a1 THREAD FOO UTF-8 ALL", "a1", "Expected ORDEREDSUBJECT or REFERENCES"),
    ("a1 UID", "a1", "Expected a space after UID"),
    ("a1 UID NOOP", "a1", "Expected FETCH, STORE, COPY, MOVE, REPLACE, SEARCH, SORT, THREAD or EXPUNGE after UID"),
    ("a1 UID EXPUNGE", "a1", "Expected a space after UID EXPUNGE"),
    ("a1 ID (\"a\")", "a1", "Expected a space after an ID field name"),
    ("a1 AUTHENTICATE", "a1", "Expected a space after AUTHENTICATE"),
    ("a1 ENABLE", "a1", "Expected a space before a capability"),
]

@Suite struct ParserErrorTests {
    @Test func syntaxErrorsKeepTheTag() {
        for (input, tag, message) in errorFixtures {
            #expect(parse(input) == .syntaxError(tag: tag, message: message), "\(input)")
        }
    }

    @Test func tenThousandParenthesesIsAnErrorNotACrash() {
        let deep = "a SEARCH " + String(repeating: "(", count: 10_000) + "ALL" + String(repeating: ")", count: 10_000)
        #expect(parse(deep) == .syntaxError(tag: "a", message: "Search keys nested too deeply"))
        let nots = "a SEARCH " + String(repeating: "NOT ", count: 10_000) + "ALL"
        #expect(parse(nots) == .syntaxError(tag: "a", message: "Search keys nested too deeply"))
        let ors = "a SEARCH " + String(repeating: "OR ALL ", count: 10_000) + "ALL"
        #expect(parse(ors) == .syntaxError(tag: "a", message: "Search keys nested too deeply"))
        let fetch = "a FETCH 1 " + String(repeating: "(", count: 10_000)
        #expect(parse(fetch) == .syntaxError(tag: "a", message: "Expected a fetch attribute"))
    }

    @Test func nestingAtTheLimitParses() {
        let limits = IMAPLimits(maxNestingDepth: 3)
        #expect(parse("a SEARCH (((ALL)))", limits: limits)
                == .command(TaggedCommand(tag: "a", command: .search(SearchCommand(key: .and([.and([.and([.all])])])), uid: false))))
        #expect(parse("a SEARCH ((((ALL))))", limits: limits) == .syntaxError(tag: "a", message: "Search keys nested too deeply"))
    }

    @Test func listItemLimits() {
        let limits = IMAPLimits(maxListItems: 3)
        #expect(parse("a FETCH 1,2,3 FLAGS", limits: limits)
                == .command(TaggedCommand(tag: "a", command: .fetch(set(single(1), single(2), single(3)), [.flags],
                                                                    FetchModifiers(), uid: false))))
        #expect(parse("a FETCH 1,2,3,4 FLAGS", limits: limits) == .syntaxError(tag: "a", message: "Too many sequence ranges"))
        #expect(parse("a FETCH 1 (FLAGS UID ENVELOPE RFC822)", limits: limits)
                == .syntaxError(tag: "a", message: "Too many fetch attributes"))
        #expect(parse("a SEARCH SEEN SEEN SEEN SEEN", limits: limits) == .syntaxError(tag: "a", message: "Too many search keys"))
        #expect(parse("a STORE 1 FLAGS (a b c d)", limits: limits) == .syntaxError(tag: "a", message: "Too many flags"))
        #expect(parse("a STORE 1 FLAGS a b c d", limits: limits) == .syntaxError(tag: "a", message: "Too many flags"))
    }

    @Test func literalLimits() {
        let limits = IMAPLimits(maxAppendLiteral: 4, maxOtherLiteral: 4)
        #expect(parse("a LOGIN {2}\r\nab {2}\r\ncd", limits: limits)
                == .command(TaggedCommand(tag: "a", command: .login(user: bytes("ab"), password: bytes("cd")))))
        #expect(parse("a LOGIN {2}\r\nab {3}\r\ncde", limits: limits) == .syntaxError(tag: "a", message: "Literal too large"))
        #expect(parse("a APPEND x {4}\r\nabcd", limits: limits)
                == .command(TaggedCommand(tag: "a", command: .append(bytes("x"), [AppendMessage(bytes: bytes("abcd"))]))))
        #expect(parse("a APPEND x {5}\r\nabcde", limits: limits) == .syntaxError(tag: "a", message: "Literal too large"))
        // A huge announced length is a limit error, not an allocation.
        #expect(parse("a LOGIN {99999999999999999999}\r\nx y") == .syntaxError(tag: "a", message: "Number too large for a literal length"))
    }

    @Test func literalShorterThanAnnouncedIsIncomplete() {
        #expect(CommandParser.parse(bytes("a LOGIN {5}\r\nab")) == .incomplete)
        #expect(CommandParser.parse(bytes("a LOGIN {5}\r\nabcde x")) == .incomplete)
    }
}

@Suite struct ParserCostTests {
    /// A full line of keys in one parenthesised list parses in linear time (no copy per key).
    @Test func longParenthesisedSearchList() {
        let count = 13_000
        let line = "a SEARCH (" + Array(repeating: "SEEN", count: count).joined(separator: " ") + ")"
        let clock = ContinuousClock()
        var outcome: CommandParser.Outcome = .incomplete
        let elapsed = clock.measure { outcome = parse(line) }
        #expect(outcome == .command(TaggedCommand(tag: "a", command: .search(
            SearchCommand(key: .and(Array(repeating: .seen, count: count))), uid: false))))
        #expect(elapsed < .seconds(1), "\(elapsed)")
    }
}
