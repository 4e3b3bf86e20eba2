import WorkerPool

/// Parses NDJSON job lines: one JSON object per line, with the members
/// `method` (required), `params`, `queue`, `key`, `priority`, `delay_ms`, `max_attempts` and
/// `timeout_ms`. Blank lines are skipped; anything else that is wrong names its line number.
struct BatchParser {
    var now: Int64

    static let knownFields: Set<String> = [
        "method", "params", "queue", "key", "priority", "delay_ms", "max_attempts", "timeout_ms",
    ]

    /// Parses every line of `input`; throws on the first bad one, so nothing is enqueued from a
    /// batch that has one.
    func parse(_ input: [UInt8]) throws -> [NewJob] {
        var jobs = [NewJob]()
        jobs.reserveCapacity(input.count / 64)
        try input.withUnsafeBytes { bytes in
            var lineNumber = 0
            var start = 0
            while start < bytes.count {
                lineNumber += 1
                var end = start
                while end < bytes.count, bytes[end] != UInt8(ascii: "\n") { end += 1 }
                let line = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
                start = end + 1
                if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") })
                {
                    continue
                }
                do {
                    jobs.append(try parseLine(line))
                } catch {
                    throw DispatcherError("line \(lineNumber): \(error)")
                }
            }
        }
        return jobs
    }

    func parseLine(_ line: UnsafeRawBufferPointer) throws -> NewJob {
        var method: String?
        var job = NewJob(method: "", runAt: now)
        var delay: Int64 = 0
        func integer(_ range: Range<Int>, _ field: String) throws -> Int64 {
            guard let value = JSONScanner.decodeInteger(line, range) else {
                throw DispatcherError("\(field) must be an integer")
            }
            return value
        }
        func string(_ range: Range<Int>, _ field: String) throws -> String {
            guard line[range.lowerBound] == UInt8(ascii: "\"") else {
                throw DispatcherError("\(field) must be a string")
            }
            return try JobInput.validateName(JSONScanner.decodeString(line, range), field: field)
        }
        do {
            try JSONScanner.scanObject(line) { key, range in
                guard !JSONScanner.isNull(line, range) else { return }
                switch key {
                case "method": method = try string(range, "method")
                case "queue": job.queue = try string(range, "queue")
                case "key": job.idempotencyKey = try string(range, "key")
                case "params": job.params = try JobInput.validateParams(line, whole: range)
                case "priority": job.priority = try JobInput.validatePriority(integer(range, "priority"))
                case "delay_ms": delay = try JobInput.validateDelay(integer(range, "delay_ms"))
                case "max_attempts": job.maxAttempts = try JobInput.validateMaxAttempts(integer(range, "max_attempts"))
                case "timeout_ms": job.timeoutMilliseconds = try JobInput.validateTimeout(integer(range, "timeout_ms"))
                default:
                    throw DispatcherError(
                        "unknown field '\(key)'; expected: \(Self.knownFields.sorted().joined(separator: ", "))")
                }
            }
        } catch let error as JSONError {
            throw DispatcherError("invalid JSON: \(error)")
        }
        guard let method else { throw DispatcherError("missing required field 'method'") }
        job.method = method
        job.runAt = now + delay
        return job
    }
}
