import EvolutionSimulator
import Foundation
import Logging
import Testing
@testable import WaqtorApp
import WaqtorCampaigns
import WaqtorCore
import WaqtorInstances
import WaqtorPostgres
import WaqtorProto
import WaqtorRedis
import WaqtorRPC
import WaqtorSendQueue
import WaqtorTenants
import WaqtorTestSupport
import WaqtorWorkers

extension QueueFixture {
    var names: Set<String> { Set(gatewayNames.values) }

    /// The simulator's sends from this fixture's numbers (any status).
    func sends(_ simulator: EvolutionSimulator) -> [SimSend] {
        simulator.sends().filter { names.contains($0.instance) }
    }

    func pause(_ id: String) async throws -> Waqtor_V1_Campaign? {
        var r = Waqtor_V1_PauseCampaignRequest()
        r.campaignID = id
        return try await campaigns.pauseCampaign(r, options: account.auth).campaign
    }

    func resume(_ id: String) async throws -> Waqtor_V1_Campaign? {
        var r = Waqtor_V1_ResumeCampaignRequest()
        r.campaignID = id
        return try await campaigns.resumeCampaign(r, options: account.auth).campaign
    }

    func cancel(_ id: String) async throws -> Waqtor_V1_Campaign? {
        var r = Waqtor_V1_CancelCampaignRequest()
        r.campaignID = id
        return try await campaigns.cancelCampaign(r, options: account.auth).campaign
    }

    func campaign(_ id: String) async throws -> Waqtor_V1_Campaign? {
        var r = Waqtor_V1_GetCampaignRequest()
        r.campaignID = id
        return try await campaigns.getCampaign(r, options: account.auth).campaign
    }

    /// Runs SQL as the owner (test set-up that the API does not offer, e.g. pacing under its floor).
    static func asOwner(_ sql: String, _ parameters: [PostgresValue?] = []) async throws {
        let owner = owner()
        _ = try await owner.query(sql, parameters)
        await owner.shutdown()
    }
}

/// Each recipient that is not skipped was sent exactly once (successful answers), and the counts add up.
func expectExactlyOnce(_ fixture: QueueFixture, _ simulator: EvolutionSimulator, _ id: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let rows = try await fixture.recipients(id)
    let ok = fixture.sends(simulator).filter { $0.status == 201 }
    var perNumber: [String: Int] = [:]
    for send in ok { perNumber["+" + (send.number ?? ""), default: 0] += 1 }
    #expect(perNumber.values.allSatisfy { $0 == 1 }, "no recipient was sent to twice", sourceLocation: sourceLocation)
    let sentRows = rows.filter { ["sent", "delivered", "read"].contains($0.value.state) }
    #expect(Set(sentRows.keys) == Set(perNumber.keys), "the rows marked sent are exactly the recipients the gateway accepted", sourceLocation: sourceLocation)
}

@Suite("The send queue's rules at work", .serialized)
struct SendQueueBehaviourTests {
    @Test("a number not on WhatsApp fails at once; 5xx answers are retried with backoff until sent; receipts move recipients to READ")
    func failuresAndRetries() async throws {
        try await withGateway { simulator, app, client in
            let fixture = try await QueueFixture.make(simulator, app, client, numbers: 1, count: 30, gap: 1...3)
            simulator.addUnknownNumbers(["+5511980000003", "+5511980000007"])
            simulator.setSendFailure(SendFailure(mode: .serverError, count: 6), instance: fixture.gatewayNames[fixture.instances[0]])
            simulator.clearSends()
            let id = try await fixture.startCampaign(text: "Hello {{name}}")
            try await withSendQueue(app, tenant: fixture.account.tenant.id, configure: { $0.retry = RetryPolicy(maxAttempts: 10, baseDelayMs: 20, maxDelayMs: 200) }) { _ in
                try await awaitCondition("the campaign completed") { try await fixture.progress(id).state == .completed }
                try await awaitCondition("every receipt applied") { try await fixture.progress(id).readCount == 28 }
            }
            let rows = try await fixture.recipients(id)
            let failed = rows.filter { $0.value.state == "failed" }
            #expect(Set(failed.keys) == ["+5511980000003", "+5511980000007"])
            #expect(failed.values.allSatisfy { $0.state == "failed" })
            let sends = fixture.sends(simulator)
            // Each unknown number was tried exactly once: a permanent failure is not retried.
            #expect(sends.filter { $0.number == "5511980000003" }.map(\.status) == [400])
            #expect(sends.filter { $0.status == 500 }.count == 6, "six 5xx answers, each retried")
            #expect(rows.values.filter { $0.state == "read" }.count == 28)
            try await expectExactlyOnce(fixture, simulator, id)
            let owner = QueueFixture.owner()
            let errors = try await owner.query("SELECT error FROM campaign_recipients WHERE campaign_id = $1 AND state = 'failed'", [.uuid(id)])
            await owner.shutdown()
            #expect(errors.allSatisfy { ($0["error"].string ?? "").contains("not on WhatsApp") })
        }
    }

    @Test("a logout reported by the gateway pauses the campaign with the reason; after pairing again, resume sends the rest once")
    func logoutPauses() async throws {
        try await withGateway { simulator, app, client in
            let fixture = try await QueueFixture.make(simulator, app, client, numbers: 1, count: 40, gap: 20...40)
            let name = try #require(fixture.gatewayNames[fixture.instances[0]])
            simulator.clearSends()
            let id = try await fixture.startCampaign(text: "Hello {{name}}")
            try await withSendQueue(app, tenant: fixture.account.tenant.id) { _ in
                try await awaitCondition("a few were sent") { fixture.sends(simulator).count >= 5 }
                #expect(simulator.injectLoggedOut(instance: name, statusReason: 401))
                try await awaitCondition("the campaign paused") { try await fixture.campaign(id)?.state == .paused }
                let paused = try #require(try await fixture.campaign(id))
                #expect(paused.stateDetail.contains("logged out or banned"), "\(paused.stateDetail)")
                #expect(paused.stateDetail.contains("Line 0"))
                let atPause = fixture.sends(simulator).count
                let progress = try await fixture.progress(id)
                #expect(progress.pendingCount > 0 && progress.queuedCount <= 1, "its messages wait, PENDING (one may be on its way)")
                // Paired again and resumed: the rest goes out, once each.
                #expect(simulator.connect(instance: name, number: "5511955500000"))
                try await awaitCondition("connected again") {
                    try await app.instances.list(tenantID: TenantID(trusted: fixture.account.tenant.id)).first?.connection.state == .open
                }
                #expect(fixture.sends(simulator).count <= atPause + 1, "nothing is sent while paused (one may have been on its way)")
                #expect(try await fixture.resume(id)?.state == .running)
                try await awaitCondition("the campaign completed") { try await fixture.progress(id).state == .completed }
            }
            try await expectExactlyOnce(fixture, simulator, id)
            #expect(try await fixture.progress(id).sentCount + fixture.progress(id).deliveredCount + fixture.progress(id).readCount == 40)
        }
    }

    @Test("REASSIGN: a number logged out mid-campaign hands its unsent recipients to the other number, and the campaign completes")
    func reassign() async throws {
        try await withGateway { simulator, app, client in
            let fixture = try await QueueFixture.make(simulator, app, client, numbers: 2, count: 60, gap: 15...30)
            let first = try #require(fixture.gatewayNames[fixture.instances[0]])
            simulator.clearSends()
            let id = try await fixture.startCampaign(text: "Hello {{name}}", policy: .reassign)
            try await withSendQueue(app, tenant: fixture.account.tenant.id) { _ in
                try await awaitCondition("a few were sent from the first number") { fixture.sends(simulator).filter { $0.instance == first }.count >= 3 }
                #expect(simulator.injectLoggedOut(instance: first, statusReason: 401))
                try await awaitCondition("the campaign completed") { try await fixture.progress(id).state == .completed }
            }
            try await expectExactlyOnce(fixture, simulator, id)
            let rows = try await fixture.recipients(id)
            #expect(rows.values.allSatisfy { ["sent", "delivered", "read"].contains($0.state) }, "nobody is left behind")
            #expect(fixture.sends(simulator).filter { $0.instance == first }.count < 30, "the first number stopped")
        }
    }

    @Test("pause stops sending and puts queued messages back; resume sends on; cancel marks the rest CANCELLED and nothing more goes out")
    func pauseResumeCancel() async throws {
        try await withGateway { simulator, app, client in
            let fixture = try await QueueFixture.make(simulator, app, client, numbers: 1, count: 150, gap: 10...20)
            simulator.clearSends()
            let id = try await fixture.startCampaign(text: "Hello {{name}}")
            try await withSendQueue(app, tenant: fixture.account.tenant.id) { _ in
                try await awaitCondition("some were sent") { fixture.sends(simulator).count >= 10 }
                #expect(try await fixture.pause(id)?.state == .paused)
                let atPause = fixture.sends(simulator).count
                let progress = try await fixture.progress(id)
                #expect(progress.queuedCount <= 1, "queued messages went back to PENDING (one may be on its way)")
                // A few rounds of the maintainer and claims pass: nothing more than the one in flight.
                try await awaitCondition("the in-flight message is recorded") { try await fixture.progress(id).queuedCount == 0 }
                let settled = fixture.sends(simulator).count
                #expect(settled <= atPause + 1)
                #expect(try await fixture.resume(id)?.state == .running)
                try await awaitCondition("sending went on") { fixture.sends(simulator).count >= settled + 10 }
                #expect(try await fixture.cancel(id)?.state == .cancelled)
                try await awaitCondition("the in-flight message is recorded") { try await fixture.progress(id).queuedCount == 0 }
                let atCancel = fixture.sends(simulator).count
                // The maintainer's rounds go on; nothing more is sent for a cancelled campaign.
                let before = try await fixture.progress(id)
                #expect(before.cancelledCount > 0)
                #expect(before.pendingCount == 0)
                try await Task.sleep(for: .milliseconds(300))  // several maintainer rounds (50 ms) and claims: a negative check
                #expect(fixture.sends(simulator).count == atCancel)
            }
            let p = try await fixture.progress(id)
            #expect(p.sentCount + p.deliveredCount + p.readCount + p.cancelledCount == 150)
            try await expectExactlyOnce(fixture, simulator, id)
        }
    }

    @Test("a shard that loses the queue's data mid-campaign is rebuilt from PostgreSQL: nothing lost, nothing twice")
    func shardLoss() async throws {
        try await withGateway { simulator, app, client in
            let fixture = try await QueueFixture.make(simulator, app, client, numbers: 3, count: 600, gap: 2...6)
            simulator.clearSends()
            let id = try await fixture.startCampaign(text: "Hello {{name}}")
            let prefix = "wqt-\(UUID().uuidString.prefix(8))"
            try await withSendQueue(app, tenant: fixture.account.tenant.id, prefix: prefix) { lanes in
                try await awaitCondition("some were sent") { fixture.sends(simulator).count >= 100 }
                // Every key of this queue on every shard, gone (as a FLUSHALL would, without
                // touching other tests' keys).
                var deleted = 0
                for shard in 0..<lanes.redis.shardCount {
                    let keys = try await lanes.redis.command(onShard: shard, ["KEYS", .string("\(prefix):*")]).array?.compactMap(\.string) ?? []
                    if !keys.isEmpty {
                        deleted += Int(try await lanes.redis.command(onShard: shard, ["DEL"] + keys.map { .string($0) }).integer ?? 0)
                    }
                }
                #expect(deleted > 0)
                try await awaitCondition("the campaign completed") { try await fixture.progress(id).state == .completed }
            }
            try await expectExactlyOnce(fixture, simulator, id)
            #expect(fixture.sends(simulator).filter { $0.status == 201 }.count == 600)
        }
    }

    @Test("a daily cap stops a number for the rest of its local day; quiet hours hold it until they end")
    func capAndQuietHours() async throws {
        try await withGateway { simulator, app, client in
            let fixture = try await QueueFixture.make(simulator, app, client, numbers: 2, count: 20, gap: 1...2)
            let capped = fixture.instances[0], quiet = fixture.instances[1]
            try await QueueFixture.asOwner("UPDATE instances SET daily_cap = 4 WHERE id = $1", [.uuid(capped)])
            // Quiet hours around the tenant's current local time (Africa/Cairo), for the second number.
            let cairo = TimeZone(identifier: "Africa/Cairo")!
            let minute = SendGate(zone: cairo).minuteOfDay(Date())
            try await QueueFixture.asOwner("UPDATE instances SET quiet_start_minute = $2, quiet_end_minute = $3 WHERE id = $1",
                                           [.uuid(quiet), .int((minute + 1440 - 60) % 1440), .int((minute + 60) % 1440)])
            simulator.clearSends()
            let id = try await fixture.startCampaign(text: "Hello {{name}}")
            try await withSendQueue(app, tenant: fixture.account.tenant.id) { lanes in
                let cappedName = try #require(fixture.gatewayNames[capped])
                try await awaitCondition("the capped number sent its 4") { fixture.sends(simulator).filter { $0.instance == cappedName }.count == 4 }
                // Both numbers are now held: the capped one until the next local midnight, the
                // quiet one until its quiet hours end.
                let gate = SendGate(zone: cairo)
                try await awaitCondition("the capped number waits for midnight") {
                    guard let due = try await lanes.dueTime(of: InstanceID(trusted: capped)) else { return false }
                    return abs(due.timeIntervalSince(gate.nextMidnight(after: Date()))) < 2
                }
                try await awaitCondition("the quiet number waits for the end of its quiet hours") {
                    guard let due = try await lanes.dueTime(of: InstanceID(trusted: quiet)) else { return false }
                    return due.timeIntervalSinceNow > 55 * 60 && due.timeIntervalSinceNow < 61 * 60
                }
                #expect(fixture.sends(simulator).count == 4, "nothing from the quiet number, nothing more from the capped one")
                let p = try await fixture.progress(id)
                #expect(p.state == .running && p.sentCount + p.deliveredCount + p.readCount == 4)
            }
        }
    }

    @Test("a number's first send waits one gap (numbers started together spread over their gap), then sends keep their gaps")
    func firstSendWaitsAGap() async throws {
        try await withGateway { simulator, app, client in
            let fixture = try await QueueFixture.make(simulator, app, client, numbers: 3, count: 9, gap: 400...600)
            simulator.clearSends()
            let started = ContinuousClock.now
            let id = try await fixture.startCampaign(text: "Hello {{name}}")
            // No spread of the refill's own: what holds the first sends back is the gap.
            try await withSendQueue(app, tenant: fixture.account.tenant.id, configure: { $0.firstSendSpreadMs = 0 }) { _ in
                try await awaitCondition("the campaign completed") { try await fixture.progress(id).state == .completed }
            }
            let sends = fixture.sends(simulator)
            #expect(sends.count == 9)
            // Each contact has its number (by its id), so the nine are not spread evenly.
            for name in fixture.names {
                let mine = sends.filter { $0.instance == name }.sorted { $0.arrivedAt < $1.arrivedAt }
                guard let first = mine.first else { continue }
                #expect(first.arrivedAt - started >= .milliseconds(400), "the first send came \(first.arrivedAt - started) after the start")
                for (a, b) in zip(mine, mine.dropFirst()) {
                    #expect(b.arrivedAt - a.answeredAt >= .milliseconds(400), "gap \(b.arrivedAt - a.answeredAt)")
                }
            }
        }
    }

    @Test("the plan's messages per day: past the quota nothing more is sent; the refused message waits, uncounted, for the tenant's next local midnight, and so does its number")
    func planQuota() async throws {
        try await withGateway { simulator, app, client in
            let fixture = try await QueueFixture.make(simulator, app, client, numbers: 1, count: 6, gap: 1...2)
            // Three messages left of the plan's (business: 200,000) for the tenant's local day
            // (Africa/Cairo, signUp): the day's usage as if 199,997 had gone out.
            try await QueueFixture.asOwner("""
                INSERT INTO usage_daily (tenant_id, day, messages_sent)
                SELECT t.id, (now() AT TIME ZONE t.time_zone)::date, p.max_messages_per_day - 3
                FROM tenants t JOIN plans p ON p.id = t.plan_id WHERE t.id = $1
                ON CONFLICT (tenant_id, day) DO UPDATE SET messages_sent = EXCLUDED.messages_sent
                """, [.uuid(fixture.account.tenant.id)])
            simulator.clearSends()
            let id = try await fixture.startCampaign(text: "Hello {{name}}")
            let number = try #require(fixture.instances.first)
            try await withSendQueue(app, tenant: fixture.account.tenant.id) { lanes in
                try await awaitCondition("the quota's 3 were sent") { fixture.sends(simulator).count == 3 }
                // The tenant's zone is Africa/Cairo (signUp).
                let midnight = SendGate(zone: TimeZone(identifier: "Africa/Cairo")!).nextMidnight(after: Date())
                try await awaitCondition("the number waits for the tenant's next local midnight") {
                    guard let due = try await lanes.dueTime(of: InstanceID(trusted: number)) else { return false }
                    return abs(due.timeIntervalSince(midnight)) < 2
                }
                let owner = QueueFixture.owner()
                let refused = try await owner.query("""
                    SELECT error, attempt_count, next_attempt_at FROM campaign_recipients
                    WHERE campaign_id = $1 AND state = 'pending' AND error <> ''
                    """, [.uuid(id)])
                await owner.shutdown()
                #expect(refused.count == 1)
                #expect(refused.first?["error"].string?.contains("messages per day") == true)
                #expect(refused.first?["attempt_count"].int == 0, "a refusal is not an attempt")
                if let next = refused.first?["next_attempt_at"].date { #expect(abs(next.timeIntervalSince(midnight)) < 2) } else { Issue.record("no next attempt time") }
                #expect(fixture.sends(simulator).count == 3, "nothing more went out")
                let p = try await fixture.progress(id)
                #expect(p.state == .running && p.sentCount + p.deliveredCount + p.readCount == 3 && p.failedCount == 0)
            }
        }
    }

    @Test("fairness: one tenant's large campaign does not slow another tenant's number, and a tenant's sends in flight are bounded")
    func fairness() async throws {
        try await withGateway { simulator, app, client in
            let big = try await QueueFixture.make(simulator, app, client, numbers: 3, count: 3000, gap: 0...1)
            let small = try await QueueFixture.make(simulator, app, client, numbers: 1, count: 40, gap: 20...40)
            // Every send of the large tenant takes 50 ms at the gateway: without a bound it could
            // hold the worker's every slot.
            for name in big.names { simulator.setSendFailure(SendFailure(mode: .none, delayMilliseconds: 50), instance: name) }
            simulator.clearSends()
            let bigID = try await big.startCampaign(text: "Big {{name}}")
            var configuration = SendConfiguration()
            configuration.maxTypingDelayMs = 0
            configuration.maintenanceInterval = .milliseconds(50)
            configuration.idlePoll = .milliseconds(2)
            configuration.maxInFlightPerTenant = 2
            configuration.tenants = [TenantID(trusted: big.account.tenant.id), TenantID(trusted: small.account.tenant.id)]
            try await withSendQueue(app, tenant: big.account.tenant.id, configure: {
                $0.maxInFlightPerTenant = configuration.maxInFlightPerTenant
                $0.tenants = configuration.tenants
            }) { _ in
                try await awaitCondition("the large campaign is under way") { big.sends(simulator).count >= 30 }
                let smallID = try await small.startCampaign(text: "Small {{name}}")
                try await awaitCondition("the small campaign completed") { try await small.progress(smallID).state == .completed }
                #expect(try await big.progress(bigID).state == .running, "the large one is still sending")
            }
            // The small tenant's number kept its own pace while the large one ran.
            let gaps = SendQueueTests.gaps(small.sends(simulator).filter { $0.status == 201 }, names: small.names)
            #expect(gaps.count == 39)
            #expect(gaps.allSatisfy { $0 >= 20 - 0.5 })
            let within = Double(gaps.filter { $0 <= 40 + 50 }.count) / Double(gaps.count)
            #expect(within >= 0.9, "share of the small tenant's gaps within [min, max + 50 ms]: \(within)")
            // Never more than two of the large tenant's sends at the gateway at once.
            let bigSends = big.sends(simulator)
            var most = 0
            for send in bigSends {
                let overlapping = bigSends.filter { $0.arrivedAt <= send.arrivedAt && $0.answeredAt > send.arrivedAt }.count
                most = max(most, overlapping)
            }
            #expect(most <= 2, "at most max_in_flight_per_tenant sends of one tenant in flight: \(most)")
        }
    }

    @Test("receipts move a recipient forward only, whatever their order; a repeated one changes nothing")
    func receiptsOrder() async throws {
        try await withGateway { simulator, app, client in
            let fixture = try await QueueFixture.make(simulator, app, client, numbers: 1, count: 3, gap: 1...2)
            simulator.dropWebhooks(["messages.update"])
            let id = try await fixture.startCampaign(text: "Hello {{name}}")
            try await withSendQueue(app, tenant: fixture.account.tenant.id) { _ in
                try await awaitCondition("the campaign completed") { try await fixture.progress(id).state == .completed }
            }
            let rows = try await fixture.recipients(id)
            #expect(rows.values.allSatisfy { $0.state == "sent" && $0.messageID != nil }, "no receipt arrived: SENT")
            let tenant = TenantID(trusted: fixture.account.tenant.id)
            let instance = InstanceID(trusted: fixture.instances[0])
            let messageIDs = rows.values.compactMap(\.messageID).sorted()
            let outbox = Outbox(pool: app.postgres)
            func receipt(_ id: Int64, _ message: String, _ status: String) -> Receipt {
                Receipt(eventID: id, tenantID: tenant, instanceID: instance, messageID: message, status: status, receivedAt: Date())
            }
            // READ first, then a late DELIVERY_ACK and SERVER_ACK: stays READ.
            try await outbox.apply(receipts: [receipt(-1, messageIDs[0], "READ")], tenantID: tenant, now: Date())
            try await outbox.apply(receipts: [receipt(-2, messageIDs[0], "DELIVERY_ACK"), receipt(-3, messageIDs[0], "SERVER_ACK")], tenantID: tenant, now: Date())
            // DELIVERY_ACK twice: DELIVERED; then ERROR after delivery changes nothing.
            try await outbox.apply(receipts: [receipt(-4, messageIDs[1], "DELIVERY_ACK"), receipt(-5, messageIDs[1], "DELIVERY_ACK")], tenantID: tenant, now: Date())
            try await outbox.apply(receipts: [receipt(-6, messageIDs[1], "ERROR")], tenantID: tenant, now: Date())
            // ERROR before any delivery: FAILED with the reason.
            try await outbox.apply(receipts: [receipt(-7, messageIDs[2], "ERROR")], tenantID: tenant, now: Date())
            let after = Dictionary(uniqueKeysWithValues: try await fixture.recipients(id).values.compactMap { row in row.messageID.map { ($0, row.state) } })
            #expect(after[messageIDs[0]] == "read")
            #expect(after[messageIDs[1]] == "delivered")
            #expect(after[messageIDs[2]] == "failed")
        }
    }
}

@Suite("Campaign attachments, checked where they live and sent as media")
struct CampaignMediaTests {
    static func media(_ url: String, _ kind: Waqtor_V1_MediaKind, _ mime: String) -> Waqtor_V1_Media {
        var m = Waqtor_V1_Media()
        m.kind = kind
        m.mimeType = mime
        m.url = url
        return m
    }

    @Test("a start refuses an attachment too large for its kind, of another type, or not there, naming what is wrong; a good one is sent with the text as its caption")
    func startChecksTheAttachment() async throws {
        try await withGateway { simulator, app, client in
            let fixture = try await QueueFixture.make(simulator, app, client, numbers: 1, count: 3, gap: 1...2)
            func attempt(_ media: Waqtor_V1_Media) async throws -> (id: String, error: RPCError?) {
                var create = Waqtor_V1_CreateCampaignRequest()
                var c = CampaignServiceTests.campaign(text: "Look, {{name}}!", list: fixture.list, instance: fixture.instances[0])
                c.media = media
                create.campaign = c
                let made = try #require(try await fixture.campaigns.createCampaign(create, options: fixture.account.auth).campaign)
                var start = Waqtor_V1_StartCampaignRequest()
                start.campaignID = made.id
                return (made.id, await rpcError { _ = try await fixture.campaigns.startCampaign(start, options: fixture.account.auth) })
            }
            let big = try await attempt(Self.media("\(simulator.baseURL)/_sim/media/\(20 << 20)/clip.mp4", .video, "video/mp4"))
            #expect(big.error?.code == .failedPrecondition && big.error?.message.contains("20 MB") == true && big.error?.message.contains("16 MB") == true,
                    "\(String(describing: big.error))")
            let missing = try await attempt(Self.media("\(simulator.baseURL)/_sim/no-such-file.jpg", .image, "image/jpeg"))
            #expect(missing.error?.code == .failedPrecondition && missing.error?.message.contains("HTTP 404") == true, "\(String(describing: missing.error))")
            let wrong = try await attempt(Self.media("\(simulator.baseURL)/_sim/media/1000/page.bin", .image, "image/jpeg"))
            #expect(wrong.error?.code == .failedPrecondition && wrong.error?.message.contains("not an image") == true, "\(String(describing: wrong.error))")
            #expect(try await fixture.campaign(big.id)?.state == .draft, "a refused start leaves the campaign a DRAFT")

            simulator.clearSends()
            let good = try await attempt(Self.media("\(simulator.baseURL)/_sim/media/\(100 << 10)/photo.jpg", .image, "image/jpeg"))
            #expect(good.error == nil)
            try await withSendQueue(app, tenant: fixture.account.tenant.id) { _ in
                try await awaitCondition("the campaign completed") { try await fixture.progress(good.id).state == .completed }
            }
            let sends = fixture.sends(simulator)
            #expect(sends.count == 3 && sends.allSatisfy { $0.isMedia && $0.status == 201 && ($0.text ?? "").hasPrefix("Look, Client ") })
        }
    }

    @Test("a scheduled campaign's attachment is checked again when its time comes: one that is gone then pauses the campaign with the reason")
    func scheduledStartChecksTheAttachment() async throws {
        try await withGateway { simulator, app, client in
            let fixture = try await QueueFixture.make(simulator, app, client, numbers: 1, count: 2, gap: 1...2)
            var create = Waqtor_V1_CreateCampaignRequest()
            var c = CampaignServiceTests.campaign(text: "Look, {{name}}!", list: fixture.list, instance: fixture.instances[0])
            c.media = Self.media("\(simulator.baseURL)/_sim/media/\(100 << 10)/photo.jpg", .image, "image/jpeg")
            c.scheduleTime = Google_Protobuf_Timestamp(date: Date().addingTimeInterval(3600))
            create.campaign = c
            let made = try #require(try await fixture.campaigns.createCampaign(create, options: fixture.account.auth).campaign)
            var start = Waqtor_V1_StartCampaignRequest()
            start.campaignID = made.id
            #expect(try await fixture.campaigns.startCampaign(start, options: fixture.account.auth).campaign?.state == .scheduled)
            // Meanwhile the file moved; then the time comes (the owner role moves both).
            let owner = PostgresPool(configuration: PostgresConfiguration(connectionString: TestEnvironment.databaseOwnerURL, poolSize: 1))
            _ = try await owner.query("""
                UPDATE campaigns SET media = jsonb_set(media, '{url}', to_jsonb($2::text)), schedule_time = now() - interval '1 second'
                WHERE id = $1
                """, [.uuid(made.id), .text("\(simulator.baseURL)/_sim/moved/photo.jpg")])
            await owner.shutdown()
            let quiet = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
            // Only this test's tenant: other suites' due campaigns are theirs.
            #expect(try await CampaignScheduler(store: app.campaigns, mediaCheck: MediaCheck(http: app.http), logger: quiet,
                                                tenants: [TenantID(trusted: fixture.account.tenant.id)]).runOnce() == 0)
            let paused = try #require(try await fixture.campaign(made.id))
            #expect(paused.state == .paused && paused.stateDetail.contains("HTTP 404"), "\(paused.stateDetail)")
            #expect(try await fixture.recipients(made.id).isEmpty, "nothing was materialised")
        }
    }
}
