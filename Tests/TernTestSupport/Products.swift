// Finding and running the binaries `swift build` made (ternd, ternctl) from a test.

import Foundation

public enum Products {
    /// The path of a built executable next to the test runner (run `swift build` before `swift test`).
    public static func path(of name: String) -> String {
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        // The test runner may sit inside a bundle folder (…/TernPackageTests.xctest/…).
        while !FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path), folder.path != "/" {
            folder = folder.deletingLastPathComponent()
        }
        return folder.appendingPathComponent(name).path
    }
}

public struct CommandResult: Sendable {
    public let status: Int32
    public let output: String
    public let error: String
}

/// Runs `executable` with `arguments`, feeding `input` on stdin; kills it after `timeout` seconds.
public func runCommand(_ executable: String, _ arguments: [String], input: String? = nil, timeout: Double = 60) throws -> CommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let output = Pipe(), error = Pipe(), stdin = Pipe()
    process.standardOutput = output
    process.standardError = error
    process.standardInput = input == nil ? FileHandle.nullDevice : stdin
    let collectedOutput = Collected(), collectedError = Collected()
    collectedOutput.read(from: output)
    collectedError.read(from: error)
    try process.run()
    if let input {
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
    }
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { usleep(10_000) }
    if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
    }
    process.waitUntilExit()
    return CommandResult(status: process.terminationStatus, output: collectedOutput.finish(), error: collectedError.finish())
}

/// Collects a pipe's bytes on Foundation's reader thread, so a child never blocks on a full pipe.
final class Collected: @unchecked Sendable {
    // Invariant: `data` and `done` are only touched with `lock` held.
    private let lock = NSCondition()
    private var data = Data()
    private var done = false

    func read(from pipe: Pipe) {
        pipe.fileHandleForReading.readabilityHandler = { [self] handle in
            let chunk = handle.availableData
            lock.lock()
            if chunk.isEmpty {
                done = true
                handle.readabilityHandler = nil
                lock.broadcast()
            } else {
                data.append(chunk)
            }
            lock.unlock()
        }
    }

    /// Waits (briefly) for end of file and returns the text.
    func finish() -> String {
        lock.lock()
        defer { lock.unlock() }
        let deadline = Date().addingTimeInterval(5)
        while !done && lock.wait(until: deadline) {}
        return String(decoding: data, as: UTF8.self)
    }
}
