import Foundation

/// A statement parameter, bound as `$n` (never pasted into the SQL text).
///
/// Use `nil` in a parameter array (`[PostgresValue?]`) for SQL NULL, or ``null``.
public enum PostgresValue: Sendable, Hashable {
    /// `text`.
    case text(String)
    /// `int8`; the server casts it to the column's integer type.
    case int(Int64)
    /// `bool`.
    case bool(Bool)
    /// `float8`.
    case double(Double)
    /// `bytea`, sent in binary (no escaping).
    case bytea([UInt8])
    /// `timestamptz`, microsecond precision.
    case timestamptz(Date)
    /// `uuid`, in its textual form.
    case uuid(String)
    /// SQL NULL of unspecified type (the server infers it).
    case null

    /// Convenience for `Int` values.
    public static func int(_ value: Int) -> PostgresValue { .int(Int64(value)) }

    /// The type OID PostgreSQL sees for the parameter (0 lets the server infer).
    var typeOID: UInt32 {
        switch self {
        case .text: 25
        case .int: 20
        case .bool: 16
        case .double: 701
        case .bytea: 17
        case .timestamptz: 1184
        case .uuid: 2950
        case .null: 0
        }
    }

    /// 1 for binary, 0 for text.
    var format: Int32 {
        if case .bytea = self { return 1 }
        return 0
    }

    /// The wire bytes, or nil for NULL. Text formats are NUL-terminated by the caller.
    var encoded: [UInt8]? {
        switch self {
        case .text(let s): Array(s.utf8)
        case .int(let i): Array(String(i).utf8)
        case .bool(let b): b ? [UInt8(ascii: "t")] : [UInt8(ascii: "f")]
        case .double(let d): Array(Self.formatDouble(d).utf8)
        case .bytea(let bytes): bytes
        case .timestamptz(let date): Array(PostgresTimestamp.format(date).utf8)
        case .uuid(let s): Array(s.utf8)
        case .null: nil
        }
    }

    static func formatDouble(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d == .infinity { return "Infinity" }
        if d == -.infinity { return "-Infinity" }
        return "\(d)"
    }
}

/// Converts between `Date` and PostgreSQL's ISO text form in UTC, without Foundation formatters
/// (which are slow and locale-sensitive). Microsecond precision, proleptic Gregorian calendar.
public enum PostgresTimestamp {
    /// `YYYY-MM-DD HH:MM:SS.ffffff+00`.
    public static func format(_ date: Date) -> String {
        let micros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
        var days = micros / 86_400_000_000
        var rem = micros % 86_400_000_000
        if rem < 0 { rem += 86_400_000_000; days -= 1 }
        let (y, m, d) = CivilDate.civil(fromDays: days)
        let secs = rem / 1_000_000, us = rem % 1_000_000
        func pad(_ v: Int64, _ width: Int) -> String {
            let s = String(v)
            return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
        }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2)) \(pad(secs / 3600, 2)):\(pad(secs / 60 % 60, 2)):\(pad(secs % 60, 2)).\(pad(us, 6))+00"
    }

    /// Parses `YYYY-MM-DD HH:MM:SS[.f{1,6}][+-HH[:MM[:SS]]]` (the ISO DateStyle output).
    static func parse(_ text: String) -> Date? {
        let b = Array(text.utf8)
        var i = 0
        func number(_ count: Int) -> Int64? {
            guard i + count <= b.count else { return nil }
            var v: Int64 = 0
            for k in 0..<count {
                let c = b[i + k]
                guard c >= 48, c <= 57 else { return nil }
                v = v * 10 + Int64(c - 48)
            }
            i += count
            return v
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < b.count, b[i] == c else { return false }
            i += 1
            return true
        }
        guard let y = number(4), expect(45), let mo = number(2), expect(45), let d = number(2) else { return nil }
        guard i < b.count, b[i] == 32 || b[i] == 84 else { return nil }
        i += 1
        guard let h = number(2), expect(58), let mi = number(2), expect(58), let s = number(2) else { return nil }
        var micros: Int64 = 0
        if expect(46) {
            var digits = 0
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                if digits < 6 { micros = micros * 10 + Int64(b[i] - 48) }
                digits += 1
                i += 1
            }
            for _ in digits..<6 where digits < 6 { micros *= 10 }
        }
        var offsetSeconds: Int64 = 0
        if i < b.count {
            let sign: Int64
            if b[i] == 43 { sign = 1 } else if b[i] == 45 { sign = -1 } else if b[i] == 90 { sign = 0 } else { return nil }
            i += 1
            if sign != 0 {
                guard let oh = number(2) else { return nil }
                offsetSeconds = oh * 3600
                if expect(58), let om = number(2) { offsetSeconds += om * 60 }
                if expect(58), let os = number(2) { offsetSeconds += os }
                offsetSeconds *= sign
            }
        }
        guard i == b.count else { return nil }
        let days = CivilDate.days(fromCivil: y, mo, d)
        let total = (days * 86_400 + h * 3600 + mi * 60 + s - offsetSeconds) * 1_000_000 + micros
        return Date(timeIntervalSince1970: Double(total) / 1_000_000)
    }
}
