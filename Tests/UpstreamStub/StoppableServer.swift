/// A server a test starts on loopback and must stop before the test ends.
public protocol StoppableServer: Sendable {
    /// Stops listening and closes every connection.
    func stop() async
}

extension StoppableServer {
    /// Runs `body`, then stops the server, whether `body` returned or threw.
    ///
    /// Why not `defer { Task { await server.stop() } }`: that task is detached from the test and
    /// may still be closing connections when the next test (in a parallel run, a test beside
    /// it) starts; here the server is closed before the test goes on.
    public func stopping<Result>(after body: () async throws -> Result) async throws -> Result {
        let result: Result
        do {
            result = try await body()
        } catch {
            await stop()
            throw error
        }
        await stop()
        return result
    }
}

extension UpstreamStub: StoppableServer {}

extension GRPCUpstreamStub: StoppableServer {}
