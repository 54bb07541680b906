import Foundation

/// Where the product reads the time and waits for it. Production code takes one
/// (``SystemClock`` by default) instead of calling `Date()` or `Task.sleep`, so that rules that
/// depend on time (pacing gaps, quiet hours, warm-up days, retry backoff, key expiry) are tested
/// with a clock the test moves by hand (`TestClock` in WaqtorTestSupport), without sleeping.
///
/// The time is wall time (`Date`): the product's time rules are about local days and hours, and
/// schedules are shared with other processes (PostgreSQL, Redis scores) as Unix times.
public protocol WaqtorClock: Sendable {
    /// The current wall time.
    func now() -> Date
    /// Suspends until `deadline` (at once if it has passed). Throws `CancellationError` when the
    /// task is cancelled first.
    func sleep(until deadline: Date) async throws
}

extension WaqtorClock {
    /// Suspends for `duration` from now.
    public func sleep(for duration: Duration) async throws {
        try await sleep(until: now().addingTimeInterval(duration.timeInterval))
    }

    /// The current time in milliseconds since 1970 (the unit of Redis scores and gateway times).
    public func unixMilliseconds() -> Int64 {
        Int64((now().timeIntervalSince1970 * 1000).rounded(.down))
    }
}

/// The system's wall clock; waits with `Task.sleep`.
public struct SystemClock: WaqtorClock {
    public init() {}

    public func now() -> Date { Date() }

    public func sleep(until deadline: Date) async throws {
        let seconds = deadline.timeIntervalSinceNow
        if seconds <= 0 {
            try Task.checkCancellation()
            return
        }
        try await Task.sleep(for: .nanoseconds(Int64((seconds * 1e9).rounded(.up))))
    }
}

extension Duration {
    /// The duration in seconds, as `Foundation` counts intervals.
    public var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }

    /// The duration in whole milliseconds (rounded down).
    public var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
