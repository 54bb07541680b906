import Foundation
import Histogram

/// The end-of-run report of every product scenario: the fields of `ping`'s report (same names and
/// units: latencies in µs) plus the scenario, the loop mode, set-up time, stages, per-operation
/// figures (`mixed`), the scenario's own outcome and what limits the figure.
struct ScenarioReport: Encodable {
    /// A part of the call timed on its own.
    struct Stage: Encodable {
        var count: UInt64
        var latency: Report.Latency
    }

    /// One share of `mixed`.
    struct Operation: Encodable {
        var weight: Int
        var calls: UInt64
        var ok: UInt64
        var errors: [String: UInt64]
        var throughput: Double
        var latency: Report.Latency
        var stages: [String: Stage]

        enum CodingKeys: String, CodingKey {
            case weight, calls, ok, errors, latency, stages
            case throughput = "calls_per_s"
        }
    }

    /// A scenario-specific figure.
    enum Value: Encodable {
        case count(Int)
        case number(Double)
        case text(String)
        case missing

        func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .count(let n): try c.encode(n)
            case .number(let x): try c.encode((x * 1000).rounded() / 1000)
            case .text(let s): try c.encode(s)
            case .missing: try c.encodeNil()
            }
        }

        var text: String {
            switch self {
            case .count(let n): "\(n)"
            case .number(let x): x >= 100 ? String(format: "%.0f", x) : String(format: "%.3g", x)
            case .text(let s): s
            case .missing: "n/a"
            }
        }
    }

    var scenario: String
    /// What one call is, for the table (e.g. "TenantService.Login").
    var call: String
    /// The plural noun of a call, for the table (e.g. "logins").
    var unit: String
    var server: String
    var connections: Int
    var inFlight: Int
    var warmup: Double
    var rate: Double?
    var calls: UInt64
    var ok: UInt64
    var errors: [String: UInt64]
    var elapsed: Double
    var throughput: Double
    var latency: Report.Latency
    var behind: UInt64
    var setup: Double
    var stages: [String: Stage]
    var operations: [String: Operation]?
    var outcome: [String: Value]
    var limits: [String]

    enum CodingKeys: String, CodingKey {
        case scenario, call, unit, server, connections, mode, rate, calls, ok, errors, latency, behind, stages, operations, outcome, limits
        case inFlight = "in_flight"
        case warmup = "warmup_s"
        case elapsed = "elapsed_s"
        case throughput = "calls_per_s"
        case setup = "setup_s"
    }

    var mode: String { rate == nil ? "closed" : "open" }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(scenario, forKey: .scenario)
        try c.encode(call, forKey: .call)
        try c.encode(unit, forKey: .unit)
        try c.encode(server, forKey: .server)
        try c.encode(connections, forKey: .connections)
        try c.encode(inFlight, forKey: .inFlight)
        try c.encode(warmup, forKey: .warmup)
        try c.encode(mode, forKey: .mode)
        try c.encode(rate, forKey: .rate)
        try c.encode(calls, forKey: .calls)
        try c.encode(ok, forKey: .ok)
        try c.encode(errors, forKey: .errors)
        try c.encode((elapsed * 1000).rounded() / 1000, forKey: .elapsed)
        // Two decimals, not ping's whole number: a scenario may run a few calls a second.
        try c.encode((throughput * 100).rounded() / 100, forKey: .throughput)
        try c.encode(latency, forKey: .latency)
        try c.encode(behind, forKey: .behind)
        try c.encode((setup * 1000).rounded() / 1000, forKey: .setup)
        try c.encode(stages, forKey: .stages)
        try c.encodeIfPresent(operations, forKey: .operations)
        try c.encode(outcome, forKey: .outcome)
        try c.encode(limits, forKey: .limits)
    }

    /// Builds the report from what the driver measured; `weights` for `mixed`.
    init(
        scenario: String, call: String, unit: String, options: LoadOptions, warmup: Double,
        result: DriverResult, setup: Double, weights: [String: Int]? = nil,
        outcome: [String: Value], limits: [String]
    ) {
        var all = OperationStats()
        for stats in result.operations.values { all.merge(stats) }
        func perSecond(_ n: UInt64) -> Double { result.elapsed > 0 ? Double(n) / result.elapsed : 0 }
        func stages(_ stats: OperationStats) -> [String: Stage] {
            stats.stages.mapValues { Stage(count: $0.totalCount, latency: Report.Latency($0)) }
        }
        self.scenario = scenario
        self.call = call
        self.unit = unit
        server = options.server
        connections = options.connections
        inFlight = options.inFlight
        self.warmup = warmup
        rate = options.rate
        calls = all.calls
        ok = all.ok
        errors = all.errors
        elapsed = result.elapsed
        throughput = perSecond(all.ok)
        latency = Report.Latency(all.latency)
        behind = result.behind
        self.setup = setup
        self.stages = stages(all)
        operations = weights.map { weights in
            Dictionary(uniqueKeysWithValues: weights.map { name, weight in
                let stats = result.operations[name] ?? OperationStats()
                return (name, Operation(
                    weight: weight, calls: stats.calls, ok: stats.ok, errors: stats.errors,
                    throughput: perSecond(stats.ok), latency: Report.Latency(stats.latency), stages: stages(stats)))
            })
        }
        self.outcome = outcome
        self.limits = limits
    }

    func print(json: Bool) throws {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            Swift.print(String(decoding: try encoder.encode(self), as: UTF8.self))
        } else {
            Swift.print(text)
        }
    }

    var text: String {
        func errorText(_ errors: [String: UInt64]) -> String {
            errors.isEmpty ? "0" : errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        }
        let loop = rate.map { String(format: "open loop at %g calls/s", $0) } ?? "closed loop"
        var lines = [
            "scenario    \(scenario): \(call)  (\(connections) connections × \(inFlight) in flight, \(loop), warm-up \(warmup) s; set-up \(String(format: "%.1f", setup)) s)",
            "calls       \(calls)  (ok \(ok), errors: \(errorText(errors)))" + (behind > 0 ? "  behind the rate: \(behind) never started" : ""),
            "elapsed     \(String(format: "%.3f", elapsed)) s",
            "throughput  \(String(format: throughput >= 100 ? "%.0f" : "%.2f", throughput)) \(unit)/s",
        ]
        // Stages under the latency line, their names indented, the figures aligned with it.
        let stageWidth = max(12, (stages.keys.map(\.count).max() ?? 0) + 3)
        lines.append("latency".padding(toLength: stageWidth, withPad: " ", startingAt: 0) + Self.latencyText(latency))
        for (name, stage) in stages.sorted(by: { $0.key < $1.key }) {
            lines.append("  \(name)".padding(toLength: stageWidth, withPad: " ", startingAt: 0) + Self.latencyText(stage.latency) + "  (\(stage.count) calls)")
        }
        if let operations {
            lines.append("")
            lines.append("operation    weight     calls        ok    errors   calls/s     p50 ms     p90 ms     p99 ms   p99.9 ms     max ms")
            for (name, op) in operations.sorted(by: { $0.value.weight > $1.value.weight }) {
                let ms = [op.latency.p50, op.latency.p90, op.latency.p99, op.latency.p999, op.latency.max].map { String(format: "%10.2f", $0 / 1000) }
                lines.append(name.padding(toLength: 12, withPad: " ", startingAt: 0)
                    + String(format: " %6d %9llu %9llu %9llu %9.1f ", op.weight, op.calls, op.ok, op.calls - op.ok, op.throughput) + ms.joined(separator: " "))
                for (error, n) in op.errors.sorted(by: { $0.key < $1.key }) { lines.append("  \(error) \(n)") }
            }
            lines.append("")
        }
        if !outcome.isEmpty { lines.append("outcome") }
        let keyWidth = outcome.keys.map(\.count).max() ?? 0
        for (key, value) in outcome.sorted(by: { $0.key < $1.key }) {
            lines.append("  \(key.padding(toLength: keyWidth, withPad: " ", startingAt: 0))  \(value.text)")
        }
        for limit in limits { lines.append("limit       \(limit)") }
        return lines.joined(separator: "\n")
    }

    /// Percentiles in ms when the median is a millisecond or more, else in µs.
    static func latencyText(_ l: Report.Latency) -> String {
        let inMs = l.p50 >= 1000
        func v(_ us: Double) -> String { inMs ? String(format: "%.1f", us / 1000) : String(format: "%.1f", us) }
        return "\(inMs ? "ms" : "µs")  p50 \(v(l.p50))  p90 \(v(l.p90))  p99 \(v(l.p99))  p99.9 \(v(l.p999))  max \(v(l.max))  (mean \(v(l.mean)))"
    }
}
