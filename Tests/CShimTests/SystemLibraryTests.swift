// The C libraries Tern links against are present and are the versions the code is written for.
import CTernCrypt
import CTernOpenSSL
import CTernSQLite
import CTernZlib
import Testing

@Suite struct SystemLibraryTests {
    @Test func openSSLIsVersion3() {
        #expect(OpenSSL_version_num() >= 0x3000_0000)
    }

    @Test func sqliteHasFTS5AndWAL() {
        #expect(sqlite3_libversion_number() >= 3_035_000)
        #expect(sqlite3_compileoption_used("ENABLE_FTS5") == 1)
    }

    @Test func zlibRoundTripsThroughDeflate() {
        var stream = z_stream()
        #expect(c_tern_deflateInit2(&stream, 6, -15, 8) == Z_OK)
        deflateEnd(&stream)
        #expect(String(cString: zlibVersion()).hasPrefix("1."))
    }

    @Test func cryptMakesYescryptHashes() {
        let salt = crypt_gensalt("$y$", 0, nil, 0)
        #expect(salt != nil)
        let prefix = salt.map { String(cString: $0) } ?? ""
        #expect(prefix.hasPrefix("$y$"))
    }
}
