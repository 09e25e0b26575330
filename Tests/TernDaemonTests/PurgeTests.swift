// The daemon's retention purge: each account's expunged mail goes once its retention (the account's own, or the
// server's) has run out, and not before.

import Foundation
import Logging
import Testing
import TernAuth
@testable import TernDaemon
import TernStore

@Suite struct PurgeTests {
    @Test func purgeHonoursServerAndAccountRetention() throws {
        let data = NSTemporaryDirectory() + "tern-purge-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: data) }
        let directory = try Directory(path: data + "/directory.sqlite")
        try directory.addDomain("example.com")
        let hash = try PasswordHash.make("pass word 1")
        let keep = try EmailAddress(parsing: "keep@example.com")
        let drop = try EmailAddress(parsing: "drop@example.com")
        try directory.addAccount(keep, passwordHash: hash)
        try directory.addAccount(drop, passwordHash: hash)
        var changes = AccountChanges()
        changes.retentionDays = .some(0)
        try directory.updateAccount(drop, changes)
        let stores = StoreRegistry(dataDirectory: data)
        for address in [keep, drop] {
            let store = try stores.acquire(address.description)
            let (_, uid) = try store.append(to: "INBOX", Array("Subject: x\r\n\r\nbody\r\n".utf8))
            try store.expunge("INBOX", uids: [uid])
            stores.release(address.description)
        }
        Server.purgeExpired(directory: directory, stores: stores, defaultRetention: 30, logger: Logger(label: "test"))
        let kept = try stores.acquire(keep.description)
        let dropped = try stores.acquire(drop.description)
        #expect(try kept.deletedMessages().count == 1, "server retention (30 days) keeps it")
        #expect(try dropped.deletedMessages().isEmpty, "the account's retention (0 days) has run out")
    }
}
