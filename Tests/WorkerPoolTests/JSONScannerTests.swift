import Testing

@testable import WorkerPool

@Suite("JSONScanner", .timeLimit(.minutes(3)))
struct JSONScannerTests {
    func validate(_ text: String) -> Bool {
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBytes { (try? JSONScanner.validate(UnsafeRawBufferPointer($0))) != nil }
    }

    @Test(arguments: [
        "{}", "[]", "{\"a\":[1,2.5,-3e10,true,false,null,\"x\\n\\u00e9\"]}", " [ {\"k\" : {}} ] ", "0", "\"s\"",
    ])
    func acceptsValidJSON(_ text: String) {
        #expect(validate(text))
    }

    @Test(arguments: [
        "", "{", "{\"a\":}", "[1,]", "{\"a\" 1}", "01", "1.", "tru", "\"\\x\"", "[1] [2]", "{'a':1}", "\"a\u{1}\"",
        String(repeating: "[", count: 600) + String(repeating: "]", count: 600),
    ])
    func rejectsInvalidJSON(_ text: String) {
        #expect(!validate(text))
    }

    func arrayElements(_ text: String) throws -> [String] {
        var bytes = Array(text.utf8)
        return try bytes.withUnsafeMutableBytes { raw in
            let buffer = UnsafeRawBufferPointer(raw)
            var elements = [String]()
            try JSONScanner.scanArray(buffer) { range in
                elements.append(String(decoding: UnsafeRawBufferPointer(rebasing: buffer[range]), as: UTF8.self))
            }
            return elements
        }
    }

    @Test func reportsArrayElementsAsByteRanges() throws {
        #expect(try arrayElements(" [1, \"a\" ,{\"b\":[2]}] ") == ["1", "\"a\"", "{\"b\":[2]}"])
        #expect(try arrayElements("[ ]") == [])
        #expect(try arrayElements("[[]]") == ["[]"])
        for bad in ["", "{}", "[1,]", "[1] 2", "[1"] {
            #expect(throws: JSONError.self, "\(bad)") { try arrayElements(bad) }
        }
    }

    @Test func reportsObjectMembersAsByteRanges() throws {
        var bytes = Array("{\"method\":\"a\\\"b\",\"params\":[1, {\"x\":2}],\"id\":42}".utf8)
        try bytes.withUnsafeMutableBytes { raw in
            let buffer = UnsafeRawBufferPointer(raw)
            var members = [String: String]()
            var method = ""
            var id: Int64?
            try JSONScanner.scanObject(buffer) { key, range in
                members[key] = String(decoding: UnsafeRawBufferPointer(rebasing: buffer[range]), as: UTF8.self)
                if key == "method" { method = try JSONScanner.decodeString(buffer, range) }
                if key == "id" { id = JSONScanner.decodeInteger(buffer, range) }
            }
            #expect(members["params"] == "[1, {\"x\":2}]")
            #expect(method == "a\"b")
            #expect(id == 42)
        }
    }

    @Test func escapesStringsItWrites() {
        #expect(JSONEscaping.quoted("a\"b\\c\nd\u{1}") == "\"a\\\"b\\\\c\\nd\\u0001\"")
    }
}
