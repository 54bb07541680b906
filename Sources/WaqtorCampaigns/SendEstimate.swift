import Foundation

/// How one number sends, for an estimate.
public struct NumberPace: Sendable, Hashable {
    /// The mean gap between two sends (the middle of the random range), in milliseconds.
    public var meanGapMs: Int
    /// At most this many campaign messages per local day (nil: no cap).
    public var dailyCap: Int?
    /// Quiet hours as minutes after local midnight (both nil: none). A start after the end spans
    /// midnight.
    public var quietStartMinute: Int?
    public var quietEndMinute: Int?

    public init(meanGapMs: Int, dailyCap: Int?, quietStartMinute: Int?, quietEndMinute: Int?) {
        self.meanGapMs = max(1, meanGapMs)
        self.dailyCap = dailyCap
        self.quietStartMinute = quietStartMinute
        self.quietEndMinute = quietEndMinute
    }
}

/// How long a campaign's sending would take: each number sends its share of the recipients at
/// its mean gap, at most its daily cap per local day, never inside its quiet hours. A pure
/// function of its inputs (the time zone's rules included), so it is tested without a clock.
/// It leaves out what cannot be known ahead: the warm-up of new numbers, the plan's daily quota
/// shared with other campaigns, retries and outages.
public enum SendEstimate {
    public struct Result: Sendable, Hashable {
        /// When the last message would be sent.
        public var finish: Date
        /// Whether quiet hours or a daily cap stretch it.
        public var pausesForQuietHours: Bool
        public var pausesForDailyCap: Bool
    }

    /// The finish when `recipients` are spread evenly over `numbers` (the first ones take one more
    /// when it does not divide), starting at `start`; nil when nothing would send (no numbers, a
    /// daily cap of 0, or quiet all day).
    public static func estimate(recipients: Int, numbers: [NumberPace], start: Date, zone: TimeZone) -> Result? {
        guard recipients > 0 else { return Result(finish: start, pausesForQuietHours: false, pausesForDailyCap: false) }
        guard !numbers.isEmpty else { return nil }
        var finish = start
        var quiet = false, capped = false
        for (index, pace) in numbers.enumerated() {
            let share = recipients / numbers.count + (index < recipients % numbers.count ? 1 : 0)
            guard share > 0 else { continue }
            guard let one = simulate(count: share, pace: pace, start: start, zone: zone) else { return nil }
            finish = max(finish, one.finish)
            quiet = quiet || one.pausesForQuietHours
            capped = capped || one.pausesForDailyCap
        }
        return Result(finish: finish, pausesForQuietHours: quiet, pausesForDailyCap: capped)
    }

    /// One number: steps from boundary to boundary (midnight, quiet hours), never send by send.
    static func simulate(count: Int, pace: NumberPace, start: Date, zone: TimeZone) -> Result? {
        if let cap = pace.dailyCap, cap <= 0 { return nil }
        if let s = pace.quietStartMinute, let e = pace.quietEndMinute, s == e { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let gap = TimeInterval(pace.meanGapMs) / 1000
        var remaining = count
        var t = start
        var lastSend = start
        var quiet = false, capped = false
        var day = calendar.startOfDay(for: t)
        var sentToday = 0
        // At most ten years of days: anything longer is not an estimate worth giving.
        for _ in 0..<(3660 * 3) {
            let dayStart = calendar.startOfDay(for: t)
            if dayStart != day {
                day = dayStart
                sentToday = 0
            }
            let nextMidnight = calendar.date(byAdding: .day, value: 1, to: dayStart) ?? t.addingTimeInterval(86_400)
            // Inside quiet hours: jump to their end.
            if let quietEnd = quietEnd(at: t, pace: pace, calendar: calendar, dayStart: dayStart) {
                quiet = true
                t = quietEnd
                continue
            }
            if let cap = pace.dailyCap, sentToday >= cap {
                capped = true
                t = nextMidnight
                continue
            }
            // Send until the next boundary: midnight or the next quiet start.
            var boundary = nextMidnight
            if let qs = pace.quietStartMinute {
                let quietStart = dayStart.addingTimeInterval(TimeInterval(qs * 60))
                if quietStart > t && quietStart < boundary { boundary = quietStart }
            }
            let fit = max(1, Int(boundary.timeIntervalSince(t) / gap))
            var n = min(remaining, fit)
            if let cap = pace.dailyCap { n = min(n, cap - sentToday) }
            remaining -= n
            sentToday += n
            lastSend = t.addingTimeInterval(gap * TimeInterval(n - 1))
            if remaining == 0 { return Result(finish: lastSend, pausesForQuietHours: quiet, pausesForDailyCap: capped) }
            // The next send is a gap later; a run that filled the time to the boundary resumes there.
            t = t.addingTimeInterval(gap * TimeInterval(n))
            if n == fit, t < boundary { t = boundary }
        }
        return nil
    }

    /// The end of the quiet period `t` is in, or nil when it is not in one.
    static func quietEnd(at t: Date, pace: NumberPace, calendar: Calendar, dayStart: Date) -> Date? {
        guard let s = pace.quietStartMinute, let e = pace.quietEndMinute else { return nil }
        let minute = Int(t.timeIntervalSince(dayStart) / 60)
        if s < e {
            guard minute >= s && minute < e else { return nil }
            return dayStart.addingTimeInterval(TimeInterval(e * 60))
        }
        // Spans midnight: [s, 1440) and [0, e).
        if minute >= s {
            let next = calendar.date(byAdding: .day, value: 1, to: dayStart) ?? dayStart.addingTimeInterval(86_400)
            return next.addingTimeInterval(TimeInterval(e * 60))
        }
        if minute < e { return dayStart.addingTimeInterval(TimeInterval(e * 60)) }
        return nil
    }

    /// "about 14 h on 2 numbers, ending Tue 09:40 (Africa/Cairo), with quiet hours".
    /// `zoneName` is the zone as the account names it (Foundation may call UTC "GMT").
    public static func describe(duration: TimeInterval, numbers: Int, finish: Date, zone: TimeZone, zoneName: String? = nil,
                                quiet: Bool, capped: Bool) -> String {
        let minutes = Int((duration / 60).rounded())
        let amount: String
        if minutes < 1 { amount = "under a minute" }
        else if minutes < 90 { amount = "about \(minutes) min" }
        else if minutes < 48 * 60 { amount = "about \(Int((Double(minutes) / 60).rounded())) h" }
        else { amount = "about \(Int((Double(minutes) / 1440).rounded())) days" }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zone
        formatter.dateFormat = duration < 6 * 86_400 ? "EEE HH:mm" : "EEE d MMM HH:mm"
        var text = "\(amount) on \(numbers) number\(numbers == 1 ? "" : "s"), ending \(formatter.string(from: finish)) (\(zoneName ?? zone.identifier))"
        var pauses: [String] = []
        if quiet { pauses.append("quiet hours") }
        if capped { pauses.append("daily caps") }
        if !pauses.isEmpty { text += ", with " + pauses.joined(separator: " and ") }
        return text
    }
}
