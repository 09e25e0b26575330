import Testing
@testable import TernIMAPCore

@Suite struct ResponseEncodingTests {
    @Test func quotingChoices() {
        func text(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self) }
        #expect(text(IMAPString.quotedOrLiteral(bytes("hello world"))) == "\"hello world\"")
        #expect(text(IMAPString.quotedOrLiteral(bytes("a\"b\\c"))) == "\"a\\\"b\\\\c\"")
        #expect(text(IMAPString.quotedOrLiteral(bytes("a\r\nb"))) == "{4}\r\na\r\nb")
        #expect(text(IMAPString.quotedOrLiteral(bytes("Grüße"))) == "{7}\r\nGrüße")
        #expect(IMAPString.quotedOrLiteral([0x61, 0x00]) == bytes("{2}\r\n") + [0x61, 0x00])
        #expect(IMAPString.quotedOrLiteral(Array(repeating: 0x61, count: 1000)).count == 1002)
        #expect(text(IMAPString.quotedOrLiteral(Array(repeating: 0x61, count: 1001))).hasPrefix("{1001}\r\naaa"))
        #expect(text(IMAPString.quotedOrLiteral([])) == "\"\"")
        #expect(text(IMAPString.astring(bytes("INBOX"))) == "INBOX")
        #expect(text(IMAPString.astring(bytes("Sent]"))) == "Sent]")
        #expect(text(IMAPString.astring(bytes("Sent Items"))) == "\"Sent Items\"")
        #expect(text(IMAPString.astring(bytes("a%"))) == "\"a%\"")
        #expect(text(IMAPString.astring(bytes("nil"))) == "\"nil\"")
        #expect(text(IMAPString.astring([])) == "\"\"")
        #expect(text(IMAPString.nstring(nil)) == "NIL")
        #expect(text(IMAPString.nstring(bytes("x"))) == "\"x\"")
        #expect(text(IMAPString.nilOrQuoted(nil)) == "NIL")
        #expect(text(IMAPString.nilOrQuoted("a\r\n\"b")) == "\"a\\\"b\"")
    }

    /// Encoded strings parse back to the same bytes.
    @Test func stringsRoundTrip() {
        for value in [bytes("plain"), bytes("with space"), bytes("q\"uo\\te"), bytes("line\r\nbreak"), bytes("ünï"), []] {
            let command = bytes("a LOGIN ") + IMAPString.astring(value) + bytes(" ") + IMAPString.quotedOrLiteral(value) + bytes("\r\n")
            #expect(CommandParser.parse(command) == .command(TaggedCommand(tag: "a", command: .login(user: value, password: value))))
        }
    }

    @Test func flagLists() {
        #expect(IMAPEncoding.flagList([.seen, .keyword("$Forwarded")]) == bytes("(\\Seen $Forwarded)"))
        #expect(IMAPEncoding.flagList([.answered, .flagged, .deleted, .draft, .extension("\\X")]) ==
                bytes("(\\Answered \\Flagged \\Deleted \\Draft \\X)"))
        #expect(IMAPEncoding.flagList([]) == bytes("()"))
    }

    @Test func compressedSequenceSets() {
        #expect(IMAPEncoding.sequenceSet(fromSorted: [1, 2, 3, 5, 7, 8, 9]) == "1:3,5,7:9")
        #expect(IMAPEncoding.sequenceSet(fromSorted: []) == "")
        #expect(IMAPEncoding.sequenceSet(fromSorted: [4]) == "4")
        #expect(IMAPEncoding.sequenceSet(fromSorted: [1, 1, 2, 4, 4]) == "1:2,4")
        #expect(IMAPEncoding.sequenceSet(fromSorted: [4_294_967_294, 4_294_967_295]) == "4294967294:4294967295")
    }

    @Test func sequenceSetsRoundTrip() {
        for text in ["1", "1:3,5,*", "$", "*:4", "4294967295", "1:*", "7,5,9", "*"] {
            let parsed = CommandParser.parseSequenceSet(bytes(text))
            #expect(parsed?.imapText == text)
        }
        #expect(CommandParser.parseSequenceSet(bytes("2:4,6")) == set(range(2, 4), single(6)))
        for text in ["", "0", "1:", ":1", "1,,2", "4294967296", "$,1", "1 2", "a", "1:0"] {
            #expect(CommandParser.parseSequenceSet(bytes(text)) == nil, "\(text)")
        }
    }

    /// RFC 9051 §9 date-time, `17-Jul-1996 02:44:25 -0700` (its example) is 1996-07-17 09:44:25 UTC.
    @Test func dateTimes() {
        let example = CommandParser.parseDateTime(bytes("17-Jul-1996 02:44:25 -0700"))
        #expect(example == IMAPDateTime(date: IMAPDate(year: 1996, month: 7, day: 17), hour: 2, minute: 44, second: 25, zoneMinutes: -420))
        #expect(example?.epochSeconds == 837_596_665)
        #expect(IMAPDateTime(epochSeconds: 837_596_665, zoneMinutes: -420).imapText == "17-Jul-1996 02:44:25 -0700")
        #expect(IMAPDateTime(epochSeconds: 0).imapText == " 1-Jan-1970 00:00:00 +0000")
        #expect(IMAPDateTime(epochSeconds: -1).imapText == "31-Dec-1969 23:59:59 +0000")
        #expect(IMAPDateTime(epochSeconds: 1_700_000_000, zoneMinutes: 330).imapText == "15-Nov-2023 03:43:20 +0530")
        #expect(IMAPDateTime(epochSeconds: 1_700_000_000).quoted == bytes("\"14-Nov-2023 22:13:20 +0000\""))
        #expect(CommandParser.parseDateTime(bytes(" 1-Feb-2024 00:00:00 +0000"))?.epochSeconds == 1_706_745_600)
        #expect(CommandParser.parseDateTime(bytes("1-Feb-2024 00:00:00 +0000"))?.epochSeconds == 1_706_745_600)
        #expect(CommandParser.parseDateTime(bytes("29-Feb-2023 00:00:00 +0000")) == nil)
        #expect(CommandParser.parseDateTime(bytes("1-Feb-2024 00:00:00")) == nil)
        #expect(IMAPDateTime(epochSeconds: Int64.max, zoneMinutes: Int.max).imapText == "31-Dec-9999 23:58:59 +2359")
        #expect(IMAPDateTime(epochSeconds: Int64.min, zoneMinutes: Int.min).date == IMAPDate(year: 1, month: 1, day: 1))
        #expect(IMAPDate(year: 1970, month: 1, day: 1).epochSeconds == 0)
        #expect(IMAPDate(year: 2000, month: 3, day: 1).epochSeconds == 951_868_800)
        #expect(IMAPDate(year: 2024, month: 2, day: 1).imapText == "1-Feb-2024")
        #expect(CommandParser.parseDate(bytes("1-feb-2024")) == IMAPDate(year: 2024, month: 2, day: 1))
    }

    /// Every second across leap years and zones survives text and back.
    @Test func dateTimesRoundTrip() {
        var seconds: Int64 = -2_208_988_800  // 1900-01-01
        while seconds < 4_102_444_800 {      // 2100-01-01
            for zone in [-720, -420, 0, 60, 345, 840] {
                let value = IMAPDateTime(epochSeconds: seconds, zoneMinutes: zone)
                #expect(value.epochSeconds == seconds)
                #expect(CommandParser.parseDateTime(Array(value.imapText.utf8)) == value)
            }
            seconds += 86_400 * 37 + 3_607
        }
    }
}
