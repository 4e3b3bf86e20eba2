#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The validated jobs of a batch, kept in an unlinked temporary file between validation and
/// insertion.
///
/// A batch is validated whole before anything is written (one bad line rejects it), but stdin
/// cannot be read twice and holding a million parsed jobs in memory costs hundreds of
/// megabytes. So validation appends each parsed job here in a compact binary form, and the
/// insertion reads them back a chunk at a time: memory stays flat in the batch's size, and
/// the JSON is scanned once. The file is unlinked as soon as it is created, so it disappears
/// with the process whatever happens. It lives in `$TMPDIR` (else `/tmp`).
final class BatchSpool {
    private let descriptor: Int32
    /// Encoded jobs not yet written to the file.
    private var buffer = [UInt8]()
    /// Jobs appended.
    private(set) var count = 0
    /// Set by `rewind()`: reads the jobs back.
    private var reader: Reader?
    static let blockSize = 1 << 18

    init() throws {
        var directory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        if directory.isEmpty { directory = "/tmp" }
        var template = Array((directory + "/dispatcher-batch-XXXXXX").utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else {
            throw DispatcherError(
                "cannot create a temporary file in \(directory) for the batch: \(String(cString: strerror(errno)))")
        }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        self.descriptor = descriptor
        buffer.reserveCapacity(Self.blockSize * 2)
    }

    deinit {
        close(descriptor)
    }

    // MARK: Writing

    func append(_ job: NewJob) throws {
        // One exclusive access to `buffer` for the whole job: a class's stored property is
        // checked at run time on every access, which cost more than the encoding itself.
        Self.encode(job, into: &buffer)
        count += 1
        if buffer.count >= Self.blockSize { try flush() }
    }

    private static func encode(_ job: NewJob, into buffer: inout [UInt8]) {
        put(job.queue, into: &buffer)
        put(job.method, into: &buffer)
        put(job.params, into: &buffer)
        put(job.idempotencyKey, into: &buffer)
        put(job.priority, into: &buffer)
        put(job.runAt, into: &buffer)
        put(job.maxAttempts, into: &buffer)
        put(job.timeoutMilliseconds, into: &buffer)
        put(job.orderingKey, into: &buffer)
    }

    private static func put(_ value: String?, into buffer: inout [UInt8]) {
        guard var value else {
            put(Int64(-1), into: &buffer)
            return
        }
        value.withUTF8 { bytes in
            put(Int64(bytes.count), into: &buffer)
            buffer.append(contentsOf: bytes)
        }
    }

    private static func put(_ value: Int64?, into buffer: inout [UInt8]) {
        buffer.append(value == nil ? 0 : 1)
        put(value ?? 0, into: &buffer)
    }

    private static func put(_ value: Int64, into buffer: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { buffer.append(contentsOf: $0) }
    }

    private func flush() throws {
        try buffer.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw DispatcherError(
                        "cannot write the batch's temporary file: \(String(cString: strerror(errno)))")
                }
                offset += written
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Ends writing; reading starts from the first job.
    func rewind() throws {
        try flush()
        guard lseek(descriptor, 0, SEEK_SET) == 0 else {
            throw DispatcherError("cannot read back the batch's temporary file: \(String(cString: strerror(errno)))")
        }
        var reader = Reader(descriptor: descriptor, left: count)
        swap(&reader.buffer, &buffer)
        self.reader = reader
    }

    // MARK: Reading back

    /// The next `limit` jobs (fewer at the end; empty when all were read).
    func next(_ limit: Int) throws -> [NewJob] {
        guard reader != nil else { preconditionFailure("BatchSpool.next before rewind") }
        // In place through the optional: one exclusive access for the whole chunk.
        return try reader!.next(limit)
    }

    /// The reading side: a struct, so its many small reads are checked for exclusive access
    /// when compiled, not one by one at run time as a class's properties are.
    private struct Reader {
        let descriptor: Int32
        /// Jobs not read yet.
        var left: Int
        var buffer = [UInt8]()
        /// Read position in `buffer`.
        var position = 0

        init(descriptor: Int32, left: Int) {
            self.descriptor = descriptor
            self.left = left
        }

        mutating func next(_ limit: Int) throws -> [NewJob] {
            var jobs = [NewJob]()
            jobs.reserveCapacity(min(limit, left))
            while jobs.count < limit, left > 0 {
                var job = NewJob(method: "", runAt: 0)
                job.queue = try readString() ?? ""
                job.method = try readString() ?? ""
                job.params = try readString()
                job.idempotencyKey = try readString()
                job.priority = try readInt64()
                job.runAt = try readInt64()
                job.maxAttempts = try readOptionalInt64()
                job.timeoutMilliseconds = try readOptionalInt64()
                job.orderingKey = try readString()
                jobs.append(job)
                left -= 1
            }
            return jobs
        }

        /// Makes `needed` bytes available at `position`, reading more of the file.
        private mutating func ensure(_ needed: Int) throws {
            guard buffer.count - position < needed else { return }
            buffer.removeSubrange(0..<position)
            position = 0
            while buffer.count < needed {
                let start = buffer.count
                let want = max(BatchSpool.blockSize, needed - start)
                buffer.append(contentsOf: repeatElement(0, count: want))
                let got = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + start, want) }
                if got < 0 && errno == EINTR {
                    buffer.removeSubrange(start...)
                    continue
                }
                buffer.removeSubrange((start + max(0, got))...)
                guard got > 0 else {
                    throw DispatcherError("the batch's temporary file ended early")
                }
            }
        }

        private mutating func readInt64() throws -> Int64 {
            try ensure(8)
            let value = buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: position, as: Int64.self) }
            position += 8
            return Int64(littleEndian: value)
        }

        private mutating func readOptionalInt64() throws -> Int64? {
            try ensure(9)
            let present = buffer[position] != 0
            position += 1
            let value = try readInt64()
            return present ? value : nil
        }

        private mutating func readString() throws -> String? {
            let length = try readInt64()
            guard length >= 0 else { return nil }
            let count = Int(length)
            try ensure(count)
            let value = buffer.withUnsafeBytes {
                String(decoding: UnsafeRawBufferPointer(rebasing: $0[position..<(position + count)]), as: UTF8.self)
            }
            position += count
            return value
        }
    }
}
