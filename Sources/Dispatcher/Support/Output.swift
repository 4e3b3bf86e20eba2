#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writing to the standard streams with plain `write(2)` calls: callers build whole outputs (a
/// table, a chunk of ids) and write them at once, so no stdio buffer is needed, nor shared state.
enum Output {
    /// Writes `text` to stdout.
    static func write(_ text: String) {
        var text = text
        text.withUTF8 { writeAll(1, UnsafeRawBufferPointer($0)) }
    }

    /// Writes raw bytes to stdout.
    static func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { writeAll(1, $0) }
    }

    /// Writes one line to stderr, prefixed with the program name.
    static func error(_ message: String) {
        var line = "dispatcher: " + message.replacingNewlines() + "\n"
        line.withUTF8 { writeAll(2, UnsafeRawBufferPointer($0)) }
    }

    private static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return  // A closed pipe (e.g. `| head`) is not worth a crash or a second error.
            }
            offset += written
        }
    }
}

extension String {
    /// Folds a multi-line message onto one line, so every error is exactly one line on stderr.
    func replacingNewlines() -> String {
        String(self.map { $0 == "\n" || $0 == "\r" ? " " : $0 })
    }
}
