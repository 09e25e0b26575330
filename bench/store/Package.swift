// swift-tools-version:6.0
// Delivery throughput benchmark: builds against the Tern package in ../.. (see run.sh). Not part of `swift test`.
import PackageDescription

let package = Package(
    name: "tern-bench-store",
    dependencies: [.package(name: "Tern", path: "../..")],
    targets: [
        .executableTarget(
            name: "tern-bench-store",
            dependencies: [.product(name: "TernInternals", package: "Tern")],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "tern-bench-search",
            dependencies: [.product(name: "TernInternals", package: "Tern")],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
