import Testing
import TernIMAPCore

/// The client side of the grammar: server responses as RFC 9051 §7 and §8 show them, and as real servers
/// (Dovecot, Exchange, Gmail) send them.
@Suite struct ResponseParserTests {
    func parse(_ text: String) -> ServerResponse? {
        try? ResponseParser.parse(Array(text.utf8)).get()
    }

    @Test func taggedWithCodes() {
        // RFC 9051 §8: "a002 OK [READ-WRITE] SELECT completed"
        #expect(parse("a002 OK [READ-WRITE] SELECT completed\r\n")
                == .tagged(tag: "a002", status: .ok, ResponseText(code: .readWrite, text: "SELECT completed")))
        #expect(parse("A3 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n")
                == .tagged(tag: "A3", status: .no, ResponseText(code: .other(name: "AUTHENTICATIONFAILED", text: ""),
                                                               text: "Authentication failed.")))
        #expect(parse("x BAD\r\n") == .tagged(tag: "x", status: .bad, ResponseText(code: nil, text: "")))
        #expect(parse("A1 OK [APPENDUID 38505 3955] APPEND completed\r\n")
                == .tagged(tag: "A1", status: .ok, ResponseText(code: .appendUID(uidValidity: 38505, uids: "3955"), text: "APPEND completed")))
    }

    @Test func untaggedStatusCodes() {
        // RFC 9051 §6.3.2 SELECT example.
        #expect(parse("* OK [UIDVALIDITY 3857529045] UIDs valid\r\n")
                == .untagged(.status(.ok, ResponseText(code: .uidValidity(3_857_529_045), text: "UIDs valid"))))
        #expect(parse("* OK [UIDNEXT 4392] Predicted next UID\r\n")
                == .untagged(.status(.ok, ResponseText(code: .uidNext(4392), text: "Predicted next UID"))))
        #expect(parse("* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n")
                == .untagged(.status(.ok, ResponseText(code: .permanentFlags(["\\Deleted", "\\Seen", "\\*"]), text: "Limited"))))
        #expect(parse("* OK [HIGHESTMODSEQ 715194045007] Highest\r\n")
                == .untagged(.status(.ok, ResponseText(code: .highestModSeq(715_194_045_007), text: "Highest"))))
        #expect(parse("* OK [CAPABILITY IMAP4rev1 LITERAL+ SASL-IR AUTH=PLAIN] Dovecot ready.\r\n")
                == .untagged(.status(.ok, ResponseText(code: .capability(["IMAP4rev1", "LITERAL+", "SASL-IR", "AUTH=PLAIN"]),
                                                       text: "Dovecot ready."))))
        #expect(parse("* BYE Autologout; idle for too long\r\n")
                == .untagged(.status(.bye, ResponseText(code: nil, text: "Autologout; idle for too long"))))
        #expect(parse("* PREAUTH IMAP4rev2 server logged in as Smith\r\n")
                == .untagged(.status(.preauth, ResponseText(code: nil, text: "IMAP4rev2 server logged in as Smith"))))
        // An unknown code with brackets in its text stays text.
        #expect(parse("* OK [X-WEIRD a b] hello\r\n")
                == .untagged(.status(.ok, ResponseText(code: .other(name: "X-WEIRD", text: "a b"), text: "hello"))))
    }

    @Test func mailboxData() {
        #expect(parse("* 172 EXISTS\r\n") == .untagged(.exists(172)))
        #expect(parse("* 1 RECENT\r\n") == .untagged(.recent(1)))
        #expect(parse("* 44 EXPUNGE\r\n") == .untagged(.expunge(44)))
        #expect(parse("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded)\r\n")
                == .untagged(.flags(["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft", "$Forwarded"])))
        #expect(parse("* SEARCH 2 84 882\r\n") == .untagged(.search([2, 84, 882])))
        #expect(parse("* SEARCH\r\n") == .untagged(.search([])))
        #expect(parse("* SEARCH 2 5 (MODSEQ 917162500)\r\n") == .untagged(.search([2, 5])))
        #expect(parse("* CAPABILITY IMAP4rev2 STARTTLS AUTH=GSSAPI LOGINDISABLED\r\n")
                == .untagged(.capability(["IMAP4rev2", "STARTTLS", "AUTH=GSSAPI", "LOGINDISABLED"])))
        #expect(parse("* ENABLED UTF8=ACCEPT\r\n") == .untagged(.enabled(["UTF8=ACCEPT"])))
        #expect(parse("* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n")
                == .untagged(.mailboxStatus(mailbox: Array("blurdybloop".utf8), attributes: ["MESSAGES": 231, "UIDNEXT": 44292])))
    }

    @Test func listEntries() {
        #expect(parse("* LIST (\\Noselect) \"/\" ~/Mail/foo\r\n")
                == .untagged(.list(ListEntry(attributes: ["\\Noselect"], delimiter: UInt8(ascii: "/"), name: Array("~/Mail/foo".utf8)))))
        #expect(parse("* LIST (\\HasNoChildren \\Sent) \".\" \"INBOX.Sent Items\"\r\n")
                == .untagged(.list(ListEntry(attributes: ["\\HasNoChildren", "\\Sent"], delimiter: UInt8(ascii: "."),
                                             name: Array("INBOX.Sent Items".utf8)))))
        #expect(parse("* LIST () NIL inbox\r\n")
                == .untagged(.list(ListEntry(attributes: [], delimiter: nil, name: Array("inbox".utf8)))))
        // A literal name, and RFC 5258 extended data after it.
        #expect(parse("* LIST (\\Subscribed) \"/\" {8}\r\nFoo\"bar\" (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n")
                == .untagged(.list(ListEntry(attributes: ["\\Subscribed"], delimiter: UInt8(ascii: "/"), name: Array("Foo\"bar\"".utf8)))))
        #expect(parse("* LSUB () \".\" #news.comp.mail.misc\r\n")
                == .untagged(.lsub(ListEntry(attributes: [], delimiter: UInt8(ascii: "."), name: Array("#news.comp.mail.misc".utf8)))))
        #expect(ListEntry(attributes: ["\\SENT"], delimiter: nil, name: []).hasAttribute("\\Sent"))
    }

    @Test func namespaces() {
        // RFC 2342 §5 examples.
        #expect(parse("* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n")
                == .untagged(.namespace(personal: [NamespaceEntry(prefix: [], delimiter: UInt8(ascii: "/"))], other: [], shared: [])))
        #expect(parse("* NAMESPACE ((\"INBOX.\" \".\")) NIL ((\"Public Folders/\" \"/\"))\r\n")
                == .untagged(.namespace(personal: [NamespaceEntry(prefix: Array("INBOX.".utf8), delimiter: UInt8(ascii: "."))], other: [],
                                        shared: [NamespaceEntry(prefix: Array("Public Folders/".utf8), delimiter: UInt8(ascii: "/"))])))
        #expect(parse("* NAMESPACE ((\"\" \"/\" \"X-PARAM\" (\"FLAG1\" \"FLAG2\"))) NIL NIL\r\n")
                == .untagged(.namespace(personal: [NamespaceEntry(prefix: [], delimiter: UInt8(ascii: "/"))], other: [], shared: [])))
    }

    @Test func fetchItems() throws {
        let message = "Subject: hi\r\n\r\nbody\u{0}with NUL\r\n"
        let text = "* 12 FETCH (UID 4827313 FLAGS (\\Seen $Forwarded \\Recent) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" "
            + "RFC822.SIZE \(message.utf8.count) MODSEQ (12121231000) BODY[] {\(message.utf8.count)}\r\n\(message) "
            + "BODY[HEADER.FIELDS (MESSAGE-ID)] NIL ENVELOPE (\"date\" \"subj\" NIL NIL NIL NIL NIL NIL NIL \"<id>\") "
            + "BODYSTRUCTURE (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92) X-GM-LABELS (\\Inbox) "
            + "EMAILID (M6d99ac3275bb4e) BINARY.SIZE[1] 42)\r\n"
        guard case .untagged(.fetch(let sequence, let items)) = parse(text) else {
            Issue.record("not a FETCH: \(String(describing: try? ResponseParser.parse(Array(text.utf8)).get()))")
            return
        }
        #expect(sequence == 12)
        #expect(items.uid == 4_827_313)
        #expect(items.flags == ["\\Seen", "$Forwarded", "\\Recent"])
        #expect(items.internalDate?.epochSeconds == 837_596_665)
        #expect(items.size == UInt32(message.utf8.count))
        #expect(items.modSeq == 12_121_231_000)
        #expect(items.sections[""] == .some(Array(message.utf8)))
        #expect(items.sections["HEADER.FIELDS (MESSAGE-ID)"] == .some(nil))
    }

    @Test func fetchVariants() {
        guard case .untagged(.fetch(_, let items)) = parse("* 1 FETCH (RFC822 \"abc\" BINARY[1] ~{3}\r\na\u{0}c BODY[TEXT]<0> \"x\")\r\n") else {
            Issue.record("not a FETCH")
            return
        }
        #expect(items.sections[""] == .some(Array("abc".utf8)))
        #expect(items.sections["1"] == .some([0x61, 0, 0x63]))
        #expect(items.sections["TEXT"] == .some([0x78]))
    }

    @Test func continuationsAndOthers() {
        #expect(parse("+ Ready for additional command text\r\n") == .continuation("Ready for additional command text"))
        #expect(parse("+\r\n") == .continuation(""))
        #expect(parse("+ \r\n") == .continuation(""))
        guard case .untagged(.other(let name, _)) = parse("* ESEARCH (TAG \"a\") UID COUNT 3\r\n") else {
            Issue.record("ESEARCH is not kept as other")
            return
        }
        #expect(name == "ESEARCH")
        guard case .untagged(.other(let name2, _)) = parse("* 3 VANISHED-LIKE stuff\r\n") else {
            Issue.record("unknown numbered response is not kept as other")
            return
        }
        #expect(name2 == "VANISHED-LIKE")
    }

    @Test(arguments: [
        "a1 MAYBE done\r\n",                     // not a status
        "* 12 FETCH (UID abc)\r\n",              // UID without a number
        "* 12 FETCH (FLAGS \\Seen)\r\n",         // flags without a list
        "* 12 FETCH (BODY[] {10}\r\nabc)\r\n",   // literal shorter than announced
        "* LIST (\\Noselect) \"//\" foo\r\n",    // two-character delimiter
        "* 12 FETCH (INTERNALDATE \"31-Feb-2020 00:00:00 +0000\")\r\n",
        "* STATUS box (MESSAGES x)\r\n",
        "* 12 FETCH (UID 1\r\n",                  // unterminated list
        "",
    ])
    func malformed(_ text: String) {
        if case .success(let response) = ResponseParser.parse(Array(text.utf8)) {
            Issue.record("\(text.debugDescription) parsed as \(response)")
        }
    }

    @Test func nestingIsBounded() {
        let deep = "* 1 FETCH (BODYSTRUCTURE " + String(repeating: "(", count: 10_000) + String(repeating: ")", count: 10_000) + ")\r\n"
        if case .success = ResponseParser.parse(Array(deep.utf8)) { Issue.record("10,000 levels accepted") }
    }
}

@Suite struct ResponseFramerTests {
    static let stream = "* OK [CAPABILITY IMAP4rev1] ready\r\n"
        + "* 1 FETCH (UID 7 BODY[] {13}\r\nline\r\n{5}\r\nxy BODY[HEADER] {0}\r\n)\r\n"
        + "* LIST () \"/\" {3}\r\nabc\r\n"
        + "a1 OK done\r\n"

    static let expected = [
        "* OK [CAPABILITY IMAP4rev1] ready\r\n",
        "* 1 FETCH (UID 7 BODY[] {13}\r\nline\r\n{5}\r\nxy BODY[HEADER] {0}\r\n)\r\n",
        "* LIST () \"/\" {3}\r\nabc\r\n",
        "a1 OK done\r\n",
    ]

    func frame(chunks: [[UInt8]]) throws -> [String] {
        var framer = ResponseFramer()
        var out: [String] = []
        for chunk in chunks {
            framer.append(chunk)
            while let response = try framer.next() { out.append(String(decoding: response, as: UTF8.self)) }
        }
        #expect(framer.bufferedCount == 0)
        return out
    }

    @Test func wholeStream() throws {
        #expect(try frame(chunks: [Array(Self.stream.utf8)]) == Self.expected)
    }

    /// A literal's bytes that look like line ends and literal announcements are never taken for them, however the
    /// stream is cut.
    @Test func byteByByte() throws {
        #expect(try frame(chunks: Array(Self.stream.utf8).map { [$0] }) == Self.expected)
        for size in [2, 3, 7, 13] {
            let bytes = Array(Self.stream.utf8)
            let chunks = stride(from: 0, to: bytes.count, by: size).map { Array(bytes[$0..<min($0 + size, bytes.count)]) }
            #expect(try frame(chunks: chunks) == Self.expected)
        }
    }

    @Test func everyResponseParses() throws {
        for response in try frame(chunks: [Array(Self.stream.utf8)]) {
            #expect((try? ResponseParser.parse(Array(response.utf8)).get()) != nil, "\(response.debugDescription)")
        }
    }

    @Test func limits() {
        var framer = ResponseFramer(maxLineLength: 100, maxLiteral: 1000)
        framer.append(Array(String(repeating: "x", count: 150).utf8))
        #expect(throws: ResponseFramer.FramingError.lineTooLong(100)) { try framer.next() }
        var literal = ResponseFramer(maxLineLength: 100, maxLiteral: 1000)
        literal.append(Array("* 1 FETCH (BODY[] {1001}\r\n".utf8))
        #expect(throws: ResponseFramer.FramingError.literalTooLarge(1000)) { try literal.next() }
    }

    /// Memory is reclaimed: after many responses the buffer holds only what is pending.
    @Test func reclaimsSpace() throws {
        var framer = ResponseFramer()
        for i in 0..<10_000 {
            framer.append(Array("* \(i) EXISTS\r\n* 1 FETCH (BODY[] {3}\r\n".utf8))
            framer.append(Array("abc)\r\n".utf8))
            #expect(try framer.next() != nil)
            #expect(try framer.next() != nil)
        }
        #expect(framer.bufferedCount == 0)
    }
}
