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

    /// In the base name of files that recovery discards unless the index has them (see `deliver`).
    static let provisionalMarker = ",X=copy"

    static func uniqueName() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let sequence = counter.add(1, ordering: .relaxed).newValue
        return "\(now.tv_sec).M\(now.tv_nsec / 1000)P\(getpid())Q\(sequence).\(hostname)"
    }

    /// Writes a complete message into cur/ and returns its file name. Neither the data nor the directory entry is
    /// durable yet: the group commit makes a whole batch durable with one `syncfs` before indexing it.
    /// With `provisional`, the name says so (`,X=copy`): if the process dies before the index commit, recovery
    /// removes the file instead of adopting it, because whoever wrote it (a migration) copies it again on its next run.
    func deliver(_ bytes: [UInt8], flags: SystemFlags, provisional: Bool = false) throws(StoreError) -> String {
        let base = Self.uniqueName() + (provisional ? Self.provisionalMarker : "")
        let name = base + ":2," + flags.maildirLetters
        // An unnamed file linked into cur/ appears whole, like a rename from tmp/, with one directory operation
        // instead of two (and nothing to clean up after a crash).
        if try DurableFile.createUnnamed(in: cur, as: cur + "/" + name, bytes: bytes) { return name }
        try put(bytes, as: name, through: base)
        return name
    }

    /// Writes `bytes` as cur/`name` through tmp/`temporary` and a rename, replacing any file of that name: readers
    /// see the old file or the whole new one, never half of it. Not durable yet (as `deliver`).
    func put(_ bytes: [UInt8], as name: String, through temporary: String = Maildir.uniqueName()) throws(StoreError) {
        let path = tmp + "/" + temporary
        try DurableFile.create(path, bytes: bytes, sync: false)
        do {
            try DurableFile.rename(path, to: cur + "/" + name)
        } catch {
            try? DurableFile.remove(path)
            throw error
        }
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

/// What a mailbox folder records about itself, so the index can be rebuilt from the files alone:
/// `tern-mailbox` (name, UIDVALIDITY, deletion time; replaced atomically) and `tern-uids`, an append-only log of
/// `a <uid> <file base name>` (UID given), `x <uid> <time>` (expunged) and `k <uid> <keywords>` (keywords set) lines.
extension Maildir {
    struct Metadata: Equatable {
        var name: String
        var uidValidity: UInt32
        var deletedAt: Int64?
    }

    var metadataPath: String { path + "/tern-mailbox" }
    var logPath: String { path + "/tern-uids" }

    /// Replaces the metadata durably (write, fsync, rename, fsync the folder).
    func writeMetadata(_ metadata: Metadata) throws(StoreError) {
        var text = "tern-mailbox 1\nuidvalidity \(metadata.uidValidity)\n"
        if let deletedAt = metadata.deletedAt { text += "deleted \(deletedAt)\n" }
        text += "name \(metadata.name)\n"
        let temporary = path + "/tern-mailbox.new"
        try? DurableFile.remove(temporary)
        try DurableFile.create(temporary, bytes: Array(text.utf8))
        try DurableFile.rename(temporary, to: metadataPath)
        try DurableFile.syncDirectory(path)
    }

    func readMetadata() -> Metadata? {
        guard let bytes = try? DurableFile.read(metadataPath) else { return nil }
        var metadata = Metadata(name: "", uidValidity: 0, deletedAt: nil)
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            if line.hasPrefix("name ") { metadata.name = String(line.dropFirst(5)) }
            if line.hasPrefix("uidvalidity "), let value = UInt32(line.dropFirst(12)) { metadata.uidValidity = value }
            if line.hasPrefix("deleted "), let value = Int64(line.dropFirst(8)) { metadata.deletedAt = value }
        }
        return metadata.name.isEmpty || metadata.uidValidity == 0 ? nil : metadata
    }

    /// Appends log lines; made durable by the next `syncfs` of a commit (the commit writes them before its sync).
    func appendLog(_ lines: [String]) throws(StoreError) {
        guard !lines.isEmpty else { return }
        let fd = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw DurableFile.error("open", logPath) }
        defer { close(fd) }
        let bytes = Array(lines.map { $0 + "\n" }.joined().utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw DurableFile.error("write", logPath) }
    }

    /// UIDs by file base name and expunge times by UID, from the log; nil if there is no log.
    func readLog() -> (uids: [String: UInt32], expunged: [UInt32: Int64], keywords: [UInt32: String])? {
        guard let bytes = try? DurableFile.read(logPath) else { return nil }
        var uids: [String: UInt32] = [:]
        var expunged: [UInt32: Int64] = [:]
        var keywords: [UInt32: String] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count >= 2, let uid = UInt32(fields[1]) else { continue } // a torn last line is skipped
            let rest = fields.count == 3 ? String(fields[2]) : ""
            if fields[0] == "a", !rest.isEmpty { uids[rest] = uid }
            if fields[0] == "x", let time = Int64(rest) { expunged[uid] = time }
            if fields[0] == "k" { keywords[uid] = rest } // the last change wins
        }
        return (uids, expunged, keywords)
    }

    /// Moves files that outside tools dropped into new/ into cur/ (maildir delivery convention).
    func adoptNew() throws(StoreError) -> Bool {
        var moved = false
        for name in try DurableFile.list(new) where !name.hasPrefix(".") {
            let base = name.split(separator: ":", maxSplits: 1).first.map(String.init) ?? name
            try DurableFile.rename(new + "/" + name, to: cur + "/" + base + ":2,")
            moved = true
        }
        if moved { try DurableFile.syncDirectory(cur) }
        return moved
    }
}

/// The part of a maildir file name before `:2,`, stable across flag changes.
func maildirBase(_ file: String) -> String {
    file.split(separator: ":", maxSplits: 1).first.map(String.init) ?? file
}

/// The flags a maildir file name carries after `:2,` (none without it).
func maildirFlags(_ file: String) -> SystemFlags {
    let info = file.split(separator: ":", maxSplits: 1)
    return info.count == 2 && info[1].hasPrefix("2,") ? SystemFlags(maildirLetters: info[1].dropFirst(2)) : []
}
