// Test helper for TernStoreTests' crash test (not installed): appends messages to an account store from several
// threads until killed, printing `ACK <uid> <thread> <n>` on stdout only after `append` has returned. Message n of
// thread t has a body the test can rebuild from (t, n) to compare byte for byte.
// With JOURNAL, appends are made durable in a delivery journal of 1 MiB (so it fills and is checkpointed during a
// round), whose records from the previous round are replayed first, as ternd does at its start.
// Usage: tern-store-crash-helper ROOT THREADS [JOURNAL]
import Foundation
import Glibc
import TernStore

let root = CommandLine.arguments[1]
let threads = Int(CommandLine.arguments[2]) ?? 4
let journal = CommandLine.arguments.count > 3 ? try DeliveryJournal.open(path: CommandLine.arguments[3], capacityMB: 1) : nil
let store = try AccountStore(root: root, journal: journal, replay: journal?.takeRecords(for: root) ?? [])
try journal?.checkpoint()
// A fresh run number so bodies from earlier rounds stay distinguishable.
let run = Int(time(nil)) ^ Int(getpid())

func body(run: Int, thread: Int, index: Int) -> [UInt8] {
    let header = "From: crash@example.net\r\nSubject: run \(run) thread \(thread) message \(index)\r\n\r\n"
    return Array(header.utf8) + [UInt8](repeating: UInt8(97 + (thread + index) % 26), count: 2000 + index % 5000)
}

for thread in 0..<threads {
    Thread.detachNewThread {
        var index = 0
        while true {
            let bytes = body(run: run, thread: thread, index: index)
            guard let (_, uid) = try? store.append(to: "INBOX", bytes) else { continue }
            // One write(2) per line, so lines from threads never interleave.
            let line = "ACK \(uid) \(run) \(thread) \(index)\n"
            _ = line.withCString { write(1, $0, strlen($0)) }
            index += 1
        }
    }
}
while true { sleep(60) }
