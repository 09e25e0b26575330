import Testing
@testable import TernIMAPCore

/// STYLE.md §3: "need more bytes" is not "bad syntax". Every proper prefix of a valid command is `.incomplete`
/// (Dovecot's test-imap-parser.c feeds input the same way).
@Suite struct ByteByByteTests {
    @Test(arguments: commandFixtures.map(\.input) + searchFixtures.map(\.0))
    func everyPrefixIsIncomplete(_ input: String) {
        let full = bytes(input + "\r\n")
        for length in 0..<full.count {
            let outcome = CommandParser.parse(Array(full[0..<length]))
            #expect(outcome == .incomplete, "prefix of \(length) bytes: \(outcome)")
            if outcome != .incomplete { break }
        }
        guard case .command = CommandParser.parse(full) else {
            Issue.record("the whole command does not parse")
            return
        }
    }
}
