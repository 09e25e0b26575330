// Blocking clients for daemon tests: plain TCP, and TLS through TernTLS's client transport over the same socket.

import Foundation
import Glibc
import TernCore
import TernTLS

final class LineClient {
    let fd: Int32
    private var transport: (any SecureTransport)?
    private var plaintext: [UInt8] = []

    init(_ address: ListenAddress, timeoutSeconds: Int = 10) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = address.port.bigEndian
        inet_pton(AF_INET, address.host, &sin.sin_addr)
        let result = withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let code = errno
            close(fd)
            throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
        }
    }

    deinit { close(fd) }

    /// Runs a TLS handshake over this connection with `context`.
    func startTLS(_ context: TLSClientContext, serverName: String?) throws {
        let transport = try context.makeTransport(serverName: serverName)
        self.transport = transport
        var output: [UInt8] = []
        _ = try transport.receive(UnsafeRawBufferPointer(start: nil, count: 0), plaintext: &plaintext, ciphertext: &output)
        rawSend(output)
        while !transport.isHandshakeComplete {
            guard let chunk = rawReceive(), !chunk.isEmpty else { throw TLSClientError.closedDuringHandshake }
            output = []
            _ = try chunk.withUnsafeBytes { try transport.receive($0, plaintext: &plaintext, ciphertext: &output) }
            rawSend(output)
        }
    }

    func send(_ text: String) throws {
        if let transport {
            var output: [UInt8] = []
            try transport.send(Array(text.utf8), ciphertext: &output)
            rawSend(output)
        } else {
            rawSend(Array(text.utf8))
        }
    }

    /// One line without CRLF; nil on EOF or timeout.
    func readLine() throws -> String? {
        while true {
            if let newline = plaintext.firstIndex(of: 10) {
                var line = Array(plaintext[..<newline])
                plaintext.removeFirst(newline + 1)
                if line.last == 13 { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            guard let chunk = rawReceive(), !chunk.isEmpty else { return nil }
            if let transport {
                var output: [UInt8] = []
                _ = try chunk.withUnsafeBytes { try transport.receive($0, plaintext: &plaintext, ciphertext: &output) }
                rawSend(output)
            } else {
                plaintext += chunk
            }
        }
    }

    private func rawSend(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { return }
            offset += sent
        }
    }

    private func rawReceive() -> [UInt8]? {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 65536, 0) }
        return count < 0 ? nil : Array(chunk[0..<count])
    }
}

enum TLSClientError: Error { case closedDuringHandshake }
