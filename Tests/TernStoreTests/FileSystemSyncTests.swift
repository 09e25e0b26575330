import Foundation
import Synchronization
import Testing
@testable import TernStore

@Suite struct FileSystemSyncTests {
    /// Many committers at once share syncfs calls, and every one of them returns.
    @Test func concurrentCallersShareSyncs() throws {
        let path = NSTemporaryDirectory()
        let before = FileSystemSync.shared.calls(for: path)
        let finished = Atomic<Int>(0)
        let threads = (0..<16).map { _ in
            Thread {
                for _ in 0..<10 { try? FileSystemSync.shared.sync(path) }
                finished.add(1, ordering: .relaxed)
            }
        }
        threads.forEach { $0.start() }
        let deadline = Date().addingTimeInterval(60)
        while finished.load(ordering: .relaxed) < 16, Date() < deadline { usleep(10_000) }
        #expect(finished.load(ordering: .relaxed) == 16)
        let made = FileSystemSync.shared.calls(for: path) - before
        #expect(made >= 10 && made < 160, "\(made) syncfs calls for 160 requests")
    }
}
