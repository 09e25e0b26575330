import Foundation
import Testing
import Logging
import TernCore
import TernDaemon
import TernTLS
import TernTestSupport

@Suite struct ConfigTests {
    /// etc/tern.toml documents every key with its default: loading it must give exactly the embedded defaults.
    @Test func exampleConfigEqualsEmbeddedDefaults() throws {
        let path = repositoryPath("etc/tern.toml")
        var loaded = try TernConfig.load(path: path, contents: String(contentsOfFile: path, encoding: .utf8))
        loaded.configFile = nil
        #expect(loaded == TernConfig())
    }

    @Test func validConfigIsMapped() throws {
        let path = repositoryPath("Fixtures/config/valid.toml")
        let config = try TernConfig.load(path: path, contents: String(contentsOfFile: path, encoding: .utf8))
        #expect(config.hostname == "mail.example.net")
        #expect(config.localDomains == ["mail.example.net"])
        #expect(config.dataDirectory == "/var/lib/tern")
        #expect(config.logLevel == .warning)
        #expect(config.tlsMinimumVersion == .v1_3)
        #expect(config.tlsCertificate == "/etc/tern/fullchain.pem")
        #expect(config.listeners.imap.map(\.description) == ["0.0.0.0:143", "[::]:143"])
        #expect(config.listeners.submission.isEmpty)
        #expect(config.listeners.pop3.isEmpty && config.listeners.pop3s.map(\.description) == ["0.0.0.0:995"])
        #expect(config.limits.idleTimeoutSeconds == 900)
        #expect(config.limits.maxConnections == TernConfig().limits.maxConnections)
    }

    static let badConfigs = [
        "unknown-key", "wrong-type", "bad-address", "duplicate-port", "duplicate-pop3-port", "old-tls", "half-tls", "syntax",
        "out-of-range", "bad-level",
    ]

    /// Each fixture's first line says which line and key the error must name: `# expect: line|key|text`.
    @Test(arguments: badConfigs)
    func badConfigNamesFileLineAndKey(_ name: String) throws {
        let path = repositoryPath("Fixtures/config/\(name).toml")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let expectation = text.split(separator: "\n")[0].dropFirst("# expect: ".count)
            .split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        let error = try #require(throws: ConfigError.self) { try TernConfig.load(path: path, contents: text) }
        #expect(error.file == path)
        #expect(error.line == Int(expectation[0]), "\(error)")
        #expect(error.key == (expectation[1].isEmpty ? nil : expectation[1]), "\(error)")
        #expect(error.description.contains(expectation[2]), "\(error)")
        #expect(error.description.hasPrefix("\(path):\(expectation[0])"), "\(error)")
    }
}
