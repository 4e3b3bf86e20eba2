import Hummingbird
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle

/// The daemon's admin listener on Hummingbird: `GET /metrics` (Prometheus text), `GET /healthz`,
/// and the web dashboard.
///
/// `/metrics` and `/healthz` are built synchronously from the Prometheus registry and the
/// `HealthState`, so a scrape or a probe never waits on the database, and they stay open when
/// the dashboard needs a token. It is the first service of the group, so it is shut down last
/// and keeps answering (`/healthz` with 503) while the daemon drains.
struct AdminServer: Service, CustomStringConvertible {
    let address: AdminAddress
    let registry: PrometheusCollectorRegistry
    let health: HealthState
    /// Nil serves only metrics and health.
    let dashboard: DashboardRoutes?
    /// The enqueue API, when `--api` names this same address.
    var api: EnqueueAPI? = nil
    let logger: Logger

    var description: String { "AdminServer(\(address.host):\(address.port))" }

    func run() async throws {
        let router = Router(context: BasicRequestContext.self)
        registerProbes(on: router)
        dashboard?.register(on: router)
        api?.register(on: router)
        do {
            try await HTTPListener.serve(
                router, host: address.host, port: address.port, what: "admin endpoint", logger: logger)
        } catch {
            await close()
            throw error
        }
        await close()
    }

    private func close() async {
        await dashboard?.store.close()
        await api?.close()
    }

    private func registerProbes(on router: Router<BasicRequestContext>) {
        let registry = self.registry
        let health = self.health
        let metrics: @Sendable (Request, BasicRequestContext) -> Response = { _, _ in
            var buffer = ByteBuffer()
            buffer.writeBytes(registry.emitToBuffer())
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: buffer))
        }
        let healthz: @Sendable (Request, BasicRequestContext) -> Response = { _, _ in
            let (status, body) = health.response()
            return Response(
                status: .init(code: status), headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        for (path, handler) in [("/metrics", metrics), ("/healthz", healthz)] {
            router.get(RouterPath(path), use: handler)
            router.head(RouterPath(path), use: handler)
            for method in [HTTPRequest.Method.post, .put, .delete, .patch] {
                router.on(RouterPath(path), method: method) { _, _ in
                    Response(
                        status: .methodNotAllowed, headers: [.contentType: "application/json", .allow: "GET, HEAD"],
                        body: .init(byteBuffer: ByteBuffer(string: "{\"error\":\"method not allowed\"}")))
                }
            }
        }
    }
}
