import Foundation

/// How the scenarios' calls are driven (every scenario but `ping`, which keeps its own engines).
struct DriverPlan: Sendable {
    var connections: Int
    var inFlight: Int
    var warmup: Double
    /// Seconds to measure after the warm-up; nil with `requests`.
    var duration: Double?
    /// Calls to measure after the warm-up, split across the loops; nil with `duration`.
    var requests: Int?
    /// Open loop at this many calls per second in total; nil: closed loops.
    var rate: Double?
    /// Keep every call for `--timeline`.
    var timeline = false

    var loops: Int { connections * inFlight }

    /// Measured calls per loop, when counted.
    func quota(ofLoop loop: Int) -> Int? {
        requests.map { total in total / loops + (loop < total % loops ? 1 : 0) }
    }
}

/// What the loops measured, merged.
struct DriverResult: Sendable {
    var operations: [String: OperationStats]
    /// Seconds from the end of the warm-up to the last measured call's end.
    var elapsed: Double
    /// When the warm-up ended (monotonic ns): calls that started before were not measured.
    var measureFrom: UInt64
    /// Open loop: calls scheduled inside the measured window that had not started when it ended
    /// (the server, or the pacing behind it, did not keep up with the rate).
    var behind: UInt64
    /// Every call, warm-up included, when the plan asked for a timeline.
    var timeline: [TimelineEntry] = []
}

/// One call: on connection `connection`, `sequence` unique within the run (for unique ids in
/// what the call sends).
typealias LoadCall = @Sendable (_ connection: Int, _ sequence: UInt64) async -> CallOutcome

/// Runs C × M loops of calls, closed or open.
///
/// - Closed: each loop starts its next call when the previous one ends; latency from the call's
///   start.
/// - Open (`rate`): each loop has its own schedule at rate / loops, staggered across loops, as
///   wrk2 gives each connection one. A call starts at its scheduled time, or at once when the
///   previous call of its loop ended after that time, and its latency runs from the scheduled
///   time: the waiting a slow answer caused is counted instead of omitted (coordinated omission).
enum LoadDriver {
    static func run(_ plan: DriverPlan, progress: ProgressLine, call: @escaping LoadCall) async -> DriverResult {
        let stats = (0..<plan.connections).map { _ in ConnectionStats(keepsTimeline: plan.timeline) }
        let begin = monotonicNanos()
        let measureFrom = begin + UInt64(plan.warmup * 1e9)
        let stopAt = plan.duration.map { measureFrom + UInt64($0 * 1e9) } ?? .max
        let ticker = progress.start(begin: begin, measureFrom: measureFrom)
        await withTaskGroup(of: Void.self) { group in
            for connection in 0..<plan.connections {
                for slot in 0..<plan.inFlight {
                    let loop = connection * plan.inFlight + slot
                    let quota = plan.quota(ofLoop: loop)
                    if quota == 0 { continue }
                    let settings = Loop(
                        index: loop, connection: connection, measureFrom: measureFrom, stopAt: stopAt,
                        quota: quota ?? .max, stats: stats[connection], progress: progress, call: call)
                    if let rate = plan.rate {
                        let interval = Double(plan.loops) / rate * 1e9
                        let first = begin + UInt64(Double(loop) / Double(plan.loops) * interval)
                        group.addTask { await settings.open(first: first, interval: interval) }
                    } else {
                        group.addTask { await settings.closed() }
                    }
                }
            }
        }
        ticker?.cancel()
        await ticker?.value
        var operations: [String: OperationStats] = [:]
        var finishedAt = measureFrom
        var behind: UInt64 = 0
        let timeline = stats.flatMap(\.keptTimeline)
        for connection in stats {
            let snapshot = connection.snapshot
            for (name, result) in snapshot.operations { operations[name, default: OperationStats()].merge(result) }
            finishedAt = max(finishedAt, snapshot.finishedAt)
            behind += snapshot.behind
        }
        return DriverResult(operations: operations, elapsed: Double(finishedAt - measureFrom) / 1e9, measureFrom: measureFrom, behind: behind, timeline: timeline)
    }

    /// One loop's settings and its two ways of running.
    struct Loop: Sendable {
        var index: Int
        var connection: Int
        var measureFrom: UInt64
        var stopAt: UInt64
        var quota: Int
        var stats: ConnectionStats
        var progress: ProgressLine
        var call: LoadCall

        func sequence(_ k: UInt64) -> UInt64 { UInt64(index) << 32 | k }

        func closed() async {
            var remaining = quota
            var k: UInt64 = 0
            while !Task.isCancelled {
                let start = monotonicNanos()
                let outcome = await call(connection, sequence(k))
                let end = monotonicNanos()
                k += 1
                progress.count(failed: outcome.error != nil)
                stats.keep(outcome, start: start, began: start, end: end)
                if start >= measureFrom {
                    stats.record(outcome, latency: end - start)
                    remaining -= 1
                    if remaining == 0 { break }
                }
                if end >= stopAt { break }
            }
            stats.finished(at: monotonicNanos())
        }

        func open(first: UInt64, interval: Double) async {
            var remaining = quota
            var k: UInt64 = 0
            var behind: UInt64 = 0
            while !Task.isCancelled {
                let intended = first + UInt64(Double(k) * interval)
                if intended >= stopAt { break }
                let now = monotonicNanos()
                if now < intended {
                    try? await Task.sleep(nanoseconds: intended - now)
                } else if now >= stopAt {
                    // The window ended with calls of this loop still waiting to start: count them.
                    behind = UInt64(Double(stopAt - max(intended, measureFrom)) / interval) + 1
                    break
                }
                let began = monotonicNanos()
                let outcome = await call(connection, sequence(k))
                let end = monotonicNanos()
                k += 1
                progress.count(failed: outcome.error != nil)
                stats.keep(outcome, start: intended, began: began, end: end)
                if intended >= measureFrom {
                    stats.record(outcome, latency: end - intended)
                    remaining -= 1
                    if remaining == 0 { break }
                }
            }
            // The window is the schedule's: it lasts until stopAt even when the last call ended sooner.
            stats.finished(at: max(monotonicNanos(), stopAt == .max ? 0 : stopAt), behind: behind)
        }
    }
}
