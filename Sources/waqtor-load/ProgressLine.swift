import Foundation
import Synchronization

/// The once-a-second progress line on stderr (elapsed, calls, errors, current rate), rewritten in
/// place. Only on a terminal and without --quiet: scripts and tests read stdout and get no noise.
final class ProgressLine: Sendable {
    private let calls = Atomic<UInt64>(0)
    private let errors = Atomic<UInt64>(0)
    private let label: String
    private let enabled: Bool

    init(label: String, enabled: Bool) {
        self.label = label
        self.enabled = enabled
    }

    /// Counts a finished call (warm-up calls too: the line shows that the load is running).
    func count(failed: Bool) {
        calls.add(1, ordering: .relaxed)
        if failed { errors.add(1, ordering: .relaxed) }
    }

    /// Prints a line every second until the returned task is cancelled; then clears it.
    func start(begin: UInt64, measureFrom: UInt64) -> Task<Void, Never>? {
        guard enabled else { return nil }
        return Task { [self] in
            var previous: UInt64 = 0
            var previousAt = monotonicNanos()
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                if Task.isCancelled { break }
                let now = monotonicNanos()
                let total = calls.load(ordering: .relaxed)
                let failed = errors.load(ordering: .relaxed)
                let rate = Double(total - previous) / (Double(now - previousAt) / 1e9)
                (previous, previousAt) = (total, now)
                let elapsed = Double(now - begin) / 1e9
                let phase = now < measureFrom ? "  (warm-up)" : ""
                let text = label + String(format: "  %6.1f s  calls %llu  errors %llu  %.1f/s", elapsed, total, failed, rate) + phase
                FileHandle.standardError.write(Data("\r\u{1B}[K\(text)".utf8))
            }
            FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        }
    }
}
