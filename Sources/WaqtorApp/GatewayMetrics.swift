import CoreMetrics
import NIOConcurrencyHelpers
import WaqtorInstances

/// The gateway watcher's metrics: `waqtor_gateway_up` (1 while the gateway answers, 0 while it
/// does not) and `waqtor_gateway_probe_seconds` (each probe's duration, by `outcome`: `answered`,
/// `unreachable`). Made on first use, so that only processes that watch the gateway (`api`, `all`)
/// export them; a worker would otherwise show a gateway that is never up.
final class GatewayMetrics: Sendable {
    private let factory: any MetricsFactory
    private let handles = NIOLockedValueBox<(up: Gauge, answered: Timer, unreachable: Timer)?>(nil)

    init(factory: any MetricsFactory) {
        self.factory = factory
    }

    private var made: (up: Gauge, answered: Timer, unreachable: Timer) {
        handles.withLockedValue { handles in
            if let handles { return handles }
            let made = (
                up: Gauge(label: "waqtor_gateway_up", factory: factory),
                answered: Timer(label: "waqtor_gateway_probe_seconds", dimensions: [("outcome", "answered")], factory: factory),
                unreachable: Timer(label: "waqtor_gateway_probe_seconds", dimensions: [("outcome", "unreachable")], factory: factory))
            handles = made
            return made
        }
    }

    var hooks: GatewayMonitor.Hooks {
        GatewayMonitor.Hooks(
            state: { [self] reachability in
                if reachability.state != .unknown { made.up.record(reachability.state == .reachable ? 1 : 0) }
            },
            probed: { [self] duration, answered in
                (answered ? made.answered : made.unreachable).recordNanoseconds(
                    duration.components.seconds &* 1_000_000_000 &+ duration.components.attoseconds / 1_000_000_000)
            })
    }
}
