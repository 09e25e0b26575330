import Testing
@testable import TernIMAPCore

/// Commands from the RFCs' examples and their parse. Each row names the example it copies.
let commandFixtures: [ParseFixture] = [
    // RFC 9051 §6.1 any state.
    ParseFixture("a441 CAPABILITY", .capability, "RFC 9051 §6.1.1"),
    ParseFixture("a002 NOOP", .noop, "RFC 9051 §6.1.2"),
    ParseFixture("A023 LOGOUT", .logout, "RFC 9051 §6.1.3"),
    ParseFixture("a023 logout", .logout, "RFC 9051 §6.1: command names are case-insensitive"),
    // RFC 9051 §6.2 not authenticated.
    ParseFixture("a001 STARTTLS", .starttls, "RFC 9051 §6.2.1"),
    ParseFixture("a001 LOGIN SMITH SESAME", .login(user: bytes("SMITH"), password: bytes("SESAME")), "RFC 9051 §6.2.3"),
    ParseFixture("a001 LOGIN \"fred smith\" \"p\\\"a\\\\ss\"", .login(user: bytes("fred smith"), password: bytes("p\"a\\ss")),
                 "RFC 9051 §4.3 quoted with escapes"),
    ParseFixture("A001 LOGIN {11}\r\nFRED FOOBAR {7}\r\nfat man",
                 .login(user: bytes("FRED FOOBAR"), password: bytes("fat man")), "RFC 9051 §6.2.3 literals"),
    ParseFixture("A001 LOGIN {11+}\r\nFRED FOOBAR {7+}\r\nfat man",
                 .login(user: bytes("FRED FOOBAR"), password: bytes("fat man")), "RFC 7888 §4 LITERAL+"),
    ParseFixture("A001 AUTHENTICATE GSSAPI", .authenticate(mechanism: "GSSAPI", initialResponse: nil), "RFC 9051 §6.2.2"),
    ParseFixture("a01 AUTHENTICATE plain dGVzdAB0ZXN0AHRlc3Q=",
                 .authenticate(mechanism: "PLAIN", initialResponse: bytes("dGVzdAB0ZXN0AHRlc3Q=")), "RFC 4959 §3 SASL-IR"),
    ParseFixture("a01 AUTHENTICATE PLAIN =", .authenticate(mechanism: "PLAIN", initialResponse: bytes("=")),
                 "RFC 4959 §3 empty initial response"),
    // RFC 9051 §6.3 authenticated.
    ParseFixture("t2 ENABLE CONDSTORE qresync", .enable(["CONDSTORE", "QRESYNC"]), "RFC 5161 §4"),
    ParseFixture("A001 NAMESPACE", .namespace, "RFC 9051 §6.3.10"),
    ParseFixture("A142 SELECT INBOX", .select(bytes("INBOX"), SelectParameters()), "RFC 9051 §6.3.2"),
    ParseFixture("A142 SELECT inbox", .select(bytes("inbox"), SelectParameters()), "RFC 9051 §5.1 INBOX kept as sent"),
    ParseFixture("A932 EXAMINE blurdybloop", .examine(bytes("blurdybloop"), SelectParameters()), "RFC 9051 §6.3.3"),
    ParseFixture("a SELECT INBOX (CONDSTORE)", .select(bytes("INBOX"), SelectParameters(condStore: true)), "RFC 7162 §3.1.8"),
    ParseFixture(
        "A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))",
        .select(bytes("INBOX"), SelectParameters(qresync: .init(
            uidValidity: 67_890_007, modSeq: 20_050_715_194_045_000,
            knownUIDs: set(single(41), range(43, 211), range(214, 541))))),
        "RFC 7162 §3.2.5.2"),
    ParseFixture(
        "B04 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973,29976,29979:29997)))",
        .select(bytes("INBOX"), SelectParameters(qresync: .init(
            uidValidity: 67_890_007, modSeq: 90_060_115_194_045_000, knownUIDs: set(range(1, 29997)),
            sequenceMatch: (set(single(5000), single(7500), single(9000), range(9990, 9999)),
                            set(single(15000), single(22500), single(27000), single(29970), single(29973),
                                single(29976), range(29979, 29997)))))),
        "RFC 7162 §3.2.5.2 with seq-match-data"),
    ParseFixture("A003 CREATE owatagusiam/", .create(bytes("owatagusiam/"), specialUse: []), "RFC 9051 §6.3.4"),
    ParseFixture("t1 CREATE MySpecial (USE (\\Drafts \\Sent))", .create(bytes("MySpecial"), specialUse: ["\\Drafts", "\\Sent"]),
                 "RFC 6154 §5.2"),
    ParseFixture("A683 DELETE blurdybloop", .delete(bytes("blurdybloop")), "RFC 9051 §6.3.5"),
    ParseFixture("A683 RENAME blurdybloop sarasoop", .rename(bytes("blurdybloop"), bytes("sarasoop")), "RFC 9051 §6.3.6"),
    ParseFixture("A002 SUBSCRIBE #news.comp.mail.mime", .subscribe(bytes("#news.comp.mail.mime")), "RFC 9051 §6.3.7"),
    ParseFixture("A002 UNSUBSCRIBE #news.comp.mail.mime", .unsubscribe(bytes("#news.comp.mail.mime")), "RFC 9051 §6.3.8"),
    ParseFixture("A101 LIST \"\" \"\"", .list(ListCommand(reference: [], patterns: [[]])), "RFC 9051 §6.3.9"),
    ParseFixture("A202 LIST ~/Mail/ %", .list(ListCommand(reference: bytes("~/Mail/"), patterns: [bytes("%")])),
                 "RFC 9051 §6.3.9"),
    ParseFixture("A682 LIST \"\" *", .list(ListCommand(reference: [], patterns: [bytes("*")])), "RFC 9051 §6.3.9"),
    ParseFixture(
        "A02 LIST (SUBSCRIBED) \"\" \"*\"",
        .list(ListCommand(selectionOptions: [.subscribed], reference: [], patterns: [bytes("*")])), "RFC 5258 §5 example 2"),
    ParseFixture(
        "A03 LIST () \"\" \"%\" RETURN (CHILDREN)",
        .list(ListCommand(reference: [], patterns: [bytes("%")], returnOptions: [.children])), "RFC 5258 §5 example 3"),
    ParseFixture(
        "A05 LIST (REMOTE SUBSCRIBED) \"\" \"*\"",
        .list(ListCommand(selectionOptions: [.remote, .subscribed], reference: [], patterns: [bytes("*")])),
        "RFC 5258 §5 example 5"),
    ParseFixture(
        "C04 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\" RETURN (CHILDREN)",
        .list(ListCommand(selectionOptions: [.subscribed, .recursiveMatch], reference: [], patterns: [bytes("%")],
                          returnOptions: [.children])),
        "RFC 5258 §5 example 8"),
    ParseFixture(
        "BBB LIST \"\" (\"INBOX\" \"Drafts\" \"Sent/%\")",
        .list(ListCommand(reference: [], patterns: [bytes("INBOX"), bytes("Drafts"), bytes("Sent/%")])),
        "RFC 5258 §5 example 10"),
    ParseFixture(
        "t1 LIST (SPECIAL-USE) \"\" \"*\" RETURN (SPECIAL-USE)",
        .list(ListCommand(selectionOptions: [.specialUse], reference: [], patterns: [bytes("*")], returnOptions: [.specialUse])),
        "RFC 6154 §5.1"),
    ParseFixture(
        "A01 LIST \"\" % RETURN (STATUS (MESSAGES UNSEEN))",
        .list(ListCommand(reference: [], patterns: [bytes("%")], returnOptions: [.status([.messages, .unseen])])),
        "RFC 5819 §5"),
    ParseFixture("A002 LSUB \"#news.\" \"comp.mail.*\"", .lsub(reference: bytes("#news."), pattern: bytes("comp.mail.*")),
                 "RFC 3501 §6.3.9"),
    ParseFixture("A042 STATUS blurdybloop (UIDNEXT MESSAGES)", .status(bytes("blurdybloop"), [.uidNext, .messages]),
                 "RFC 9051 §6.3.11"),
    ParseFixture("A042 STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE HIGHESTMODSEQ APPENDLIMIT RECENT)",
                 .status(bytes("INBOX"), [.messages, .uidNext, .uidValidity, .unseen, .deleted, .size, .highestModSeq,
                                          .appendLimit, .recent]),
                 "RFC 9051 §6.3.11, RFC 7162, RFC 7889"),
    ParseFixture(
        "A003 APPEND saved-messages (\\Seen) {16}\r\nDate: Mon, 7 Feb",
        .append(bytes("saved-messages"), [AppendMessage(flags: [.seen], bytes: bytes("Date: Mon, 7 Feb"))]),
        "RFC 9051 §6.3.12"),
    ParseFixture(
        "A003 APPEND saved-messages (\\Seen $Forwarded) \" 7-Feb-1994 21:52:25 -0800\" {5+}\r\nHello",
        .append(bytes("saved-messages"), [AppendMessage(
            flags: [.seen, .keyword("$Forwarded")],
            internalDate: IMAPDateTime(date: IMAPDate(year: 1994, month: 2, day: 7), hour: 21, minute: 52, second: 25,
                                       zoneMinutes: -480),
            bytes: bytes("Hello"))]),
        "RFC 9051 §6.3.12 with date-time"),
    ParseFixture(
        "A003 APPEND INBOX {3}\r\nabc (\\Draft) {2}\r\nde ~{3}\r\nf\u{0}g",
        .append(bytes("INBOX"), [AppendMessage(bytes: bytes("abc")), AppendMessage(flags: [.draft], bytes: bytes("de")),
                                 AppendMessage(bytes: [0x66, 0x00, 0x67], isBinary: true)]),
        "RFC 3502 §6.3.11 MULTIAPPEND, RFC 3516 §4.4 literal8"),
    ParseFixture("a IDLE", .idle, "RFC 2177"),
    ParseFixture("t1 COMPRESS deflate", .compress("DEFLATE"), "RFC 4978 §3"),
    ParseFixture("G GETQUOTA \"\"", .getQuota([]), "RFC 9208 §4.2"),
    ParseFixture("G GETQUOTAROOT INBOX", .getQuotaRoot(bytes("INBOX")), "RFC 9208 §4.3"),
    ParseFixture("a023 ID (\"name\" \"sodr\" \"version\" \"19.34\" \"vendor\" NIL)",
                 .id([("name", "sodr"), ("version", "19.34"), ("vendor", nil)]), "RFC 2971 §3.3"),
    ParseFixture("a023 ID NIL", .id(nil), "RFC 2971 §3.3"),
    // RFC 9051 §6.4 selected.
    ParseFixture("FXXZ CHECK", .check, "RFC 3501 §6.4.1"),
    ParseFixture("A341 CLOSE", .close, "RFC 9051 §6.4.1"),
    ParseFixture("A342 UNSELECT", .unselect, "RFC 9051 §6.4.2"),
    ParseFixture("A202 EXPUNGE", .expunge, "RFC 9051 §6.4.3"),
    ParseFixture("A003 UID EXPUNGE 3000:3002", .uidExpunge(set(range(3000, 3002))), "RFC 9051 §6.4.9"),
    ParseFixture("A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])",
                 .fetch(set(range(2, 4)), [.flags, .bodySection(SectionSpec(text: .headerFields(["DATE", "FROM"])),
                                                                  partial: nil, peek: false)],
                        FetchModifiers(), uid: false),
                 "RFC 9051 §6.4.5"),
    ParseFixture("A999 UID FETCH 4827313:4828442 FLAGS", .fetch(set(range(4_827_313, 4_828_442)), [.flags], FetchModifiers(), uid: true),
                 "RFC 9051 §6.4.9"),
    ParseFixture("a FETCH 1 ALL", .fetch(set(single(1)), [.flags, .internalDate, .rfc822Size, .envelope], FetchModifiers(), uid: false),
                 "RFC 9051 §6.4.5 ALL macro"),
    ParseFixture("a FETCH 1:* fast", .fetch(set(SequenceRange(n(1), .last)), [.flags, .internalDate, .rfc822Size], FetchModifiers(),
                                           uid: false), "RFC 9051 §6.4.5 FAST macro"),
    ParseFixture("a FETCH * FULL", .fetch(set(SequenceRange(.last)), [.flags, .internalDate, .rfc822Size, .envelope, .body],
                                          FetchModifiers(), uid: false), "RFC 9051 §6.4.5 FULL macro"),
    ParseFixture(
        "a FETCH 1 (BODY.PEEK[1.2.MIME] BODY[]<0.2048> BODY[TEXT] BODY[HEADER.FIELDS.NOT (Received)] BODY[4.2.HEADER] BODY[3] BODY BODYSTRUCTURE ENVELOPE INTERNALDATE RFC822 RFC822.HEADER RFC822.SIZE RFC822.TEXT UID)",
        .fetch(set(single(1)), [
            .bodySection(SectionSpec(part: [1, 2], text: .mime), partial: nil, peek: true),
            .bodySection(SectionSpec(), partial: Partial(offset: 0, length: 2048), peek: false),
            .bodySection(SectionSpec(text: .text), partial: nil, peek: false),
            .bodySection(SectionSpec(text: .headerFieldsNot(["RECEIVED"])), partial: nil, peek: false),
            .bodySection(SectionSpec(part: [4, 2], text: .header), partial: nil, peek: false),
            .bodySection(SectionSpec(part: [3]), partial: nil, peek: false),
            .body, .bodyStructure, .envelope, .internalDate, .rfc822, .rfc822Header, .rfc822Size, .rfc822Text, .uid,
        ], FetchModifiers(), uid: false),
        "RFC 9051 §6.4.5 every fetch-att"),
    ParseFixture(
        "A1 FETCH 1 (BINARY.PEEK[1]<0.100> BINARY[] BINARY.SIZE[1.2])",
        .fetch(set(single(1)), [.binary(part: [1], partial: Partial(offset: 0, length: 100), peek: true),
                                .binary(part: [], partial: nil, peek: false), .binarySize(part: [1, 2])],
               FetchModifiers(), uid: false),
        "RFC 3516 §4.2"),
    ParseFixture(
        "s100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)",
        .fetch(set(SequenceRange(n(1), .last)), [.flags], FetchModifiers(changedSince: 12345), uid: true), "RFC 7162 §3.1.4.1"),
    ParseFixture(
        "A04 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)",
        .fetch(set(range(300, 500)), [.flags], FetchModifiers(changedSince: 12345, vanished: true), uid: true), "RFC 7162 §3.2.6"),
    ParseFixture(
        "a FETCH 1 (MODSEQ SAVEDATE EMAILID THREADID PREVIEW PREVIEW (LAZY))",
        .fetch(set(single(1)), [.modSeq, .saveDate, .emailID, .threadID, .preview(lazy: false), .preview(lazy: true)],
               FetchModifiers(), uid: false),
        "RFC 7162, RFC 8514, RFC 8474, RFC 8970"),
    ParseFixture("a FETCH 1 PREVIEW (CHANGEDSINCE 5)",
                 .fetch(set(single(1)), [.preview(lazy: false)], FetchModifiers(changedSince: 5), uid: false),
                 "RFC 8970 PREVIEW then fetch modifiers"),
    ParseFixture("a FETCH $ (UID)", .fetch(.saved, [.uid], FetchModifiers(), uid: false), "RFC 5182 §2.1"),
    ParseFixture("A003 STORE 2:4 +FLAGS (\\Deleted)",
                 .store(set(range(2, 4)), unchangedSince: nil, StoreOperation(mode: .add, silent: false, flags: [.deleted]), uid: false),
                 "RFC 9051 §6.4.6"),
    ParseFixture("a STORE 1 -flags.silent \\seen $Junk \\X-Ext",
                 .store(set(single(1)), unchangedSince: nil,
                        StoreOperation(mode: .remove, silent: true, flags: [.seen, .keyword("$Junk"), .extension("\\X-Ext")]),
                        uid: false),
                 "RFC 9051 §6.4.6 flags without parens, case-insensitive"),
    ParseFixture("d105 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)",
                 .store(set(single(7), single(5), single(9)), unchangedSince: 320_162_338,
                        StoreOperation(mode: .add, silent: true, flags: [.deleted]), uid: false),
                 "RFC 7162 §3.1.3 example 10"),
    ParseFixture("a UID STORE 1 FLAGS ()",
                 .store(set(single(1)), unchangedSince: nil, StoreOperation(mode: .replace, silent: false, flags: []), uid: true),
                 "RFC 9051 §6.4.6 empty flag list"),
    ParseFixture("A003 COPY 2:4 MEETING", .copy(set(range(2, 4)), bytes("MEETING"), uid: false), "RFC 9051 §6.4.7"),
    ParseFixture("a UID MOVE 42:69 foo", .move(set(range(42, 69)), bytes("foo"), uid: true), "RFC 6851 §4.4"),
    ParseFixture("A003 REPLACE 4 Drafts (\\Seen \\Draft) {5+}\r\nHello",
                 .replace(4, bytes("Drafts"), AppendMessage(flags: [.seen, .draft], bytes: bytes("Hello")), uid: false),
                 "RFC 8508 §3.1"),
    ParseFixture("A004 UID REPLACE 2000 Drafts {3}\r\nabc",
                 .replace(2000, bytes("Drafts"), AppendMessage(bytes: bytes("abc")), uid: true), "RFC 8508 §3.2"),
    ParseFixture("A042 STATUS Work (MAILBOXID)", .status(bytes("Work"), [.mailboxID]), "RFC 8474 §4.1"),
    ParseFixture("A002 UID COPY 1:* \"Saved Items\"", .copy(set(SequenceRange(n(1), .last)), bytes("Saved Items"), uid: true),
                 "RFC 9051 §6.4.9"),
    // SORT and THREAD, RFC 5256 §5.
    ParseFixture("A282 SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994",
                 .sort([SortCriterion(.subject)], charset: "UTF-8", .since(IMAPDate(year: 1994, month: 2, day: 1)),
                       returnOptions: nil, uid: false),
                 "RFC 5256 §5"),
    ParseFixture("A283 SORT (SUBJECT REVERSE DATE) UTF-8 ALL",
                 .sort([SortCriterion(.subject), SortCriterion(.date, reverse: true)], charset: "UTF-8", .all,
                       returnOptions: nil, uid: false),
                 "RFC 5256 §5"),
    ParseFixture("A284 SORT (SUBJECT) US-ASCII TEXT \"not in mailbox\"",
                 .sort([SortCriterion(.subject)], charset: "US-ASCII", .text(bytes("not in mailbox")), returnOptions: nil, uid: false),
                 "RFC 5256 §5"),
    ParseFixture("a UID SORT RETURN (MIN COUNT) (REVERSE DISPLAYFROM DISPLAYTO) utf-8 UNSEEN",
                 .sort([SortCriterion(.displayFrom, reverse: true), SortCriterion(.displayTo)], charset: "UTF-8", .unseen,
                       returnOptions: [.min, .count], uid: true),
                 "RFC 5267 §3.2, RFC 5957"),
    ParseFixture("A283 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000",
                 .thread(.orderedSubject, charset: "UTF-8", .since(IMAPDate(year: 2000, month: 3, day: 5)), uid: false),
                 "RFC 5256 §5"),
    ParseFixture("A284 THREAD ORDEREDSUBJECT US-ASCII TEXT \"gewp\"",
                 .thread(.orderedSubject, charset: "US-ASCII", .text(bytes("gewp")), uid: false), "RFC 5256 §5"),
    ParseFixture("A285 UID THREAD REFERENCES US-ASCII ALL", .thread(.references, charset: "US-ASCII", .all, uid: true),
                 "RFC 5256 §5"),
]

/// SEARCH commands and their parse: RFC 9051 §6.4.4, RFC 3501 §6.4.4, RFC 4731, RFC 5182, RFC 7162.
let searchFixtures: [(String, SearchCommand, String)] = [
    ("A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"",
     SearchCommand(key: .and([.flagged, .since(IMAPDate(year: 1994, month: 2, day: 1)), .not(.from(bytes("Smith")))])),
     "RFC 9051 §6.4.4"),
    ("A283 SEARCH TEXT \"string not in mailbox\"", SearchCommand(key: .text(bytes("string not in mailbox"))), "RFC 9051 §6.4.4"),
    ("A284 SEARCH CHARSET UTF-8 TEXT {14}\r\nмаэстро",
     SearchCommand(charset: "UTF-8", key: .text(Array("маэстро".utf8))), "RFC 9051 §6.4.4 CHARSET and literal"),
    ("A285 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"",
     SearchCommand(returnOptions: [.min, .count],
                   key: .and([.flagged, .since(IMAPDate(year: 1994, month: 2, day: 1)), .not(.from(bytes("Smith")))])),
     "RFC 4731 §3.1"),
    ("A286 SEARCH RETURN () UNSEEN", SearchCommand(returnOptions: [], key: .unseen), "RFC 4731 §3.1 RETURN ()"),
    ("A301 UID SEARCH RETURN (ALL MAX SAVE) CHARSET \"us-ascii\" 1:5,7 UID 2:* $",
     SearchCommand(returnOptions: [.all, .max, .save], charset: "US-ASCII",
                   key: .and([.sequenceSet(set(range(1, 5), single(7))), .uid(set(SequenceRange(n(2), .last))),
                              .sequenceSet(.saved)])),
     "RFC 5182 §2.4"),
    ("a SEARCH OR (SEEN FLAGGED) NOT (DRAFT) ANSWERED",
     SearchCommand(key: .and([.or(.and([.seen, .flagged]), .not(.and([.draft]))), .answered])), "RFC 9051 §6.4.4 OR, NOT, parens"),
    ("a SEARCH OR OR SEEN DRAFT NOT NOT DELETED",
     SearchCommand(key: .or(.or(.seen, .draft), .not(.not(.deleted)))), "RFC 9051 §9 nested OR and NOT"),
    ("a SEARCH ((SEEN) (UNSEEN NEW))", SearchCommand(key: .and([.and([.seen]), .and([.unseen, .new])])), "RFC 9051 §9 nested parens"),
    ("a SEARCH ALL ANSWERED DELETED DRAFT FLAGGED SEEN RECENT NEW OLD UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN",
     SearchCommand(key: .and([.all, .answered, .deleted, .draft, .flagged, .seen, .recent, .new, .old, .unanswered, .undeleted,
                              .undraft, .unflagged, .unseen])),
     "RFC 3501 §6.4.4 flag keys"),
    ("a SEARCH KEYWORD $Forwarded UNKEYWORD Junk BCC b BODY c CC d FROM e SUBJECT f TEXT g TO h HEADER Message-ID \"<x@y>\" HEADER X-Spam \"\"",
     SearchCommand(key: .and([.keyword("$Forwarded"), .unkeyword("Junk"), .bcc(bytes("b")), .body(bytes("c")), .cc(bytes("d")),
                              .from(bytes("e")), .subject(bytes("f")), .text(bytes("g")), .to(bytes("h")),
                              .header("Message-ID", bytes("<x@y>")), .header("X-Spam", [])])),
     "RFC 9051 §6.4.4 string keys"),
    ("a SEARCH BEFORE 1-Jan-2000 ON \"31-Dec-1999\" SINCE 29-feb-2000 SENTBEFORE 2-Mar-2001 SENTON 3-Apr-2002 SENTSINCE 04-May-2003",
     SearchCommand(key: .and([.before(IMAPDate(year: 2000, month: 1, day: 1)), .on(IMAPDate(year: 1999, month: 12, day: 31)),
                              .since(IMAPDate(year: 2000, month: 2, day: 29)), .sentBefore(IMAPDate(year: 2001, month: 3, day: 2)),
                              .sentOn(IMAPDate(year: 2002, month: 4, day: 3)), .sentSince(IMAPDate(year: 2003, month: 5, day: 4))])),
     "RFC 9051 §6.4.4 date keys"),
    ("a SEARCH LARGER 1024 SMALLER 99999999999", SearchCommand(key: .and([.larger(1024), .smaller(UInt32.max)])),
     "RFC 9051 §9 number64 sizes (clamped)"),
    ("a SEARCH MODSEQ 620162338", SearchCommand(key: .modSeq(620_162_338)), "RFC 7162 §3.1.5"),
    ("a SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338", SearchCommand(key: .modSeq(620_162_338)), "RFC 7162 §3.1.5 entry"),
    ("a SEARCH YOUNGER 3600 OLDER 60", SearchCommand(key: .and([.younger(3600), .older(60)])), "RFC 5032 §3"),
    ("a SEARCH SAVEDBEFORE 1-Jan-2020 SAVEDON 2-Jan-2020 SAVEDSINCE 3-Jan-2020 SAVEDATESUPPORTED",
     SearchCommand(key: .and([.saveDateBefore(IMAPDate(year: 2020, month: 1, day: 1)), .saveDateOn(IMAPDate(year: 2020, month: 1, day: 2)),
                              .saveDateSince(IMAPDate(year: 2020, month: 1, day: 3)), .saveDateSupported])),
     "RFC 8514 §4.2"),
    ("a SEARCH EMAILID M6d99ac3275bb4e THREADID T64b478a75b7ea9",
     SearchCommand(key: .and([.emailID("M6d99ac3275bb4e"), .threadID("T64b478a75b7ea9")])), "RFC 8474 §6"),
]

@Suite struct ParserFixtureTests {
    @Test(arguments: commandFixtures)
    func commandParses(_ fixture: ParseFixture) {
        let outcome = parse(fixture.input)
        #expect(outcome == .command(TaggedCommand(tag: String(fixture.input.prefix { $0 != " " }), command: fixture.expected)))
    }

    @Test func searchParses() {
        for (input, expected, source) in searchFixtures {
            let outcome = parse(input)
            let uid = input.contains("UID SEARCH")
            #expect(outcome == .command(TaggedCommand(tag: String(input.prefix { $0 != " " }),
                                                      command: .search(expected, uid: uid))), "\(source)")
        }
    }

    /// RFC 9051 §4.3: a lone LF ends a line too (tolerated).
    @Test func loneLineFeed() {
        #expect(CommandParser.parse(bytes("a NOOP\n")) == .command(TaggedCommand(tag: "a", command: .noop)))
        #expect(CommandParser.parse(bytes("a LOGIN {1}\nu p\n"))
                == .command(TaggedCommand(tag: "a", command: .login(user: bytes("u"), password: bytes("p")))))
    }

    @Test func tagMayHoldBracketButNotPlus() {
        #expect(parse("a]1 NOOP") == .command(TaggedCommand(tag: "a]1", command: .noop)))
        #expect(parse("+a NOOP") == .syntaxError(tag: nil, message: "Expected a tag"))
    }

    @Test func utf8InQuotedMailbox() {
        #expect(parse("a SELECT \"Entwürfe\"") == .command(TaggedCommand(tag: "a", command: .select(Array("Entwürfe".utf8), SelectParameters()))))
    }
}
