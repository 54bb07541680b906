import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension Google_Protobuf_Timestamp {
    /// The timestamp of a date (nanosecond precision, rounded; `nanos` always in 0..<1e9).
    public init(date: Date) {
        self.init(timeIntervalSince1970: date.timeIntervalSince1970)
    }

    /// The timestamp `interval` seconds after 1970-01-01T00:00:00Z.
    public init(timeIntervalSince1970 interval: TimeInterval) {
        var seconds = interval.rounded(.down)
        var nanos = ((interval - seconds) * 1_000_000_000).rounded()
        if nanos >= 1_000_000_000 {
            seconds += 1
            nanos -= 1_000_000_000
        }
        self.init()
        self.seconds = Int64(seconds)
        self.nanos = Int32(nanos)
    }

    /// The current time (the system's real-time clock, to the nanosecond).
    public static func now() -> Google_Protobuf_Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var now = Google_Protobuf_Timestamp()
        now.seconds = Int64(ts.tv_sec)
        now.nanos = Int32(ts.tv_nsec)
        return now
    }

    /// The instant as a Foundation date (sub-microsecond precision may be lost to Double).
    public var date: Date {
        Date(timeIntervalSince1970: Double(seconds) + Double(nanos) / 1_000_000_000)
    }
}
