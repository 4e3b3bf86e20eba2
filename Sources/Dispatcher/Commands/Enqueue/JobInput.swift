import WorkerPool

/// Turns what a user typed (flags or an NDJSON line) into a validated `NewJob`.
///
/// Every rule lives here once, so flags and batch lines accept exactly the same jobs.
enum JobInput {
    /// Longest accepted method, queue or idempotency key, in bytes.
    static let maximumNameLength = 1024

    static func validateName(_ value: String, field: String) throws -> String {
        var value = value
        try value.withUTF8 { bytes in
            guard !bytes.isEmpty else { throw DispatcherError("\(field) must not be empty") }
            guard bytes.count <= maximumNameLength else {
                throw DispatcherError("\(field) is longer than \(maximumNameLength) bytes")
            }
            // Keys travel in an HTTP header and names in logs: no control characters.
            guard !RPCJob.containsControlCharacters(bytes) else {
                throw DispatcherError("\(field) must not contain control characters")
            }
        }
        return value
    }

    /// Validates params JSON text: it must be a JSON object or array (JSON-RPC 2.0's rule for
    /// `params`). Returns the text trimmed of surrounding white space.
    static func validateParams(_ text: String) throws -> String {
        var text = text
        return try text.withUTF8 { buffer in
            let bytes = UnsafeRawBufferPointer(buffer)
            do {
                let value = try RPCJob.validateParams(bytes)
                return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[value]), as: UTF8.self)
            } catch let error as RPCJobParamsError {
                throw DispatcherError(error.message)
            }
        }
    }

    /// The params in `value`, one JSON value already validated by the caller's scanner (a
    /// batch line's member): only JSON-RPC's object-or-array rule is left to check, so the
    /// bytes are not scanned twice.
    static func params(validJSON value: UnsafeRawBufferPointer) throws -> String {
        guard RPCJob.isObjectOrArray(value) else {
            throw DispatcherError("params must be a JSON object or array")
        }
        return String(decoding: value, as: UTF8.self)
    }

    static func validatePriority(_ value: Int64) throws -> Int64 {
        guard (-1_000_000...1_000_000).contains(value) else {
            throw DispatcherError("priority must be between -1000000 and 1000000")
        }
        return value
    }

    static func validateMaxAttempts(_ value: Int64?) throws -> Int64? {
        if let value, value < 1 || value > 1_000_000 {
            throw DispatcherError("max attempts must be between 1 and 1000000")
        }
        return value
    }

    static func validateTimeout(_ value: Int64?) throws -> Int64? {
        if let value, value < 1 || value > 86_400_000 {
            throw DispatcherError("timeout must be between 1ms and 24h")
        }
        return value
    }

    static func validateDelay(_ value: Int64) throws -> Int64 {
        guard value >= 0 else { throw DispatcherError("delay must not be negative") }
        guard value <= 10 * 365 * 86_400_000 else { throw DispatcherError("delay must be at most 10 years") }
        return value
    }
}
