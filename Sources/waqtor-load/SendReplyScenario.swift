import ArgumentParser
import Foundation
import Synchronization

/// `waqtor-load send-reply`: chat replies end to end, through the send queue to the gateway.
struct SendReplyScenario: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send-reply",
        abstract: "ChatService.SendTextReply until each reply is SENT (end to end through the queue and the gateway).",
        discussion: """
            Set-up, per connection: an account (signed up, or from --accounts) and its number, \
            connected (GetQrCode, then the simulator's POST /_sim/connect, or the embedded \
            simulator's own scan); ChatService.Live opened; a customer's message injected at the \
            gateway (POST /_sim/inbound), waited for until ListConversations and Live show it. Each \
            call is SendTextReply in that conversation, then the wait until Live says the reply is \
            SENT: latency is that whole span (end to end), the `rpc` stage the RPC alone. At the end \
            the replies that reached the gateway are counted from GET /_sim/sends. The server's \
            workers must serve the accounts' tenants (send.tenants and chat.tenants empty, or listing \
            them: use --accounts for a server restricted to some tenants).
            """)

    @OptionGroup var options: LoadOptions

    func validate() throws { try options.check() }

    func run() async throws {
        try await ScenarioRunner.run(options, scenario: "send-reply", call: "ChatService.SendTextReply until SENT", unit: "replies") { harness in
            let accounts = try await harness.accounts()
            let numbers = try await harness.oneNumberEach(accounts)
            let targets = try await harness.replyTargets(accounts, numbers: numbers)
            return PreparedScenario(
                call: { c, sequence in
                    await harness.replyCall(targets[c], account: accounts[c], connection: c, sequence: sequence)
                },
                outcome: { result in await ReplyOutcome.collect(harness, numbers: numbers, targets: targets, operation: "send-reply", result: result) },
                limits: { result in ReplyOutcome.limits(numbers: Set(numbers.map(\.instanceID)).count, result: result) },
                teardown: { for target in targets { await target.tracker.stop() } })
        }
    }
}

/// What send-reply (alone or in `mixed`) reports beyond latencies: what reached the gateway, and
/// the pacing the gateway saw.
enum ReplyOutcome {
    /// Filled by `collect`, read by `limits` (which runs after it).
    private static let measured = Mutex<(gapP50: Double?, delayMean: Double?)>((nil, nil))

    static func collect(
        _ harness: Harness, numbers: [LoadNumber], targets: [ReplyTarget], operation: String, result: DriverResult
    ) async -> [String: ScenarioReport.Value] {
        var outcome: [String: ScenarioReport.Value] = [
            "replies_sent": .count(Int(result.operations[operation]?.ok ?? 0)),
            "replies_sent_total": .count(targets.reduce(0) { $0 + $1.tracker.sent }),
            "live_restarts": .count(targets.reduce(0) { $0 + $1.tracker.restarts }),
            "live_ended_by_server": .count(targets.reduce(0) { $0 + $1.tracker.endsByServer }),
        ]
        // Replies still queued when the run ended (calls that timed out, or held up by an outage)
        // reach the gateway later: wait until every accepted reply did, for up to 20 s, so that
        // the count is of what the run sent and a missing one is really lost.
        let accepted = Set(targets.flatMap { $0.tracker.accepted })
        let names = Set(numbers.map(\.gatewayName))
        let marker = "load \(harness.runID) reply "
        var ours: [GatewayControl.Send] = []
        let waitUntil = monotonicNanos() + 20_000_000_000
        repeat {
            guard let sends = await harness.gateway.sends() else {
                outcome["replies_at_gateway"] = .missing
                return outcome
            }
            ours = sends.filter { names.contains($0.instance) && $0.text.hasPrefix(marker) }
            let reached = Set(ours.filter { (200..<300).contains($0.status) }.map(\.text))
            if accepted.isSubset(of: reached) { break }
            try? await Task.sleep(for: .milliseconds(250))
        } while monotonicNanos() < waitUntil
        let delivered = ours.filter { (200..<300).contains($0.status) }
        let distinct = Set(delivered.map(\.text))
        outcome["replies_accepted"] = .count(accepted.count)
        outcome["replies_lost"] = .count(accepted.subtracting(distinct).count)
        outcome["replies_duplicated"] = .count(delivered.count - distinct.count)
        let gaps = ours.gaps
        let delayMean = ours.isEmpty ? nil : Double(ours.reduce(0) { $0 + $1.delay }) / Double(ours.count)
        outcome["replies_at_gateway"] = .count(delivered.count)
        outcome["replies_at_gateway_failed"] = .count(ours.count - delivered.count)
        outcome["gateway_gap_ms_p50"] = quantile(gaps, 0.5).map { .number($0) } ?? .missing
        outcome["gateway_gap_ms_p99"] = quantile(gaps, 0.99).map { .number($0) } ?? .missing
        outcome["typing_delay_ms_mean"] = delayMean.map { .number($0) } ?? .missing
        measured.withLock { $0 = (quantile(gaps, 0.5), delayMean) }
        return outcome
    }

    static func limits(numbers: Int, result: DriverResult) -> [String] {
        let (gap, delay) = measured.withLock { $0 }
        var lines = [
            "a number has at most one message in flight (docs/QUEUE.md): its replies leave one after another, each held by "
                + "the gateway for the typing delay the server asks (send.max_typing_delay_ms, 0.5-5 s by default, 0 for load tests)",
            "replies skip the number's pacing gap (that spaces campaign messages) but not that queue: with \(numbers) number(s), "
                + "replies/s is at most numbers / (typing delay + the queue's round trip: claim, check and lease in PostgreSQL, send, record)",
        ]
        if let gap, let delay {
            let perNumber = 1000 / max(1, gap + delay)
            lines.append(String(
                format: "measured at the gateway: a number's next reply arrived %.1f ms (p50) after its previous answer, typing delay %.0f ms mean: "
                    + "about %.1f replies/s per number, %.1f for %d number(s) (with -m 1 that gap includes the harness's own turn: "
                    + "the SENT reaching it over Live and its next SendTextReply; -m 2 or more keeps each number's reply lane full)",
                gap, delay, perNumber, perNumber * Double(numbers), numbers))
        }
        return lines
    }
}
