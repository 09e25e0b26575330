// The registry: one store per account shared by its users; a store unused for the linger is closed by the watch
// pass (not by the thread that let go); commits by another process are announced as `.changedElsewhere`.

import Foundation
import Synchronization
import Testing
@testable import TernStore

@Suite struct StoreRegistryTests {
    @Test func sharedWhileUsedClosedByTheWatchPassAndOtherProcessesAnnounced() throws {
        let data = NSTemporaryDirectory() + "tern-registry-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: data) }
        let registry = StoreRegistry(dataDirectory: data, idleLinger: .milliseconds(200))
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
        registry.checkExternalChanges()
        #expect(registry.openCount == 1, "kept open for the linger")
        usleep(250_000)
        #expect(registry.openCount == 1, "closed by a watch pass, not by the last user or the clock alone")
        registry.checkExternalChanges()
        #expect(registry.openCount == 0)
    }
}
