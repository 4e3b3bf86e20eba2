import Foundation
import Testing

@testable import WorkerPool

/// The golden files written once by scripts/generate-protojson-fixtures.py with the reference
/// implementation (Python protobuf's json_format), read from the source tree.
enum ProtoJSONFixtures {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/ProtoJSON")

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: folder.appendingPathComponent(name)))
    }

    static let protoset: Protoset = {
        // A fixture that fails to load fails every test that uses it, with this message.
        do {
            return try Protoset(serialized: bytes("kitchen.protoset"))
        } catch {
            fatalError("kitchen.protoset: \(error)")
        }
    }()

    static let codec = ProtoJSONCodec(protoset: protoset)

    /// Names of the cases that have a JSON input (`cases/NAME.input.json`).
    static let jsonCases: [String] = caseNames(suffix: ".input.json")
    /// Names of the cases that are only a binary message (`cases/NAME.wire.binpb`).
    static let wireCases: [String] = caseNames(suffix: ".wire.binpb")

    private static func caseNames(suffix: String) -> [String] {
        let files =
            (try? FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("cases").path)) ?? []
        return files.filter { $0.hasSuffix(suffix) }.map { String($0.dropLast(suffix.count)) }.sorted()
    }

    struct Malformed: CustomTestStringConvertible, Sendable {
        var path: String
        /// The input as JSON text, members in the order the fixture lists them (which member
        /// of a doubly set oneof is named depends on it).
        var json: String

        var testDescription: String { json }
    }

    static let malformed: [Malformed] = {
        guard let bytes = try? bytes("malformed.json"), case .array(let entries)? = try? ProtoJSONValue.parse(bytes)
        else { return [] }
        return entries.compactMap { entry in
            guard case .object(let members) = entry,
                case .string(let path)? = members.first(where: { $0.key == "path" })?.value,
                let json = members.first(where: { $0.key == "json" })?.value
            else { return nil }
            return Malformed(path: path, json: json.text)
        }
    }()
}

extension ProtoJSONValue {
    /// The same value with object members sorted by key and numbers compared by value, so two
    /// JSON texts that mean the same (`1.0` and `1`, any key order) compare equal.
    var normalized: ProtoJSONValue {
        switch self {
        case .number(let text): return .number(Double(text).map { "\($0 == 0 ? 0 : $0)" } ?? text)
        case .array(let elements): return .array(elements.map(\.normalized))
        case .object(let members):
            return .object(
                members.map { Member(key: $0.key, value: $0.value.normalized) }.sorted { $0.key < $1.key })
        default: return self
        }
    }

    static func normalizing(_ bytes: [UInt8]) throws -> ProtoJSONValue {
        try parse(bytes).normalized
    }

    /// The value as compact JSON text.
    var text: String {
        switch self {
        case .null: return "null"
        case .bool(let flag): return flag ? "true" : "false"
        case .number(let text): return text
        case .string(let string): return JSONEscaping.quoted(string)
        case .array(let elements): return "[" + elements.map(\.text).joined(separator: ",") + "]"
        case .object(let members):
            return "{" + members.map { JSONEscaping.quoted($0.key) + ":" + $0.value.text }.joined(separator: ",") + "}"
        }
    }
}
