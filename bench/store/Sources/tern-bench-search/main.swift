// SEARCH over a big mailbox: 50,000 messages (about 2 KB of varied text each) delivered through the store (MIME
// parse + full-text index at delivery), then SEARCH TEXT / BODY / SUBJECT lookups timed one by one: p50 and p99.
// Usage: tern-bench-search [MESSAGES] [QUERIES]. Goal (issue 4): p99 under 50 ms at 50,000 messages.

import Foundation
import TernStore

/// Written at once (print is block-buffered when the output is a file).
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

let count = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 50_000 : 50_000
let queries = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2]) ?? 200 : 200
let root = (ProcessInfo.processInfo.environment["BENCH_DIR"] ?? NSTemporaryDirectory()) + "/tern-bench-search-\(UUID().uuidString)"
defer { try? FileManager.default.removeItem(atPath: root) }

// A deterministic vocabulary: 5,000 pseudo-words, so queries hit a realistic number of messages.
/// xorshift64: the same messages and queries on every run.
struct Random {
    var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
    mutating func next(_ bound: Int) -> Int {
        seed ^= seed << 13
        seed ^= seed >> 7
        seed ^= seed << 17
        return Int(seed % UInt64(bound))
    }
}
nonisolated(unsafe) var generator = Random()  // single-threaded program
func random(_ bound: Int) -> Int { generator.next(bound) }
// Words of 4-9 random letters; text draws them with a Zipf-like skew (a few very common words, a long tail), so
// a query for a word hits from a handful to thousands of messages, as in real mail.
let letters = Array("abcdefghijklmnopqrstuvwxyz")
let words: [String] = (0..<20000).map { _ in String((0..<(4 + random(6))).map { _ in letters[random(26)] }) }
func word() -> String { words[min(words.count - 1, Int(Double(words.count) * pow(Double(random(1_000_000)) / 1e6, 3)))] }
func sentence(_ n: Int) -> String { (0..<n).map { _ in word() }.joined(separator: " ") }

let store = try AccountStore(root: root)
let started = ContinuousClock.now
var batch: [AccountStore.NewMessage] = []
for n in 1...count {
    let text = """
        From: \(sentence(1)) <\(word())@example.org>\r
        To: user@example.com\r
        Subject: \(sentence(5))\r
        Date: Sat, 21 Nov 2026 10:00:00 +0000\r
        Message-ID: <bench\(n)@example.org>\r
        Content-Type: text/plain; charset=utf-8\r
        \r
        \((0..<20).map { _ in sentence(12) }.joined(separator: "\r\n"))\r

        """
    batch.append(AccountStore.NewMessage(bytes: Array(text.utf8)))
    if batch.count == 1000 {
        try store.appendBatch(to: "INBOX", batch)
        batch.removeAll()
    }
}
if !batch.isEmpty { try store.appendBatch(to: "INBOX", batch) }
let loadTime = ContinuousClock.now - started
let inbox = try store.mailbox(named: "INBOX")!
say("loaded \(count) messages in \(loadTime) (\(String(format: "%.0f", Double(count) / (Double(loadTime.components.seconds) + Double(loadTime.components.attoseconds) / 1e18)))/s, parse + index included)")

func measure(_ label: String, column: String?) throws {
    var times: [Double] = []
    var hits = 0
    for _ in 0..<queries {
        // A word from the whole vocabulary (most are rare), or a part of one (IMAP searches substrings).
        let picked = words[random(words.count)]
        let needle = random(2) == 0 ? picked : String(picked.prefix(max(3, picked.count - 2)))
        let start = ContinuousClock.now
        let result = try store.textSearch(inbox.id, column: column, needle: needle)
        let elapsed = ContinuousClock.now - start
        hits += result.matches.count
        times.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
    }
    times.sort()
    let p50 = times[times.count / 2]
    let p99 = times[min(times.count - 1, Int(Double(times.count) * 0.99))]
    say("\(label)\tp50 \(String(format: "%.1f", p50)) ms\tp99 \(String(format: "%.1f", p99)) ms\tmean hits \(hits / queries)\t(goal p99 < 50 ms)")
}
try measure("SEARCH TEXT   ", column: nil)
try measure("SEARCH BODY   ", column: "body")
try measure("SEARCH SUBJECT", column: "subject")
