// swift-tools-version:6.0
// libFuzzer targets for Tern's parsers; see run.sh. A separate package so `swift test` never builds them.
import PackageDescription

let fuzz: [SwiftSetting] = [.swiftLanguageMode(.v6), .unsafeFlags(["-parse-as-library"])]

let package = Package(
    name: "tern-fuzz",
    dependencies: [.package(name: "Tern", path: "../..")],
    targets: [
        .target(name: "FuzzSupport", swiftSettings: [.swiftLanguageMode(.v6)]),
        .executableTarget(name: "fuzz-framer", dependencies: ["FuzzSupport", .product(name: "TernInternals", package: "Tern")],
                          swiftSettings: fuzz),
        .executableTarget(name: "fuzz-sasl", dependencies: ["FuzzSupport", .product(name: "TernInternals", package: "Tern")],
                          swiftSettings: fuzz),
        .executableTarget(name: "fuzz-mime", dependencies: ["FuzzSupport", .product(name: "TernInternals", package: "Tern")],
                          swiftSettings: fuzz),
        .executableTarget(name: "fuzz-imap-command", dependencies: ["FuzzSupport", .product(name: "TernInternals", package: "Tern")],
                          swiftSettings: fuzz),
        .executableTarget(name: "fuzz-pop3-command", dependencies: ["FuzzSupport", .product(name: "TernInternals", package: "Tern")],
                          swiftSettings: fuzz),
        .executableTarget(name: "fuzz-imap-response", dependencies: ["FuzzSupport", .product(name: "TernInternals", package: "Tern")],
                          swiftSettings: fuzz),
        .executableTarget(name: "fuzz-smtp-command", dependencies: ["FuzzSupport", .product(name: "TernInternals", package: "Tern")],
                          swiftSettings: fuzz),
    ]
)
