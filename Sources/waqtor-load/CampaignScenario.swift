import ArgumentParser
import Foundation
import Synchronization
import WaqtorProto
import WaqtorRPC

/// `waqtor-load campaign`: whole campaigns, from CreateCampaign until every recipient is final.
struct CampaignScenario: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "campaign",
        abstract: "Campaigns of N recipients over K numbers, each until every recipient is final.",
        discussion: """
            Set-up, per connection: an account, K numbers connected and paced at --gap-ms (the \
            smallest gap allowed is 1000 ms) with warm-up off, N contacts imported into a list \
            (ImportContacts). One call is one campaign: CreateCampaign, StartCampaign, then \
            GetCampaignProgress every 100 ms until no recipient is PENDING or QUEUED. Latency is \
            that whole span (time to finish); stages: `create`, `start` (StartCampaign: the audience \
            materialised) and `first_send` (from the start until the first recipient is final). \
            Without --duration or --requests, each connection runs one campaign. The free plan \
            allows 1 number, 500 contacts and 200 messages a day: for more, give an administrator \
            (--admin-email, --admin-password; `waqtor-server make-admin --email`), and the harness \
            sets each account to --plan.
            """)

    @OptionGroup var options: LoadOptions

    @Option(name: .long, help: "Recipients of each campaign (contacts imported per account).")
    var recipients: Int = 100

    @Option(name: .long, help: "Numbers each campaign sends from (instances per account, at most 20).")
    var numbers: Int = 1

    @Option(name: .customLong("gap-ms"), help: ArgumentHelp("Each number's gap between sends (min = max; 1000-600000).", valueName: "ms"))
    var gapMilliseconds: Int = 1000

    @Option(name: .customLong("admin-email"), help: "An administrator's email, to raise the accounts' plan.")
    var adminEmail: String?

    @Option(name: .customLong("admin-password"), help: "That administrator's password.")
    var adminPassword: String?

    @Option(name: .long, help: "The plan the administrator gives the accounts.")
    var plan: String = "business"

    @Option(name: .customLong("finish-timeout"), help: ArgumentHelp("How long one campaign may take to finish.", valueName: "seconds"))
    var finishTimeout: Double = 600

    func validate() throws {
        try options.check(defaultRequests: true)
        guard recipients >= 1 else { throw ValidationError("--recipients must be at least 1") }
        guard (1...20).contains(numbers) else { throw ValidationError("--numbers must be 1 to 20 (a campaign's limit)") }
        guard (1000...600_000).contains(gapMilliseconds) else { throw ValidationError("--gap-ms must be 1000 to 600000 (PacingSettings)") }
        guard (adminEmail == nil) == (adminPassword == nil) else { throw ValidationError("give --admin-email and --admin-password together") }
        if adminEmail == nil, numbers > 1 || recipients > 200 {
            throw ValidationError("the free plan allows 1 number and 200 messages a day: give --admin-email and --admin-password to set each account's plan")
        }
        guard finishTimeout > 0 else { throw ValidationError("--finish-timeout must be positive") }
    }

    func run() async throws {
        let settings = self
        try await ScenarioRunner.run(
            options, scenario: "campaign", call: "CreateCampaign + StartCampaign until every recipient is final", unit: "campaigns",
            defaultWarmup: 0, defaultRequests: options.connections
        ) { harness in
            let accounts = try await harness.accounts()
            // Two connections on one account would run campaigns on the same numbers at once (and
            // create its numbers twice over): each needs its own.
            guard Set(accounts.map(\.email)).count == accounts.count else {
                throw HarnessFailure("campaign needs one account per connection: give --accounts at least \(accounts.count) lines")
            }
            if let email = settings.adminEmail, let password = settings.adminPassword {
                try await harness.setPlan(settings.plan, of: accounts, adminEmail: email, adminPassword: password)
            }
            let audiences = try await settings.prepare(harness, accounts)
            let totals = CampaignTotals()
            return PreparedScenario(
                call: { c, sequence in
                    await settings.campaign(harness, accounts[c], audiences[c], connection: c, sequence: sequence, totals: totals)
                },
                outcome: { result in await totals.outcome(harness, result: result, numbers: audiences.flatMap(\.numbers)) },
                limits: { result in totals.limits(settings, connections: settings.options.connections, result: result) })
        }
    }

    /// One account's campaign material: its numbers and its list of contacts.
    struct Audience: Sendable {
        var numbers: [LoadNumber]
        var listID: String
    }

    private func prepare(_ harness: Harness, _ accounts: [LoadAccount]) async throws -> [Audience] {
        harness.note("creating \(accounts.count) × \(numbers) numbers and importing \(recipients) contacts each…")
        return try await inBatches(accounts.count, width: 4) { [self] c in
            let account = accounts[c]
            let mine = try await harness.numbers(numbers, of: account, connection: c)
            try await harness.connect(mine, of: account, connection: c)
            try await harness.pace(mine, of: account, connection: c, gapMilliseconds: gapMilliseconds)
            return Audience(numbers: mine, listID: try await importContacts(harness, account, connection: c))
        }
    }

    /// N contacts (+5511 97xxx-xxxx) in a new list, 10,000 rows per call; existing ones are updated
    /// so that they join the list.
    private func importContacts(_ harness: Harness, _ account: LoadAccount, connection: Int) async throws -> String {
        let campaigns = Waqtor_V1_CampaignServiceClient(client: harness.clients[connection])
        let auth = harness.callOptions(account.token)
        var list = Waqtor_V1_CreateContactListRequest()
        list.name = "load \(harness.runID) \(connection)"
        guard let listID = try await campaigns.createContactList(list, options: auth).contactList?.id else {
            throw HarnessFailure("CreateContactList answered without a list")
        }
        var done = 0
        while done < recipients {
            let batch = min(10_000, recipients - done)
            var rows = Waqtor_V1_ContactRows()
            rows.contacts = (done..<done + batch).map { i in
                var contact = Waqtor_V1_Contact()
                contact.phoneNumber = "+55119\(70_000_000 + i)"
                contact.name = "Person \(i)"
                return contact
            }
            var request = Waqtor_V1_ImportContactsRequest()
            request.rows = rows
            request.listID = listID
            request.updateExisting = true
            request.firstRowNumber = Int32(done + 1)
            let response = try await campaigns.importContacts(request, options: harness.callOptions(account.token))
            guard Int(response.importedCount + response.updatedCount) == batch else {
                throw HarnessFailure("ImportContacts took \(response.importedCount + response.updatedCount) of \(batch) rows: \(response.errors.first.map { "row \($0.rowNumber): \($0.message)" } ?? "")")
            }
            done += batch
        }
        return listID
    }

    /// One campaign to the account's list from its numbers, until every recipient is final.
    private func campaign(
        _ harness: Harness, _ account: LoadAccount, _ audience: Audience, connection: Int, sequence: UInt64, totals: CampaignTotals
    ) async -> CallOutcome {
        let campaigns = Waqtor_V1_CampaignServiceClient(client: harness.clients[connection])
        let auth = harness.callOptions(account.token)
        var campaign = Waqtor_V1_Campaign()
        campaign.name = "load \(harness.runID) \(sequence)"
        campaign.templateText = "Hello {{name}}, load \(harness.runID) campaign \(sequence)."
        var people = Waqtor_V1_CampaignAudience()
        people.contactListIds = [audience.listID]
        campaign.audience = people
        campaign.instanceIds = audience.numbers.map(\.instanceID)
        var create = Waqtor_V1_CreateCampaignRequest()
        create.campaign = campaign
        let (created, draft) = await timedRPC("campaign", stage: "create") { () async throws(RPCError) in
            try await campaigns.createCampaign(create, options: auth)
        }
        guard let id = draft?.campaign?.id else { return created.error == nil ? .failure("campaign", "INTERNAL", "no campaign id") : created }
        var start = Waqtor_V1_StartCampaignRequest()
        start.campaignID = id
        let startedAt = monotonicNanos()
        let (started, _) = await timedRPC("campaign", stage: "start") { () async throws(RPCError) in
            try await campaigns.startCampaign(start, options: auth)
        }
        guard started.error == nil else { return started }
        var stages = created.stages + started.stages
        var progressRequest = Waqtor_V1_GetCampaignProgressRequest()
        progressRequest.campaignID = id
        let deadline = startedAt + UInt64(finishTimeout * 1e9)
        while true {
            let progress: Waqtor_V1_CampaignProgress
            do throws(RPCError) {
                guard let answer = try await campaigns.getCampaignProgress(progressRequest, options: auth).progress else {
                    return .failure("campaign", "INTERNAL", "GetCampaignProgress answered without progress")
                }
                progress = answer
            } catch {
                // A client waits out an outage: an UNAVAILABLE or late progress poll is polled again
                // after the server's hint (tools/faults.sh runs campaigns through faults).
                guard [.unavailable, .deadlineExceeded].contains(error.code), monotonicNanos() < deadline else {
                    return .failure("campaign", error.code.name, error.message, stages: stages)
                }
                let hint = error.metadata[Metadata.Keys.retryAfterMilliseconds].flatMap { Int($0) } ?? 500
                try? await Task.sleep(for: .milliseconds(min(max(hint, 100), 5000)))
                continue
            }
            let final = progress.sentCount + progress.deliveredCount + progress.readCount + progress.failedCount + progress.skippedCount + progress.cancelledCount
            if final > 0, !stages.contains(where: { $0.name == "first_send" }) {
                stages.append(.init(name: "first_send", nanoseconds: monotonicNanos() - startedAt))
            }
            if progress.totalCount > 0, progress.pendingCount + progress.queuedCount == 0 {
                totals.add(progress, startedAt: startedAt, finishedAt: monotonicNanos())
                return progress.failedCount > 0
                    ? .failure("campaign", "RECIPIENTS_FAILED", "\(progress.failedCount) of \(progress.totalCount) recipients FAILED", stages: stages)
                    : .success("campaign", stages: stages)
            }
            if [.cancelled, .failed].contains(progress.state) {
                return .failure("campaign", "CAMPAIGN_\(progress.state == .failed ? "FAILED" : "CANCELLED")", "campaign \(id) ended \(progress.state)", stages: stages)
            }
            guard monotonicNanos() < deadline else {
                return .failure("campaign", "CAMPAIGN_TIMEOUT", "campaign \(id) not finished after \(finishTimeout) s (\(progress.pendingCount + progress.queuedCount) left)", stages: stages)
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }
}

/// What the finished campaigns' recipients came to.
final class CampaignTotals: Sendable {
    private struct Finished {
        var progress: Waqtor_V1_CampaignProgress
        var startedAt: UInt64
        var finishedAt: UInt64
    }

    private let finished = Mutex<[Finished]>([])
    private let gateway = Mutex<(gapP50: Double?, delayMean: Double?, busiest: Int?)>((nil, nil, nil))

    func add(_ progress: Waqtor_V1_CampaignProgress, startedAt: UInt64, finishedAt: UInt64) {
        finished.withLock { $0.append(Finished(progress: progress, startedAt: startedAt, finishedAt: finishedAt)) }
    }

    func outcome(_ harness: Harness, result: DriverResult, numbers: [LoadNumber]) async -> [String: ScenarioReport.Value] {
        let all = finished.withLock { $0 }
        let measured = all.filter { $0.startedAt >= result.measureFrom }
        let sent = measured.reduce(Int64(0)) { $0 + $1.progress.sentCount + $1.progress.deliveredCount + $1.progress.readCount }
        let recipients = measured.reduce(Int64(0)) { $0 + $1.progress.totalCount }
        let perCampaign = measured.map { Double($0.progress.totalCount) / (Double($0.finishedAt - $0.startedAt) / 1e9) }.sorted()
        var outcome: [String: ScenarioReport.Value] = [
            "recipients": .count(Int(recipients)),
            "sent": .count(Int(sent)),
            "failed": .count(Int(measured.reduce(Int64(0)) { $0 + $1.progress.failedCount })),
            "skipped": .count(Int(measured.reduce(Int64(0)) { $0 + $1.progress.skippedCount + $1.progress.cancelledCount })),
            "messages_per_s": .number(result.elapsed > 0 ? Double(sent) / result.elapsed : 0),
            "campaign_messages_per_s_p50": quantile(perCampaign, 0.5).map { .number($0) } ?? .missing,
        ]
        if let sends = await harness.gateway.sends() {
            let names = Set(numbers.map(\.gatewayName))
            let marker = "load \(harness.runID) campaign "
            let ours = sends.filter { names.contains($0.instance) && $0.text.contains(marker) }
            // The text names its campaign after the marker.
            func campaign(_ send: GatewayControl.Send) -> String {
                send.text.range(of: marker).map { String(send.text[$0.upperBound...]) } ?? ""
            }
            let accepted = ours.filter { (200..<300).contains($0.status) }
            outcome["sent_at_gateway"] = .count(accepted.count)
            let gaps = ours.gaps
            outcome["gateway_gap_ms_p50"] = quantile(gaps, 0.5).map { .number($0) } ?? .missing
            let delay = ours.isEmpty ? nil : Double(ours.reduce(0) { $0 + $1.delay }) / Double(ours.count)
            outcome["typing_delay_ms_mean"] = delay.map { .number($0) } ?? .missing
            // A campaign ends with its busiest number: how evenly were the recipients spread?
            // Per campaign and number.
            let perNumber = Dictionary(grouping: ours) { $0.instance + "|" + campaign($0) }.values.map(\.count)
            outcome["busiest_number_sends"] = perNumber.max().map { .count($0) } ?? .missing
            // Loss and duplicates, per recipient: each (campaign, recipient) the gateway accepted more
            // than once is a duplicate; each recipient the server marked sent that the gateway never
            // accepted is lost.
            let distinct = Set(accepted.map { $0.number + "|" + campaign($0) })
            outcome["gateway_duplicates"] = .count(accepted.count - distinct.count)
            outcome["lost"] = .count(max(0, Int(sent) - distinct.count))
            gateway.withLock { $0 = (quantile(gaps, 0.5), delay, perNumber.max()) }
        } else {
            outcome["sent_at_gateway"] = .missing
        }
        return outcome
    }

    func limits(_ settings: CampaignScenario, connections: Int, result: DriverResult) -> [String] {
        let numbers = settings.numbers * connections
        let ceiling = Double(numbers) * 1000 / Double(settings.gapMilliseconds)
        var lines = [
            String(format: "paced on purpose: each number sends at most one message per gap (%d ms here; 1000 ms is the smallest allowed) "
                + "plus its typing delay, and waits one gap before its first message (docs/QUEUE.md); %d number(s) at once "
                + "give at most %.1f messages/s, whatever the server could do", settings.gapMilliseconds, numbers, ceiling),
            "time to start is StartCampaign: the audience materialised in PostgreSQL (recipients inserted, texts rendered, numbers assigned)",
        ]
        let (gap, delay, busiest) = gateway.withLock { $0 }
        if let gap, let delay {
            lines.append(String(format: "measured at the gateway: %.0f ms (p50) from a number's answer to its next send, typing delay %.0f ms mean", gap, delay))
        }
        if let busiest {
            lines.append(String(format: "a campaign ends with its busiest number: up to %d messages went from one number (an even share is %.1f), "
                + "which at one per gap takes about %.0f s", busiest, Double(settings.recipients) / Double(settings.numbers),
                Double(busiest) * (Double(settings.gapMilliseconds) + (delay ?? 0)) / 1000))
        }
        return lines
    }
}
