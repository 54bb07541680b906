import Foundation
import Testing
import WaqtorTestSupport
import WaqtorPhone

@Suite("Phone numbers from many tasks, and memory")
struct PhoneNumberConcurrencyTests {
    static let cases: [(text: String, region: String?, e164: String?)] = [
        ("(11) 96123-4567", "BR", "+5511961234567"),
        ("0100 123 4567", "EG", "+201001234567"),
        ("030 123456", "DE", "+4930123456"),
        ("+1 650 253 0000", nil, "+16502530000"),
        ("081234 56789", "IN", "+918123456789"),
        ("+1 555 0100", nil, nil),
        ("hello", "PT", nil),
    ]

    @Test("parsing from many tasks at once gives the answers of one task")
    func manyTasks() async {
        let mismatches = await withTaskGroup(of: Int.self) { group in
            for task in 0..<32 {
                group.addTask {
                    var mismatches = 0
                    for i in 0..<500 {
                        let (text, region, e164) = Self.cases[(task + i) % Self.cases.count]
                        let parsed = try? PhoneNumber.parse(text, defaultRegion: region)
                        if parsed?.e164 != e164 { mismatches += 1 }
                        if i % 50 == 0, PhoneNumber.defaultRegion(forTimeZone: "Africa/Cairo") != "EG" { mismatches += 1 }
                    }
                    return mismatches
                }
            }
            return await group.reduce(0, +)
        }
        #expect(mismatches == 0)
    }

    /// A sanity check, not a measurement: 100,000 parses (valid and refused) must not grow the
    /// resident set by more than a few megabytes once the library's caches are warm. The resident
    /// set is the whole process's, and other suites run beside this one, so the parses run in a
    /// process of their own: this test binary again, running only this test.
    @Test("100,000 parses leave the resident set where it was")
    func noLeak() async throws {
        if ProcessInfo.processInfo.environment[Self.aloneVariable] != nil {
            try Self.parseAndMeasure()
            return
        }
        let log = FileManager.default.temporaryDirectory
            .appendingPathComponent("waqtor-phone-rss-\(UInt64.random(in: 0...UInt64.max)).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let output = try FileHandle(forWritingTo: log)
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        process.arguments = ["--testing-library", "swift-testing", "--filter", "PhoneNumberConcurrencyTests/noLeak"]
        process.environment = ProcessInfo.processInfo.environment.merging([Self.aloneVariable: "1"]) { $1 }
        process.standardOutput = output
        process.standardError = output
        // Waits without holding a thread of the cooperative pool, which the other suites share.
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        try output.close()
        let text = try String(contentsOf: log, encoding: .utf8)
        #expect(status == 0, "\(text)")
        #expect(text.contains(Self.marker), "the parses did not run alone:\n\(text)")
    }

    static let aloneVariable = "WAQTOR_PHONE_RSS_ALONE"
    static let marker = "resident set around 100,000 parses:"

    static func parseAndMeasure() throws {
        func parseAll(_ rounds: Int) {
            for i in 0..<rounds {
                let (text, region, _) = cases[i % cases.count]
                _ = try? PhoneNumber.parse(text, defaultRegion: region)
                if i % 10 == 0 { _ = PhoneNumber.international(e164: "+5511961234567") }
            }
        }
        parseAll(10_000)
        let before = try residentBytes()
        parseAll(100_000)
        let after = try residentBytes()
        print("\(marker) \(before >> 10) KiB before, \(after >> 10) KiB after")
        #expect(after - before < 8 << 20, "resident set grew from \(before >> 10) KiB to \(after >> 10) KiB")
    }

    /// The resident set size of this process, from /proc/self/statm (pages).
    static func residentBytes() throws -> Int {
        let text = try String(contentsOfFile: "/proc/self/statm", encoding: .utf8)
        let fields = text.split(separator: " ")
        return (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
