import CoreMetrics
import WaqtorMetrics
import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import WaqtorCampaigns
import WaqtorChat
import WaqtorCore
import WaqtorEvolution
import WaqtorRedis
import WaqtorSendQueue
import WaqtorTenants

/// The send queue's settings (`send.*` in docs/CONFIGURATION.md).
public struct SendConfiguration: Sendable {
    /// Most campaign messages in one number's window on its shard.
    public var windowSize = 200
    /// A window is topped up when it holds fewer than this.
    public var refillBelow = 100
    /// How long a claimed message is a worker's before another may take it (its send, with the
    /// typing delay, must fit: see `sendTimeout` and `maxTypingDelayMs`).
    public var lease: Duration = .seconds(25)
    /// Most messages claimed at once from one shard.
    public var claimBatch = 256
    /// Most sends in flight in one worker.
    public var maxInFlight = 2048
    /// Most sends in flight for one tenant in one worker (fairness between tenants).
    public var maxInFlightPerTenant = 512
    /// Most batches of claimed messages being checked in PostgreSQL at once: the worker claims
    /// again only when one is done, so when PostgreSQL is slow the batches grow instead of the
    /// claimed messages piling up unchecked until their leases run out.
    public var maxConcurrentChecks = 4
    /// Timeout of one send (the typing delay is added).
    public var sendTimeout: Duration = .seconds(10)
    /// Longest typing delay sent as Evolution's `delay` (0: none).
    public var maxTypingDelayMs = 5000
    /// The shortest time between two claim rounds (messages that fall due meanwhile are handled
    /// as one batch).
    public var claimInterval: Duration = .milliseconds(10)
    /// How long an idle worker waits at most before looking for due numbers again (it wakes
    /// earlier when a number is due earlier).
    public var idlePoll: Duration = .milliseconds(50)
    /// How often the maintainer refills windows, reclaims leases, applies receipts and checks
    /// campaigns.
    public var maintenanceInterval: Duration = .milliseconds(250)
    /// A number's first send (it has no previous one to pace from) waits a random time up to this,
    /// so that the numbers of campaigns started together do not all send at once.
    public var firstSendSpreadMs = 1000
    /// How long a number that is not connected is held before its next message is looked at.
    public var disconnectedHold: Duration = .seconds(5)
    public var retry = RetryPolicy()
    /// Serve only these tenants' campaigns (nil: every tenant's): a deployment can give some
    /// tenants workers of their own, with their own key prefix.
    public var tenants: Set<TenantID>?

    public init() {}
}

/// Counts sends in flight, in all and per tenant.
final class InFlight: Sendable {
    private struct State {
        var total = 0
        var perTenant: [TenantID: Int] = [:]
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = NIOLockedValueBox(State())

    var total: Int { state.withLockedValue { $0.total } }
    func count(_ tenant: TenantID) -> Int { state.withLockedValue { $0.perTenant[tenant] ?? 0 } }

    func add(_ tenant: TenantID) {
        state.withLockedValue { s in
            s.total += 1
            s.perTenant[tenant, default: 0] += 1
        }
    }

    func remove(_ tenant: TenantID) {
        let waiters = state.withLockedValue { s -> [CheckedContinuation<Void, Never>] in
            s.total -= 1
            s.perTenant[tenant, default: 1] -= 1
            if s.perTenant[tenant] == 0 { s.perTenant[tenant] = nil }
            defer { s.waiters.removeAll() }
            return s.waiters
        }
        waiters.forEach { $0.resume() }
    }

    /// Waits until a send finishes (or returns at once when below `limit`).
    func waitBelow(_ limit: Int) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLockedValue { s -> Bool in
                if s.total < limit { return true }
                s.waiters.append(c)
                return false
            }
            if now { c.resume() }
        }
    }
}

/// Sends campaign messages: claims due numbers' next messages from every shard, checks and leases
/// them in PostgreSQL, applies each number's pacing, sends through the gateway (many at once, on
/// the HTTP client's one thread), records outcomes in PostgreSQL, then ends the leases
/// (docs/QUEUE.md). Every `worker` or `all` process runs one; any number of them share the work.
public struct SendWorker: Service {
    let lanes: SendLanes
    let outbox: Outbox
    let gateway: EvolutionClient
    let quota: PlanQuota
    let clock: any WaqtorClock
    let configuration: SendConfiguration
    let logger: Logger
    let workerID: String
    let inFlight = InFlight()
    /// Batches in their check phase (claimed, not yet handed to the gateway or given back).
    let checking = InFlight()
    let closedStreak = NIOLockedValueBox<[InstanceID: Int]>([:])
    /// Whether the gateway is out, from every send's outcome (campaign messages and replies).
    let gatewayOutage = NIOLockedValueBox(GatewayOutageDetector())
    let counter = NIOLockedValueBox<UInt64>(0)
    let batcher: OutcomeBatcher
    /// The plan quota reserved and not used yet, per tenant and local day.
    let reserve = NIOLockedValueBox<[TenantID: (day: String, left: Int)]>([:])
    /// Chat replies (the reply lanes' messages).
    let chat: ChatStore
    /// Where reply status changes are published (nil: nowhere).
    let live: LiveFeed?
    /// Where stored media files are read (replies with an uploaded file).
    let media: MediaFiles?
    /// Sends by outcome and failures by reason (nil: none recorded).
    let metrics: QueueMetrics?

    public init(lanes: SendLanes, outbox: Outbox, gateway: EvolutionClient, quota: PlanQuota, clock: any WaqtorClock,
                configuration: SendConfiguration, logger: Logger, chat: ChatStore? = nil, live: LiveFeed? = nil, media: MediaFiles? = nil,
                metrics: QueueMetrics? = nil) {
        self.metrics = metrics
        self.lanes = lanes
        self.outbox = outbox
        self.chat = chat ?? ChatStore(pool: outbox.pool)
        self.live = live
        self.media = media
        self.gateway = EvolutionClient(baseURL: gateway.baseURL, apiKey: gateway.apiKey, http: gateway.http, timeout: configuration.sendTimeout)
        self.quota = quota
        self.clock = clock
        self.configuration = configuration
        self.logger = logger
        self.workerID = UUID().uuidString.lowercased().prefix(12).description
        let outbox = self.outbox, lanes = self.lanes, logger = self.logger, clock = self.clock
        self.batcher = OutcomeBatcher { items in
            for (tenant, group) in Dictionary(grouping: items, by: \.tenant) {
                await Self.recordReliably(outbox: outbox, logger: logger, tenant: tenant, group.map(\.record))
            }
            do {
                try await lanes.acknowledge(items.map(\.ack), now: clock.now())
            } catch {
                // The leases expire and are reclaimed; the records above make the resends no-ops.
                logger.warning("send queue: ending leases failed", metadata: ["error": "\(error)"])
            }
        }
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            var lastError: ContinuousClock.Instant?
            var lastClaim = ContinuousClock.now
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                await inFlight.waitBelow(configuration.maxInFlight)
                await checking.waitBelow(configuration.maxConcurrentChecks)
                // Claim rounds at most every claimInterval: what falls due meanwhile is claimed,
                // checked and recorded together (each number waits at most that much longer).
                let since = ContinuousClock.now - lastClaim
                if since < configuration.claimInterval { try? await Task.sleep(for: configuration.claimInterval - since) }
                lastClaim = ContinuousClock.now
                var claimed: [ClaimedMessage] = []
                let room = max(1, min(configuration.claimBatch, configuration.maxInFlight - inFlight.total))
                for shard in 0..<lanes.redis.shardCount {
                    do {
                        claimed += try await lanes.claim(shard: shard, now: clock.now(), lease: configuration.lease, limit: room, tokenPrefix: nextTokenPrefix())
                    } catch {
                        let now = ContinuousClock.now
                        if lastError.map({ now - $0 > .seconds(10) }) ?? true {
                            logger.warning("send queue: claiming failed", metadata: ["error": "\(error)"])
                            lastError = now
                        }
                    }
                }
                if claimed.isEmpty {
                    // Sleep until the earliest number is due (at most idlePoll: a refill or a
                    // reclaimed lease can make one due sooner).
                    var wake = clock.now().addingTimeInterval(configuration.idlePoll.seconds)
                    for shard in 0..<lanes.redis.shardCount {
                        if let due = try? await lanes.earliestDue(shard: shard), due < wake { wake = due }
                    }
                    try? await clock.sleep(until: wake)
                    continue
                }
                for (tenant, messages) in Dictionary(grouping: claimed, by: { $0.tenantID }) {
                    guard let tenant else {
                        // A window entry without its tenant (a shard half rebuilt): the rebuild from
                        // PostgreSQL hands the message out again.
                        _ = try? await lanes.acknowledge(messages.map { SendLanes.Ack(message: $0, nextDue: clock.now(), requeue: false) })
                        continue
                    }
                    let replies = messages.filter { $0.lane == .reply && SendLanes.replyID($0.entry) != nil }
                    let campaign = messages.filter { !($0.lane == .reply && SendLanes.replyID($0.entry) != nil) }
                    if !replies.isEmpty {
                        for _ in replies { inFlight.add(tenant) }
                        checking.add(tenant)
                        group.addTask { await self.dispatchReplies(tenant: tenant, claimed: replies) }
                    }
                    if !campaign.isEmpty {
                        for _ in campaign { inFlight.add(tenant) }
                        checking.add(tenant)
                        group.addTask { await self.dispatch(tenant: tenant, claimed: campaign) }
                    }
                }
            }
        }
    }

    func nextTokenPrefix() -> String {
        let n = counter.withLockedValue { c -> UInt64 in
            c &+= 1
            return c
        }
        return "\(workerID)-\(n)"
    }

    /// One tenant's claimed messages: check and lease in PostgreSQL, then send each.
    func dispatch(tenant: TenantID, claimed: [ClaimedMessage]) async {
        var pending = claimed  // those still counted in flight
        var isChecking = true  // counted in `checking` until the sends begin
        defer {
            for _ in pending { inFlight.remove(tenant) }
            if isChecking { checking.remove(tenant) }
        }
        var acks: [SendLanes.Ack] = []
        var byEntry: [QueueEntry: ClaimedMessage] = [:]
        for message in claimed {
            if let entry = QueueEntry(message.entry), message.lane == .campaign {
                byEntry[entry] = message
            } else {
                acks.append(.init(message: message, nextDue: clock.now(), requeue: false))
            }
        }
        let now = clock.now()
        // Counters a shard does not have (first send of the number, or lost data) come from PostgreSQL.
        var counts: [InstanceID: Int] = [:]
        let unknown = Array(Set(byEntry.values.filter { $0.day == nil }.map(\.instanceID)))
        if !unknown.isEmpty {
            do {
                counts = try await outbox.sentToday(tenantID: tenant, instances: unknown)
            } catch {
                return await giveBack(claimed, after: .seconds(1), error)
            }
        }
        var plans: [QueueEntry: Plan] = [:]
        let result: (messages: [OutboundMessage], numbers: [InstanceID: OutboundNumber], zone: TimeZone, leased: Set<QueueEntry>)
        do {
            result = try await outbox.check(tenantID: tenant, entries: Array(byEntry.keys), lease: configuration.lease) { messages, numbers, zone in
                let gate = SendGate(zone: zone)
                let today = gate.dayKey(now)
                var toLease: [(QueueEntry, String)] = [], toPending: [QueueEntry] = []
                var tenantLoad = inFlight.count(tenant) - claimed.count
                let rows = Dictionary(messages.map { ($0.entry, $0) }, uniquingKeysWith: { a, _ in a })
                for (entry, message) in byEntry {
                    guard let row = rows[entry], row.state == "queued", row.instanceID == message.instanceID else {
                        plans[entry] = .drop  // sent, skipped, cancelled or moved meanwhile: a stale entry
                        continue
                    }
                    if row.leasedElsewhere {
                        // Another lease still holds it in PostgreSQL: a worker is sending it, or
                        // one died and its lease has not run out yet (its Redis lease ends a little
                        // earlier). Look again when it has.
                        plans[entry] = .requeue(until: (row.leasedUntil ?? now).addingTimeInterval(0.1), hold: true)
                        continue
                    }
                    guard row.campaignState == "running" else {
                        if row.campaignState == "paused" || row.campaignState == "scheduled" { toPending.append(entry) }
                        plans[entry] = .drop
                        continue
                    }
                    guard let number = numbers[message.instanceID], number.state == "open" else {
                        plans[entry] = .requeue(until: now.addingTimeInterval(configuration.disconnectedHold.seconds), hold: true)
                        continue
                    }
                    var pacing = number.pacing
                    if let min = row.campaignMinDelayMs, let max = row.campaignMaxDelayMs {
                        pacing.minDelayMs = min
                        pacing.maxDelayMs = max
                    }
                    let sent = message.day == today ? message.sentToday : (message.day == nil ? counts[message.instanceID] ?? 0 : 0)
                    switch gate.decide(now: now, pacing: pacing, campaignCap: row.campaignDailyCap, sentToday: sent) {
                    case .wait(let until, _):
                        plans[entry] = .requeue(until: until)
                        continue
                    case .send:
                        break
                    }
                    if message.day == nil {
                        // The shard knows nothing of this number yet (its first send, or its state
                        // was lost with the shard's data): it waits one gap first, from now. Numbers
                        // whose campaigns start together (or a shard rebuilt) thus spread over
                        // their gap instead of all sending at once, and a number that sent just
                        // before its state was lost keeps its gap.
                        let gap = PacingRules.gap(minDelayMs: pacing.minDelayMs, maxDelayMs: pacing.maxDelayMs, unit: Double.random(in: 0..<1))
                        plans[entry] = .requeue(until: now.addingTimeInterval(Double(gap) / 1000), counter: (today, sent))
                        continue
                    }
                    if tenantLoad >= configuration.maxInFlightPerTenant {
                        plans[entry] = .requeue(until: now.addingTimeInterval(0.2))
                        continue
                    }
                    tenantLoad += 1
                    toLease.append((entry, message.token))
                    plans[entry] = .send(row, number, pacing, day: today, sentBefore: sent)
                }
                return (toLease, toPending)
            }
        } catch {
            return await giveBack(claimed, after: .seconds(1), error)
        }
        _ = result
        // The plan's messages-per-day quota, taken for the leased messages; what it refuses waits
        // for the tenant's next local day.
        let gate = SendGate(zone: result.zone)
        var granted = result.leased.count
        if granted > 0 {
            granted = await takeQuota(tenant: tenant, count: granted, day: gate.dayKey(now))
        }
        let quotaResetMs = granted < result.leased.count ? max(1000, Int(gate.nextMidnight(after: now).timeIntervalSince(now) * 1000)) : 0
        var sends: [(ClaimedMessage, OutboundMessage, OutboundNumber, NumberPacing, String, Int)] = []
        var refused: [SendRecord] = []
        for (entry, plan) in plans {
            guard let message = byEntry[entry] else { continue }
            switch plan {
            case .drop:
                acks.append(.init(message: message, nextDue: now, requeue: false))
            case .requeue(let until, let counter, let hold):
                acks.append(.init(message: message, nextDue: until, requeue: true, sentToday: counter, hold: hold))
            case .send(let row, let number, let pacing, let day, let sentBefore):
                if sends.count < granted {
                    sends.append((message, row, number, pacing, day, sentBefore))
                } else {
                    refused.append(SendRecord(entry: entry, token: message.token,
                                              result: .retry(error: "the plan's messages per day are used up", retryAfterMs: quotaResetMs, countsAsAttempt: false)))
                    acks.append(.init(message: message, nextDue: now.addingTimeInterval(Double(quotaResetMs) / 1000), requeue: false))
                    metrics?.sends.increment([("shard", String(lanes.shard(of: message.instanceID))), ("outcome", "quota")])
                }
            }
        }
        if !refused.isEmpty { await recordReliably(tenant: tenant, refused) }
        if !acks.isEmpty {
            do { try await lanes.acknowledge(acks, now: clock.now()) } catch { logger.warning("send queue: ending leases failed", metadata: ["error": "\(error)"]) }
        }
        let sending = Set(sends.map { $0.0.token })
        for message in pending where !sending.contains(message.token) { inFlight.remove(tenant) }
        pending = []
        isChecking = false
        checking.remove(tenant)
        await withDiscardingTaskGroup { group in
            for (message, row, number, pacing, day, sentBefore) in sends {
                group.addTask {
                    await self.send(tenant: tenant, message: message, row: row, number: number, pacing: pacing, day: day, sentBefore: sentBefore)
                    self.inFlight.remove(tenant)
                }
            }
        }
    }

    enum Plan {
        case drop
        /// Back to its lane; the number is due at `until` (with its day counter, when known here).
        case requeue(until: Date, counter: (day: String, count: Int)? = nil, hold: Bool = false)
        case send(OutboundMessage, OutboundNumber, NumberPacing, day: String, sentBefore: Int)
    }

    /// Takes `count` messages from the tenant's daily quota for its local `day`; on a refusal, as
    /// many as are left. The worker reserves the quota `quotaChunk` messages at a time (one
    /// PostgreSQL transaction per chunk instead of per batch, since a tenant's sends all take it
    /// from one row): at most a chunk per worker, tenant and day is counted and not sent.
    func takeQuota(tenant: TenantID, count: Int, day: String) async -> Int {
        let fromReserve = reserve.withLockedValue { r -> Int in
            guard var mine = r[tenant], mine.day == day else { return 0 }
            let taken = min(mine.left, count)
            mine.left -= taken
            r[tenant] = mine
            return taken
        }
        let need = count - fromReserve
        guard need > 0 else { return count }
        let chunk = max(need, Self.quotaChunk)
        do {
            try await quota.consume(tenantID: tenant, .messages, count: chunk)
            reserve.withLockedValue { r in
                let carried = r[tenant].map { $0.day == day ? $0.left : 0 } ?? 0
                r[tenant] = (day, carried + chunk - need)
            }
            return count
        } catch is PlanLimitReached {
            var granted = fromReserve
            while granted < count {
                do { try await quota.consume(tenantID: tenant, .messages, count: 1) } catch { break }
                granted += 1
            }
            return granted
        } catch {
            logger.warning("send queue: the plan quota could not be read", metadata: ["error": "\(error)"])
            return fromReserve
        }
    }

    static let quotaChunk = 100

    /// Sends one message and records what happened.
    func send(tenant: TenantID, message: ClaimedMessage, row: OutboundMessage, number: OutboundNumber, pacing: NumberPacing, day: String, sentBefore: Int) async {
        let text = row.text ?? ""
        let typing = PacingRules.typingDelay(length: text.count, unit: Double.random(in: 0..<1), maximum: configuration.maxTypingDelayMs)
        let phone = String(row.phoneNumber.filter(\.isNumber))
        let outcome: SendRecord.Result
        var numberDown = false
        var gatewayDown = false
        if let found = await previouslySent(row, number: number, phone: phone) {
            // A worker sent it and died before recording: the gateway has it; do not send again.
            outcome = .sent(messageID: found)
        } else { do {
            let callStarted = ContinuousClock.now
            defer { metrics?.gatewayCall.record(since: callStarted) }
            let sent: EvolutionSendResult
            if let media = row.mediaJSON.flatMap({ try? JSONDecoder().decode(CampaignMedia.self, from: Data($0.utf8)) }) {
                sent = try await gateway.sendMedia(
                    instance: number.gatewayName, number: phone, mediatype: EvolutionMediaType(rawValue: media.kind) ?? .document,
                    media: .url(media.url), mimetype: media.mimeType.isEmpty ? nil : media.mimeType, caption: text.isEmpty ? nil : text,
                    fileName: media.fileName.isEmpty ? nil : media.fileName, delay: typing)
            } else {
                sent = try await gateway.sendText(instance: number.gatewayName, number: phone, text: text, delay: typing)
            }
            outcome = .sent(messageID: sent.messageId)
            gatewayOutage.withLockedValue { $0.succeeded() }
        } catch {
            let reason: String
            switch gatewayOutage.withLockedValue({ $0.classify(error) }) {
            case .permanent(let why):
                outcome = .failed(error: why)
                reason = "permanent"
            case .transient(let why):
                if let after = configuration.retry.delay(afterAttempt: row.attempts + 1, unit: Double.random(in: 0..<1)) {
                    outcome = .retry(error: why, retryAfterMs: after, countsAsAttempt: true)
                    reason = "transient"
                } else {
                    outcome = .failed(error: "gave up after \(row.attempts + 1) attempts: \(why)")
                    reason = "gave_up"
                }
            case .numberDown(let why):
                numberDown = true
                outcome = .retry(error: why, retryAfterMs: 0, countsAsAttempt: false)
                reason = "number_down"
            case .gatewayDown(let why):
                // Held like a closed number: the message waits for the gateway, not counted.
                numberDown = true
                gatewayDown = true
                outcome = .retry(error: why, retryAfterMs: 0, countsAsAttempt: false)
                reason = "gateway_down"
            }
            metrics?.failures.increment([("shard", String(lanes.shard(of: message.instanceID))), ("reason", reason)])
        } }
        if let metrics {
            let label = switch outcome {
            case .sent: "sent"
            case .failed: "failed"
            case .retry: gatewayDown ? "gateway_down" : numberDown ? "number_down" : "retry"
            }
            metrics.sends.increment([("shard", String(lanes.shard(of: message.instanceID))), ("outcome", label)])
        }
        let now = clock.now()
        var next: Date
        if numberDown {
            let streak = closedStreak.withLockedValue { s -> Int in
                s[message.instanceID, default: 0] += 1
                return s[message.instanceID]!
            }
            let hold = gatewayDown
                ? GatewayOutageDetector.holdMilliseconds(consecutiveFailures: streak, retry: configuration.retry)
                : NumberBackoff.holdMilliseconds(consecutiveFailures: streak)
            next = now.addingTimeInterval(Double(hold) / 1000)
        } else {
            closedStreak.withLockedValue { _ = $0.removeValue(forKey: message.instanceID) }
            let gap = PacingRules.gap(minDelayMs: pacing.minDelayMs, maxDelayMs: pacing.maxDelayMs, unit: Double.random(in: 0..<1))
            next = now.addingTimeInterval(Double(gap) / 1000)
        }
        var counter: (day: String, count: Int)? = (day, sentBefore)
        if case .sent = outcome { counter = (day, sentBefore + 1) }
        // Recorded in PostgreSQL, then the lease ends, in a batch with the other sends that
        // finished meanwhile.
        await batcher.submit(.init(
            tenant: tenant, record: SendRecord(entry: row.entry, token: message.token, result: outcome),
            ack: .init(message: message, nextDue: next, requeue: false, sentToday: counter, hold: numberDown)))
    }

    /// For a message whose previous lease ended without a record: the id of the message the
    /// gateway stored for that chat since that lease began, with the same text, if any (a lookup
    /// in `/chat/findMessages`); nil when there is none or the lookup fails (then it is sent, at
    /// least once).
    func previouslySent(_ row: OutboundMessage, number: OutboundNumber, phone: String) async -> String? {
        guard let ended = row.unrecordedLeaseEnded else { return nil }
        let since = ended.addingTimeInterval(-configuration.lease.seconds - 60).timeIntervalSince1970
        do {
            let stored = try await gateway.findMessages(instance: number.gatewayName, remoteJid: "\(phone)@s.whatsapp.net", fromMe: true, pageSize: 20)
            let match = stored.first { $0.fromMe && $0.text == (row.text ?? "") && Double($0.timestamp ?? Int64.max) >= since }
            if let match {
                logger.notice("send queue: a message sent by a worker that died was found at the gateway; not sent again",
                              metadata: ["campaign": "\(row.entry.campaignID)", "message-id": "\(match.id)"])
            }
            return match?.id
        } catch {
            logger.notice("send queue: the gateway's messages could not be looked up; sending again", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// Records outcomes, retrying while PostgreSQL is unreachable: a send that happened must be
    /// recorded, or its lease would expire and the message would go out again.
    func recordReliably(tenant: TenantID, _ records: [SendRecord]) async {
        await Self.recordReliably(outbox: outbox, logger: logger, tenant: tenant, records)
    }

    static func recordReliably(outbox: Outbox, logger: Logger, tenant: TenantID, _ records: [SendRecord]) async {
        var delay = 0.1
        while true {
            do {
                try await outbox.record(tenantID: tenant, records)
                return
            } catch {
                logger.warning("send queue: recording outcomes failed; retrying", metadata: ["error": "\(error)", "count": "\(records.count)"])
                if Task.isCancelled { return }
                try? await Task.sleep(for: .seconds(delay))
                delay = min(delay * 2, 2)
            }
        }
    }

    /// Puts claimed messages back (PostgreSQL was unreachable): their numbers wait `after`.
    func giveBack(_ claimed: [ClaimedMessage], after: Duration, _ error: any Error) async {
        logger.warning("send queue: checking claimed messages failed", metadata: ["error": "\(error)"])
        let next = clock.now().addingTimeInterval(after.seconds)
        _ = try? await lanes.acknowledge(claimed.map { .init(message: $0, nextDue: next, requeue: true, hold: true) }, now: clock.now())
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
