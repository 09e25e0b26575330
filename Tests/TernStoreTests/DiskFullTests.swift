import Foundation
import Glibc
import Testing
import TernStore

@Suite struct DiskFullTests {
    /// An 8 MiB file system (index, full-text index and files) fills up: delivery fails with a temporary error, everything stored before stays intact
    /// and readable, no partial file is left, and delivery works again once space is freed.
    @Test(.enabled(if: geteuid() == 0, "mounting a small tmpfs needs root (CI runs as root)"))
    func fullDiskFailsCleanlyAndRecovers() throws {
        let mountPoint = NSTemporaryDirectory() + "tern-full-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        guard mount("tmpfs", mountPoint, "tmpfs", 0, "size=8m") == 0 else {
            Issue.record("mount failed: errno \(errno)")
            return
        }
        defer {
            umount2(mountPoint, Int32(MNT_DETACH))
            try? FileManager.default.removeItem(atPath: mountPoint)
        }
        // Space an admin can free later, as on a real full disk (where even an expunge needs room for the WAL).
        let ballast = mountPoint + "/ballast"
        try Data(count: 3_000_000).write(to: URL(fileURLWithPath: ballast))
        let clock = TestClock()
        let store = try AccountStore(root: mountPoint + "/account", clock: { clock.now })
        var stored: [(UID, [UInt8])] = []
        var failure: StoreError?
        for index in 0..<1000 {
            let body = message("fill \(index)", bodyBytes: 20_000 + index)
            do throws(StoreError) {
                let (_, uid) = try store.append(to: "INBOX", body)
                stored.append((uid, body))
            } catch {
                failure = error
                break
            }
        }
        // The background full-text indexer leaves a file system this low on room alone: the space freed below goes to
        // the expunge and the delivery that test it, and every message stays unindexed (SEARCH parses the files).
        AccountStore.waitForTextIndex()
        let inbox = try #require(try store.mailbox(named: "INBOX")).id
        let search = try store.textSearch(inbox, column: "subject", needle: "fill")
        #expect(search.matches.isEmpty && search.unindexed.count == stored.count, "indexed on a full disk")
        #expect(failure == .noSpace, "\(String(describing: failure))")
        #expect(failure?.isTemporary == true)
        #expect(stored.count > 10)
        for (uid, body) in stored { #expect(try store.read("INBOX", uid: uid) == body) }
        #expect(try store.messages(in: "INBOX").count == stored.count)
        let files = try FileManager.default.contentsOfDirectory(atPath: mountPoint + "/account/mail/1/cur")
        #expect(files.count == stored.count, "no partial or unindexed file left behind")

        // The admin frees space; delivery, expunge and purge work again.
        try FileManager.default.removeItem(atPath: ballast)
        try store.expunge("INBOX", uids: stored.prefix(10).map(\.0))
        clock.advance(days: 1)
        try store.purge(retentionDays: 0)
        let (_, uid) = try store.append(to: "INBOX", message("after", bodyBytes: 1000))
        #expect(try store.read("INBOX", uid: uid) == message("after", bodyBytes: 1000))
    }
}
