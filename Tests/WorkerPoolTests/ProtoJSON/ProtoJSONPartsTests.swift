import Testing

@testable import WorkerPool

@Suite("ProtoJSON parts", .timeLimit(.minutes(3)))
struct ProtoJSONPartsTests {
    @Test(arguments: [
        ("", [UInt8]()), ("AQ==", [1]), ("AQ", [1]), ("AAEC/f7/", [0, 1, 2, 253, 254, 255]),
        ("AAEC-f7_", [0, 1, 2, 249, 254, 255]), ("Zm9vYg", Array("foob".utf8)),
    ])
    func decodesStandardAndURLSafeBase64(_ text: String, _ bytes: [UInt8]) {
        #expect(Base64.decode(text) == bytes)
    }

    @Test(arguments: ["A", "AQ=", "A===", "AQ==AQ==", "a b", "é"])
    func rejectsMalformedBase64(_ text: String) {
        #expect(Base64.decode(text) == nil)
    }

    @Test func writesStandardBase64WithPadding() {
        #expect(Base64.encode([0, 1, 2, 253, 254, 255]) == "AAEC/f7/")
        #expect(Base64.encode([1]) == "AQ==")
        #expect(Base64.encode([1, 2]) == "AQI=")
    }

    @Test func roundTripsTimestampsAtTheEdgesOfTheirRange() throws {
        for (text, seconds, nanos) in [
            ("0001-01-01T00:00:00Z", RFC3339.minimumSeconds, Int32(0)),
            ("9999-12-31T23:59:59.999999999Z", RFC3339.maximumSeconds, Int32(999_999_999)),
            ("1969-12-31T23:59:59.100Z", Int64(-1), Int32(100_000_000)),
            ("2000-02-29T00:00:00.000001Z", Int64(951_782_400), Int32(1000)),
        ] {
            let parsed = try #require(ProtoTime.parseTimestamp(text))
            #expect(parsed.seconds == seconds && parsed.nanos == nanos)
            #expect(ProtoTime.formatTimestamp(seconds: seconds, nanos: nanos) == text)
        }
        for bad in [
            "2001-02-29T00:00:00Z", "2000-01-01T24:00:00Z", "2000-01-01 00:00:00Z", "2000-01-01T00:00:00",
            "2000-01-01T00:00:00.Z", "2000-01-01T00:00:00.1234567890Z", "0000-12-31T23:59:59Z",
        ] {
            #expect(ProtoTime.parseTimestamp(bad) == nil, "\(bad)")
        }
    }

    @Test func roundTripsDurations() throws {
        for (text, seconds, nanos) in [
            ("0s", Int64(0), Int32(0)), ("-0.500s", 0, -500_000_000), ("1.000000001s", 1, 1),
            ("-3.000020s", -3, -20_000),
        ] {
            let parsed = try #require(ProtoTime.parseDuration(text))
            #expect(parsed.seconds == seconds && parsed.nanos == nanos)
            #expect(ProtoTime.formatDuration(seconds: seconds, nanos: nanos) == text)
        }
        for bad in ["1", "s", "1.s", "+1s", "1.0000000001s", "315576000001s", "1e3s"] {
            #expect(ProtoTime.parseDuration(bad) == nil, "\(bad)")
        }
        #expect(ProtoTime.formatDuration(seconds: 1, nanos: -1) == nil)
    }

    @Test func readsAndWritesVarintsAndZigZag() throws {
        var writer = WireWriter()
        for value: UInt64 in [0, 1, 127, 128, 300, UInt64.max] { writer.writeVarint(value) }
        var reader = WireReader(writer.bytes)
        for value: UInt64 in [0, 1, 127, 128, 300, UInt64.max] { #expect(try reader.readVarint() == value) }
        #expect(reader.isAtEnd)
        for value: Int64 in [0, -1, 1, Int64.min, Int64.max] { #expect(ZigZag.decode(ZigZag.encode(value)) == value) }
        var overlong = WireReader(Array(repeating: 0xFF, count: 10) + [0x01])
        #expect(throws: WireFormatError.self) { try overlong.readVarint() }
    }

    @Test func rendersFieldPaths() {
        var path = FieldPath(root: "params")
        path.push(.field("items"))
        path.push(.index(2))
        path.push(.field("tags"))
        path.push(.key("a\"b"))
        #expect(path.rendered == #"params.items[2].tags["a\"b"]"#)
    }
}
