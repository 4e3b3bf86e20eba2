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

    struct Malformed: Decodable, CustomTestStringConvertible, Sendable {
        var path: String
        var json: String

        enum CodingKeys: String, CodingKey { case path, json }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            path = try container.decode(String.self, forKey: .path)
            // Keep the input as JSON text, exactly what a job's params would hold.
            let value = try container.decode(AnyJSON.self, forKey: .json)
            json = String(
                decoding: try JSONSerialization.data(withJSONObject: value.object, options: [.fragmentsAllowed]),
                as: UTF8.self)
        }

        var testDescription: String { json }
    }

    static let malformed: [Malformed] = {
        guard let data = try? bytes("malformed.json") else { return [] }
        return (try? JSONDecoder().decode([Malformed].self, from: Data(data))) ?? []
    }()
}

/// Any JSON value, decoded through Foundation (only to re-serialize a fixture's input).
struct AnyJSON: Decodable {
    var object: Any

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            object = NSNull()
        } else if let bool = try? container.decode(Bool.self) {
            object = bool
        } else if let int = try? container.decode(Int64.self) {
            object = int
        } else if let double = try? container.decode(Double.self) {
            object = double
        } else if let string = try? container.decode(String.self) {
            object = string
        } else if let array = try? container.decode([AnyJSON].self) {
            object = array.map(\.object)
        } else {
            object = try container.decode([String: AnyJSON].self).mapValues(\.object)
        }
    }
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
}
