import WorkerPool

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

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
        var lineNumber = 0
        _ = try input.withUnsafeBytes { bytes in
            try parseLines(bytes, isEnd: true, lineNumber: &lineNumber) { jobs.append($0) }
        }
        return jobs
    }

    /// Parses the NDJSON of the file at `path` (stdin for `-`) block by block, handing each job
    /// to `each` in order; throws on the first bad line. Memory is bounded by the longest line,
    /// not by the input.
    func parse(contentsOf path: String, each: (NewJob) throws -> Void) throws {
        let descriptor: Int32 = path == "-" ? 0 : open(path, O_RDONLY)
        guard descriptor >= 0 else {
            throw DispatcherError("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        defer { if descriptor != 0 { close(descriptor) } }
        let blockSize = 1 << 18
        var buffer = [UInt8]()
        buffer.reserveCapacity(blockSize * 2)
        var lineNumber = 0
        while true {
            let start = buffer.count
            buffer.append(contentsOf: repeatElement(0, count: blockSize))
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + start, blockSize) }
            buffer.removeSubrange((start + max(0, count))...)
            if count < 0 {
                if errno == EINTR { continue }
                throw DispatcherError("cannot read \(path): \(String(cString: strerror(errno)))")
            }
            let isEnd = count == 0
            let consumed = try buffer.withUnsafeBytes { bytes in
                try parseLines(bytes, isEnd: isEnd, lineNumber: &lineNumber, each: each)
            }
            buffer.removeSubrange(0..<consumed)
            if isEnd { return }
        }
    }

    /// Parses the complete lines of `bytes` (with `isEnd`, the unterminated last one too) and
    /// returns how many bytes they took.
    private func parseLines(
        _ bytes: UnsafeRawBufferPointer, isEnd: Bool, lineNumber: inout Int, each: (NewJob) throws -> Void
    ) throws -> Int {
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count, bytes[end] != UInt8(ascii: "\n") { end += 1 }
            if end == bytes.count && !isEnd { break }
            lineNumber += 1
            let line = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
            start = min(end + 1, bytes.count)
            if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") }) {
                continue
            }
            let job: NewJob
            do {
                job = try parseLine(line)
            } catch {
                throw DispatcherError("line \(lineNumber): \(error)")
            }
            try each(job)
        }
        return start
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
                case "params":
                    job.params = try JobInput.params(validJSON: UnsafeRawBufferPointer(rebasing: line[range]))
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
