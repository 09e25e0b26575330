// The migration tests' old server: a private Dovecot started and stopped by the test, the corpus put into it over
// IMAP, and snapshots of it over implicit TLS and STARTTLS that must equal what the corpus appended. Equality proves
// the corpus, the server setup and the snapshot reader right together, so a migration test can trust all three.

import Foundation
import Glibc
import Testing
import TernCore
import TernTLS
import TernTestSupport

@Suite(.enabled(if: DovecotServer.isAvailable, "needs /usr/sbin/dovecot (Debian's dovecot-imapd) and root"),
       .timeLimit(.minutes(2)))
struct DovecotServerTests {
    static let login = "old.user@old.example"
    static let password = "old \"secret\" 1"

    @Test func startsOnLoopbackPortsAndStopsEveryProcess() throws {
        let started = ContinuousClock.now
        let server = try DovecotServer(users: [(Self.login, Self.password), ("bob", "bob-password")])
        let startup = ContinuousClock.now - started
        print("DovecotServer started in \(startup)")
        #expect(startup < .seconds(3))
        #expect(server.imapPort != server.imapsPort)
        let group = try #require(server.processGroupID)

        // imaps: TLS from the first byte; imap: STARTTLS offered and plaintext LOGIN allowed.
        let tls = try IMAPTestClient.connect(port: server.imapsPort, security: .implicitTLS)
        try tls.login(astring: Self.login, password: Self.password)
        let plain = try IMAPTestClient.connect(port: server.imapPort, security: .plaintext)
        #expect(plain.greeting.contains("STARTTLS"))
        try plain.login(astring: "bob", password: "bob-password")
        let upgraded = try IMAPTestClient.connect(port: server.imapPort, security: .startTLS)
        #expect(throws: IMAPTestClientError.self) { try upgraded.login(astring: Self.login, password: "wrong") }
        try upgraded.login(astring: Self.login, password: Self.password)
        #expect(try upgraded.checked("NAMESPACE").untagged.first == "* NAMESPACE ((\"\" \"/\")) NIL NIL")
        // The master and what it forked (log, config, auth, imap-login, three imap sessions…) share its group.
        let processes = server.processIDs
        #expect(processes.contains(group) && processes.count >= 5, "\(processes)")

        // Everything listens on 127.0.0.1 and nowhere else.
        let table = try String(contentsOfFile: "/proc/net/tcp", encoding: .utf8)
        var listening: [String] = []
        for line in table.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count > 3 && fields[3] == "0A" { listening.append(String(fields[1])) } // 0A: TCP_LISTEN
        }
        for port in [server.imapPort, server.imapsPort] {
            let suffix = ":" + String(format: "%04X", port)
            #expect(listening.filter { $0.hasSuffix(suffix) } == ["0100007F" + suffix])
        }

        let directory = server.directory
        server.stop()
        #expect(processes.allSatisfy { kill($0, 0) == -1 && errno == ESRCH }, "left running: \(processes)")
        #expect(kill(-group, 0) == -1)
        #expect(!FileManager.default.fileExists(atPath: directory))
        server.stop() // idempotent
    }

    @Test func certificateFingerprintMatchesOpenSSLAndTheServedCertificate() throws {
        let server = try DovecotServer(users: [(Self.login, Self.password)])
        defer { server.stop() }
        let fingerprint = server.certificateSHA256Fingerprint
        #expect(fingerprint.count == 32 * 3 - 1)
        #expect(fingerprint.replacingOccurrences(of: ":", with: "").lowercased() == server.certificateSHA256Hex)
        let openssl = try runCommand("/usr/bin/openssl", ["x509", "-noout", "-fingerprint", "-sha256", "-in", server.certificatePath])
        #expect(openssl.status == 0)
        #expect(openssl.output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "=").last.map(String.init) == fingerprint)
        // Both ports serve that certificate: a client trusting only it, checking the name, completes the handshake.
        for security in [IMAPMailSnapshot.Security.implicitTLS, .startTLS] {
            let client = try TestClient(security == .implicitTLS ? server.imapsAddress : server.imapAddress)
            if security == .startTLS {
                _ = try client.readLine()
                try client.send("a STARTTLS\r\n")
                #expect(try client.readLine()?.hasPrefix("a OK") == true)
            }
            try client.startTLS(TLSClientContext(verifyPeer: true, caFile: server.certificatePath), serverName: "localhost")
            if security == .implicitTLS { #expect(try client.readLine()?.hasPrefix("* OK") == true) }
        }
    }

    @Test func aUserAddedLaterCanLogIn() throws {
        let server = try DovecotServer(users: [])
        defer { server.stop() }
        let before = try IMAPTestClient.connect(port: server.imapPort, security: .plaintext)
        #expect(throws: IMAPTestClientError.self) { try before.login(astring: "carol", password: "carol-1") }
        try server.addUser(login: "carol", password: "carol-1")
        #expect(throws: DovecotServerError.self) { try server.addUser(login: "carol", password: "again") }
        #expect(throws: DovecotServerError.self) { try server.addUser(login: "a:b", password: "x") }
        let after = try IMAPTestClient.connect(port: server.imapPort, security: .plaintext)
        try after.login(astring: "carol", password: "carol-1")
        try after.checked("SELECT INBOX")
    }

    @Test func aBrokenConfigurationFailsWithTheLog() throws {
        let error = #expect(throws: DovecotServerError.self) {
            try DovecotServer(users: [], extraConfiguration: "no_such_setting = 1")
        }
        #expect(error?.description.contains("no_such_setting") == true, "\(String(describing: error))")
        #expect(throws: DovecotServerError.self) { try DovecotServer(users: [], hierarchySeparator: "\\") }
        #expect(throws: DovecotServerError.self) { try DovecotServer(users: [], namespacePrefix: "INBOX.") }
    }

    /// The whole corpus into Dovecot, then snapshots over imaps and over STARTTLS: both must show exactly what was
    /// appended (folders, subscriptions, special-use, bytes, sizes, flags, internal dates).
    @Test(arguments: [("/", ""), (".", "INBOX.")] as [(Character, String)])
    func snapshotsOfThePopulatedServerEqualTheCorpus(separator: Character, prefix: String) throws {
        let server = try DovecotServer(users: [(Self.login, Self.password)], hierarchySeparator: separator,
                                       namespacePrefix: prefix)
        defer { server.stop() }
        let clock = ContinuousClock()
        var corpus: OldServerCorpus?
        let generating = clock.measure { corpus = OldServerCorpus(for: server) }
        let populating = try clock.measure { try corpus!.populate(server, login: Self.login, password: Self.password) }
        var overTLS: IMAPMailSnapshot?
        let snapshotting = try clock.measure {
            overTLS = try IMAPMailSnapshot.take(port: server.imapsPort, security: .implicitTLS, login: Self.login,
                                                password: Self.password)
        }
        let overSTARTTLS = try IMAPMailSnapshot.take(port: server.imapPort, security: .startTLS, login: Self.login,
                                                     password: Self.password)
        print("separator \(separator) prefix \"\(prefix)\": corpus generated in \(generating), appended in \(populating), "
              + "one snapshot in \(snapshotting) (\(corpus!.messages.count) messages, \(corpus!.totalBytes) bytes)")
        let snapshot = try #require(overTLS)
        let expected = try #require(corpus)

        // Taking a snapshot changes nothing (EXAMINE, BODY.PEEK), and both transports see the same.
        #expect(snapshot == overSTARTTLS)
        #expect(snapshot.separator == String(separator))
        #expect(snapshot.messageCount == expected.messages.count)
        #expect(Set(snapshot.mailboxes.map(\.name)) == Set(expected.folders.map(\.name) + expected.nonSelectableParents))
        for parent in expected.nonSelectableParents {
            #expect(snapshot[parent]?.isSelectable == false)
            #expect(snapshot[parent]?.messages.isEmpty == true)
        }
        let expectedMessages = expected.expectedMailboxes
        for folder in expected.folders {
            let mailbox = try #require(snapshot[folder.name], "\(folder.name) missing")
            #expect(mailbox.encodedName == folder.encodedName)
            #expect(mailbox.isSelectable)
            #expect(mailbox.isSubscribed == folder.isSubscribed, "\(folder.name)")
            #expect(mailbox.specialUse == folder.specialUse, "\(folder.name): \(mailbox.attributes)")
            #expect(mailbox.uidValidity != nil)
            if let difference = Self.firstDifference(mailbox.messages, expectedMessages[folder.name] ?? []) {
                Issue.record("\(folder.name): \(difference)")
            }
        }
    }

    /// Where two message lists first differ, in a few words (never the whole lists).
    static func firstDifference(_ actual: [IMAPMailSnapshot.Message], _ expected: [IMAPMailSnapshot.Message]) -> String? {
        for (index, (got, want)) in zip(actual, expected).enumerated() where got != want {
            return "message \(index + 1): got \(got), expected \(want)"
        }
        return actual.count == expected.count ? nil : "\(actual.count) messages, expected \(expected.count)"
    }
}
