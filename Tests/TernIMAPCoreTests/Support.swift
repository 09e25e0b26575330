@testable import TernIMAPCore

/// The bytes of a command written with `\r\n` line ends.
func wire(_ text: String) -> [UInt8] { Array(text.utf8) }

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Parses `text` (CRLF added) and returns the command, or nil with the outcome recorded by the caller.
func parse(_ text: String, limits: IMAPLimits = .default) -> CommandParser.Outcome {
    CommandParser.parse(Array((text + "\r\n").utf8), limits: limits)
}

func set(_ ranges: SequenceRange...) -> SequenceSet { .ranges(ranges) }

func n(_ value: UInt32) -> SequenceNumber { .number(value) }

func range(_ a: UInt32, _ b: UInt32) -> SequenceRange { SequenceRange(.number(a), .number(b)) }

func single(_ a: UInt32) -> SequenceRange { SequenceRange(.number(a)) }

/// A fixture: one command line (CRLF appended; may contain literals with their own CRLFs), what it must parse to,
/// and the RFC text it checks.
struct ParseFixture: CustomTestStringConvertible, Sendable {
    let input: String
    let expected: Command
    let source: String
    init(_ input: String, _ expected: Command, _ source: String) {
        self.input = input
        self.expected = expected
        self.source = source
    }
    var testDescription: String { "\(source): " + input.prefix(60).map { $0 == "\r\n" ? "⏎" : String($0) }.joined() }
}

import Testing
