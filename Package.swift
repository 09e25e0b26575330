// swift-tools-version:6.0
// Tern: one mail server daemon (IMAP, POP3, SMTP submission, inbound SMTP, outbound queue) and its admin CLI.
// The module map and who may import whom are in docs/architecture.md.
import PackageDescription

let strictSwift: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let log = Target.Dependency.product(name: "Logging", package: "swift-log")
let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")

let package = Package(
    name: "Tern",
    products: [
        .executable(name: "ternd", targets: ["ternd"]),
        .executable(name: "ternctl", targets: ["ternctl"]),
        // For bench/ and fuzz packages only (separate packages that depend on this one).
        .library(name: "TernInternals", targets: ["TernCore", "TernAuth", "TernStore", "TernMIME", "TernIMAPCore", "TernSMTPCore", "TernPOP3Core"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", exact: "0.6.0"),
    ],
    targets: [
        // C shims: one owner each, imported with `internal import` only.
        .target(name: "CTernLinux"),
        .target(name: "CTernOpenSSL", linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]),
        .target(name: "CTernSQLite", linkerSettings: [.linkedLibrary("sqlite3")]),
        .target(name: "CTernZlib", linkerSettings: [.linkedLibrary("z")]),
        .target(name: "CTernCrypt", linkerSettings: [.linkedLibrary("crypt")]),
        .target(name: "CTernResolv", linkerSettings: [.linkedLibrary("resolv")]),

        // Pure code: buffers, framing, deadlines, connection abstractions. No syscalls.
        .target(name: "TernCore", swiftSettings: strictSwift),
        // The only module with socket/epoll syscalls.
        .target(name: "TernPosix", dependencies: ["TernCore", "CTernLinux"], swiftSettings: strictSwift),
        // OpenSSL as an in-memory byte transform.
        .target(name: "TernTLS", dependencies: ["TernCore", "CTernOpenSSL"], swiftSettings: strictSwift),
        // zlib as an in-memory byte transform (IMAP COMPRESS=DEFLATE).
        .target(name: "TernCompression", dependencies: ["TernCore", "CTernZlib"], swiftSettings: strictSwift),
        // The one owner of sqlite3 handles.
        .target(name: "TernSQLite", dependencies: ["CTernSQLite"], swiftSettings: strictSwift),
        // Directory (domains, accounts, aliases, identities), password hashing, login cache, throttling, SASL.
        .target(
            name: "TernAuth", dependencies: ["TernCore", "TernSQLite", "TernTLS", "CTernCrypt"], swiftSettings: strictSwift
        ),
        // RFC 5322 / MIME parsing, ENVELOPE/BODYSTRUCTURE rendering, sections, charsets (iconv), text for search.
        .target(name: "TernMIME", dependencies: ["TernCore"], swiftSettings: strictSwift),
        // IMAP grammar: command assembler (literals), parser, response encoding. No I/O.
        .target(name: "TernIMAPCore", dependencies: ["TernCore"], swiftSettings: strictSwift),
        // SMTP grammar: command parser, replies (encode and parse), dot-stuffing, limits. No I/O.
        .target(name: "TernSMTPCore", dependencies: ["TernCore"], swiftSettings: strictSwift),
        // POP3 grammar: command parser, response encoding (dot-stuffing, TOP), limits. No I/O.
        .target(name: "TernPOP3Core", dependencies: ["TernCore"], swiftSettings: strictSwift),
        // Per-account maildir + SQLite index, retention, change bus. Protocol-neutral.
        .target(name: "TernStore", dependencies: ["TernCore", "TernPosix", "TernSQLite", "TernMIME", "CTernLinux", "CTernZlib"], swiftSettings: strictSwift),
        // IMAP sessions: command handlers over the store and the directory. No sockets.
        .target(
            name: "TernIMAPServer",
            dependencies: ["TernCore", "TernIMAPCore", "TernMIME", "TernStore", "TernAuth", "TernCompression", log],
            swiftSettings: strictSwift
        ),
        // The outbound queue: durable spool, delivery threads, SMTP client, MX routing, DSNs.
        .target(
            name: "TernQueue",
            dependencies: ["TernCore", "TernPosix", "TernTLS", "TernSQLite", "TernSMTPCore", "TernMIME", "CTernResolv", log],
            swiftSettings: strictSwift
        ),
        // SMTP sessions (submission and inbound), local delivery, trace headers. No sockets.
        .target(
            name: "TernSMTPServer",
            dependencies: ["TernCore", "TernSMTPCore", "TernMIME", "TernStore", "TernAuth", log],
            swiftSettings: strictSwift
        ),
        // POP3 sessions over the store's INBOX: login through the shared Authenticator, UIDL, soft-deleting DELE. No sockets.
        .target(
            name: "TernPOP3Server",
            dependencies: ["TernCore", "TernPOP3Core", "TernStore", "TernAuth", log],
            swiftSettings: strictSwift
        ),
        // Moving accounts from an old IMAP server: the IMAP client (TernIMAPCore's grammar), folder mapping, the
        // resumable copier.
        .target(
            name: "TernMigration",
            dependencies: ["TernCore", "TernPosix", "TernTLS", "TernIMAPCore", "TernStore", "TernAuth", log],
            swiftSettings: strictSwift
        ),
        // Wiring: config, logging, listeners, services, signals.
        .target(
            name: "TernDaemon",
            dependencies: ["TernCore", "TernPosix", "TernTLS", "TernAuth", "TernStore", "TernIMAPCore", "TernIMAPServer",
                           "TernSMTPCore", "TernSMTPServer", "TernPOP3Server", "TernQueue", "TernMigration", log, "TOMLKit"],
            swiftSettings: strictSwift
        ),
        .target(name: "TernControl", dependencies: ["TernDaemon", "TernCore", "TernPosix", "TernTLS", "TernAuth", "TernStore",
                                                  "TernQueue", "TernMigration", "TernSMTPCore", log, argumentParser], swiftSettings: strictSwift),
        .executableTarget(name: "ternd", dependencies: ["TernDaemon", log], swiftSettings: strictSwift),
        .executableTarget(name: "ternctl", dependencies: ["TernControl"], swiftSettings: strictSwift),

        // Shared by the test targets: a blocking plain/TLS client and repository paths.
        .target(name: "TernTestSupport", dependencies: ["TernCore", "TernTLS"], path: "Tests/TernTestSupport",
                swiftSettings: strictSwift),
        .testTarget(name: "TernCoreTests", dependencies: ["TernCore"], swiftSettings: strictSwift),
        .testTarget(
            name: "TernPosixTests",
            dependencies: ["TernCore", "TernPosix", "TernTLS", "TernDaemon", "TernTestSupport", log],
            swiftSettings: strictSwift
        ),
        .testTarget(name: "TernAuthTests", dependencies: ["TernAuth", "TernCore", "TernTestSupport"], swiftSettings: strictSwift),
        .testTarget(name: "TernControlTests", dependencies: ["TernTestSupport", "TernStore", "TernQueue", "TernSMTPCore"],
                    swiftSettings: strictSwift),
        .testTarget(
            name: "TernQueueTests",
            dependencies: ["TernQueue", "TernSMTPCore", "TernCore", "TernPosix", "TernTLS", "TernTestSupport", log],
            swiftSettings: strictSwift
        ),
        // Delivers until killed; used by TernStoreTests' SIGKILL crash test.
        .executableTarget(name: "tern-store-crash-helper", dependencies: ["TernStore"], path: "Tests/TernStoreCrashHelper",
                          swiftSettings: strictSwift),
        .testTarget(name: "TernStoreTests", dependencies: ["TernStore", "TernSQLite", "TernTestSupport"], swiftSettings: strictSwift),
        .testTarget(name: "TernMIMETests", dependencies: ["TernMIME", "TernTestSupport"], swiftSettings: strictSwift),
        .testTarget(name: "TernIMAPCoreTests", dependencies: ["TernIMAPCore", "TernTestSupport"], swiftSettings: strictSwift),
        .testTarget(name: "TernSMTPCoreTests", dependencies: ["TernSMTPCore", "TernCore"], swiftSettings: strictSwift),
        .testTarget(
            name: "TernIMAPServerTests",
            dependencies: ["TernIMAPServer", "TernIMAPCore", "TernStore", "TernCore", "TernTLS", "TernTestSupport"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "TernSMTPServerTests",
            dependencies: ["TernSMTPServer", "TernSMTPCore", "TernAuth", "TernCore", "TernTLS", "TernTestSupport"],
            swiftSettings: strictSwift
        ),
        .testTarget(name: "TernPOP3CoreTests", dependencies: ["TernPOP3Core", "TernCore"], swiftSettings: strictSwift),
        .testTarget(
            name: "TernPOP3ServerTests",
            dependencies: ["TernPOP3Server", "TernPOP3Core", "TernStore", "TernAuth", "TernCore", "TernTLS", "TernTestSupport", log],
            swiftSettings: strictSwift
        ),
        .testTarget(name: "TernTLSTests", dependencies: ["TernCore", "TernTLS"], swiftSettings: strictSwift),
        .testTarget(
            name: "TernDaemonTests",
            dependencies: ["TernDaemon", "TernCore", "TernPosix", "TernTLS", "TernAuth", "TernStore", "TernTestSupport",
                           "TernQueue", "TernSMTPCore", log],
            swiftSettings: strictSwift
        ),
        // The old server of migration tests: a private Dovecot, the corpus put into it and IMAP snapshots, checked
        // against each other.
        .testTarget(name: "TernMigrationTests", dependencies: ["TernTestSupport", "TernCore", "TernTLS", "TernMigration", "TernStore", "TernIMAPCore"],
                    swiftSettings: strictSwift),
        .testTarget(
            name: "CShimTests",
            dependencies: ["CTernSQLite", "CTernZlib", "CTernCrypt", "CTernOpenSSL"],
            swiftSettings: strictSwift
        ),
    ]
)
