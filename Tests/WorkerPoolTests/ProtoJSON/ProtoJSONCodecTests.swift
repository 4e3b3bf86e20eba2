import Testing

@testable import WorkerPool

@Suite("ProtoJSON codec against the reference implementation's fixtures", .timeLimit(.minutes(3)))
struct ProtoJSONCodecTests {
    let codec = ProtoJSONFixtures.codec
    let type = "fixtures.v1.Kitchen"

    @Test func findsTheFixtures() {
        #expect(ProtoJSONFixtures.jsonCases.count >= 28)
        #expect(ProtoJSONFixtures.wireCases.count >= 5)
        #expect(ProtoJSONFixtures.malformed.count >= 26)
    }

    @Test(arguments: ProtoJSONFixtures.jsonCases)
    func encodesJSONToTheReferenceBytes(_ name: String) throws {
        let input = try ProtoJSONFixtures.bytes("cases/\(name).input.json")
        let expected = try ProtoJSONFixtures.bytes("cases/\(name).binpb")
        #expect(try codec.encode(json: input, messageType: type) == expected)
    }

    @Test(arguments: ProtoJSONFixtures.jsonCases)
    func decodesTheReferenceBytesToTheReferenceJSON(_ name: String) throws {
        let binary = try ProtoJSONFixtures.bytes("cases/\(name).binpb")
        let expected = try ProtoJSONFixtures.bytes("cases/\(name).json")
        let decoded = try codec.decode(binary: binary, messageType: type)
        #expect(
            try ProtoJSONValue.normalizing(decoded) == ProtoJSONValue.normalizing(expected),
            "\(String(decoding: decoded, as: UTF8.self))")
    }

    @Test(arguments: ProtoJSONFixtures.jsonCases)
    func reencodesItsOwnOutputToTheSameBytes(_ name: String) throws {
        let binary = try ProtoJSONFixtures.bytes("cases/\(name).binpb")
        let decoded = try codec.decode(binary: binary, messageType: type)
        #expect(try codec.encode(json: decoded, messageType: type) == binary)
        let canonical = try ProtoJSONFixtures.bytes("cases/\(name).json")
        #expect(try codec.encode(json: canonical, messageType: type) == binary)
    }

    @Test(arguments: ProtoJSONFixtures.wireCases)
    func acceptsEveryWireFormOfAField(_ name: String) throws {
        let binary = try ProtoJSONFixtures.bytes("cases/\(name).wire.binpb")
        let expected = try ProtoJSONFixtures.bytes("cases/\(name).json")
        let decoded = try codec.decode(binary: binary, messageType: type)
        #expect(
            try ProtoJSONValue.normalizing(decoded) == ProtoJSONValue.normalizing(expected),
            "\(String(decoding: decoded, as: UTF8.self))")
    }

    @Test(arguments: ProtoJSONFixtures.malformed)
    func rejectsMalformedInputNamingTheFieldPath(_ entry: ProtoJSONFixtures.Malformed) {
        #expect {
            _ = try codec.encode(json: Array(entry.json.utf8), messageType: type)
        } throws: { error in
            guard let error = error as? ProtoJSONError else { return false }
            return error.path == entry.path && error.description.hasPrefix(entry.path + ": ")
        }
    }

    @Test func namesTheFieldAndTheProblem() throws {
        let json = Array(#"{"items":[{},{},{"count":2147483648}]}"#.utf8)
        #expect(throws: ProtoJSONError.self) { try codec.encode(json: json, messageType: type) }
        do {
            _ = try codec.encode(json: json, messageType: type)
        } catch {
            #expect(error.description == "params.items[2].count: value out of range for int32")
        }
        do {
            _ = try codec.encode(json: Array(#"{"scalars":{"fColor":"PURPLE"}}"#.utf8), messageType: type)
        } catch {
            #expect(error.description == #"params.scalars.fColor: unknown value "PURPLE" for enum fixtures.v1.Color"#)
        }
    }

    @Test func rejectsBinaryThatIsNotTheMessage() {
        // A string field (tag 14 of Scalars) holding invalid UTF-8, and a truncated varint.
        let badString: [UInt8] = [0x0A, 0x04, 0x72, 0x02, 0xC3, 0x28]
        #expect(throws: ProtoJSONError.self) { try codec.decode(binary: badString, messageType: type) }
        #expect(throws: ProtoJSONError.self) { try codec.decode(binary: [0x18, 0xFF], messageType: type) }
        // A varint where the field is length-delimited.
        #expect(throws: ProtoJSONError.self) { try codec.decode(binary: [0x1A, 0x01], messageType: type) }
    }

    @Test func refusesNestingBeyondTheLimit() {
        var json = ""
        for _ in 0..<150 { json += #"{"children":["# }
        json += "{}"
        for _ in 0..<150 { json += "]}" }
        json = #"{"nested":"# + json + "}"
        #expect(throws: ProtoJSONError.self) { try codec.encode(json: Array(json.utf8), messageType: type) }
    }
}
