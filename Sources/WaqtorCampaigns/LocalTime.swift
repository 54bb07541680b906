import Foundation

/// A wall-clock date and time without a zone ("2026-03-29T02:30"), as a person types a schedule.
public struct LocalDateTime: Sendable, Hashable, CustomStringConvertible {
    public var year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int

    public init(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int = 0) {
        (self.year, self.month, self.day, self.hour, self.minute, self.second) = (year, month, day, hour, minute, second)
    }

    /// Reads `YYYY-MM-DDTHH:MM` or `YYYY-MM-DDTHH:MM:SS` (a space instead of `T` too); nil for
    /// anything else, including dates that do not exist (2026-02-30).
    public init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let parts = trimmed.split(whereSeparator: { $0 == "T" || $0 == " " })
        guard parts.count == 2 else { return nil }
        let date = parts[0].split(separator: "-", omittingEmptySubsequences: false)
        let time = parts[1].split(separator: ":", omittingEmptySubsequences: false)
        guard date.count == 3, date[0].count == 4, date[1].count == 2, date[2].count == 2,
              time.count == 2 || time.count == 3, time.allSatisfy({ $0.count == 2 }),
              let y = Int(date[0]), let mo = Int(date[1]), let d = Int(date[2]),
              let h = Int(time[0]), let mi = Int(time[1]), let s = time.count == 3 ? Int(time[2]) : 0,
              (1...12).contains(mo), (1...31).contains(d), (0...23).contains(h), (0...59).contains(mi), (0...59).contains(s)
        else { return nil }
        self.init(year: y, month: mo, day: d, hour: h, minute: mi, second: s)
        guard d <= Self.daysIn(year: y, month: mo) else { return nil }
    }

    static func daysIn(year: Int, month: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    public var description: String {
        func pad(_ v: Int, _ w: Int = 2) -> String { String(repeating: "0", count: max(0, w - String(v).count)) + String(v) }
        return "\(pad(year, 4))-\(pad(month))-\(pad(day))T\(pad(hour)):\(pad(minute)):\(pad(second))"
    }

    /// Seconds since 1970 if this wall time were UTC (days from civil, proleptic Gregorian).
    var naiveUnixSeconds: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return days * 86_400 + hour * 3600 + minute * 60 + second
    }
}

/// How a wall time maps to instants in a zone.
public enum LocalTimeResolution: Sendable, Hashable {
    /// One instant.
    case unique(Date)
    /// The clocks were set back and the wall time happened twice (`earlier` before the change,
    /// `later` after it).
    case overlap(earlier: Date, later: Date)
    /// The clocks jumped forward over it: it never happened. `shifted` is the same wall time read
    /// with the offset before the jump, which lands after the gap by the gap's length
    /// (02:30 in a one-hour gap is 03:30).
    case gap(shifted: Date)

    /// The instant the product uses: the only one, the earlier of an overlap (the first time the
    /// clock shows it), and for a gap the time shifted forward by the gap's length. docs/CAMPAIGNS.md
    /// says the same to users.
    public var instant: Date {
        switch self {
        case .unique(let date): date
        case .overlap(let earlier, _): earlier
        case .gap(let shifted): shifted
        }
    }
}

extension LocalDateTime {
    /// The instants this wall time names in `zone` (by the zone's rules as tzdata has them).
    public func resolve(in zone: TimeZone) -> LocalTimeResolution {
        let naive = naiveUnixSeconds
        // The offsets in force a day either side cover any transition near this wall time.
        let before = zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(naive - 86_400)))
        let after = zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(naive + 86_400)))
        var valid: [Int] = []
        for offset in Set([before, after]) {
            let candidate = naive - offset
            if zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(candidate))) == offset {
                valid.append(candidate)
            }
        }
        valid.sort()
        switch valid.count {
        case 1:
            return .unique(Date(timeIntervalSince1970: TimeInterval(valid[0])))
        case 2:
            return .overlap(earlier: Date(timeIntervalSince1970: TimeInterval(valid[0])),
                            later: Date(timeIntervalSince1970: TimeInterval(valid[1])))
        default:
            return .gap(shifted: Date(timeIntervalSince1970: TimeInterval(naive - before)))
        }
    }

    /// The wall time of `instant` in `zone`.
    public init(_ instant: Date, in zone: TimeZone) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: instant)
        self.init(year: c.year ?? 1970, month: c.month ?? 1, day: c.day ?? 1, hour: c.hour ?? 0, minute: c.minute ?? 0, second: c.second ?? 0)
    }
}
