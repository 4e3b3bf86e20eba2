import WorkerPool

/// A header as configured: `--header 'NAME: VALUE'` or a queue's `"headers": {NAME: VALUE}`,
/// whose value may name secrets (`SecretReference`) that are resolved once, at start.
struct HeaderSetting: Sendable, Equatable {
    var name: String
    var value: String

    /// Parses a `--header` argument, `NAME: VALUE` (white space around the value is dropped).
    static func parse(_ text: String) throws -> HeaderSetting {
        guard let colon = text.firstIndex(of: ":"), colon != text.startIndex else {
            throw DispatcherError("--header must look like 'NAME: VALUE' (got a value without a name)")
        }
        let name = String(text[..<colon])
        // Only blanks: a CR or LF at either end must reach the check and be refused, not trimmed.
        var value = text[text.index(after: colon)...]
        while value.first == " " || value.first == "\t" { value = value.dropFirst() }
        while value.last == " " || value.last == "\t" { value = value.dropLast() }
        return HeaderSetting(name: name, value: String(value))
    }

    /// Resolves and checks a queue's headers for a transport of `scheme`, adding basic auth for
    /// the URL's credentials.
    ///
    /// - Throws: `DispatcherError` naming the header (never its value) or the secret that could
    ///   not be read.
    static func resolve(
        _ settings: [HeaderSetting], credentials: UpstreamURL.Credentials?, for scheme: UpstreamURL.Scheme,
        names: SettingNames
    ) throws -> [UpstreamHeader] {
        var headers = [UpstreamHeader]()
        var seen = Set<String>()
        for setting in settings {
            let what = "\(names.name("headers")) \(setting.name)"
            guard seen.insert(setting.name.lowercased()).inserted else {
                throw DispatcherError("\(what) is given twice")
            }
            let header = UpstreamHeader(name: setting.name, value: try SecretReference.resolve(setting.value, in: what))
            do {
                try header.validate(for: scheme)
            } catch {
                throw DispatcherError("\(names.name("headers")): \(error.message)")
            }
            headers.append(header)
        }
        if let credentials {
            guard !seen.contains("authorization") else {
                throw DispatcherError(
                    "\(names.name("upstream")) has a user and password, and \(names.name("headers")) sets Authorization: use one"
                )
            }
            headers.append(.basicAuthorization(credentials))
        }
        return headers
    }
}
