import Hummingbird
import Logging
import ServiceLifecycle

/// The enqueue API on a listener of its own (`--api` on another address than `--admin`).
struct APIServer: Service, CustomStringConvertible {
    let address: APIAddress
    let api: EnqueueAPI
    let logger: Logger

    var description: String { "APIServer(\(address.host):\(address.port))" }

    func run() async throws {
        let router = Router(context: BasicRequestContext.self)
        api.register(on: router)
        do {
            try await HTTPListener.serve(
                router, host: address.host, port: address.port, what: "enqueue API", logger: logger)
        } catch {
            await api.close()
            throw error
        }
        await api.close()
    }
}
