import CoreMetrics
import NIOConcurrencyHelpers

/// The send queue's metrics, per shard (`shard` = its index): what the senders did and what the
/// maintainer found. Handles are made on first use per label set and kept.
///
/// - `waqtor_queue_sends_total{shard, outcome}`: sends by outcome (`sent`, `retry`, `failed`,
///   `number_down`, `quota`);
/// - `waqtor_queue_send_failures_total{shard, reason}`: failed or retried sends by reason
///   (`permanent`, `transient`, `number_down`, `gave_up`);
/// - `waqtor_queue_gateway_call_seconds`: one send's call to the gateway (its typing delay included);
/// - `waqtor_queue_lease_reclaims_total{shard}`: expired leases returned to their lanes;
/// - `waqtor_queue_shard_rebuilds_total{shard}`: shards rebuilt from PostgreSQL;
/// - `waqtor_queue_numbers{shard}`, `waqtor_queue_numbers_due{shard}`, `waqtor_queue_leases{shard}`:
///   the queue's depth as the maintainer last saw it.
public final class QueueMetrics: Sendable {
    let factory: any MetricsFactory
    let gatewayCall: Timer
    private let counters = NIOLockedValueBox<[String: Counter]>([:])
    private let gauges = NIOLockedValueBox<[String: Gauge]>([:])

    public init(factory: any MetricsFactory) {
        self.factory = factory
        gatewayCall = Timer(label: "waqtor_queue_gateway_call_seconds", factory: factory)
    }

    func count(_ label: String, _ dimensions: [(String, String)], by amount: Int = 1) {
        let key = label + dimensions.map { "|\($0.0)=\($0.1)" }.joined()
        let counter = counters.withLockedValue { counters in
            if let counter = counters[key] { return counter }
            let counter = Counter(label: label, dimensions: dimensions, factory: factory)
            counters[key] = counter
            return counter
        }
        counter.increment(by: amount)
    }

    func set(_ label: String, shard: Int, _ value: Int) {
        let key = "\(label)|\(shard)"
        let gauge = gauges.withLockedValue { gauges in
            if let gauge = gauges[key] { return gauge }
            let gauge = Gauge(label: label, dimensions: [("shard", String(shard))], factory: factory)
            gauges[key] = gauge
            return gauge
        }
        gauge.record(value)
    }
}
