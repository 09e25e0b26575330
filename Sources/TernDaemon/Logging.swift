// Log lines for ternd: one line per event on stderr, `key=value` metadata, level changeable at run time (SIGHUP).
//
//   2026-11-21T19:58:03.120Z info listening service=imap address=127.0.0.1:1143
//
// Never log a secret: protocol code passes only what is safe (no passwords, no AUTH payloads, no LOGIN literals).

public import Logging
import Glibc
import Synchronization
import TernPosix

/// The process-wide minimum level, shared by every logger so a reload applies at once.
public final class LogLevelSwitch: Sendable {
    private let raw: Atomic<UInt8>
    public init(_ level: Logger.Level) { raw = Atomic(Self.encode(level)) }
    public var level: Logger.Level {
        get { Logger.Level.allCases[Int(raw.load(ordering: .relaxed))] }
        set { raw.store(Self.encode(newValue), ordering: .relaxed) }
    }
    private static func encode(_ level: Logger.Level) -> UInt8 { UInt8(Logger.Level.allCases.firstIndex(of: level)!) }
}

public struct KeyValueLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let levelSwitch: LogLevelSwitch

    public init(label: String, levelSwitch: LogLevelSwitch) {
        self.label = label
        self.levelSwitch = levelSwitch
    }

    public var logLevel: Logger.Level {
        get { levelSwitch.level }
        set { levelSwitch.level = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = Self.timestamp()
        line += " "
        line += event.level.rawValue
        line += " "
        line += Self.escapeMessage("\(event.message)")
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        for key in merged.keys.sorted() {
            line += " \(key)=\(Self.escapeValue("\(merged[key]!)"))"
        }
        line += "\n"
        StandardError.write(line)
    }

    static func escapeMessage(_ text: String) -> String {
        String(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? " " : Character($0) })
    }

    /// Quotes values with spaces, quotes or '=' so each line splits unambiguously into key=value pairs.
    static func escapeValue(_ text: String) -> String {
        let needsQuotes = text.isEmpty || text.contains { $0 == " " || $0 == "\"" || $0 == "=" || $0.asciiValue.map { $0 < 0x20 } ?? false }
        guard needsQuotes else { return text }
        var quoted = "\""
        for character in text {
            switch character {
            case "\"": quoted += "\\\""
            case "\\": quoted += "\\\\"
            case "\n": quoted += "\\n"
            case "\r": quoted += "\\r"
            default: quoted.append(character)
            }
        }
        return quoted + "\""
    }

    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var parts = tm()
        var seconds = now.tv_sec
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))."
            + "\(pad(Int32(now.tv_nsec / 1_000_000), 3))Z"
    }
}
