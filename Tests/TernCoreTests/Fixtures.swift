import Glibc

/// Reads a file under the repository's Fixtures/ folder (found relative to this source file).
func fixture(_ relativePath: String, file: StaticString = #filePath) throws -> String {
    let source = "\(file)"
    let parts = source.split(separator: "/", omittingEmptySubsequences: false)
    let root = parts.prefix { $0 != "Tests" }.joined(separator: "/")
    let path = root + "/Fixtures/" + relativePath
    guard let handle = fopen(path, "r") else { throw FixtureError.missing(path) }
    defer { fclose(handle) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = fread(&buffer, 1, buffer.count, handle)
        if count == 0 { break }
        bytes += buffer[0..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
}

enum FixtureError: Error { case missing(String) }
