import Foundation
import Histogram

/// A latency histogram as the harness keeps them: nanoseconds, 3 significant digits, sized up
/// front for latencies up to an hour (see `PingLoad.LoopResult` for why not auto-resizing from 2 ns).
func makeLatencyHistogram() -> Histogram<UInt64> {
    var histogram = Histogram<UInt64>(highestTrackableValue: 3_600_000_000_000, numberOfSignificantValueDigits: .three)
    histogram.autoResize = true
    return histogram
}

/// What one call did, as a scenario reports it to the driver.
struct CallOutcome: Sendable {
    /// A part of the call timed on its own (e.g. send-reply's SendTextReply inside the wait for SENT).
    struct Stage: Sendable {
        var name: String
        var nanoseconds: UInt64
    }

    /// The operation: the scenario's name, or in `mixed` the share it drew.
    var operation: String
    /// Nil when the call succeeded; otherwise its status (an RPC status name such as
    /// `UNAVAILABLE`, `HTTP_503`, or a harness outcome such as `REPLY_TIMEOUT`).
    var error: String?
    /// What the error said, kept for the last-error line.
    var detail: String = ""
    var stages: [Stage] = []

    static func success(_ operation: String, stages: [Stage] = []) -> CallOutcome {
        CallOutcome(operation: operation, error: nil, stages: stages)
    }

    static func failure(_ operation: String, _ status: String, _ detail: String, stages: [Stage] = []) -> CallOutcome {
        CallOutcome(operation: operation, error: status, detail: detail, stages: stages)
    }
}

/// What the measured calls of one operation did.
struct OperationStats: Sendable {
    /// Latencies of successful calls (closed loop: from the call's start; open loop: from its
    /// scheduled start).
    var latency = makeLatencyHistogram()
    var ok: UInt64 = 0
    var errors: [String: UInt64] = [:]
    /// Stages of successful calls, each from its own start.
    var stages: [String: Histogram<UInt64>] = [:]
    var lastError: String?

    var calls: UInt64 { ok + errors.values.reduce(0, +) }

    mutating func record(_ outcome: CallOutcome, latency nanoseconds: UInt64) {
        if let error = outcome.error {
            errors[error, default: 0] += 1
            lastError = "\(error): \(outcome.detail)"
            return
        }
        ok += 1
        latency.record(nanoseconds)
        for stage in outcome.stages {
            stages[stage.name, default: makeLatencyHistogram()].record(stage.nanoseconds)
        }
    }

    mutating func merge(_ other: OperationStats) {
        latency.add(other.latency)
        ok += other.ok
        for (name, n) in other.errors { errors[name, default: 0] += n }
        for (name, histogram) in other.stages { stages[name, default: makeLatencyHistogram()].add(histogram) }
        lastError = other.lastError ?? lastError
    }
}

/// What the call loops of one connection measured (they share it: one set of histograms per
/// connection keeps memory small; a lock orders the records, which come at most a few thousand a
/// second per connection in these scenarios).
final class ConnectionStats: @unchecked Sendable {
    // Invariant for @unchecked Sendable: every field is touched only under `lock`.
    private let lock = NSLock()
    private var operations: [String: OperationStats] = [:]
    private var finishedAt: UInt64 = 0
    private var behind: UInt64 = 0
    private var timeline: [TimelineEntry] = []
    /// Whether every call (warm-up included) is kept for `--timeline`.
    let keepsTimeline: Bool

    init(keepsTimeline: Bool = false) {
        self.keepsTimeline = keepsTimeline
    }

    func record(_ outcome: CallOutcome, latency: UInt64) {
        lock.lock()
        defer { lock.unlock() }
        operations[outcome.operation, default: OperationStats()].record(outcome, latency: latency)
    }

    /// Keeps one call for the timeline (only when `keepsTimeline`).
    func keep(_ outcome: CallOutcome, start: UInt64, began: UInt64, end: UInt64) {
        guard keepsTimeline else { return }
        lock.lock()
        timeline.append(TimelineEntry(
            start: start, began: began, end: end, operation: outcome.operation, status: outcome.error ?? "OK", detail: outcome.detail))
        lock.unlock()
    }

    var keptTimeline: [TimelineEntry] {
        lock.lock()
        defer { lock.unlock() }
        return timeline
    }

    func finished(at time: UInt64, behind late: UInt64 = 0) {
        lock.lock()
        finishedAt = max(finishedAt, time)
        behind += late
        lock.unlock()
    }

    var snapshot: (operations: [String: OperationStats], finishedAt: UInt64, behind: UInt64) {
        lock.lock()
        defer { lock.unlock() }
        return (operations, finishedAt, behind)
    }
}

/// One call as `--timeline` writes it: monotonic start (open loop: the intended start), when it
/// really began (later than `start` when the loop's previous call ended late) and its end, the
/// operation and its status (`OK` or the error's name).
struct TimelineEntry: Sendable {
    var start: UInt64
    var began: UInt64
    var end: UInt64
    var operation: String
    var status: String
    /// What the error said (empty for `OK`).
    var detail: String

    /// Writes the entries as CSV, `start_ms,began_ms,end_ms,operation,status,detail` (detail quoted), in wall-clock milliseconds
    /// since the epoch (so a script can line them up with `date +%s%3N`), ordered by start.
    static func write(_ entries: [TimelineEntry], to path: String) throws {
        let offset = wallMilliseconds() - Double(monotonicNanos()) / 1e6
        var text = "start_ms,began_ms,end_ms,operation,status,detail\n"
        for entry in entries.sorted(by: { $0.start < $1.start }) {
            text += String(
                format: "%.1f,%.1f,%.1f,", Double(entry.start) / 1e6 + offset, Double(entry.began) / 1e6 + offset,
                Double(entry.end) / 1e6 + offset)
            let detail = entry.detail.replacingOccurrences(of: "\"", with: "\"\"").replacingOccurrences(of: "\n", with: " ")
            text += "\(entry.operation),\(entry.status),\"\(detail)\"\n"
        }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}
