import Foundation
import Testing

@testable import Dispatcher

@Suite("bad input: one line on stderr, non-zero exit, database as it was", .timeLimit(.minutes(3)))
struct BadInputTests {
    /// A database with a few rows, and its bytes and rows before the bad command.
    struct Snapshot: Equatable {
        var bytes: Data
        var rows: [Job]
    }

    /// A text file (the fixtures' .proto source), which is no FileDescriptorSet.
    static let notAProtoset = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("WorkerPoolTests/Fixtures/ProtoJSON/kitchen.proto").path
    /// A protoset written without --include_imports.
    static let protosetWithoutImports = URL(fileURLWithPath: notAProtoset).deletingLastPathComponent()
        .appendingPathComponent("kitchen-no-imports.protoset").path

    static func prepared() async throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory()
        let result = try await DispatcherProcess.run(["enqueue", "--batch"], in: directory, stdin: ndjson(3))
        #expect(result.status == 0)
        return directory
    }

    static func snapshot(_ path: String) throws -> Snapshot {
        // Bytes first: opening through the store must not be what changes the file.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        return Snapshot(bytes: bytes, rows: try Rows(path).all())
    }

    static func expectOneLineFailure(_ result: DispatcherProcess.Result, mentioning text: String) {
        #expect(result.status != 0)
        let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: true)
        #expect(lines.count == 1, "exactly one line on stderr: \(result.stderr)")
        #expect(result.stderr.contains(text), "stderr mentions '\(text)': \(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test(arguments: [
        (["enqueue", "--method", "m", "--params", "{\"a\":"], "not valid JSON"),
        (["enqueue", "--method", "m", "--params", "42"], "object or array"),
        (["enqueue", "--method", "m", "--delay=-5s"], "negative"),
        (["enqueue", "--method", "m", "--at", "tomorrow"], "RFC 3339"),
        (["list", "--state", "sleeping"], "unknown state 'sleeping'"),
        (["retry", "--state", "nope"], "unknown state 'nope'"),
        (["purge", "--state", "pending", "--older-than", "1d"], "only succeeded, failed or cancelled"),
        (["cancel", "1", "999"], "no job with id 999"),
        (["show", "999"], "no job with id 999"),
        (
            ["run", "--upstream", "grpc://127.0.0.1:1/", "--protoset", "no-such.protoset", "--exit-when-idle"],
            "cannot read no-such.protoset"
        ),
        (
            ["run", "--upstream", "grpc://127.0.0.1:1/", "--protoset", BadInputTests.notAProtoset, "--exit-when-idle"],
            "not a FileDescriptorSet"
        ),
        (
            ["run", "--upstream", "grpc://127.0.0.1:1/", "--protoset", BadInputTests.protosetWithoutImports],
            "--include_imports"
        ),
        (["run", "--upstream", "http://127.0.0.1:1/", "--protoset", BadInputTests.protosetWithoutImports], "not http"),
        (["run", "--upstream", "ftp://127.0.0.1:1/", "--exit-when-idle"], "must start with http://"),
        (["run", "--upstream", "http://127.0.0.1:1/", "--rate", "0/s"], "--rate must look like 200/s or 60/m"),
        (["run", "--upstream", "http://127.0.0.1:1/", "--rate", "5/h"], "--rate must look like 200/s or 60/m"),
        (["run", "--upstream", "http://127.0.0.1:1/", "--rate", "5/s", "--burst", "0"], "burst must be between"),
        (["run", "--upstream", "http://127.0.0.1:1/", "--burst", "3"], "--burst needs --rate"),
        (
            ["run", "--upstream", "http://127.0.0.1:1/", "--ca-file", "ca.pem"],
            "TLS files need an https:// or grpcs:// upstream"
        ),
        (["run", "--upstream", "grpc://127.0.0.1:1", "--ca-file", "ca.pem"], "TLS files need an https:// or grpcs://"),
        (["run", "--upstream", "grpcs://127.0.0.1:1", "--ca-file", "no-such-ca.pem"], "no-such-ca.pem"),
    ])
    func aBadCommandChangesNothing(_ arguments: [String], _ message: String) async throws {
        let directory = try await Self.prepared()
        let before = try Self.snapshot(directory.database)
        let result = try await DispatcherProcess.run(arguments, in: directory)
        Self.expectOneLineFailure(result, mentioning: message)
        #expect(try Self.snapshot(directory.database) == before)
    }

    @Test func aMalformedBatchLineRejectsTheWholeBatchWithItsLineNumber() async throws {
        let directory = try await Self.prepared()
        let before = try Self.snapshot(directory.database)
        let batch = """
            {"method":"one"}
            {"method":"two","params":[2]}
            {"method":"three","params":{"broken":}
            {"method":"four"}
            {"method":"five"}

            """
        let result = try await DispatcherProcess.run(["enqueue", "--batch", "-"], in: directory, stdin: batch)
        Self.expectOneLineFailure(result, mentioning: "line 3")
        #expect(try Self.snapshot(directory.database) == before)
    }

    @Test func aDatabaseInAMissingDirectoryIsRefused() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("missing/dir/jobs.db")
        let result = try await DispatcherProcess.run(["enqueue", "--db", path, "--method", "m"], in: directory)
        Self.expectOneLineFailure(result, mentioning: "does not exist")
        #expect(!FileManager.default.fileExists(atPath: directory.path("missing")))
    }

    @Test func aReadOnlyDatabaseFileIsRefusedAndUntouched() async throws {
        let directory = try await Self.prepared()
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: directory.database)
        let before = try Data(contentsOf: URL(fileURLWithPath: directory.database))
        let result = try await DispatcherProcess.run(["enqueue", "--method", "m"], in: directory)
        Self.expectOneLineFailure(result, mentioning: "read-only")
        #expect(try Data(contentsOf: URL(fileURLWithPath: directory.database)) == before)
        // Reading still works.
        #expect(try await DispatcherProcess.run(["list"], in: directory).status == 0)
    }

    @Test func aFileThatIsNotSQLiteIsRefusedAndUntouched() async throws {
        let directory = try TemporaryDirectory()
        let text = String(repeating: "these are not the bytes of a database\n", count: 200)
        try text.write(toFile: directory.database, atomically: true, encoding: .utf8)
        let result = try await DispatcherProcess.run(["enqueue", "--method", "m"], in: directory)
        Self.expectOneLineFailure(result, mentioning: "not a database")
        #expect(try String(contentsOfFile: directory.database, encoding: .utf8) == text)
    }

    @Test func aDatabaseFromANewerDispatcherIsRefused() async throws {
        let directory = try await Self.prepared()
        let rows = try Rows(directory.database)
        try rows.store.connection.execute("PRAGMA user_version = 999")
        let result = try await DispatcherProcess.run(["list"], in: directory)
        Self.expectOneLineFailure(result, mentioning: "newer than this dispatcher")
    }
}
