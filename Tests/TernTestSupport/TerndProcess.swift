// Runs the real ternd binary as a child process with a config in a temporary folder, and reads its log.

public import Foundation
import Synchronization
public import TernCore

public enum DaemonTestError: Error, CustomStringConvertible {
    case timeout(String, log: String)
    case missingBinary(String)
    public var description: String {
        switch self {
        case .timeout(let what, let log): return "timed out waiting for \(what); ternd log:\n\(log)"
        case .missingBinary(let path): return "\(path) not found: run `swift build` first"
        }
    }
}

public final class TerndProcess {
    public let process = Process()
    public let directory: String
    private let stderrLines = SharedLog()
    private let stdoutText = SharedLog()

    public static var binary: String { Products.path(of: "ternd") }

    /// Starts ternd with `config` (TOML) in a new temporary folder; with `config == nil`, with no --config, its
    /// working folder being the temporary folder.
    /// Whether the temporary folder goes when this object does (off when another process takes it over).
    public var removesDirectoryOnExit = true

    public init(config: String?, extraArguments: [String] = [], reuseDirectory: String? = nil) throws {
        directory = reuseDirectory ?? NSTemporaryDirectory() + "ternd-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // Readable by the unprivileged user ternd drops to when tests run as root.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory)
        let binary = Self.binary
        guard FileManager.default.fileExists(atPath: binary) else { throw DaemonTestError.missingBinary(binary) }
        process.executableURL = URL(fileURLWithPath: binary)
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var arguments = extraArguments
        if let config {
            let path = directory + "/tern.toml"
            try config.replacingOccurrences(of: "$DIR", with: directory).write(toFile: path, atomically: true, encoding: .utf8)
            arguments = ["--config", path] + arguments
        }
        process.arguments = arguments
        let errorPipe = Pipe()
        let outputPipe = Pipe()
        process.standardError = errorPipe
        process.standardOutput = outputPipe
        process.standardInput = FileHandle.nullDevice
        Self.collect(errorPipe, into: stderrLines)
        Self.collect(outputPipe, into: stdoutText)
        try process.run()
    }

    private static func collect(_ pipe: Pipe, into log: SharedLog) {
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
            } else {
                log.append(String(decoding: data, as: UTF8.self))
            }
        }
    }

    /// A config serving only IMAPS on an ephemeral loopback port, as the unprivileged `nobody`, with `extra` TOML
    /// after it (more tables).
    public static func imapsOnlyConfig(_ extra: String = "") -> String {
        """
        data_dir = "$DIR/data"
        user = "nobody"
        [listeners]
        imap = []
        imaps = ["127.0.0.1:0"]
        submission = []
        submissions = []
        smtp = []
        pop3 = []
        pop3s = []
        [limits]
        shutdown_grace_seconds = 2
        \(extra)
        """
    }

    /// The config file ternd was started with (for ternctl --config).
    public var configPath: String { directory + "/tern.toml" }

    /// Runs the real ternctl against this server's config (`--config` after the subcommand words); throws with its
    /// output when it exits non-zero.
    @discardableResult
    public func ternctl(_ arguments: [String], input: String? = nil) throws -> CommandResult {
        var full = arguments
        full.insert(contentsOf: ["--config", configPath], at: min(2, full.count))
        let result = try runCommand(Products.path(of: "ternctl"), full, input: input)
        guard result.status == 0 else {
            throw DaemonTestError.timeout("ternctl \(arguments.joined(separator: " ")): \(result.error)", log: result.output)
        }
        return result
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        if removesDirectoryOnExit { try? FileManager.default.removeItem(atPath: directory) }
    }

    public var log: [String] { stderrLines.text.split(separator: "\n").map(String.init) }
    public var standardOutput: String { stdoutText.text }

    @discardableResult
    public func waitForLog(_ fragment: String, after count: Int = 0, timeout: Duration = .seconds(20)) throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let line = log.dropFirst(count).first(where: { $0.contains(fragment) }) { return line }
            if ContinuousClock.now > deadline || !process.isRunning && log.dropFirst(count).allSatisfy({ !$0.contains(fragment) }) {
                if !process.isRunning { usleep(100_000) }
                if let line = log.dropFirst(count).first(where: { $0.contains(fragment) }) { return line }
                throw DaemonTestError.timeout("'\(fragment)'", log: log.joined(separator: "\n"))
            }
            usleep(20_000)
        }
    }

    /// The first bound address of `service`, from its `listening` log line.
    public func address(of service: String) throws -> ListenAddress {
        let line = try waitForLog("service=\(service)")
        let field = line.split(separator: " ").first { $0.hasPrefix("address=") }!
        return try ListenAddress(parsing: String(field.dropFirst("address=".count)))
    }

    public func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for exit; returns the status, or nil on timeout.
    public func waitForExit(timeout: Duration) -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline { return nil }
            usleep(10_000)
        }
        return process.terminationStatus
    }
}

/// Text collected from a pipe on Foundation's reader thread and read by the test.
public final class SharedLog: Sendable {
    private let storage = Mutex("")
    public func append(_ text: String) { storage.withLock { $0 += text } }
    public var text: String { storage.withLock { $0 } }
}
