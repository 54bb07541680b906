import ArgumentParser
import Foundation

/// `waqtor-load mixed`: a weighted blend of the other scenarios' calls, as production would see.
struct MixedScenario: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mixed",
        abstract: "A weighted blend of profile, webhook, send-reply and login calls.",
        discussion: """
            Each call draws its operation by weight (--weights, default \(Self.defaultWeights)); \
            set-up is the union of what the drawn operations need (send-reply's: a connected \
            number, a conversation and Live; webhook's: the number's secret, from --gateway). The \
            report has the blend's figures and a row per operation. A send-reply call lasts until \
            its reply is SENT, as in send-reply.
            """)

    static let defaultWeights = "profile=60,webhook=25,send-reply=10,login=5"
    static let operations = ["profile", "webhook", "send-reply", "login"]

    @OptionGroup var options: LoadOptions

    @Option(name: .long, help: ArgumentHelp("Operations and their weights (any positive integers).", valueName: "name=weight,…"))
    var weights: String = MixedScenario.defaultWeights

    func validate() throws {
        try options.check()
        _ = try Self.parse(weights)
    }

    /// `name=weight,…` into weights, checked.
    static func parse(_ text: String) throws -> [String: Int] {
        var weights: [String: Int] = [:]
        for part in text.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, let weight = Int(pair[1]), weight >= 0 else {
                throw ValidationError("--weights: expected name=weight, got '\(part)'")
            }
            guard operations.contains(pair[0]) else {
                throw ValidationError("--weights: unknown operation '\(pair[0])' (known: \(operations.joined(separator: ", ")))")
            }
            if weight > 0 { weights[pair[0], default: 0] += weight }
        }
        guard !weights.isEmpty else { throw ValidationError("--weights: give at least one positive weight") }
        return weights
    }

    func run() async throws {
        let weights = try Self.parse(weights)
        try await ScenarioRunner.run(
            options, scenario: "mixed", call: "weighted blend", unit: "calls",
            httpConnections: weights["webhook"] == nil ? 0 : options.connections * options.inFlight
        ) { harness in
            let accounts = try await harness.accounts()
            let needsNumber = weights["webhook"] != nil || weights["send-reply"] != nil
            let numbers = if needsNumber { try await harness.oneNumberEach(accounts) } else { [LoadNumber]() }
            let hooks = if weights["webhook"] != nil { try await harness.webhookTargets(numbers) } else { [WebhookTarget]() }
            let replies = if weights["send-reply"] != nil { try await harness.replyTargets(accounts, numbers: numbers) } else { [ReplyTarget]() }
            let table = Self.drawTable(weights)
            return PreparedScenario(
                call: { c, sequence in
                    switch table[Int(Self.mix(sequence ^ 0x5DEE_CE66) % UInt64(table.count))] {
                    case "profile": await harness.profileCall(accounts[c], connection: c)
                    case "webhook": await harness.webhookCall(hooks[c], sequence: sequence)
                    case "send-reply": await harness.replyCall(replies[c], account: accounts[c], connection: c, sequence: sequence)
                    default: await harness.loginCall(accounts[c], connection: c)
                    }
                },
                outcome: { result in
                    replies.isEmpty ? [:] : await ReplyOutcome.collect(harness, numbers: numbers, targets: replies, operation: "send-reply", result: result)
                },
                limits: { result in
                    var lines = ["each operation is bounded as in its own scenario (run it alone for its limit); here they share the server, "
                        + "PostgreSQL and the load generator: a slow share (login's argon2id, send-reply's wait for SENT) holds its loop that long"]
                    if !replies.isEmpty { lines += ReplyOutcome.limits(numbers: Set(numbers.map(\.instanceID)).count, result: result) }
                    return lines
                },
                weights: weights,
                teardown: { for target in replies { await target.tracker.stop() } })
        }
    }

    /// Each operation repeated by its weight (divided by their greatest common divisor).
    static func drawTable(_ weights: [String: Int]) -> [String] {
        func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
        let divisor = weights.values.reduce(0, gcd)
        return weights.sorted { $0.key < $1.key }.flatMap { Array(repeating: $0.key, count: $0.value / divisor) }
    }

    /// SplitMix64's finaliser: a well-spread draw from the call's sequence number, without shared
    /// random state between loops.
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
