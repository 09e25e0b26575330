// The registry: one store per account shared by its users; an unused store is closed by the watch pass (not by the
// thread that let go); commits by another process are announced as `.changedElsewhere`.

import Foundation
import Synchronization
import Testing
@testable import TernStore

@Suite struct StoreRegistryTests {
    @Test func sharedWhileUsedClosedByTheWatchPassAndOtherProcessesAnnounced() throws {
        let data = NSTemporaryDirectory() + "tern-registry-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: data) }
        let registry = StoreRegistry(dataDirectory: data)
        let first = try registry.acquire("a@example.com")
        let second = try registry.acquire("a@example.com")
        #expect(first === second)
        let heard = Mutex<[StoreChange]>([])
        let subscription = first.changes.subscribe { change in heard.withLock { $0.append(change) } }
        // Another process (here: a second store on the same folder) commits; the watch pass announces it.
        let other = try AccountStore(root: AccountLocation.root(dataDirectory: data, account: "a@example.com"))
        try other.append(to: "INBOX", Array("Subject: x\r\n\r\nbody\r\n".utf8))
        #expect(registry.checkExternalChanges() == 1)
        #expect(heard.withLock { $0 } == [.changedElsewhere])
        #expect(registry.checkExternalChanges() == 0)
        subscription.cancel()
        registry.release("a@example.com")
        registry.release("a@example.com")
        #expect(registry.openCount == 1, "kept open until the watch pass")
        registry.checkExternalChanges()
        #expect(registry.openCount == 0)
    }
}
