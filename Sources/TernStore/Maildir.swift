// One mailbox's maildir folder: `tmp/`, `new/`, `cur/`. Files are named `<seconds>.M<micro>P<pid>Q<n>.<host>:2,<flags>`
// (the maildir spec's unique names). A message appears in cur/ only complete: written into an unnamed file and
// linked in, or (where the file system has no O_TMPFILE) written in tmp/ and renamed. A crash leaves a whole
// message in cur/, or nothing, or a stray file in tmp/ (removed on open), never half a message.

import Glibc
import Synchronization

struct Maildir: Sendable {
    let path: String

    var tmp: String { path + "/tmp" }
    var new: String { path + "/new" }
    var cur: String { path + "/cur" }

    func create() throws(StoreError) {
        try DurableFile.makeDirectory(path)
        for folder in [tmp, new, cur] { try DurableFile.makeDirectory(folder) }
    }

    private static let counter = Atomic<UInt64>(0)
    private static let hostname: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // '/' and ':' have meanings in maildir names.
        return name.isEmpty ? "localhost" : name.replacingSlashesAndColons
    }()

    static func uniqueName() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let sequence = counter.add(1, ordering: .relaxed).newValue
        return "\(now.tv_sec).M\(now.tv_nsec / 1000)P\(getpid())Q\(sequence).\(hostname)"
    }

    /// Writes a complete message into cur/ and returns its file name. Neither the data nor the directory entry is
    /// durable yet: the group commit makes a whole batch durable with one `syncfs` before indexing it.
    func deliver(_ bytes: [UInt8], flags: SystemFlags) throws(StoreError) -> String {
        let base = Self.uniqueName()
        let name = base + ":2," + flags.maildirLetters
        // An unnamed file linked into cur/ appears whole, like a rename from tmp/, with one directory operation
        // instead of two (and nothing to clean up after a crash).
        if try DurableFile.createUnnamed(in: cur, as: cur + "/" + name, bytes: bytes) { return name }
        let temporary = tmp + "/" + base
        try DurableFile.create(temporary, bytes: bytes, sync: false)
        do {
            try DurableFile.rename(temporary, to: cur + "/" + name)
        } catch {
            try? DurableFile.remove(temporary)
            throw error
        }
        return name
    }

    /// Removes leftovers of interrupted deliveries.
    func cleanTmp() throws(StoreError) {
        for name in try DurableFile.list(tmp) { try DurableFile.remove(tmp + "/" + name) }
    }
}

extension String {
    var replacingSlashesAndColons: String {
        String(map { $0 == "/" ? "\u{2215}" : $0 == ":" ? "\u{A789}" : $0 })
    }
}
