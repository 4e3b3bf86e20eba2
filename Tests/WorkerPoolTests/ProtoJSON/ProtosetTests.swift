import Testing

@testable import WorkerPool

@Suite("Protoset", .timeLimit(.minutes(3)))
struct ProtosetTests {
    @Test func findsMethodsByPathWithOrWithoutALeadingSlash() throws {
        let protoset = ProtoJSONFixtures.protoset
        let method = try #require(protoset.method("fixtures.v1.KitchenService/Echo"))
        #expect(method.inputType == "fixtures.v1.Kitchen")
        #expect(method.outputType == "fixtures.v1.Kitchen")
        #expect(!method.isStreaming)
        #expect(protoset.method("/fixtures.v1.KitchenService/Echo")?.path == "fixtures.v1.KitchenService/Echo")
        #expect(protoset.method("fixtures.v1.KitchenService/Missing") == nil)
        #expect(protoset.methodPaths == ["fixtures.v1.KitchenService/Echo"])
    }

    @Test func readsFieldDescriptorsAsProtocWroteThem() throws {
        let kitchen = try #require(ProtoJSONFixtures.protoset.message("fixtures.v1.Kitchen"))
        let renamed = try #require(kitchen.fieldIndexByName["customName"].map { kitchen.fields[$0] })
        #expect(renamed.name == "renamed" && renamed.number == 33)
        let numbers = try #require(kitchen.fieldIndexByName["numbers"].map { kitchen.fields[$0] })
        #expect(numbers.isPacked)
        let bigs = try #require(kitchen.fieldIndexByName["bigs"].map { kitchen.fields[$0] })
        #expect(!bigs.isPacked)
        let maybe = try #require(kitchen.fieldIndexByName["maybe_count"].map { kitchen.fields[$0] })
        #expect(maybe.hasPresence && maybe.oneofIndex == nil)
        let text = try #require(kitchen.fieldIndexByName["text"].map { kitchen.fields[$0] })
        #expect(text.oneofIndex.map { kitchen.oneofNames[$0] } == "choice")
        #expect(kitchen.fieldIndexByName["counts"].map { kitchen.fields[$0].isMap } == true)
    }

    @Test(arguments: [[], Array("hello, this is not a protoset\n".utf8), [0x0A, 0x05, 0x01]])
    func refusesBytesThatAreNotADescriptorSet(_ bytes: [UInt8]) {
        #expect(throws: ProtosetError.self) { try Protoset(serialized: bytes) }
    }

    @Test func refusesASetWrittenWithoutItsImports() throws {
        let bytes = try ProtoJSONFixtures.bytes("kitchen-no-imports.protoset")
        #expect {
            try Protoset(serialized: bytes)
        } throws: { error in
            (error as? ProtosetError)?.message.contains("--include_imports") == true
        }
    }
}
