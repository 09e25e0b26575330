// The entry point SwiftPM links as `main` (see FuzzSupport).
import FuzzSupport

@_cdecl("fuzz_imap_response_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runLibFuzzer(argc, argv) { data, size in fuzz(data, size) }
}
