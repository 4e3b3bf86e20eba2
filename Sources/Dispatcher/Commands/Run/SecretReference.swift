#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Secrets named in a configured value instead of written into it, resolved once when the daemon
/// starts, so tokens stay out of config files, shell history and `ps`:
///
/// | reference       | replaced by                                            |
/// |-----------------|--------------------------------------------------------|
/// | `${env:NAME}`   | the environment variable NAME (set and non-empty)      |
/// | `${file:PATH}`  | the file's contents, one trailing newline stripped     |
///
/// Any other text is kept as written. Errors name the variable or the file, never a value.
enum SecretReference {
    /// `text` with every reference replaced.
    ///
    /// - Parameter what: names the setting in error messages.
    static func resolve(_ text: String, in what: String) throws -> String {
        guard text.contains("${") else { return text }
        var result = ""
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            result += rest[..<start.lowerBound]
            let reference = rest[start.upperBound...]
            guard let end = reference.firstIndex(of: "}") else {
                throw DispatcherError("\(what): '${' without a closing '}'")
            }
            let body = reference[..<end]
            if body.hasPrefix("env:") {
                result += try environment(String(body.dropFirst(4)), in: what)
            } else if body.hasPrefix("file:") {
                result += try file(String(body.dropFirst(5)), in: what)
            } else {
                throw DispatcherError(
                    "\(what): unknown reference '${\(body.prefix { $0 != ":" }):…}'; expected ${env:NAME} or ${file:PATH}"
                )
            }
            rest = reference[reference.index(after: end)...]
        }
        return result + rest
    }

    private static func environment(_ name: String, in what: String) throws -> String {
        guard !name.isEmpty else { throw DispatcherError("\(what): ${env:} names no variable") }
        guard let value = getenv(name), value.pointee != 0 else {
            throw DispatcherError("\(what): environment variable \(name) is not set")
        }
        return String(cString: value)
    }

    private static func file(_ path: String, in what: String) throws -> String {
        guard !path.isEmpty, path != "-" else { throw DispatcherError("\(what): ${file:} names no file") }
        let bytes: [UInt8]
        do {
            bytes = try InputFile.contents(of: path)
        } catch {
            throw DispatcherError("\(what): \(error)")
        }
        var contents = bytes[...]
        if contents.last == UInt8(ascii: "\n") { contents = contents.dropLast() }
        if contents.last == UInt8(ascii: "\r") { contents = contents.dropLast() }
        guard let text = String(validating: contents, as: UTF8.self) else {
            throw DispatcherError("\(what): \(path) is not UTF-8 text")
        }
        return text
    }
}
