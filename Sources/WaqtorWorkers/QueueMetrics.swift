import CoreMetrics
import WaqtorMetrics

/// The send queue's metrics, per shard (`shard` = its index): what the senders did and what the
/// maintainer found. Handles are made on first use per label set and kept.
///
/// - `waqtor_queue_sends_total{shard, outcome}`: sends by outcome (`sent`, `retry`, `failed`,
///   `number_down`, `gateway_down`, `quota`);
/// - `waqtor_queue_send_failures_total{shard, reason}`: failed or retried sends by reason
///   (`permanent`, `transient`, `number_down`, `gateway_down`, `gave_up`);
/// - `waqtor_queue_gateway_call_seconds`: one send's call to the gateway (its typing delay included);
/// - `waqtor_queue_lease_reclaims_total{shard}`: expired leases returned to their lanes;
/// - `waqtor_queue_shard_rebuilds_total{shard}`: shards rebuilt from PostgreSQL;
/// - `waqtor_queue_numbers{shard}`, `waqtor_queue_numbers_due{shard}`, `waqtor_queue_leases{shard}`:
///   the queue's depth as the maintainer last saw it.
public final class QueueMetrics: Sendable {
    let gatewayCall: Timer
    let sends: CounterFamily
    let failures: CounterFamily
    let reclaims: CounterFamily
    let rebuilds: CounterFamily
    let numbers: GaugeFamily
    let numbersDue: GaugeFamily
    let leases: GaugeFamily

    public init(factory: any MetricsFactory) {
        gatewayCall = Timer(label: "waqtor_queue_gateway_call_seconds", factory: factory)
        sends = CounterFamily(label: "waqtor_queue_sends_total", factory: factory)
        failures = CounterFamily(label: "waqtor_queue_send_failures_total", factory: factory)
        reclaims = CounterFamily(label: "waqtor_queue_lease_reclaims_total", factory: factory)
        rebuilds = CounterFamily(label: "waqtor_queue_shard_rebuilds_total", factory: factory)
        numbers = GaugeFamily(label: "waqtor_queue_numbers", factory: factory)
        numbersDue = GaugeFamily(label: "waqtor_queue_numbers_due", factory: factory)
        leases = GaugeFamily(label: "waqtor_queue_leases", factory: factory)
    }
}
