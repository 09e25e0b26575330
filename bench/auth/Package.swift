// swift-tools-version:6.0
// Login cost benchmark: builds against the Tern package in ../.. (see run.sh). Not part of `swift test`.
import PackageDescription

let package = Package(
    name: "tern-bench-auth",
    dependencies: [.package(name: "Tern", path: "../..")],
    targets: [
        .executableTarget(
            name: "tern-bench-auth",
            dependencies: [.product(name: "TernInternals", package: "Tern")],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
