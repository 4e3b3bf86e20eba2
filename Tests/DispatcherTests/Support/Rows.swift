import Foundation

@testable import Dispatcher

/// Reads an SQLite database directly (not through the CLI or the store seam) so tests check
/// what is really stored, with SQL where they need to.
struct Rows {
    let store: SQLiteJobStore

    init(_ path: String) throws {
        store = try SQLiteJobStore(path: path)
    }

    func all() throws -> [Job] {
        try store.list(state: nil, queue: nil, limit: Int.max)
    }

    func count(_ state: JobState? = nil) throws -> Int {
        try store.list(state: state.map { .state($0) }, queue: nil, limit: Int.max).count
    }

    func scalar(_ sql: String) throws -> Int64 {
        try store.connection.scalar(sql)
    }
}

/// Parses a `--json` object line.
func jsonObject(_ line: String) throws -> [String: Any] {
    let value = try JSONSerialization.jsonObject(with: Data(line.utf8), options: [.fragmentsAllowed])
    guard let object = value as? [String: Any] else { throw DispatcherError("not a JSON object: \(line)") }
    return object
}

/// NDJSON lines for `count` simple jobs.
func ndjson(_ count: Int, start: Int = 0, extra: String = "") -> String {
    (start..<(start + count)).map { "{\"method\":\"work\",\"params\":[\($0)]\(extra)}\n" }.joined()
}
