import Foundation

/// A one-line progress display on stderr, for transfers, long listings and long waits: redrawn in
/// place (carriage return, then erase to the end of the line) at most ten times a second, cut to
/// the terminal's width so that it never wraps, and erased when the work ends, so that only the
/// command's result stays on the screen. It draws nothing when disabled (--quiet, --json, or
/// stderr not a terminal: ``GlobalOptions/showsProgress``). Thread-safe: a ticking task may
/// redraw it while the command's task updates it.
final class ProgressLine: @unchecked Sendable {
    enum Unit: Sendable {
        /// Bytes, shown as `1.2 MB` and `850 KB/s`.
        case bytes
        /// Things counted, e.g. `contacts`: `12,500 contacts  3,100/s`.
        case items(String)
        /// Nothing counted: the time waited only (a spinner).
        case waiting
    }

    let enabled: Bool
    let label: String
    let unit: Unit
    private let lock = NSLock()
    private var total: Int64?
    private var done: Int64 = 0
    private let started = ContinuousClock.now
    private var lastDraw: ContinuousClock.Instant?
    private var visible = false
    private var frame = 0

    init(_ label: String, unit: Unit, total: Int64? = nil, enabled: Bool) {
        self.label = label
        self.unit = unit
        self.total = total.flatMap { $0 > 0 ? $0 : nil }
        self.enabled = enabled
    }

    /// The total, once known (nil or 0: unknown, no percentage or ETA).
    func setTotal(_ total: Int64?) {
        lock.withLock { self.total = total.flatMap { $0 > 0 ? $0 : nil } }
    }

    /// Records `done` and redraws (unless the last drawing is under 100 ms old and not `force`).
    func update(_ done: Int64, force: Bool = false) {
        lock.withLock {
            self.done = done
            draw(force: force)
        }
    }

    /// Redraws with the same count (a spinner's tick).
    func tick() {
        lock.withLock { draw(force: false) }
    }

    /// Erases the line (at the end, or before an error message).
    func clear() {
        lock.withLock {
            guard enabled, visible else { return }
            ProgressBar.write("\r\u{1B}[K")
            visible = false
        }
    }

    /// A task redrawing the line every 200 ms (for waits without updates) until cancelled.
    func ticking() -> Task<Void, Never> {
        Task { [self] in
            guard enabled else { return }
            while !Task.isCancelled {
                tick()
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    /// Runs `body` with the line ticking, and erases it afterwards, also when `body` throws.
    func whileWaiting<T>(_ body: () async throws -> T) async rethrows -> T {
        let ticker = ticking()
        defer {
            ticker.cancel()
            clear()
        }
        return try await body()
    }

    private func draw(force: Bool) {
        guard enabled else { return }
        let now = ContinuousClock.now
        if !force, let lastDraw, now - lastDraw < .milliseconds(100) { return }
        lastDraw = now
        frame += 1
        let text = ProgressText.line(
            label: label, done: done, total: total, elapsed: WatchView.seconds(now - started), unit: unit,
            width: ProgressBar.columns() - 1, frame: frame)
        ProgressBar.write("\r" + text + "\u{1B}[K")
        visible = true
    }
}

/// The text of a ``ProgressLine``, a pure function of the numbers and the width.
enum ProgressText {
    static let spinner: [Character] = ["|", "/", "-", "\\"]

    /// `downloading  42% [########..........]  1.4 MB/3.4 MB  850 KB/s  ETA 0:03`, or without a
    /// total `listing contacts | 12,500 contacts  3,100/s  0:04`, or `drafting | 0:12`; at most
    /// `width` columns (the bar is left out first, then the end is cut).
    static func line(label: String, done: Int64, total: Int64?, elapsed: Double, unit: ProgressLine.Unit, width: Int, frame: Int) -> String {
        let rate = elapsed > 0.5 ? Double(done) / elapsed : nil
        var head = label + " "
        var tail = ""
        var fraction: Double?
        if let total {
            let f = min(max(Double(done) / Double(total), 0), 1)
            fraction = f
            head += String(format: "%3d%% ", Int((f * 100).rounded(.down)))
            tail = "  " + amount(done, unit) + "/" + amount(total, unit) + rateText(rate, unit) + "  " + eta(done: done, total: total, elapsed: elapsed)
        } else {
            head += String(spinner[frame % spinner.count]) + " "
            switch unit {
            case .waiting: tail = ProgressBar.clock(elapsed)
            case .bytes, .items: tail = amount(done, unit) + rateText(rate, unit) + "  " + ProgressBar.clock(elapsed)
            }
        }
        var text = head
        // A bar of fixed size (as the width allows, with room for the numbers to grow), so that
        // it does not move as they change; none when they would not fit beside it.
        if let fraction {
            let barWidth = min(30, width - head.count - 2 - 45)
            if barWidth >= 10 {
                let filled = Int((Double(barWidth) * fraction).rounded(.down))
                text += "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: barWidth - filled) + "]"
            }
        }
        text += tail
        return text.count > width ? String(text.prefix(max(width, 1))) : text
    }

    static func amount(_ value: Int64, _ unit: ProgressLine.Unit) -> String {
        switch unit {
        case .bytes: bytes(value)
        case .items(let noun): ImportRun.grouped(Int(value)) + " " + noun
        case .waiting: ""
        }
    }

    static func rateText(_ rate: Double?, _ unit: ProgressLine.Unit) -> String {
        guard let rate else { return "" }
        switch unit {
        case .bytes: return "  " + bytes(Int64(rate.rounded())) + "/s"
        case .items: return "  " + ImportRun.grouped(Int(rate.rounded())) + "/s"
        case .waiting: return ""
        }
    }

    /// `ETA 0:07` from the pace so far, `ETA --:--` before there is one.
    static func eta(done: Int64, total: Int64, elapsed: Double) -> String {
        guard done > 0, done < total, elapsed > 0.5 else { return done >= total ? "ETA 0:00" : "ETA --:--" }
        return "ETA " + ProgressBar.clock(elapsed * Double(total - done) / Double(done))
    }

    /// `812 B`, `4.0 KB`, `1.4 MB`, `2.1 GB` (powers of 1024).
    static func bytes(_ value: Int64) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var amount = Double(value)
        var index = 0
        while amount >= 1024, index < units.count - 1 {
            amount /= 1024
            index += 1
        }
        return index == 0 ? "\(value) B" : String(format: "%.1f", amount) + " " + units[index]
    }
}
