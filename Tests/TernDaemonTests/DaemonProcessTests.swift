// The real ternd binary as a child process: signals, reload, shutdown, defaults, bad configs, interop.

import Foundation
import Glibc
import Testing
import TernCore
import TernTLS
import TernTestSupport

/// A config with the mail ports off except IMAP, and the echo listeners, all on loopback port 0.
func echoConfig(extra: String = "", tls: String = "") -> String {
    """
    data_dir = "$DIR/data"
    user = "nobody"
    log_level = "info"
    [server]
    event_loops = 2
    [tls]
    \(tls)
    [listeners]
    imap = ["127.0.0.1:0"]
    imaps = []
    submission = []
    submissions = []
    smtp = ["127.0.0.1:0"]
    [limits]
    shutdown_grace_seconds = 2
    \(extra)
    [testing]
    echo = ["127.0.0.1:0"]
    echo_tls = ["127.0.0.1:0"]
    """
}

@Suite struct DaemonProcessTests {
    @Test func sighupReloadsTheCertificateWhileConnectionsStayUp() throws {
        let scratch = NSTemporaryDirectory() + "tern-certs-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        for name in ["a", "b"] {
            try SelfSignedCertificate.generate(hostname: "\(name).test", certificatePath: "\(scratch)/\(name).pem",
                                               keyPath: "\(scratch)/\(name).key")
            // Readable by the user ternd drops to, so the reload can read it.
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: "\(scratch)/\(name).key")
        }
        let tlsKeys = "certificate = \"\(scratch)/live/cert.pem\"\nkey = \"\(scratch)/live/key.pem\""
        try FileManager.default.createDirectory(atPath: scratch + "/live", withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: scratch)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: scratch + "/live")
        try FileManager.default.copyItem(atPath: "\(scratch)/a.pem", toPath: "\(scratch)/live/cert.pem")
        try FileManager.default.copyItem(atPath: "\(scratch)/a.key", toPath: "\(scratch)/live/key.pem")
        let server = try TerndProcess(config: echoConfig(tls: tlsKeys))
        try server.waitForLog("ternd ready")
        let tlsPort = try server.address(of: "echo_tls")
        let plainPort = try server.address(of: "echo")

        let trustA = try TLSClientContext(verifyPeer: true, caFile: "\(scratch)/a.pem")
        let trustB = try TLSClientContext(verifyPeer: true, caFile: "\(scratch)/b.pem")
        let before = try TestClient(tlsPort)
        try before.startTLS(trustA, serverName: "a.test")
        try before.send("before reload\r\n")
        #expect(try before.readLine() == "before reload")
        let plain = try TestClient(plainPort)

        // Swap the files, then SIGHUP.
        for (source, target) in [("b.pem", "cert.pem"), ("b.key", "key.pem")] {
            try FileManager.default.removeItem(atPath: "\(scratch)/live/\(target)")
            try FileManager.default.copyItem(atPath: "\(scratch)/\(source)", toPath: "\(scratch)/live/\(target)")
        }
        let logCount = server.log.count
        server.signal(SIGHUP)
        try server.waitForLog("TLS certificate reloaded", after: logCount)

        // Connections opened before the reload are still up.
        try before.send("after reload\r\n")
        #expect(try before.readLine() == "after reload")
        try plain.send("plain still up\r\n")
        #expect(try plain.readLine() == "plain still up")
        // New connections get the new certificate.
        let after = try TestClient(tlsPort)
        try after.startTLS(trustB, serverName: "b.test")
        try after.send("new cert\r\n")
        #expect(try after.readLine() == "new cert")
        let stale = try TestClient(tlsPort)
        #expect(throws: (any Error).self) { try stale.startTLS(trustA, serverName: "a.test") }

        server.signal(SIGTERM)
        #expect(server.waitForExit(timeout: .seconds(10)) == 0)
    }

    @Test func missingCertificateFilesStopTheStart() throws {
        let server = try TerndProcess(config: echoConfig(tls: "certificate = \"$DIR/none.pem\"\nkey = \"$DIR/none.key\""))
        #expect(server.waitForExit(timeout: .seconds(20)) == 71)
        #expect(server.log.contains { $0.contains("cannot start") && $0.contains("none.pem") })
    }

    @Test func sighupWithABrokenConfigKeepsRunning() throws {
        let server = try TerndProcess(config: echoConfig())
        try server.waitForLog("ternd ready")
        let echo = try server.address(of: "echo")
        try "data_dir = [1, 2".write(toFile: server.directory + "/tern.toml", atomically: true, encoding: .utf8)
        let count = server.log.count
        server.signal(SIGHUP)
        let line = try server.waitForLog("reload refused", after: count)
        #expect(line.contains("tern.toml:1"))
        let client = try TestClient(echo)
        try client.send("alive\r\n")
        #expect(try client.readLine() == "alive")
    }

    /// SIGTERM: stop accepting; an idle connection is told goodbye; a running command finishes, then goodbye;
    /// a command still running at the deadline is cut off; the process exits within the grace period.
    @Test func sigtermShutsDownWithinItsDeadline() throws {
        let server = try TerndProcess(config: echoConfig())
        try server.waitForLog("ternd ready")
        let echo = try server.address(of: "echo")
        let idle = try TestClient(echo)
        let busy = try TestClient(echo)
        let stuck = try TestClient(echo)
        try busy.send("SLEEP 800\r\n")
        try stuck.send("SLEEP 30000\r\n")
        usleep(100_000)
        let start = ContinuousClock.now
        server.signal(SIGTERM)

        #expect(try idle.readLine() == "BYE shutting down")
        #expect(try idle.readLine() == nil)
        #expect(try busy.readLine() == "SLEPT")
        #expect(try busy.readLine() == "BYE shutting down")
        usleep(300_000)
        #expect(throws: (any Error).self) { _ = try TestClient(echo) } // no longer accepting
        #expect(try stuck.readLine() == nil)
        let status = server.waitForExit(timeout: .seconds(6))
        let elapsed = ContinuousClock.now - start
        #expect(status == 0)
        #expect(elapsed < .seconds(4), "grace is 2 s; took \(elapsed)")
        #expect(server.log.contains { $0.contains("stopped") })
    }

    @Test func embeddedDefaultsPrintWhatAMailProgramNeeds() throws {
        let server = try TerndProcess(config: nil)
        try server.waitForLog("ternd ready")
        usleep(200_000)
        let banner = server.standardOutput
        #expect(banner.contains("User name:        the full email address"))
        #expect(banner.contains("127.0.0.1 port 1993, SSL/TLS"))
        #expect(banner.contains("127.0.0.1 port 1465, SSL/TLS"))
        #expect(banner.contains("ternctl user add"))
        #expect(FileManager.default.fileExists(atPath: server.directory + "/tern-data/tls/self-signed.pem"))
        #expect(server.log.contains { $0.contains("created a self-signed one") })
        server.signal(SIGINT)
        #expect(server.waitForExit(timeout: .seconds(15)) == 0)
    }

    @Test func badConfigIsRefusedWithFileLineAndKey() throws {
        let server = try TerndProcess(config: "data_dir = \"$DIR/data\"\n[limits]\nmax_conections = 5\n")
        #expect(server.waitForExit(timeout: .seconds(10)) == 78)
        let message = server.log.joined(separator: "\n")
        #expect(message.contains("tern.toml:3: key 'limits.max_conections': unknown key"), "\(message)")
    }

    @Test(.enabled(if: geteuid() == 0, "privileges can only be dropped when started as root"))
    func rootDropsToTheConfiguredUser() throws {
        let server = try TerndProcess(config: echoConfig())
        try server.waitForLog("dropped root privileges")
        let status = try String(contentsOfFile: "/proc/\(server.process.processIdentifier)/status", encoding: .utf8)
        let uidLine = status.split(separator: "\n").first { $0.hasPrefix("Uid:") }!
        let uids = uidLine.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().compactMap { UInt32($0) }
        let nobody = getpwnam("nobody")!.pointee.pw_uid
        #expect(uids.count == 4 && uids.allSatisfy { $0 == nobody }, "\(uidLine)")
    }

    /// Every mail port greets in its protocol.
    @Test func mailPortsGreet() throws {
        let server = try TerndProcess(config: echoConfig())
        try server.waitForLog("ternd ready")
        let imap = try TestClient(try server.address(of: "imap"))
        #expect(try imap.readLine()?.hasPrefix("* OK [CAPABILITY IMAP4rev1 ") == true)
        for service in ["smtp"] {
            let smtp = try TestClient(try server.address(of: service))
            #expect(try smtp.readLine()?.hasPrefix("220 ") == true, "\(service)")
        }
    }

    /// Python's ssl module (an independent client): STARTTLS injection, refused and accepted TLS versions.
    @Test(arguments: ["starttls-injection", "old-versions-refused", "modern-versions-accepted"])
    func pythonTLSInterop(_ check: String) throws {
        let server = try TerndProcess(config: echoConfig())
        try server.waitForLog("ternd ready")
        let plain = try server.address(of: "echo")
        let tls = try server.address(of: "echo_tls")
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", repositoryPath("Tests/Interop/echo_tls.py"), check, "\(plain.port)", "\(tls.port)"]
        let output = Pipe()
        python.standardOutput = output
        python.standardError = output
        try python.run()
        python.waitUntilExit()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(python.terminationStatus == 0, "\(text)")
        #expect(text.hasPrefix("ok "), "\(text)")
    }
}
