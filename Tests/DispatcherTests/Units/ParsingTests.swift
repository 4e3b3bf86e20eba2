import Testing

@testable import Dispatcher

@Suite("parsing user input", .timeLimit(.minutes(3)))
struct ParsingTests {
    @Test func timestampsRoundTrip() throws {
        #expect(try Timestamp.parse("1970-01-01T00:00:00Z") == 0)
        #expect(try Timestamp.parse("2026-12-01T10:00:00Z") == 1_796_119_200_000)
        #expect(try Timestamp.parse("2026-12-01T12:00:00.250+02:00") == 1_796_119_200_250)
        #expect(Timestamp.format(1_796_119_200_250) == "2026-12-01T10:00:00.250Z")
        #expect(Timestamp.format(951_782_400_000) == "2000-02-29T00:00:00.000Z")
        for bad in ["2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-12-01", "2026-12-01T10:00:00", "x"] {
            #expect(throws: DispatcherError.self) { try Timestamp.parse(bad) }
        }
    }

    @Test func durationsParseWithUnits() throws {
        #expect(try DurationParser.milliseconds("500ms", what: "d") == 500)
        #expect(try DurationParser.milliseconds("30s", what: "d") == 30_000)
        #expect(try DurationParser.milliseconds("1.5s", what: "d") == 1500)
        #expect(try DurationParser.milliseconds("5m", what: "d") == 300_000)
        #expect(try DurationParser.milliseconds("7d", what: "d") == 604_800_000)
        for bad in ["-1s", "10", "s", "1x", "1e3s", ""] {
            #expect(throws: DispatcherError.self) { try DurationParser.milliseconds(bad, what: "d") }
        }
    }

    @Test func batchLinesAreValidatedWithTheirLineNumbers() throws {
        let parser = BatchParser(now: 1000)
        let jobs = try parser.parse(
            Array("{\"method\":\"a\",\"delay_ms\":500,\"priority\":-2}\n\n{\"method\":\"b\",\"params\":[1]}\n".utf8))
        #expect(jobs.count == 2)
        #expect(jobs[0].runAt == 1500 && jobs[0].priority == -2)
        #expect(jobs[1].params == "[1]")
        let cases: [(String, String)] = [
            ("{\"method\":\"a\"}\n{\"params\":[]}", "line 2: method: required"),
            ("{\"method\":\"a\",\"colour\":1}", "unknown field 'colour'"),
            ("{\"method\":\"a\",\"delay_ms\":-1}", "must not be negative"),
            ("{\"method\":5}", "method must be a string"),
            ("[1]", "expected a JSON object"),
            ("{\"method\":\"a\",\"params\":\"x\"}", "object or array"),
        ]
        for (input, message) in cases {
            #expect {
                _ = try parser.parse(Array(input.utf8))
            } throws: { error in
                "\(error)".contains(message)
            }
        }
    }
}
