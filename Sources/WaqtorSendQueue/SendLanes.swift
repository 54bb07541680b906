import Foundation
import WaqtorCore
import WaqtorRedis

/// One message handed out by a claim: the number it goes from, the lane it came from, the entry
/// (``QueueEntry``), the lease token, and the number's counters for the local day.
public struct ClaimedMessage: Sendable, Hashable {
    public var instanceID: InstanceID
    public var tenantID: TenantID?
    public var lane: Lane
    public var entry: String
    public var token: String
    /// The local day the counter belongs to (nil: the shard has no counter for this number).
    public var day: String?
    public var sentToday: Int
    public var shard: Int
}

/// A number's lanes: chat replies go before campaign messages.
public enum Lane: String, Sendable, Hashable {
    case reply = "r"
    case campaign = "c"
}

/// A campaign message in a lane: `<campaign id>:<contact id>` (its recipient row).
public struct QueueEntry: Sendable, Hashable {
    public var campaignID: CampaignID
    public var contactID: ContactID

    public init(campaignID: CampaignID, contactID: ContactID) {
        self.campaignID = campaignID
        self.contactID = contactID
    }

    public init?(_ text: String) {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let campaign = CampaignID(validating: String(parts[0])),
              let contact = ContactID(validating: String(parts[1])) else { return nil }
        self.init(campaignID: campaign, contactID: contact)
    }

    public var text: String { "\(campaignID.rawValue):\(contactID.rawValue)" }
}

/// The dispatch order on the Redis shards (docs/QUEUE.md, "Keys"). Each number's keys share the
/// hash tag `{i:<instance>}` and live on the shard the ring gives that tag; each shard has a
/// sorted set of numbers by the time they may send next (`wq:due`), one of leases by expiry
/// (`wq:leases`), and an epoch marker (`wq:epoch`) whose absence means the shard lost its data.
/// Every change is one Lua script, atomic on its shard.
public struct SendLanes: Sendable {
    public let redis: RedisShards
    public let prefix: String

    public init(redis: RedisShards, prefix: String = "wq") {
        self.redis = redis
        self.prefix = prefix
    }

    var dueKey: RedisArgument { .string("\(prefix):due") }
    var leasesKey: RedisArgument { .string("\(prefix):leases") }
    var epochKey: RedisArgument { .string("\(prefix):epoch") }

    /// The shard of a number's keys.
    public func shard(of instance: InstanceID) -> Int { redis.shardIndex(for: "{i:\(instance.rawValue)}") }

    /// A lane's key (for inspection and tests).
    public func laneKey(_ instance: InstanceID, _ lane: Lane) -> String { "\(prefix):{i:\(instance.rawValue)}:\(lane.rawValue)" }
    /// A number's state hash (lease, next send time, day counter, tenant).
    public func stateKey(_ instance: InstanceID) -> String { "\(prefix):{i:\(instance.rawValue)}:s" }

    // MARK: Scripts

    /// KEYS: due, leases. ARGV: now ms, lease ms, most numbers, token prefix, key prefix.
    /// Takes the numbers that are due, pops each one's next message (reply lane first), leases it
    /// and takes the number off the due set until the lease is acknowledged or expires. A due
    /// number with empty lanes goes idle (a refill schedules it again).
    static let claimScript = RedisScript("""
        local now = tonumber(ARGV[1])
        local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
        local out = {}
        for n, inst in ipairs(due) do
          local base = ARGV[5] .. ':{i:' .. inst .. '}:'
          local lane = 'r'
          local entry = redis.call('LPOP', base .. 'r')
          if not entry then
            lane = 'c'
            entry = redis.call('LPOP', base .. 'c')
          end
          redis.call('ZREM', KEYS[1], inst)
          if entry then
            local token = ARGV[4] .. ':' .. n
            redis.call('HSET', base .. 's', 'lease', entry, 'lane', lane, 'token', token)
            redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), inst)
            local s = redis.call('HMGET', base .. 's', 'tenant', 'day', 'sent')
            table.insert(out, {inst, lane, entry, token, s[1] or '', s[2] or '', s[3] or '0'})
          end
        end
        return out
        """)

    /// KEYS: due, leases. ARGV: instance, token, next due ms, requeue (1/0), key prefix, day,
    /// sent today (-1: unchanged), now ms, keep (1: next is at least the remembered next, for a
    /// reply: it does not move the campaign's schedule), hold (1: the number waits until next
    /// whatever its lanes hold). Ends a lease if the token still holds it: the message goes back
    /// to the head of its lane when requeued, the number is due again at `next` if a lane has
    /// messages (else idle, remembering `next`), or at once when its reply lane has messages and
    /// it is not held. Returns 1, or 0 for a lease that was no longer held (expired and
    /// reclaimed, or lost with the shard's data).
    static let ackScript = RedisScript("""
        local inst = ARGV[1]
        local base = ARGV[5] .. ':{i:' .. inst .. '}:'
        local s = base .. 's'
        if redis.call('HGET', s, 'token') ~= ARGV[2] then return 0 end
        local entry = redis.call('HGET', s, 'lease')
        local lane = redis.call('HGET', s, 'lane')
        if ARGV[4] == '1' and entry and lane then redis.call('LPUSH', base .. lane, entry) end
        redis.call('HDEL', s, 'lease', 'lane', 'token')
        redis.call('ZREM', KEYS[2], inst)
        local nxt = tonumber(ARGV[3])
        if ARGV[9] == '1' then
          local prev = tonumber(redis.call('HGET', s, 'next') or '0') or 0
          if prev > nxt then nxt = prev end
        end
        redis.call('HSET', s, 'next', nxt)
        if tonumber(ARGV[7]) >= 0 then redis.call('HSET', s, 'day', ARGV[6], 'sent', ARGV[7]) end
        local replies = redis.call('LLEN', base .. 'r')
        if replies > 0 and ARGV[10] ~= '1' and tonumber(ARGV[8]) < nxt then
          redis.call('ZADD', KEYS[1], ARGV[8], inst)
        elseif replies + redis.call('LLEN', base .. 'c') > 0 then
          redis.call('ZADD', KEYS[1], nxt, inst)
        end
        return 1
        """)

    /// KEYS: due, leases. ARGV: instance, now ms, key prefix, tenant, entry. Appends a reply to a
    /// number's reply lane (unless it is there already) and makes the number due now unless a
    /// lease holds it (its ack then makes it due at once). Returns 1, or 0 when already queued.
    static let pushReplyScript = RedisScript("""
        local inst = ARGV[1]
        local base = ARGV[3] .. ':{i:' .. inst .. '}:'
        redis.call('HSET', base .. 's', 'tenant', ARGV[4])
        if redis.call('LPOS', base .. 'r', ARGV[5]) then return 0 end
        redis.call('RPUSH', base .. 'r', ARGV[5])
        if redis.call('HEXISTS', base .. 's', 'lease') == 0 then
          local current = redis.call('ZSCORE', KEYS[1], inst)
          if not current or tonumber(current) > tonumber(ARGV[2]) then redis.call('ZADD', KEYS[1], ARGV[2], inst) end
        end
        return 1
        """)

    /// KEYS: due, leases, epoch. ARGV: instance, now ms, key prefix, tenant, first-send spread
    /// ms, entries... Appends campaign messages to a number's window and schedules the number if
    /// it is idle: at its remembered next send time, or, for a number that has none yet, now plus
    /// the spread (so that numbers whose campaigns start together do not all send at once, and
    /// stay apart). Returns the window's length, or -1 when the shard has no epoch (it lost its
    /// data: rebuild first, push nothing).
    static let refillScript = RedisScript("""
        if redis.call('EXISTS', KEYS[3]) == 0 then return -1 end
        local inst = ARGV[1]
        local base = ARGV[3] .. ':{i:' .. inst .. '}:'
        redis.call('HSET', base .. 's', 'tenant', ARGV[4])
        for i = 6, #ARGV do redis.call('RPUSH', base .. 'c', ARGV[i]) end
        if redis.call('HEXISTS', base .. 's', 'lease') == 0 and not redis.call('ZSCORE', KEYS[1], inst) then
          local now = tonumber(ARGV[2])
          local nxt = tonumber(redis.call('HGET', base .. 's', 'next') or '-1') or -1
          if nxt < 0 then nxt = now + tonumber(ARGV[5]) end
          if nxt < now then nxt = now end
          if redis.call('LLEN', base .. 'r') + redis.call('LLEN', base .. 'c') > 0 then
            redis.call('ZADD', KEYS[1], nxt, inst)
          end
        end
        return redis.call('LLEN', base .. 'c')
        """)

    /// KEYS: due, leases. ARGV: now ms, key prefix, most. Returns expired leases' messages to the
    /// head of their lanes and makes their numbers due now. Returns how many.
    static let reapScript = RedisScript("""
        local now = tonumber(ARGV[1])
        local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
        for _, inst in ipairs(expired) do
          local base = ARGV[2] .. ':{i:' .. inst .. '}:'
          local s = base .. 's'
          local entry = redis.call('HGET', s, 'lease')
          local lane = redis.call('HGET', s, 'lane')
          if entry and lane then redis.call('LPUSH', base .. lane, entry) end
          redis.call('HDEL', s, 'lease', 'lane', 'token')
          redis.call('ZREM', KEYS[2], inst)
          redis.call('ZADD', KEYS[1], now, inst)
        end
        return #expired
        """)

    // MARK: Operations

    /// Claims up to `limit` messages on a shard (one per due number).
    public func claim(shard: Int, now: Date, lease: Duration, limit: Int, tokenPrefix: String) async throws(RedisError) -> [ClaimedMessage] {
        let reply = try await redis.evaluate(Self.claimScript, onShard: shard, keys: [dueKey, leasesKey], arguments: [
            .int(Self.ms(now)), .int(Int(lease.components.seconds * 1000 + lease.components.attoseconds / 1_000_000_000_000_000)),
            .int(limit), .string(tokenPrefix), .string(prefix),
        ])
        try check(reply, shard)
        return (reply.array ?? []).compactMap { item -> ClaimedMessage? in
            guard let f = item.array, f.count == 7, let inst = f[0].string, let lane = f[1].string.flatMap(Lane.init(rawValue:)),
                  let entry = f[2].string, let token = f[3].string else { return nil }
            let tenant = f[4].string.flatMap { $0.isEmpty ? nil : TenantID(validating: $0) }
            let day = f[5].string.flatMap { $0.isEmpty ? nil : $0 }
            return ClaimedMessage(instanceID: InstanceID(trusted: inst), tenantID: tenant, lane: lane, entry: entry, token: token,
                                  day: day, sentToday: Int(f[6].integer ?? 0), shard: shard)
        }
    }

    /// How a lease ends.
    public struct Ack: Sendable {
        public var message: ClaimedMessage
        /// When the number may send next.
        public var nextDue: Date
        /// Put the message back at the head of its lane (it was not sent).
        public var requeue: Bool
        /// The number's counter for `day` after this message (nil: unchanged).
        public var sentToday: (day: String, count: Int)?
        /// A reply was sent: the number's next campaign send keeps its time (nextDue is a floor).
        public var keepSchedule: Bool
        /// The number waits until nextDue even for replies (it is not connected, or another lease
        /// holds the message).
        public var hold: Bool

        public init(message: ClaimedMessage, nextDue: Date, requeue: Bool, sentToday: (day: String, count: Int)? = nil,
                    keepSchedule: Bool = false, hold: Bool = false) {
            self.message = message
            self.nextDue = nextDue
            self.requeue = requeue
            self.sentToday = sentToday
            self.keepSchedule = keepSchedule
            self.hold = hold
        }
    }

    /// A reply's lane entry.
    public static func replyEntry(_ id: ChatMessageID) -> String { "m:\(id.rawValue)" }

    /// The reply a lane entry names, if it names one.
    public static func replyID(_ entry: String) -> ChatMessageID? {
        guard entry.hasPrefix("m:") else { return nil }
        return ChatMessageID(validating: String(entry.dropFirst(2)))
    }

    /// Queues replies on their numbers' reply lanes (pipelined per shard). Returns how many were
    /// new in their lanes.
    @discardableResult
    public func pushReplies(_ replies: [(instance: InstanceID, tenant: TenantID, id: ChatMessageID)], now: Date) async throws(RedisError) -> Int {
        var added = 0
        for (shard, group) in Dictionary(grouping: replies, by: { shard(of: $0.instance) }) {
            let calls = group.map { item -> (keys: [RedisArgument], arguments: [RedisArgument]) in
                ([dueKey, leasesKey], [.string(item.instance.rawValue), .int(Self.ms(now)), .string(prefix), .string(item.tenant.rawValue),
                                       .string(Self.replyEntry(item.id))])
            }
            for reply in try await redis.evaluatePipelined(Self.pushReplyScript, onShard: shard, calls: calls) {
                try check(reply, shard)
                if reply.integer == 1 { added += 1 }
            }
        }
        return added
    }

    /// Ends leases, pipelined per shard. Returns how many were still held.
    @discardableResult
    public func acknowledge(_ acks: [Ack], now: Date = Date()) async throws(RedisError) -> Int {
        var held = 0
        for (shard, group) in Dictionary(grouping: acks, by: { $0.message.shard }) {
            let calls = group.map { ack -> (keys: [RedisArgument], arguments: [RedisArgument]) in
                ([dueKey, leasesKey], [
                    .string(ack.message.instanceID.rawValue), .string(ack.message.token), .int(Self.ms(ack.nextDue)),
                    .string(ack.requeue ? "1" : "0"), .string(prefix), .string(ack.sentToday?.day ?? ""), .int(ack.sentToday?.count ?? -1),
                    .int(Self.ms(now)), .string(ack.keepSchedule ? "1" : "0"), .string(ack.hold ? "1" : "0"),
                ])
            }
            for reply in try await redis.evaluatePipelined(Self.ackScript, onShard: shard, calls: calls) {
                try check(reply, shard)
                if reply.integer == 1 { held += 1 }
            }
        }
        return held
    }

    /// Appends entries to several numbers' campaign windows, pipelined per shard. A number whose
    /// shard lost its data maps to nil (rebuild first).
    public func refill(_ batch: [(instance: InstanceID, tenant: TenantID, entries: [QueueEntry])], now: Date, spreadMs: Int = 0) async throws(RedisError) -> [InstanceID: Int?] {
        var out: [InstanceID: Int?] = [:]
        for (shard, group) in Dictionary(grouping: batch.filter { !$0.entries.isEmpty }, by: { shard(of: $0.instance) }) {
            let calls = group.map { item -> (keys: [RedisArgument], arguments: [RedisArgument]) in
                ([dueKey, leasesKey, epochKey],
                 [.string(item.instance.rawValue), .int(Self.ms(now)), .string(prefix), .string(item.tenant.rawValue),
                  .int(spreadMs > 0 ? Int.random(in: 0..<spreadMs) : 0)] + item.entries.map { .string($0.text) })
            }
            let replies = try await redis.evaluatePipelined(Self.refillScript, onShard: shard, calls: calls)
            for (item, reply) in zip(group, replies) {
                try check(reply, shard)
                out[item.instance] = reply.integer.flatMap { $0 >= 0 ? Int($0) : nil }
            }
        }
        return out
    }

    /// Makes a queued number due now, so that the next claim decides again with its current
    /// pacing (after a pacing change: a number held until midnight by a cap that was just raised
    /// or a warm-up just turned off would otherwise wait for midnight). A number with nothing
    /// queued is left out (`ZADD XX`); if the rules still hold it, the claim puts it back.
    public func wake(_ instance: InstanceID, now: Date) async throws(RedisError) {
        _ = try await redis.command(onShard: shard(of: instance), ["ZADD", dueKey, "XX", .int(Self.ms(now)), .string(instance.rawValue)])
    }

    /// How much the shard holds now: numbers with something queued, those of them due to send,
    /// and leases held by workers (one pipelined round trip).
    public func depth(shard: Int, now: Date) async throws(RedisError) -> (numbers: Int, due: Int, leases: Int) {
        let replies = try await redis.pipeline(onShard: shard, [
            ["ZCARD", dueKey], ["ZCOUNT", dueKey, "-inf", .int(Self.ms(now))], ["ZCARD", leasesKey],
        ])
        func count(_ index: Int) -> Int { replies.indices.contains(index) ? Int(replies[index].integer ?? 0) : 0 }
        return (count(0), count(1), count(2))
    }

    /// Campaign window lengths of numbers (one pipelined round trip per shard).
    public func windowLengths(_ instances: [InstanceID]) async throws(RedisError) -> [InstanceID: Int] {
        var out: [InstanceID: Int] = [:]
        for (shard, group) in Dictionary(grouping: instances, by: { shard(of: $0) }) {
            let replies = try await redis.pipeline(onShard: shard, group.map { ["LLEN", .string(laneKey($0, .campaign))] })
            for (instance, reply) in zip(group, replies) { out[instance] = Int(reply.integer ?? 0) }
        }
        return out
    }

    /// Returns expired leases to their lanes on a shard.
    @discardableResult
    public func reap(shard: Int, now: Date, limit: Int = 1000) async throws(RedisError) -> Int {
        let reply = try await redis.evaluate(Self.reapScript, onShard: shard, keys: [dueKey, leasesKey],
                                             arguments: [.int(Self.ms(now)), .string(prefix), .int(limit)])
        try check(reply, shard)
        return Int(reply.integer ?? 0)
    }

    /// Whether the shard still has its epoch marker (false: it lost its data).
    public func hasEpoch(shard: Int) async throws(RedisError) -> Bool {
        try await redis.command(onShard: shard, ["EXISTS", epochKey]).integer == 1
    }

    /// Sets the shard's epoch marker after a rebuild (or on first use).
    public func setEpoch(shard: Int, value: String) async throws(RedisError) {
        _ = try await redis.command(onShard: shard, ["SET", epochKey, .string(value), "NX"])
    }

    /// The earliest time any number on the shard may send (nil: none is waiting).
    public func earliestDue(shard: Int) async throws(RedisError) -> Date? {
        let reply = try await redis.command(onShard: shard, ["ZRANGE", dueKey, "0", "0", "WITHSCORES"])
        guard let items = reply.array, items.count == 2, let score = items[1].string.flatMap(Double.init) else { return nil }
        return Date(timeIntervalSince1970: score / 1000)
    }

    /// When a number may send next (its score in the due set), or nil when it is idle or leased.
    public func dueTime(of instance: InstanceID) async throws(RedisError) -> Date? {
        let reply = try await redis.command(onShard: shard(of: instance), ["ZSCORE", dueKey, .string(instance.rawValue)])
        return reply.integer.map { Date(timeIntervalSince1970: Double($0) / 1000) }
            ?? reply.string.flatMap(Double.init).map { Date(timeIntervalSince1970: $0 / 1000) }
    }

    static func ms(_ date: Date) -> Int { Int((date.timeIntervalSince1970 * 1000).rounded(.down)) }

    private func check(_ reply: RedisReply, _ shard: Int) throws(RedisError) {
        if case .error(let message) = reply {
            throw RedisError(.protocolError, shardIndex: shard, endpoint: redis.endpoints[shard], message: "send queue script failed: \(message)")
        }
    }
}
