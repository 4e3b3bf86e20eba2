import Foundation

/// A GET (or another bodiless method) on loopback, for scraping the admin endpoint.
enum HTTPGet {
    struct Response {
        var status: Int
        var body: String
    }

    static func get(port: Int, path: String, method: String = "GET") throws -> Response {
        let response = try HTTPClient.request(port: port, method, path)
        return Response(status: response.status, body: response.body)
    }
}

struct DispatcherTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A strict parser of the Prometheus text exposition format (version 0.0.4): every line must be
/// a `# HELP`, a `# TYPE` or a sample `name{label="value",...} number`; anything else fails.
enum PrometheusText {
    struct Sample: Equatable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    static func parse(_ text: String) throws -> [Sample] {
        var samples = [Sample]()
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            if line.hasPrefix("#") {
                let parts = line.split(separator: " ", maxSplits: 3)
                guard parts.count >= 3, parts[1] == "HELP" || parts[1] == "TYPE", isName(parts[2]) else {
                    throw DispatcherTestError("line \(number + 1): bad comment: \(line)")
                }
                if parts[1] == "TYPE" {
                    guard parts.count == 4, ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3])
                    else {
                        throw DispatcherTestError("line \(number + 1): bad TYPE: \(line)")
                    }
                }
                continue
            }
            samples.append(try sample(Substring(line), line: number + 1))
        }
        return samples
    }

    private static func sample(_ line: Substring, line number: Int) throws -> Sample {
        var rest = line
        let name = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" }
        guard isName(name) else { throw DispatcherTestError("line \(number): bad metric name: \(line)") }
        rest = rest.dropFirst(name.count)
        var labels = [String: String]()
        if rest.first == "{" {
            rest = rest.dropFirst()
            while rest.first != "}" {
                let key = rest.prefix { $0 != "=" }
                guard isName(key), rest.dropFirst(key.count).hasPrefix("=\"") else {
                    throw DispatcherTestError("line \(number): bad label: \(line)")
                }
                rest = rest.dropFirst(key.count + 2)
                var value = ""
                while let character = rest.first, character != "\"" {
                    if character == "\\" {
                        rest = rest.dropFirst()
                        guard let escaped = rest.first else { throw DispatcherTestError("line \(number): bad escape") }
                        value.append(escaped == "n" ? "\n" : escaped)
                    } else {
                        value.append(character)
                    }
                    rest = rest.dropFirst()
                }
                guard rest.first == "\"" else {
                    throw DispatcherTestError("line \(number): unterminated label: \(line)")
                }
                rest = rest.dropFirst()
                labels[String(key)] = value
                if rest.first == "," { rest = rest.dropFirst() }
            }
            rest = rest.dropFirst()
        }
        guard rest.first == " " else { throw DispatcherTestError("line \(number): no value: \(line)") }
        let fields = rest.dropFirst().split(separator: " ")
        guard fields.count == 1 || fields.count == 2, let value = Double(fields[0]) ?? special(fields[0]) else {
            throw DispatcherTestError("line \(number): bad value: \(line)")
        }
        return Sample(name: String(name), labels: labels, value: value)
    }

    private static func special(_ text: Substring) -> Double? {
        switch text {
        case "+Inf": .infinity
        case "-Inf": -.infinity
        case "NaN": .nan
        default: nil
        }
    }

    private static func isName(_ text: Substring) -> Bool {
        guard let first = text.first, first.isLetter || first == "_" || first == ":" else { return false }
        return text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == ":") }
    }

    /// The value of the sample `name` whose labels include `labels`.
    static func value(_ samples: [Sample], _ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }?
            .value
    }
}
