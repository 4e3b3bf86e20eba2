import Foundation
import Testing

@testable import Dispatcher

@Suite("WAL watcher", .timeLimit(.minutes(1)))
struct WALWatcherTests {
    /// With the safety signal an hour away, only a noticed write can move the generation.
    @Test func writesToTheWALFileWakeTheWatcherEvenWhenItIsCreatedLater() async throws {
        let directory = try TemporaryDirectory()
        let database = directory.path("watched.db")
        let watcher = WALWatcher(databasePath: database, interval: .milliseconds(5), safetyInterval: .seconds(3600))
        watcher.startIfNeeded()
        defer { watcher.stop() }
        // Let the thread set its watches up before the file appears.
        try await Task.sleep(for: .milliseconds(200))
        let start = watcher.broadcast.generation

        _ = FileManager.default.createFile(atPath: database + "-wal", contents: Data("frame".utf8))
        #expect(await Self.generation(of: watcher, movesPast: start))

        // Echoes are over 50 ms after the write; from then on it stays quiet until the next one.
        try await Task.sleep(for: .seconds(1))
        let quiet = watcher.broadcast.generation
        try await Task.sleep(for: .milliseconds(300))
        #expect(watcher.broadcast.generation == quiet)
        let handle = try #require(FileHandle(forWritingAtPath: database + "-wal"))
        handle.seekToEndOfFile()
        handle.write(Data("another frame".utf8))
        try handle.close()
        #expect(await Self.generation(of: watcher, movesPast: quiet))
    }

    static func generation(of watcher: WALWatcher, movesPast generation: UInt64) async -> Bool {
        for _ in 0..<100 {
            if watcher.broadcast.generation != generation { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }
}
