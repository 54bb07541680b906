import WaqtorMetrics
import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import WaqtorCampaigns
import WaqtorChat
import WaqtorCore
import WaqtorRedis
import WaqtorSendQueue

/// Keeps the send queue whole (docs/QUEUE.md): every round it rebuilds a shard that lost its data,
/// returns expired leases, completes campaigns whose recipients are all final, pauses campaigns
/// whose number was logged out or banned (or hands its recipients to the campaign's other
/// numbers, as the campaign asks), tops up the numbers' windows from PostgreSQL, and applies
/// delivery receipts. Every `worker` or `all` process runs one; rounds of several processes
/// overlap safely (each step is guarded in PostgreSQL or atomic in Redis).
public struct QueueMaintainer: Service {
    let lanes: SendLanes
    let outbox: Outbox
    let campaigns: CampaignStore
    let clock: any WaqtorClock
    let configuration: SendConfiguration
    let logger: Logger
    /// Shards rebuilt, and when: a second pass after a lease's length catches messages that were
    /// leased (in flight) during the first.
    let rebuilt = NIOLockedValueBox<[Int: Date]>([:])
    /// When empty windows were last compared with PostgreSQL's QUEUED rows.
    let lastEmptySweep = NIOLockedValueBox<Date?>(nil)
    /// How long a QUEUED row with no window entry and no lease waits before it is handed out
    /// again (also how often empty windows are looked at).
    static let emptyWindowGrace: Duration = .seconds(10)

    /// Chat replies (swept onto their reply lanes) and the live feed (receipts' status changes).
    let chat: ChatStore
    let live: LiveFeed?
    let lastReplySweep = NIOLockedValueBox<Date?>(nil)

    /// Reclaims, rebuilds and the queue's depth (nil: none recorded).
    let metrics: QueueMetrics?

    public init(lanes: SendLanes, outbox: Outbox, campaigns: CampaignStore, clock: any WaqtorClock, configuration: SendConfiguration, logger: Logger,
                chat: ChatStore? = nil, live: LiveFeed? = nil, metrics: QueueMetrics? = nil) {
        self.metrics = metrics
        self.chat = chat ?? ChatStore(pool: outbox.pool)
        self.live = live
        self.lanes = lanes
        self.outbox = outbox
        self.campaigns = campaigns
        self.clock = clock
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        await Rounds.run(logger: logger, failure: "send queue maintenance failed", pause: { try await self.clock.sleep(for: self.configuration.maintenanceInterval) }) {
            try await self.runOnce()
            return false
        }
    }

    /// One round.
    public func runOnce() async throws {
        let now = clock.now()
        let running = try await outbox.running().filter { configuration.tenants?.contains($0.tenantID) ?? true }
        // 1. Shards that lost their data.
        for shard in 0..<lanes.redis.shardCount {
            let second = rebuilt.withLockedValue { $0[shard] }.map { now.timeIntervalSince($0) > configuration.lease.seconds + 5 } ?? false
            if try await !lanes.hasEpoch(shard: shard) {
                try await rebuild(shard: shard, running: running)
                rebuilt.withLockedValue { $0[shard] = now }
                try await lanes.setEpoch(shard: shard, value: UUID().uuidString)
                logger.notice("send queue: shard rebuilt from PostgreSQL", metadata: ["shard": "\(shard)"])
                metrics?.rebuilds.increment([("shard", String(shard))])
            } else if second {
                try await rebuild(shard: shard, running: running)
                rebuilt.withLockedValue { _ = $0.removeValue(forKey: shard) }
            }
            // 2. Expired leases (a worker died or stalled).
            let reclaimed = try await lanes.reap(shard: shard, now: now)
            if reclaimed > 0 {
                logger.notice("send queue: expired leases reclaimed", metadata: ["shard": "\(shard)", "count": "\(reclaimed)"])
                metrics?.reclaims.increment([("shard", String(shard))], by: reclaimed)
            }
            if let metrics {
                let depth = try await lanes.depth(shard: shard, now: now)
                let labels = [("shard", String(shard))]
                metrics.numbers.record(labels, depth.numbers)
                metrics.numbersDue.record(labels, depth.due)
                metrics.leases.record(labels, depth.leases)
            }
        }
        // 3. Campaigns: finished, or a number dropped out.
        var open: [CampaignID: [InstanceID]] = [:]
        for number in running where number.instanceState == "open" { open[number.campaignID, default: []].append(number.instanceID) }
        var done = Set<CampaignID>()
        for number in running where !done.contains(number.campaignID) {
            if number.unsent == 0 {
                done.insert(number.campaignID)
                _ = try? await campaigns.apply(tenantID: number.tenantID, id: number.campaignID, event: .allRecipientsFinal, context: StartContext(now: now))
                continue
            }
            guard number.instanceState != "open" else { continue }
            let others = open[number.campaignID] ?? []
            if number.onNumberUnavailable == "reassign", !others.isEmpty {
                let moved = try await outbox.reassign(tenantID: number.tenantID, campaign: number.campaignID, from: number.instanceID, to: others)
                if moved > 0 {
                    logger.notice("send queue: recipients moved off a number that dropped out", metadata: [
                        "campaign": "\(number.campaignID)", "instance": "\(number.instanceID)", "count": "\(moved)"])
                }
            } else if number.instanceState == "needs_repairing" {
                done.insert(number.campaignID)
                let name = (try? await outbox.instanceName(tenantID: number.tenantID, instance: number.instanceID)) ?? number.instanceID.rawValue
                let why = "WhatsApp number \"\(name)\" was logged out or banned; pair it again (waqtor instance qr \(number.instanceID)) and resume the campaign"
                _ = try? await campaigns.apply(tenantID: number.tenantID, id: number.campaignID, event: .pause(.automatic(why)), context: StartContext(now: now))
                logger.notice("campaign paused: its number was logged out or banned", metadata: ["campaign": "\(number.campaignID)", "instance": "\(number.instanceID)"])
            }
        }
        // 4. Windows.
        var campaignsOf: [InstanceID: (tenant: TenantID, campaigns: [CampaignID])] = [:]
        for number in running where number.instanceState == "open" && !done.contains(number.campaignID) {
            campaignsOf[number.instanceID, default: (number.tenantID, [])].campaigns.append(number.campaignID)
        }
        // Only campaigns with PENDING recipients have anything to hand out.
        let withPending = Set(running.filter { $0.pending > 0 }.map(\.campaignID))
        let sweep = !campaignsOf.isEmpty && lastEmptySweep.withLockedValue { last -> Bool in
            guard last.map({ now.timeIntervalSince($0) >= Self.emptyWindowGrace.seconds }) ?? true else { return false }
            last = now
            return true
        }
        // Window lengths are read for the numbers that can be topped up (a campaign of theirs has
        // PENDING recipients) and, every emptyWindowGrace, for all of them (to find empty
        // windows): a round costs nothing per number whose campaigns are all handed out.
        let look = sweep ? Array(campaignsOf.keys) : campaignsOf.filter { $0.value.campaigns.contains(where: withPending.contains) }.map(\.key)
        if !look.isEmpty {
            let lengths = try await lanes.windowLengths(look)
            // Numbers to top up, by tenant; each number's campaigns in start order.
            var short: [TenantID: [(instance: InstanceID, want: Int, campaigns: [CampaignID])]] = [:]
            for instance in look {
                guard let work = campaignsOf[instance] else { continue }
                let length = lengths[instance] ?? 0
                guard length < configuration.refillBelow else { continue }
                short[work.tenant, default: []].append((instance, configuration.windowSize - length, work.campaigns))
            }
            for (tenant, numbers) in short {
                // An empty window while PostgreSQL still has QUEUED rows for the number that no
                // lease holds: their entries were lost; hand them out again.
                if sweep {
                    let empty = numbers.filter { (lengths[$0.instance] ?? 0) == 0 }.map(\.instance)
                    try await outbox.requeueUnleased(tenantID: tenant, instances: empty, olderThan: Self.emptyWindowGrace)
                }
                // One statement per campaign for all its numbers, campaigns in start order.
                var wanted = Dictionary(uniqueKeysWithValues: numbers.map { ($0.instance, $0.want) })
                var taken: [InstanceID: [QueueEntry]] = [:]
                let mine = Set(numbers.flatMap(\.campaigns))
                var order: [CampaignID] = []  // start order (running() is sorted so)
                for number in running where mine.contains(number.campaignID) && withPending.contains(number.campaignID) && !order.contains(number.campaignID) {
                    order.append(number.campaignID)
                }
                for campaign in order {
                    let wants = numbers.filter { $0.campaigns.contains(campaign) }.compactMap { n -> (InstanceID, Int)? in
                        let left = wanted[n.instance] ?? 0
                        return left > 0 ? (n.instance, left) : nil
                    }
                    for (instance, entries) in try await outbox.takeForWindows(tenantID: tenant, campaign: campaign, wants: wants) {
                        taken[instance, default: []] += entries
                        wanted[instance, default: 0] -= entries.count
                    }
                }
                let pushed = try await lanes.refill(taken.map { (instance: $0.key, tenant: tenant, entries: $0.value) }, now: now,
                                                    spreadMs: configuration.firstSendSpreadMs)
                if pushed.values.contains(where: { $0 == nil }) {
                    // A shard lost its data between the check and now: the next round rebuilds it,
                    // which puts these back too.
                    logger.notice("send queue: a shard has no epoch; rebuilding next round")
                }
            }
        }
        // 5. Delivery receipts.
        let receipts = try await outbox.pendingReceipts(limit: 2000).filter { configuration.tenants?.contains($0.tenantID) ?? true }
        for (tenant, group) in Dictionary(grouping: receipts, by: \.tenantID) {
            let applied = try await outbox.applyReceipts(group, tenantID: tenant, now: now)
            if let live, !applied.chat.isEmpty {
                try? await live.publish(tenantID: tenant, applied.chat.map {
                    .status(messageID: $0.id, conversationID: $0.conversationID, instanceID: $0.instanceID, status: $0.status, error: $0.error, at: $0.updatedAt)
                })
            }
        }
        // 6. Replies waiting without a lane entry (a push that failed, a shard that lost its data),
        // every emptyWindowGrace: pushed again (a reply already in its lane is not added twice).
        let sweepReplies = lastReplySweep.withLockedValue { last -> Bool in
            guard last.map({ now.timeIntervalSince($0) >= Self.emptyWindowGrace.seconds }) ?? true else { return false }
            last = now
            return true
        }
        if sweepReplies {
            let unsent = try await chat.unsentReplies(limit: 5000).filter { configuration.tenants?.contains($0.0) ?? true }
            if !unsent.isEmpty {
                try await lanes.pushReplies(unsent.map { (instance: $0.1, tenant: $0.0, id: $0.2) }, now: now)
            }
        }
    }

    /// QUEUED messages of the shard's numbers that no live lease holds go back to PENDING.
    func rebuild(shard: Int, running: [RunningNumber]) async throws {
        var byTenant: [TenantID: Set<InstanceID>] = [:]
        for number in running where lanes.shard(of: number.instanceID) == shard {
            byTenant[number.tenantID, default: []].insert(number.instanceID)
        }
        for (tenant, instances) in byTenant {
            try await outbox.requeueUnleased(tenantID: tenant, instances: Array(instances), olderThan: .zero)
        }
    }
}
