import CoreMetrics
import Synchronization

/// The RPC server's metrics through swift-metrics (the program chooses the backend: Prometheus in
/// `waqtor-server`, none when no factory is given). Every handle is made up front or once per
/// method and status, so that a call costs a clock read, a histogram record and two counter
/// updates, never a lookup in the backend's registry.
///
/// - `waqtor_rpc_server_calls_total{method, code}`: calls ended, by status (`OK`, `NOT_FOUND`, …);
/// - `waqtor_rpc_server_call_duration_seconds{method}`: from the request read to the END written
///   (a stream: its whole life);
/// - `waqtor_rpc_server_calls_in_flight`: calls started and not ended (inline methods, which end
///   within the read that brought them, are not counted);
/// - `waqtor_rpc_server_connections`: connections open;
/// - `waqtor_rpc_server_refused_total{code}`: calls refused before a handler ran (unknown method,
///   too many in flight, shutting down, malformed request).
final class ServerMetrics: Sendable {
    let factory: any MetricsFactory
    let inFlight: Meter
    let connections: Meter
    /// By status code (0-16), made on first use (the runtime knows no product module, so not
    /// WaqtorMetrics' families).
    private let refused: Mutex<[Counter?]>

    init(factory: any MetricsFactory) {
        self.factory = factory
        inFlight = Meter(label: "waqtor_rpc_server_calls_in_flight", factory: factory)
        connections = Meter(label: "waqtor_rpc_server_connections", factory: factory)
        refused = Mutex([Counter?](repeating: nil, count: 17))
    }

    func method(_ name: String) -> MethodMetrics { MethodMetrics(name: name, server: self) }

    func refused(_ code: RPCStatusCode) {
        let index = min(Int(code.rawValue), 16)
        let counter = refused.withLock { counters -> Counter in
            if let counter = counters[index] { return counter }
            let counter = Counter(label: "waqtor_rpc_server_refused_total", dimensions: [("code", code.name)], factory: factory)
            counters[index] = counter
            return counter
        }
        counter.increment()
    }
}

/// One method's handles.
final class MethodMetrics: Sendable {
    let name: String
    let server: ServerMetrics
    let duration: Timer
    /// The status most calls end with, made up front: no lock on the common path.
    private let ok: Counter
    /// The other codes (1-16), made on first use, so that a method shows only the codes it has
    /// answered.
    private let others: Mutex<[Counter?]>

    init(name: String, server: ServerMetrics) {
        self.name = name
        self.server = server
        duration = Timer(label: "waqtor_rpc_server_call_duration_seconds", dimensions: [("method", name)], factory: server.factory)
        ok = Counter(label: "waqtor_rpc_server_calls_total", dimensions: [("method", name), ("code", RPCStatusCode.ok.name)], factory: server.factory)
        others = Mutex([Counter?](repeating: nil, count: 17))
    }

    /// A call that may suspend started (inline calls end within the read that brought them, so
    /// they are never counted in flight: that saves two contended atomics on the hottest path).
    func started() { server.inFlight.increment() }

    /// A call ended; `counted` when ``started()`` counted it.
    func finished(_ code: RPCStatusCode, nanoseconds: UInt64, counted: Bool) {
        if counted { server.inFlight.decrement() }
        duration.recordNanoseconds(Int64(clamping: nanoseconds))
        if code == .ok {
            ok.increment()
            return
        }
        let index = Int(code.rawValue)
        let counter = others.withLock { counters -> Counter in
            if counters.indices.contains(index), let counter = counters[index] { return counter }
            let counter = Counter(label: "waqtor_rpc_server_calls_total", dimensions: [("method", name), ("code", code.name)], factory: server.factory)
            if counters.indices.contains(index) { counters[index] = counter }
            return counter
        }
        counter.increment()
    }
}
