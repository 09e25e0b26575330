// Logins per second through Tern's Authenticator: every login hashing (no cache) against repeated logins served
// by the verified-login cache (one HMAC and one indexed SQLite read). Threads = cores, as the blocking pool would.
import Foundation
import Synchronization
import TernAuth

let threads = max(1, ProcessInfo.processInfo.activeProcessorCount)
let seconds = Double(CommandLine.arguments.dropFirst().first ?? "3") ?? 3
let folder = NSTemporaryDirectory() + "tern-bench-auth-\(UUID().uuidString)"
try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: folder) }
let directory = try Directory(path: folder + "/directory.sqlite")
try directory.addDomain("example.net")
for index in 0..<threads {
    try directory.addAccount(try EmailAddress(parsing: "user\(index)@example.net"), passwordHash: try PasswordHash.make("Summer2024x"))
}

func measure(_ label: String, cache: LoginCache?) throws {
    var policy = ThrottlePolicy()
    policy.addressBlockThreshold = .max / 4
    let authenticator = try Authenticator(directory: directory, throttle: AuthThrottle(policy: policy), cache: cache)
    let count = Atomic<Int>(0)
    let failures = Atomic<Int>(0)
    let deadline = Date().addingTimeInterval(seconds)
    let group = DispatchGroup()
    for index in 0..<threads {
        group.enter()
        Thread.detachNewThread {
            while Date() < deadline {
                if case .success = authenticator.authenticate(username: "user\(index)@example.net", password: "Summer2024x",
                                                              clientAddress: "127.0.0.\(index + 1)") {
                    count.add(1, ordering: .relaxed)
                } else {
                    failures.add(1, ordering: .relaxed)
                }
            }
            group.leave()
        }
    }
    group.wait()
    let total = count.load(ordering: .relaxed)
    print("\(label)\t\(String(format: "%.0f", Double(total) / seconds)) logins/s\t(\(total) in \(seconds) s, \(threads) threads, \(failures.load(ordering: .relaxed)) failures)")
}

try measure("without cache (yescrypt each time)", cache: nil)
try measure("with verified-login cache", cache: LoginCache())
