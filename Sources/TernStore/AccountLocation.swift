// Where an account's store lives: `<data_dir>/accounts/<address>`, with every byte outside [a-z0-9.@_+-]
// percent-encoded, so no address (dot-atoms may contain '/') can name a path outside that folder; and reindexing it.

import Glibc

public enum AccountLocation {
    public static func root(dataDirectory: String, account: String) -> String {
        var folder = ""
        for byte in account.lowercased().utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "@"), UInt8(ascii: "_"), UInt8(ascii: "+"), UInt8(ascii: "-"):
                folder.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: ".") where !folder.isEmpty:
                folder.append(".")
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                folder += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return dataDirectory + "/accounts/" + folder
    }
}

extension AccountStore {
    /// Rebuilds an account's index from its files: the current index is kept beside it as
    /// `index.sqlite.before-reindex-<time>` and put back if the rebuild fails. No other process may have the account
    /// open meanwhile (today ternd does not open stores yet; once it does, it must be told).
    public static func reindex(root: String, clock: @escaping @Sendable () -> Int64 = AccountStore.systemClock)
        throws(StoreError) -> AccountStore {
        let index = root + "/index.sqlite"
        let backup = index + ".before-reindex-\(clock())"
        var moved: [(String, String)] = []
        for suffix in ["", "-wal", "-shm"] where access(index + suffix, F_OK) == 0 {
            try DurableFile.rename(index + suffix, to: backup + suffix)
            moved.append((backup + suffix, index + suffix))
        }
        do {
            return try AccountStore(root: root, clock: clock)
        } catch {
            for suffix in ["", "-wal", "-shm"] { try? DurableFile.remove(index + suffix) }
            for (from, to) in moved { try? DurableFile.rename(from, to: to) }
            throw error
        }
    }
}
