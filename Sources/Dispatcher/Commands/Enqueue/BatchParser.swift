import WorkerPool

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Parses NDJSON job lines: one JSON object per line, with the members
/// `method` (required), `params`, `queue`, `key`, `ordering_key`, `priority`, `delay_ms`,
/// `max_attempts` and `timeout_ms`. Blank lines are skipped; anything else that is wrong names its line number.
struct BatchParser {
    var now: Int64

    static let knownFields: Set<String> = [
        "method", "params", "queue", "key", "ordering_key", "priority", "delay_ms", "max_attempts", "timeout_ms",
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
        var block = [UInt8](repeating: 0, count: blockSize)
        var stream = Stream(parser: self)
        while true {
            let count = block.withUnsafeMutableBytes { read(descriptor, $0.baseAddress!, blockSize) }
            if count < 0 {
                if errno == EINTR { continue }
                throw DispatcherError("cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { return try stream.finish(each: each) }
            try block.withUnsafeBytes { try stream.feed(UnsafeRawBufferPointer(rebasing: $0[..<count]), each: each) }
        }
    }

    /// NDJSON arriving in blocks of any size (a file read, a request body): each complete line
    /// is parsed as soon as it is in, so only an unfinished line is ever held.
    struct Stream {
        let parser: BatchParser
        private var pending = [UInt8]()
        private var lineNumber = 0

        init(parser: BatchParser) { self.parser = parser }

        mutating func feed(_ block: UnsafeRawBufferPointer, each: (NewJob) throws -> Void) throws {
            pending.append(contentsOf: block)
            let consumed = try pending.withUnsafeBytes { bytes in
                try parser.parseLines(bytes, isEnd: false, lineNumber: &lineNumber, each: each)
            }
            pending.removeSubrange(0..<consumed)
        }

        /// Parses the last line, which needs no newline.
        mutating func finish(each: (NewJob) throws -> Void) throws {
            _ = try pending.withUnsafeBytes { bytes in
                try parser.parseLines(bytes, isEnd: true, lineNumber: &lineNumber, each: each)
            }
            pending.removeAll()
        }
    }

    /// Parses the complete lines of `bytes` (with `isEnd`, the unterminated last one too) and
    /// returns how many bytes they took.
    fileprivate func parseLines(
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
        func field(_ key: String, _ range: Range<Int>) throws {
            switch key {
            case "method": method = try string(range, "method")
            case "queue": job.queue = try string(range, "queue")
            case "key": job.idempotencyKey = try string(range, "key")
            case "ordering_key": job.orderingKey = try string(range, "ordering_key")
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
        do {
            try JSONScanner.scanObject(line) { key, range in
                guard !JSONScanner.isNull(line, range) else { return }
                do {
                    try field(key, range)
                } catch let error as DispatcherError where Self.knownFields.contains(key) {
                    // Named by the field as written, so `max_attempts: …` points at the member.
                    throw error.description.hasPrefix(key) ? error : DispatcherError("\(key): \(error.description)")
                }
            }
        } catch let error as JSONError {
            throw DispatcherError("invalid JSON: \(error)")
        }
        guard let method else { throw DispatcherError("method: required") }
        job.method = method
        job.runAt = now + delay
        return job
    }
}
