import CoreMetrics
import NIOConcurrencyHelpers

/// Counters of one name whose label values are known only when something happens (a status, an
/// outcome, a shard): each label set's counter is made on first use and kept, so that the backend's
/// registry is asked once per label set, not once per event. Label values must come from a small,
/// bounded set (never from user input), or the family grows without end.
public final class CounterFamily: Sendable {
    public let label: String
    let factory: any MetricsFactory
    private let counters = NIOLockedValueBox<[[String]: Counter]>([:])

    public init(label: String, factory: any MetricsFactory) {
        self.label = label
        self.factory = factory
    }

    /// Adds `amount` to the counter of these labels (names and values, in a fixed order).
    public func increment(_ dimensions: [(String, String)], by amount: Int = 1) {
        let key = dimensions.map(\.1)
        let counter = counters.withLockedValue { counters in
            if let counter = counters[key] { return counter }
            let counter = Counter(label: label, dimensions: dimensions, factory: factory)
            counters[key] = counter
            return counter
        }
        counter.increment(by: amount)
    }
}

/// Gauges of one name, one per label set, made on first use and kept (see ``CounterFamily``).
public final class GaugeFamily: Sendable {
    public let label: String
    let factory: any MetricsFactory
    private let gauges = NIOLockedValueBox<[[String]: Gauge]>([:])

    public init(label: String, factory: any MetricsFactory) {
        self.label = label
        self.factory = factory
    }

    /// Sets the gauge of these labels.
    public func record(_ dimensions: [(String, String)], _ value: Int) {
        let key = dimensions.map(\.1)
        let gauge = gauges.withLockedValue { gauges in
            if let gauge = gauges[key] { return gauge }
            let gauge = Gauge(label: label, dimensions: dimensions, factory: factory)
            gauges[key] = gauge
            return gauge
        }
        gauge.record(value)
    }
}

extension Timer {
    /// Records the time since `start`.
    public func record(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        recordNanoseconds(elapsed.components.seconds &* 1_000_000_000 &+ elapsed.components.attoseconds / 1_000_000_000)
    }
}
