import Foundation
import Testing
import WaqtorPhone

/// Not a test: a measurement run by hand (docs/CONTACTS.md, "Speed"), in a release build:
///
///     WAQTOR_PHONE_MEASURE=1 swift test -c release --filter ParseRateMeasurement
///
/// It prints parses per second for one task and for as many tasks as there are cores. It asserts
/// nothing about time, and is skipped unless WAQTOR_PHONE_MEASURE is set.
@Suite("Parse rate (measurement)", .enabled(if: ProcessInfo.processInfo.environment["WAQTOR_PHONE_MEASURE"] != nil))
struct ParseRateMeasurement {
    /// What an import meets: national and international forms, valid and refused.
    static let inputs: [(String, String?)] = [
        ("(11) 96123-4567", "BR"), ("+55 11 2345-6789", nil), ("0100 123 4567", "EG"), ("030 123456", "DE"),
        ("+1 650 253 0000", nil), ("081234 56789", "IN"), ("912 345 678", "PT"), ("+1 555 0100", nil),
    ]
    static let rounds = 200_000

    @Test func parseRate() async {
        let clock = ContinuousClock()
        var refused = 0
        let one = clock.measure {
            for i in 0..<Self.rounds {
                let (text, region) = Self.inputs[i % Self.inputs.count]
                if (try? PhoneNumber.parse(text, defaultRegion: region)) == nil { refused += 1 }
            }
        }
        let tasks = ProcessInfo.processInfo.activeProcessorCount
        let many = await clock.measure {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<tasks {
                    group.addTask {
                        for i in 0..<Self.rounds {
                            let (text, region) = Self.inputs[i % Self.inputs.count]
                            _ = try? PhoneNumber.parse(text, defaultRegion: region)
                        }
                    }
                }
            }
        }
        func rate(_ parses: Int, _ duration: Duration) -> Int {
            let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
            return Int(Double(parses) / seconds)
        }
        print("parse rate: 1 task \(rate(Self.rounds, one))/s (\(refused) of \(Self.rounds) refused); "
            + "\(tasks) tasks \(rate(Self.rounds * tasks, many))/s")
    }
}
