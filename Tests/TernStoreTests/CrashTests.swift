// SIGKILL in the middle of deliveries: every acknowledged message survives byte for byte, UIDs are unique and
// increase in acknowledgment order, and after recovery the index and the files agree.

import Foundation
import Testing
import TernStore
import TernTestSupport

func crashBody(run: Int, thread: Int, index: Int) -> [UInt8] {
    let header = "From: crash@example.net\r\nSubject: run \(run) thread \(thread) message \(index)\r\n\r\n"
    return Array(header.utf8) + [UInt8](repeating: UInt8(97 + (thread + index) % 26), count: 2000 + index % 5000)
}

@Suite(.serialized) struct CrashTests {
    @Test func acknowledgedMessagesSurviveSIGKILL() throws {
        let root = NSTemporaryDirectory() + "tern-crash-\(UUID().uuidString)"
        defer {
            try? FileManager.default.removeItem(atPath: root)
            try? FileManager.default.removeItem(atPath: root + ".journal")
        }
        var acknowledged: [(uid: UInt32, run: Int, thread: Int, index: Int)] = []
        var generator = SystemRandomNumberGenerator()
        for round in 0..<20 {
            let helper = Process()
            helper.executableURL = URL(fileURLWithPath: Products.path(of: "tern-store-crash-helper"))
            // Every other round makes its appends durable through a delivery journal (replayed by the next such round).
            helper.arguments = round % 2 == 0 ? [root, "4"] : [root, "4", root + ".journal"]
            let output = Pipe()
            helper.standardOutput = output
            try helper.run()
            usleep(UInt32.random(in: 80_000...400_000, using: &generator))
            kill(helper.processIdentifier, SIGKILL)
            helper.waitUntilExit()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            // Only complete lines count: a line cut by the kill was not fully acknowledged.
            for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
                let fields = line.split(separator: " ")
                guard fields.count == 5, fields[0] == "ACK", let uid = UInt32(fields[1]), let run = Int(fields[2]),
                      let thread = Int(fields[3]), let index = Int(fields[4]) else {
                    Issue.record("round \(round): malformed line \(line)")
                    continue
                }
                acknowledged.append((uid, run, thread, index))
            }
        }
        #expect(acknowledged.count > 100, "the helper should have delivered in most rounds")

        // Recovery happens on open.
        let store = try AccountStore(root: root)
        let messages = try store.messages(in: "INBOX")
        let uids = messages.map(\.uid.rawValue)
        #expect(uids == uids.sorted() && Set(uids).count == uids.count, "UIDs unique and increasing")
        let present = Set(uids)
        for ack in acknowledged {
            #expect(present.contains(ack.uid), "acknowledged UID \(ack.uid) is missing")
            if present.contains(ack.uid) {
                #expect(try store.read("INBOX", uid: UID(ack.uid)) == crashBody(run: ack.run, thread: ack.thread, index: ack.index),
                        "UID \(ack.uid) has other bytes than acknowledged")
            }
        }
        // UIDs were handed out in acknowledgment order within each writer.
        for key in Set(acknowledged.map { "\($0.run)/\($0.thread)" }) {
            let mine = acknowledged.filter { "\($0.run)/\($0.thread)" == key }.map(\.uid)
            #expect(mine == mine.sorted(), "writer \(key) saw UIDs go backwards")
        }
        // Index and files agree: every indexed message reads, every file in cur/ is indexed, tmp/ is empty.
        let files = try FileManager.default.contentsOfDirectory(atPath: root + "/mail/1/cur")
        #expect(files.count == messages.count)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/mail/1/tmp").isEmpty)
        for message in messages { _ = try store.read("INBOX", uid: message.uid) }
    }
}
