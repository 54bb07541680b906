import ArgumentParser
import Dispatch
import Foundation
import WaqtorProto
import WaqtorRPC

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension CampaignCommand {
    struct Watch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "watch",
            abstract: "Follow a campaign's progress live until it ends (CampaignService.WatchProgress).",
            discussion: """
                On a terminal (stderr, not with --quiet or --json) a progress bar is redrawn in \
                place: recipients done of the total, the counts per state, the rate over the watch \
                and the time left; it is erased at the end. Elsewhere a line is printed whenever the counts change; with \
                --json one {"progress":{…}} object per snapshot (NDJSON). It ends with a summary \
                when the campaign reaches a final state (exit status 0, or 1 when it FAILED). \
                Ctrl-C ends the watch (exit status 0); the campaign goes on. --timeout only bounds \
                connecting: the watch lasts as long as the campaign.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @OptionGroup var campaign: CampaignID
        @Option(name: .customLong("interval-ms"), help: ArgumentHelp("The shortest time between two snapshots (at least 250; default 1000).", valueName: "ms"))
        var intervalMs: Int32?

        func validate() throws {
            if let intervalMs, intervalMs < 250 { throw ValidationError("--interval-ms must be at least 250, got \(intervalMs)") }
        }

        func run() async throws {
            try await CampaignCommand.follow(campaign.id, intervalMs: intervalMs, global: global, auth: auth)
        }
    }

    /// Follows a campaign's progress until it reaches a final state (`watch`, and `start --watch`):
    /// a bar on a terminal's stderr, else lines, NDJSON with --json, only the summary with
    /// --quiet. Exit status 1 (thrown) when it ends FAILED; Ctrl-C ends the watch with status 0.
    static func follow(_ campaignID: String, intervalMs: Int32?, global: GlobalOptions, auth: AuthOptions) async throws {
        let mode: WatchView.Mode = global.json ? .json : global.quiet ? .quiet : Terminal.isTerminal(2) ? .bar : .lines
        let view = WatchView(mode: mode)
        var request = Waqtor_V1_WatchProgressRequest()
        request.campaignID = campaignID
        request.minIntervalMs = intervalMs ?? 0
        let sent = request

        // Ctrl-C: the summary of what was seen, then exit 0 (the campaign is not touched).
        signal(SIGINT, SIG_IGN)
        let interrupt = DispatchSource.makeSignalSource(signal: SIGINT, queue: DispatchQueue(label: "waqtor.watch.sigint"))
        interrupt.setEventHandler { view.interrupted() }
        interrupt.resume()
        defer {
            interrupt.cancel()
            signal(SIGINT, SIG_DFL)
        }

        do {
            try await global.withCampaignClient(auth, streaming: true) { campaigns, options in
                var endsWithoutFinal = 0
                while true {
                    for try await message in campaigns.watchProgress(sent, options: options) {
                        view.update(message.progress ?? Waqtor_V1_CampaignProgress())
                    }
                    if view.isFinal { return }
                    // A draining server ends the stream before the campaign ends: watch again.
                    endsWithoutFinal += 1
                    if endsWithoutFinal > 5 {
                        throw CLIFailure(message: "the server ended the watch \(endsWithoutFinal) times before the campaign ended", status: Output.ExitStatus.checkFailed,
                                         hint: "watch it again: waqtor campaign watch \(campaignID)")
                    }
                    try await Task.sleep(for: .seconds(1))
                }
            }
        } catch {
            view.clear()
            throw error
        }
        if view.finish() == .failed { throw ExitCode(Output.ExitStatus.checkFailed) }
    }
}

/// What `campaign watch` shows, fed snapshot by snapshot; thread-safe, since Ctrl-C ends the
/// process from another thread with the summary.
final class WatchView: @unchecked Sendable {
    enum Mode { case bar, lines, json, quiet }

    let mode: Mode
    private let lock = NSLock()
    private let started = ContinuousClock.now
    /// The first snapshot's time, recipients done and total, for the rate over the watch; taken
    /// again when the total changes (a scheduled campaign's audience is materialised at its start,
    /// with its opted-out contacts already skipped, which is no sending pace).
    private var first: (at: ContinuousClock.Instant, done: Int64, total: Int64)?
    private var last: Waqtor_V1_CampaignProgress?
    private var lastLine = ""
    private var barVisible = false
    private var ended = false

    init(mode: Mode) { self.mode = mode }

    var isFinal: Bool { lock.withLock { last.map { Self.final($0.state) } ?? false } }

    static func final(_ state: Waqtor_V1_CampaignState) -> Bool { [.completed, .cancelled, .failed].contains(state) }

    /// Recipients in a final state.
    static func done(_ p: Waqtor_V1_CampaignProgress) -> Int64 {
        p.sentCount + p.deliveredCount + p.readCount + p.failedCount + p.skippedCount + p.cancelledCount
    }

    func update(_ p: Waqtor_V1_CampaignProgress) {
        lock.withLock {
            guard !ended else { return }
            let now = ContinuousClock.now
            if first == nil || first?.total != p.totalCount { first = (now, Self.done(p), p.totalCount) }
            last = p
            switch mode {
            case .json:
                Output.json(CampaignJSON.ProgressBody(progress: CampaignJSON.Progress(p)))
                fflush(nil)
            case .lines:
                let text = Self.stateName(p) + "  " + Self.counts(p, compact: false)
                if text != lastLine {
                    lastLine = text
                    Output.line(Output.time(p.snapshotTime) + "  " + text)
                    fflush(nil)
                }
            case .bar:
                drawBar(p, now: now)
            case .quiet:
                break
            }
        }
    }

    /// Erases the bar (before an error message).
    func clear() {
        lock.withLock {
            if barVisible { ProgressBar.write("\r\u{1B}[K") }
            barVisible = false
        }
    }

    /// The summary after the stream ended; returns the final state.
    @discardableResult
    func finish() -> Waqtor_V1_CampaignState {
        lock.withLock {
            summarize(interrupted: false)
            return last?.state ?? .unspecified
        }
    }

    /// Ctrl-C: the summary, then exit 0.
    func interrupted() {
        lock.lock()  // held until exit: nothing else is printed
        summarize(interrupted: true)
        fflush(nil)
        exit(0)
    }

    // MARK: - Drawing

    /// `running    42% [#####.....]  420/1,000  2.1/s  ETA 4:35  sent 300  delivered 100  read 20  failed 0  skipped 0  cancelled 0  pending 580`
    private func drawBar(_ p: Waqtor_V1_CampaignProgress, now: ContinuousClock.Instant) {
        let done = Self.done(p)
        let fraction = p.totalCount > 0 ? Double(done) / Double(p.totalCount) : (Self.final(p.state) ? 1 : 0)
        let rate = self.rate(done: done, now: now)
        let head = Self.stateName(p).padding(toLength: 10, withPad: " ", startingAt: 0)
            + String(format: "%3d%% ", Int((fraction * 100).rounded(.down)))
        let width = ProgressBar.columns() - 1
        // Every count on wide terminals, else the ones that are not zero. The bar's size depends
        // on the width only, so that it does not move as the numbers change; it is left out when
        // the numbers would not fit beside it, and what still does not fit is cut at the end.
        let wide = width >= 140
        let counts = Self.counts(p, compact: !wide)
        let text = "  \(ImportRun.grouped(Int(done)))/\(ImportRun.grouped(Int(p.totalCount)))  " + Self.rateText(rate)
            + "  " + eta(p, done: done, rate: rate) + (counts.isEmpty ? "" : "  " + counts)
        let barWidth = min(30, width - head.count - 2 - (wide ? 95 : 50))
        var line = head
        if barWidth >= 10, head.count + barWidth + 2 + text.count <= width {
            let filled = Int((Double(barWidth) * min(max(fraction, 0), 1)).rounded(.down))
            line += "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: barWidth - filled) + "]"
        }
        line += text
        if line.count > width { line = String(line.prefix(max(width, 1))) }
        ProgressBar.write("\r" + line + "\u{1B}[K")
        barVisible = true
    }

    /// Final-state recipients per second since the first snapshot.
    private func rate(done: Int64, now: ContinuousClock.Instant) -> Double? {
        guard let first else { return nil }
        let elapsed = Self.seconds(now - first.at)
        guard elapsed >= 1 else { return nil }
        return Double(max(0, done - first.done)) / elapsed
    }

    /// From the server's estimated finish when it has one, else from the rate.
    private func eta(_ p: Waqtor_V1_CampaignProgress, done: Int64, rate: Double?) -> String {
        if Self.final(p.state) { return "ETA 0:00" }
        if let finish = p.estimatedFinishTime {
            return "ETA " + ProgressBar.clock(max(0, finish.date.timeIntervalSinceNow))
        }
        let remaining = max(0, p.totalCount - done)
        if p.state == .running, let rate, rate > 0 { return "ETA " + ProgressBar.clock(Double(remaining) / rate) }
        return "ETA --:--"
    }

    private func summarize(interrupted: Bool) {
        guard !ended else { return }
        ended = true
        let elapsed = Self.seconds(ContinuousClock.now - started)
        let p = last
        if mode == .json {
            struct Summary: Encodable {
                var campaignID, state: String
                var final, interrupted: Bool
                var totalCount, doneCount: Int64
                var elapsedSeconds: Double
                enum CodingKeys: String, CodingKey {
                    case state, final, interrupted
                    case campaignID = "campaign_id", totalCount = "total_count", doneCount = "done_count", elapsedSeconds = "elapsed_seconds"
                }
            }
            struct Body: Encodable { var summary: Summary }
            Output.json(Body(summary: Summary(
                campaignID: p?.campaignID ?? "", state: p.map { Names.campaignState($0.state) } ?? "unspecified",
                final: p.map { Self.final($0.state) } ?? false, interrupted: interrupted,
                totalCount: p?.totalCount ?? 0, doneCount: p.map(Self.done) ?? 0,
                elapsedSeconds: (elapsed * 10).rounded() / 10)))
            return
        }
        // The bar goes, so that the summary stands alone (also the ^C the terminal echoed).
        if barVisible || (mode == .bar && interrupted) {
            ProgressBar.write("\r\u{1B}[K")
            barVisible = false
        }
        guard let p else {
            Output.line("stopped watching after \(ProgressBar.clock(elapsed)), before the first snapshot")
            return
        }
        let done = Self.done(p)
        let what = "\(ImportRun.grouped(Int(done)))/\(ImportRun.grouped(Int(p.totalCount))) done (\(Self.counts(p, compact: false, separator: ", ")))"
        if interrupted {
            Output.line("stopped watching after \(ProgressBar.clock(elapsed)); the campaign is \(Names.campaignState(p.state)): \(what)")
        } else {
            Output.line("campaign \(Names.campaignState(p.state)): \(what); watched \(ProgressBar.clock(elapsed))")
        }
    }

    // MARK: - Text

    static func stateName(_ p: Waqtor_V1_CampaignProgress) -> String { Names.campaignState(p.state) }

    /// `sent 3  delivered 1  read 0  failed 0  skipped 1  cancelled 0  pending 580` (pending
    /// includes queued); compact: only the counts that are not zero.
    static func counts(_ p: Waqtor_V1_CampaignProgress, compact: Bool, separator: String = "  ") -> String {
        let pairs: [(String, Int64)] = [
            ("sent", p.sentCount), ("delivered", p.deliveredCount), ("read", p.readCount), ("failed", p.failedCount),
            ("skipped", p.skippedCount), ("cancelled", p.cancelledCount), ("pending", p.pendingCount + p.queuedCount),
        ]
        return pairs.filter { !compact || $0.1 != 0 }
            .map { "\($0.0) \(ImportRun.grouped(Int($0.1)))" }
            .joined(separator: separator)
    }

    static func rateText(_ rate: Double?) -> String {
        guard let rate else { return "--/s" }
        return rate >= 10 ? "\(ImportRun.grouped(Int(rate.rounded())))/s" : String(format: "%.1f/s", rate)
    }

    static func seconds(_ duration: Duration) -> Double {
        let (s, atto) = duration.components
        return Double(s) + Double(atto) / 1e18
    }
}
