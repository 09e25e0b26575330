import Foundation
import Testing
import TernPosix

@Suite struct FileSystemListTests {
    /// Names of every length up to 255 bytes come back exactly (readdir's entries are as long as their names: the
    /// old code copied 256 bytes from each and crashed when one ended at a page boundary).
    @Test func listsEveryNameExactly() throws {
        let folder = NSTemporaryDirectory() + "tern-list-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var expected: Set<String> = []
        for length in 1...255 {
            for variant in 0..<4 {
                let letters = Array("abcdefghij")
                let name = String(repeating: letters[(length + variant) % 10], count: length - 1) + String(variant)
                guard !expected.contains(name) else { continue }
                expected.insert(name)
                #expect(FileManager.default.createFile(atPath: folder + "/" + name, contents: nil))
            }
        }
        #expect(Set(try FileSystem.list(folder)) == expected)
        #expect(throws: SystemError.self) { try FileSystem.list(folder + "/missing") }
    }
}
