import Foundation
import Synchronization
import Testing
import TernStore

@Suite struct QuotaTests {
    @Test func bytesAndMessagesAreEnforcedWithAClearError() throws {
        let (store, root) = try makeStore()
        let quota = Quota(maxBytes: 1000, maxMessages: 3)
        let small = message("s", bodyBytes: 200) // ~250 bytes
        try store.append(to: "INBOX", small, quota: quota)
        try store.append(to: "INBOX", small, quota: quota)
        try store.append(to: "INBOX", small, quota: quota)
        #expect(throws: StoreError.self) { try store.append(to: "INBOX", small, quota: quota) } // 4th message
        #expect(throws: StoreError.self) {
            try store.append(to: "INBOX", message("big", bodyBytes: 900), quota: Quota(maxBytes: 1000))
        }
        let error = try #require(throws: StoreError.self) { try store.append(to: "INBOX", small, quota: quota) }
        #expect(error == .overQuota("4 messages would exceed the limit of 3"))
        #expect(try store.messages(in: "INBOX").count == 3)
        #expect(try store.usage() == Usage(bytes: Int64(3 * small.count), messages: 3))
        // Nothing of a refused message stays on disk.
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/mail/1/cur").count == 3)
    }

    /// Soft-deleted mail does not count; restoring counts again; deleting a mailbox frees its share.
    @Test func usageFollowsExpungeRestoreAndDeletion() throws {
        let (store, _) = try makeStore()
        let body = message("m", bodyBytes: 100)
        let (_, uid) = try store.append(to: "INBOX", body)
        _ = try store.createMailbox("Old")
        try store.append(to: "Old", body)
        try store.append(to: "Old", body)
        #expect(try store.usage().messages == 3)
        try store.expunge("INBOX", uids: [uid])
        #expect(try store.usage() == Usage(bytes: Int64(2 * body.count), messages: 2))
        _ = try store.restore(try store.deletedMessages().map(\.id))
        #expect(try store.usage().messages == 3)
        try store.deleteMailbox("Old")
        #expect(try store.usage() == Usage(bytes: Int64(body.count), messages: 1))
    }

    /// Concurrent appends racing for the last places: exactly as many succeed as the quota allows.
    @Test func concurrentAppendsNeverOvershoot() throws {
        let (store, _) = try makeStore()
        let quota = Quota(maxMessages: 25)
        let accepted = Atomic<Int>(0)
        let refused = Atomic<Int>(0)
        let group = DispatchGroup()
        for thread in 0..<10 {
            group.enter()
            Thread.detachNewThread {
                for index in 0..<5 {
                    do {
                        try store.append(to: "INBOX", message("\(thread)-\(index)"), quota: quota)
                        accepted.add(1, ordering: .relaxed)
                    } catch {
                        refused.add(1, ordering: .relaxed)
                    }
                }
                group.leave()
            }
        }
        group.wait()
        #expect(accepted.load(ordering: .relaxed) == 25)
        #expect(refused.load(ordering: .relaxed) == 25)
        #expect(try store.messages(in: "INBOX").count == 25)
        #expect(try store.usage().messages == 25)
    }
}
