// Deliveries per second into one account's store with 1, 8 and 32 concurrent writers (10 KB messages), beside the
// raw rate of this disk for what one durable delivery needs without sharing: write 10 KB, fsync the file, rename
// it, fsync the directory. Both measured in the same run, in the same folder (BENCH_DIR, default the temp folder).
import Foundation
import Glibc
import Synchronization
import TernStore

let seconds = Double(CommandLine.arguments.dropFirst().first ?? "3") ?? 3
let base = ProcessInfo.processInfo.environment["BENCH_DIR"] ?? NSTemporaryDirectory()
let body = Array((String(repeating: "0123456789abcdef", count: 640)).utf8) // 10 KB

func rawRate() -> Double {
    let folder = base + "/tern-bench-raw-\(UUID().uuidString)"
    mkdir(folder, 0o700)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let deadline = Date().addingTimeInterval(seconds)
    var count = 0
    while Date() < deadline {
        let tmp = "\(folder)/tmp-\(count)", final = "\(folder)/msg-\(count)"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        _ = body.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        fsync(fd)
        close(fd)
        rename(tmp, final)
        let directory = open(folder, O_RDONLY | O_DIRECTORY)
        fsync(directory)
        close(directory)
        count += 1
    }
    return Double(count) / seconds
}

func storeRate(writers: Int) throws -> Double {
    let root = base + "/tern-bench-store-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: root) }
    let store = try AccountStore(root: root)
    let delivered = Atomic<Int>(0)
    let deadline = Date().addingTimeInterval(seconds)
    let group = DispatchGroup()
    for _ in 0..<writers {
        group.enter()
        Thread.detachNewThread {
            while Date() < deadline {
                if (try? store.append(to: "INBOX", body)) != nil { delivered.add(1, ordering: .relaxed) }
            }
            group.leave()
        }
    }
    group.wait()
    return Double(delivered.load(ordering: .relaxed)) / seconds
}

let raw = rawRate()
print("raw write+fsync+rename+dir fsync, 1 writer\t\(String(format: "%.0f", raw))/s")
for writers in [1, 8, 32] {
    let rate = try storeRate(writers: writers)
    print("Tern deliveries, \(writers) writer(s)\t\(String(format: "%.0f", rate))/s\t\(String(format: "%.2f", rate / raw))x raw")
}
print("goal: 32 writers >= 3x raw (group commit)")
