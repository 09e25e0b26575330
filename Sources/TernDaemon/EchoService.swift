// A tiny line-echo protocol used only by tests and benchmarks of the core (never configured in production).
// It exercises everything the mail protocols rely on: line framing, exact-length reads, STARTTLS, the blocking
// pool with paused input, backpressure, idle timeouts and graceful shutdown.
//
//   any line      → the same line, CRLF-terminated
//   STARTTLS      → "OK begin TLS", then the TLS handshake (input pipelined after the command is discarded)
//   QUIT          → "BYE", close
//   SLEEP <ms>    → sleeps on the blocking pool (input paused), then "SLEPT"; a running command for shutdown tests
//   BIG <n>       → n bytes (n ≤ 16 MiB) of a repeating alphabet, then CRLF
//   LITERAL <n>   → reads exactly n bytes, then "GOT <n> <FNV-1a 64 hex>"
//   STATS         → "STATS secure=<bool> tls=<description>"
//   (too long)    → "ERR line too long"

import Glibc
public import Logging
public import TernCore

public struct EchoService: ConnectionHandlerFactory {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    public func makeHandler() -> any ConnectionHandler { EchoHandler(logger: logger) }

    public func refusal(_ reason: ConnectionRefusal) -> [UInt8]? {
        switch reason {
        case .tooManyConnections, .tooManyConnectionsFromAddress: return Array("ERR too many connections\r\n".utf8)
        case .shuttingDown: return Array("ERR shutting down\r\n".utf8)
        }
    }
}

final class EchoHandler: ConnectionHandler {
    private var logger: Logger
    private var isBusy = false
    private var shutdownPending = false
    private var literalLength = 0
    private var literalHash: UInt64 = 0xcbf2_9ce4_8422_2325

    init(logger: Logger) { self.logger = logger }

    func connectionDidBecomeActive(_ connection: any ConnectionContext) {
        logger[metadataKey: "conn"] = "\(connection.id)"
        logger.debug("echo connection", metadata: ["client": "\(connection.peerHost)"])
    }

    func connection(_ connection: any ConnectionContext, didReceive frame: Frame) {
        switch frame {
        case .lineTooLong:
            connection.write(Array("ERR line too long\r\n".utf8))
        case .bytes(let chunk, let remaining):
            for byte in chunk {
                literalHash = (literalHash ^ UInt64(byte)) &* 0x100_0000_01b3
            }
            if remaining == 0 {
                let hex = String(literalHash, radix: 16)
                connection.write(Array("GOT \(literalLength) \(String(repeating: "0", count: 16 - hex.count))\(hex)\r\n".utf8))
                connection.readMode = .line(maxLength: 64 * 1024)
            }
        case .line(let line):
            handleLine(line, connection)
        case .data:
            break  // The echo service never asks for dot-terminated input.
        }
    }

    private func handleLine(_ line: [UInt8], _ connection: any ConnectionContext) {
        // Commands are upper-case words; anything else is echoed without building a String (the benchmark path).
        guard let first = line.first, first >= UInt8(ascii: "B"), first <= UInt8(ascii: "S"),
              line.count <= 20 else {
            connection.write(line + [13, 10])
            return
        }
        let text = String(decoding: line, as: UTF8.self)
        let words = text.split(separator: " ", maxSplits: 1)
        switch (words.first.map(String.init), words.count > 1 ? Int(words[1]) : nil) {
        case ("STARTTLS", nil) where words.count == 1:
            guard connection.canStartTLS else {
                connection.write(Array("ERR TLS not available\r\n".utf8))
                return
            }
            connection.write(Array("OK begin TLS\r\n".utf8))
            do {
                let dropped = try connection.startTLS()
                if dropped > 0 { logger.info("discarded input pipelined after STARTTLS", metadata: ["bytes": "\(dropped)"]) }
            } catch {
                logger.error("STARTTLS failed", metadata: ["error": "\(error)"])
                connection.close()
            }
        case ("QUIT", nil) where words.count == 1:
            connection.write(Array("BYE\r\n".utf8))
            connection.close()
        case ("SLEEP", let milliseconds?) where (0...60_000).contains(milliseconds):
            isBusy = true
            connection.pauseReading()
            connection.offload({
                usleep(UInt32(milliseconds) * 1000)
                return milliseconds
            }, completion: { [self] result in
                isBusy = false
                switch result {
                case .success: connection.write(Array("SLEPT\r\n".utf8))
                case .failure(let error): connection.write(Array("ERR \(error)\r\n".utf8))
                }
                if shutdownPending {
                    connection.write(Array("BYE shutting down\r\n".utf8))
                    connection.close()
                } else {
                    connection.resumeReading()
                }
            })
        case ("BIG", let count?) where (0...(16 << 20)).contains(count):
            let alphabet = Array("abcdefghijklmnopqrstuvwxyz".utf8)
            var output = [UInt8]()
            output.reserveCapacity(count + 2)
            for index in 0..<count { output.append(alphabet[index % alphabet.count]) }
            output += [13, 10]
            connection.write(output)
        case ("LITERAL", let count?) where count >= 0:
            literalLength = count
            literalHash = 0xcbf2_9ce4_8422_2325
            if count == 0 {
                connection.write(Array("GOT 0 cbf29ce484222325\r\n".utf8))
            } else {
                connection.readMode = .bytes(count: count)
            }
        case ("STATS", nil) where words.count == 1:
            connection.write(Array("STATS secure=\(connection.isSecure) tls=\(connection.tlsDescription ?? "none")\r\n".utf8))
        default:
            connection.write(line + [13, 10])
        }
    }

    func connectionDidTimeOut(_ connection: any ConnectionContext) {
        connection.write(Array("BYE idle timeout\r\n".utf8))
    }

    func connectionShouldShutDown(_ connection: any ConnectionContext) {
        if isBusy {
            shutdownPending = true
        } else {
            connection.write(Array("BYE shutting down\r\n".utf8))
            connection.close()
        }
    }

    func connectionDidClose(_ connection: any ConnectionContext, reason: CloseReason) {
        logger.debug("echo connection closed", metadata: ["reason": "\(reason)"])
    }
}
