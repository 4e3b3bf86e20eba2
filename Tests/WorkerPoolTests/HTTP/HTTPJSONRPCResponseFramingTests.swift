import Testing

@testable import WorkerPool

/// The transport against an upstream whose answers arrive in pieces and in every framing the
/// parser reads: what the worker sees is the same, and the connection is reused exactly when the
/// framing allows it.
@Suite("HTTP JSON-RPC response framings on the wire", .timeLimit(.minutes(1)))
struct HTTPJSONRPCResponseFramingTests {
    /// Runs three jobs on one worker against `script` and returns the outcomes by job id and the
    /// connections the worker opened.
    static func run(
        maximumResponseBytes: Int = 1 << 20, _ script: @escaping @Sendable (Int64) -> ScriptedUpstream.Answer
    ) async throws -> (outcomes: [Int64: JobOutcome], connections: Int) {
        let upstream = ScriptedUpstream(script: script)
        let port = try await upstream.start()
        defer { Task { await upstream.stop() } }
        let collector = OutcomeCollector()
        let pool = PoolHarness.makePool(port: port, workers: 1, collector: collector) { configuration, transport in
            configuration.breaker.failureThreshold = 100
            transport.maximumResponseBytes = maximumResponseBytes
        }
        try await PoolHarness.run(pool, jobs: PoolHarness.jobs(3))
        #expect(upstream.connectionsAccepted == pool.currentStatistics.connectionsOpened)
        return (collector.byID, pool.currentStatistics.connectionsOpened)
    }

    static func contentLength(_ id: Int64, extraHeaders: String = "") -> String {
        let body = ScriptedUpstream.result(id)
        return "HTTP/1.1 200 OK\r\n\(extraHeaders)Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    @Test func chunkedAnswersArrivingThreeBytesAtATimeAreRead() async throws {
        let (outcomes, connections) = try await Self.run { id in
            let body = Array(ScriptedUpstream.result(id).utf8)
            let first = String(decoding: body[..<10], as: UTF8.self)
            let rest = String(decoding: body[10...], as: UTF8.self)
            let text =
                "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
                + "a;ext=1\r\n\(first)\r\n\(String(rest.utf8.count, radix: 16, uppercase: true))\r\n\(rest)\r\n"
                + "0\r\nTrailer: x\r\n\r\n"
            return .split(text, every: 3)
        }
        for id in Int64(1)...3 {
            #expect(outcomes[id]?.outcome.resultText == "\"ok \(id)\"")
        }
        #expect(connections == 1)
    }

    @Test func anAnswerArrivingOneByteAtATimeIsRead() async throws {
        let (outcomes, connections) = try await Self.run { id in .split(Self.contentLength(id), every: 1) }
        for id in Int64(1)...3 {
            #expect(outcomes[id]?.outcome.resultText == "\"ok \(id)\"")
        }
        #expect(connections == 1)
    }

    @Test func anInterimContinueIsSkipped() async throws {
        let (outcomes, connections) = try await Self.run { id in
            .init(pieces: ["HTTP/1.1 100 Continue\r\n\r\n", Self.contentLength(id)])
        }
        for id in Int64(1)...3 {
            #expect(outcomes[id]?.outcome.resultText == "\"ok \(id)\"")
        }
        #expect(connections == 1)
    }

    @Test func aBodyRunningUntilTheCloseEndsTheCallAndTheWorkerReconnects() async throws {
        let (outcomes, connections) = try await Self.run { id in
            id == 1
                ? .init(pieces: ["HTTP/1.1 200 OK\r\n\r\n", ScriptedUpstream.result(id)], close: true)
                : .init(pieces: [Self.contentLength(id)])
        }
        for id in Int64(1)...3 {
            #expect(outcomes[id]?.outcome.resultText == "\"ok \(id)\"")
        }
        #expect(connections == 2)
    }

    @Test func bytesAfterAnAnswerRetireTheConnectionButNotTheCall() async throws {
        let (outcomes, connections) = try await Self.run { id in
            .init(pieces: [Self.contentLength(id) + (id == 1 ? "HTTP/1.1 200 OK\r\n" : "")])
        }
        for id in Int64(1)...3 {
            #expect(outcomes[id]?.outcome.resultText == "\"ok \(id)\"")
        }
        #expect(connections == 2)
    }

    @Test func aBadChunkSizeFailsTheCallAsRetryableAndTheWorkerGoesOn() async throws {
        let (outcomes, connections) = try await Self.run { id in
            id == 1
                ? .init(pieces: ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "zz\r\n"])
                : .init(pieces: [Self.contentLength(id)])
        }
        let failure = try #require(outcomes[1]?.outcome.failure)
        #expect(failure.isRetryable)
        #expect(failure.message == "malformed HTTP response: invalid chunk size")
        #expect(outcomes[2]?.outcome.resultText == "\"ok 2\"")
        #expect(outcomes[3]?.outcome.resultText == "\"ok 3\"")
        #expect(connections == 2)
    }

    @Test func aChunkedBodyOverTheCapFailsTheCallAsPermanent() async throws {
        let (outcomes, connections) = try await Self.run(maximumResponseBytes: 100) { id in
            let chunk = String(repeating: "x", count: 60)
            return id == 1
                ? .init(pieces: [
                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3c\r\n\(chunk)\r\n",
                    "3c\r\n\(chunk)\r\n0\r\n\r\n",
                ])
                : .init(pieces: [Self.contentLength(id)])
        }
        let failure = try #require(outcomes[1]?.outcome.failure)
        #expect(!failure.isRetryable)
        #expect(failure.message == "response larger than 100 bytes")
        #expect(outcomes[2]?.outcome.resultText == "\"ok 2\"")
        #expect(outcomes[3]?.outcome.resultText == "\"ok 3\"")
        #expect(connections == 2)
    }
}
