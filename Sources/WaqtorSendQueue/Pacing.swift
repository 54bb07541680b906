import Foundation

/// Quiet hours: minutes of the day (0-1439) in the tenant's time zone during which no campaign
/// message is sent. A start after the end wraps over midnight (22:00-07:00). Equal start and end
/// is an empty range.
public struct QuietHours: Sendable, Hashable {
    public var startMinute: Int
    public var endMinute: Int

    public init(startMinute: Int, endMinute: Int) {
        self.startMinute = startMinute
        self.endMinute = endMinute
    }

    /// Whether the minute of the day lies inside (start inclusive, end exclusive).
    public func contains(minuteOfDay m: Int) -> Bool {
        if startMinute == endMinute { return false }
        if startMinute < endMinute { return m >= startMinute && m < endMinute }
        return m >= startMinute || m < endMinute
    }
}

/// How one number sends, as the send queue applies it (docs/QUEUE.md, "Pacing").
public struct NumberPacing: Sendable, Hashable {
    /// The gap between two sends from the number: uniform in `[minDelayMs, maxDelayMs]`.
    public var minDelayMs: Int
    public var maxDelayMs: Int
    /// Sends per local day from this number (nil: no cap of its own, only the plan's quota).
    public var dailyCap: Int?
    public var quietHours: QuietHours?
    /// Days of warm-up from the number's first connection (nil: warm-up off).
    public var warmupDays: Int?
    /// When the number first connected (the warm-up counts days from its local date).
    public var warmupStartedAt: Date?

    public init(minDelayMs: Int, maxDelayMs: Int, dailyCap: Int? = nil, quietHours: QuietHours? = nil,
                warmupDays: Int? = nil, warmupStartedAt: Date? = nil) {
        self.minDelayMs = minDelayMs
        self.maxDelayMs = max(minDelayMs, maxDelayMs)
        self.dailyCap = dailyCap
        self.quietHours = quietHours
        self.warmupDays = warmupDays
        self.warmupStartedAt = warmupStartedAt
    }
}

/// The pacing rules as pure functions of their inputs (a clock reading, a zone, a random unit).
public enum PacingRules {
    /// Sends allowed on a number's first warm-up day; the allowance doubles every local day.
    public static let warmupFirstDay = 20

    /// The gap before the next send: `min + unit * (max - min)`, `unit` uniform in [0, 1).
    public static func gap(minDelayMs: Int, maxDelayMs: Int, unit: Double) -> Int {
        let span = max(0, maxDelayMs - minDelayMs)
        let u = min(max(unit, 0), 0.999_999_999)
        return minDelayMs + Int((Double(span + 1) * u).rounded(.down))
    }

    /// The warm-up allowance on local day `day` (0 = the day the number first connected):
    /// 20, 40, 80, ... (doubling), until `warmupDays` have passed; nil when the ramp is over (or
    /// off). The cap in force is the lower of this and the number's own cap.
    public static func warmupAllowance(day: Int, warmupDays: Int?) -> Int? {
        guard let warmupDays, warmupDays > 0, day < warmupDays else { return nil }
        let d = max(0, day)
        return d >= 40 ? Int.max : warmupFirstDay << d
    }

    /// The number's cap for the local day `day` of its warm-up (nil: uncapped). The lower of its
    /// own cap, the campaign's cap and the warm-up allowance.
    public static func dailyCap(own: Int?, campaign: Int?, warmupDay: Int, warmupDays: Int?) -> Int? {
        [own.flatMap { $0 > 0 ? $0 : nil }, campaign.flatMap { $0 > 0 ? $0 : nil },
         warmupAllowance(day: warmupDay, warmupDays: warmupDays)].compactMap { $0 }.min()
    }

    /// The typing delay (Evolution's `delay`, ms) for a text of `length` characters: 50 ms a
    /// character between 0.5 s and 5 s, then jittered by +-20 % (`unit` in [0, 1)), and clamped to
    /// `[0, maximum]` (a deployment may lower the maximum, e.g. to 0 for load tests).
    public static func typingDelay(length: Int, unit: Double, maximum: Int = 5000) -> Int {
        guard maximum > 0 else { return 0 }
        let base = min(5000, max(500, length * 50))
        let jittered = Double(base) * (0.8 + 0.4 * min(max(unit, 0), 1))
        return min(maximum, Int(jittered.rounded()))
    }
}

/// Whether a number may send now, from its pacing, the tenant's zone and what it sent today.
public struct SendGate: Sendable {
    public var zone: TimeZone

    public init(zone: TimeZone) { self.zone = zone }

    /// Why the number waits, and until when.
    public enum Decision: Sendable, Hashable {
        case send
        case wait(until: Date, reason: String)
    }

    var calendar: Calendar {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = zone
        return c
    }

    /// The local day of `date` as `YYYY-MM-DD` (the daily counters' key).
    public func dayKey(_ date: Date) -> String {
        let c = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0)
    }

    /// Local days from `start` to `date` (0 on the same local day).
    public func localDays(from start: Date, to date: Date) -> Int {
        let c = calendar
        let a = c.startOfDay(for: start), b = c.startOfDay(for: date)
        return c.dateComponents([.day], from: a, to: b).day ?? 0
    }

    /// The next local midnight after `date` (DST-safe: the start of the next local day).
    public func nextMidnight(after date: Date) -> Date {
        let c = calendar
        let today = c.startOfDay(for: date)
        return c.date(byAdding: .day, value: 1, to: today) ?? date.addingTimeInterval(86_400)
    }

    /// The minute of the day of `date` in the zone.
    public func minuteOfDay(_ date: Date) -> Int {
        let c = calendar.dateComponents([.hour, .minute], from: date)
        return (c.hour ?? 0) * 60 + (c.minute ?? 0)
    }

    /// The first instant at or after `date` outside the quiet hours: `date` itself when it is
    /// outside, else the next time the local clock shows the end minute (a wall time skipped by
    /// a spring-forward gap is read as the first time after it).
    public func quietEnd(_ quiet: QuietHours, after date: Date) -> Date {
        guard quiet.contains(minuteOfDay: minuteOfDay(date)) else { return date }
        let wanted = DateComponents(hour: quiet.endMinute / 60, minute: quiet.endMinute % 60, second: 0)
        return calendar.nextDate(after: date, matching: wanted, matchingPolicy: .nextTime) ?? date.addingTimeInterval(60)
    }

    /// The decision for a number that sent `sentToday` messages on `now`'s local day.
    public func decide(now: Date, pacing: NumberPacing, campaignCap: Int?, sentToday: Int) -> Decision {
        if let quiet = pacing.quietHours, quiet.contains(minuteOfDay: minuteOfDay(now)) {
            return .wait(until: quietEnd(quiet, after: now), reason: "quiet hours")
        }
        let day = pacing.warmupStartedAt.map { localDays(from: $0, to: now) } ?? 0
        if let cap = PacingRules.dailyCap(own: pacing.dailyCap, campaign: campaignCap, warmupDay: day, warmupDays: pacing.warmupDays),
           sentToday >= cap {
            var until = nextMidnight(after: now)
            if let quiet = pacing.quietHours, quiet.contains(minuteOfDay: minuteOfDay(until)) {
                until = quietEnd(quiet, after: until)
            }
            let warm = PacingRules.warmupAllowance(day: day, warmupDays: pacing.warmupDays) == cap
            return .wait(until: until, reason: warm ? "warm-up allowance of \(cap) sends today" : "daily cap of \(cap) sends")
        }
        return .send
    }
}

/// Retries of a message that failed for a passing reason: jittered exponential backoff.
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts in all (the first send and its retries).
    public var maxAttempts: Int
    public var baseDelayMs: Int
    public var maxDelayMs: Int

    public init(maxAttempts: Int = 5, baseDelayMs: Int = 5_000, maxDelayMs: Int = 300_000) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelayMs = max(0, baseDelayMs)
        self.maxDelayMs = max(self.baseDelayMs, maxDelayMs)
    }

    /// The wait before attempt `attempt + 1` after `attempt` failed (1-based): half to all of
    /// `base * 2^(attempt-1)`, at most `maxDelayMs`; nil when no attempt is left.
    public func delay(afterAttempt attempt: Int, unit: Double) -> Int? {
        guard attempt < maxAttempts else { return nil }
        let exponent = min(max(attempt - 1, 0), 30)
        let full = min(Double(maxDelayMs), Double(baseDelayMs) * pow(2, Double(exponent)))
        return Int((full * (0.5 + 0.5 * min(max(unit, 0), 1))).rounded())
    }
}
