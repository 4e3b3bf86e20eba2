// swift-tools-version:6.1
import Foundation
import PackageDescription

// Every numbered SQL file in the top-level `migrations/<dialect>/` folders is embedded into the
// binary, so an installed `dispatcher` never needs the source tree. Reading the folders here
// (rather than listing the files by hand) means a new migration cannot be forgotten in the
// manifest; a test checks the embedded lists in `Migrations.swift` against the folders.
let migrationsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("migrations")
let migrationFiles = ["sqlite", "postgres"].flatMap { dialect in
    ((try? FileManager.default.contentsOfDirectory(atPath: migrationsFolder.appendingPathComponent(dialect).path)) ?? [])
        .filter { $0.hasSuffix(".sql") }
        .sorted()
        .map { "\(dialect)/\($0)" }
}

let package = Package(
    name: "dispatcher",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "dispatcher", targets: ["Dispatcher"]),
        .library(name: "WorkerPool", targets: ["WorkerPool"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.29.0"),
        // The gRPC transport's HTTP/2, and the tests' and benchmarks' gRPC servers.
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.0"),
        // The admin listener (dashboard, /metrics, /healthz). Its default traits pull in
        // swift-configuration, which nothing here uses.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.20.0", traits: []),
    ],
    targets: [
        .systemLibrary(
            name: "CSQLite",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .target(
            name: "WorkerPool",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
            ]
        ),
        .executableTarget(
            name: "Dispatcher",
            dependencies: [
                "CSQLite",
                "WorkerPool",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            resources: migrationFiles.map { .embedInCode("Migrations/SQL/\($0)") } + [.embedInCode("API/openapi.json")]
        ),
        // A scriptable JSON-RPC upstream on loopback, shared by the tests and the benchmarks.
        .target(
            name: "UpstreamStub",
            dependencies: [
                "WorkerPool",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
            ],
            path: "Tests/UpstreamStub"
        ),
        .executableTarget(
            name: "dispatcher-upstream-stub",
            dependencies: [
                "UpstreamStub", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
            ],
            path: "Benchmarks/UpstreamStubServer"
        ),
        .executableTarget(
            name: "dispatcher-pool-bench",
            dependencies: [
                "WorkerPool", .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Benchmarks/PoolBenchmark"
        ),
        // Helpers both test targets share: polling with a deadline, a locked box, a seeded
        // generator.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(
            name: "WorkerPoolTests",
            dependencies: [
                "WorkerPool",
                "UpstreamStub",
                "TestSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
            ],
            // Golden files the ProtoJSON tests read through #filePath (not bundled resources).
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "DispatcherTests",
            dependencies: [
                "Dispatcher",
                "WorkerPool",
                "UpstreamStub",
                "TestSupport",
                "CSQLite",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
