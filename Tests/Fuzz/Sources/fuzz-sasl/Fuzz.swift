// Fuzzes the SASL and base64 decoders: never crash; whatever decodes re-encodes to the same text.
import TernAuth
import TernCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let decoded = Base64.decode(bytes) {
        precondition(Array(Base64.encode(decoded).utf8) == bytes, "base64 round trip differs")
    }
    if let credentials = try? SASLPlain.decode(bytes) {
        precondition(!credentials.username.isEmpty && !credentials.password.isEmpty)
    }
    _ = try? SASLLogin.decodeStep(bytes)
    _ = try? EmailAddress(parsing: String(decoding: bytes, as: UTF8.self))
    return 0
}
