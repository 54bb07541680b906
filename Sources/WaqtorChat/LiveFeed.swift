import CoreMetrics
import Foundation
import NIOConcurrencyHelpers
import WaqtorCore
import WaqtorRedis

/// One event of the live feed (ChatService.Live).
public enum LiveEvent: Sendable, Hashable, Codable {
    /// A new message (inbound, a reply queued, a campaign send, one typed on the phone).
    case message(ChatMessage)
    /// A message's delivery state changed.
    case status(messageID: ChatMessageID, conversationID: ConversationID, instanceID: InstanceID, status: ChatStatus, error: String, at: Date)
    /// A conversation's unread count changed.
    case read(conversationID: ConversationID, instanceID: InstanceID, unreadCount: Int)
    /// A number's connection state changed.
    case instance(instanceID: InstanceID, state: String, reason: String)
    /// A message's media was stored, or failed.
    case media(ChatMessage)

    public var instanceID: InstanceID {
        switch self {
        case .message(let m), .media(let m): m.instanceID
        case .status(_, _, let i, _, _, _), .read(_, let i, _), .instance(let i, _, _): i
        }
    }

    public var conversationID: ConversationID? {
        switch self {
        case .message(let m), .media(let m): m.conversationID
        case .status(_, let c, _, _, _, _), .read(let c, _, _): c
        case .instance: nil
        }
    }
}

/// An event with its id in the feed and the time it was published.
public struct LiveEnvelope: Sendable, Hashable {
    /// The Redis stream entry id (`<ms>-<n>`), usable to resume after it.
    public var id: String
    public var tenantID: TenantID
    public var event: LiveEvent
    public var time: Date
}

/// What a subscriber wants.
public struct LiveFilter: Sendable, Hashable {
    public var tenantID: TenantID
    /// Empty: every number of the tenant.
    public var instances: Set<InstanceID>
    public var conversation: ConversationID?

    public init(tenantID: TenantID, instances: Set<InstanceID> = [], conversation: ConversationID? = nil) {
        self.tenantID = tenantID
        self.instances = instances
        self.conversation = conversation
    }

    func matches(_ envelope: LiveEnvelope) -> Bool {
        guard envelope.tenantID == tenantID else { return false }
        if !instances.isEmpty, !instances.contains(envelope.event.instanceID) { return false }
        if let conversation {
            // A number's state changes concern its conversations too.
            if case .instance = envelope.event { return instances.isEmpty || instances.contains(envelope.event.instanceID) }
            return envelope.event.conversationID == conversation
        }
        return true
    }
}

/// Why a subscription ended.
public enum LiveEnd: Error, Sendable, Hashable {
    /// The subscriber fell more than the buffer behind; `lastDelivered` is the id of the last
    /// event it was given (nil: none).
    case tooSlow(lastDelivered: String?, buffer: Int)
    /// The feed stopped (the server is draining or shutting down).
    case stopped
    /// `resume_after_event_id` is older than what the feed keeps.
    case resumeTooOld(String)
}

/// The live feed: events published to a Redis stream on the tenant's shard (`<prefix>:live`,
/// trimmed to about `retention` entries), read by every server with a blocking XREAD and handed to
/// the subscribers it holds (docs/CHAT.md, "Live feed"). A stream rather than pub/sub: a reader
/// that reconnects goes on from its last id instead of losing what was published meanwhile, and
/// a subscriber can resume from an event id.
public final class LiveFeed: Sendable {
    public let publisher: RedisShards
    /// The readers' own connections (one blocking XREAD per shard).
    let reader: RedisShards
    public let key: String
    public let retention: Int
    public let bufferSize: Int
    let subscribers = NIOLockedValueBox<[ObjectIdentifier: LiveSubscription]>([:])
    let running = NIOLockedValueBox<Task<Void, Never>?>(nil)
    /// `waqtor_live_subscribers` (this server's subscriptions) and `waqtor_live_events_published_total`.
    let subscribersMeter: Meter?
    let publishedCounter: Counter?

    /// - Parameter metrics: where the feed's metrics go (nil: none).
    public init(publisher: RedisShards, reader: RedisShards, prefix: String = "waqtor", retention: Int = 100_000, bufferSize: Int = 1000,
                metrics: (any MetricsFactory)? = nil) {
        self.subscribersMeter = metrics.map { Meter(label: "waqtor_live_subscribers", factory: $0) }
        self.publishedCounter = metrics.map { Counter(label: "waqtor_live_events_published_total", factory: $0) }
        self.publisher = publisher
        self.reader = reader
        self.key = "\(prefix):live"
        self.retention = retention
        self.bufferSize = bufferSize
    }

    /// Subscriptions held by this server.
    public var subscriberCount: Int { subscribers.withLockedValue { $0.count } }

    func shard(of tenant: TenantID) -> Int { publisher.shardIndex(for: "live:\(tenant.rawValue)") }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .millisecondsSince1970
        return e
    }()
    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .millisecondsSince1970
        return d
    }()

    /// Publishes a tenant's events (in order, one round trip). Best effort for the caller: the
    /// history in PostgreSQL is the truth, and a subscriber that misses events catches up there.
    public func publish(tenantID: TenantID, _ events: [LiveEvent]) async throws {
        guard !events.isEmpty else { return }
        let now = Date().timeIntervalSince1970 * 1000
        let commands: [[RedisArgument]] = events.compactMap { event in
            guard let data = try? Self.encoder.encode(event) else { return nil }
            return ["XADD", .string(key), "MAXLEN", "~", .int(retention), "*", "t", .string(tenantID.rawValue),
                    "at", .string(String(Int64(now))), "e", .bytes(Array(data))]
        }
        _ = try await publisher.pipeline(onShard: shard(of: tenantID), commands)
        publishedCounter?.increment(by: commands.count)
    }

    /// Starts reading every shard's stream (from its end), until ``stop()``.
    public func start() {
        running.withLockedValue { task in
            guard task == nil else { return }
            task = Task { [self] in
                await withTaskGroup(of: Void.self) { group in
                    for shard in 0..<reader.shardCount {
                        group.addTask { await self.read(shard: shard) }
                    }
                }
            }
        }
    }

    /// Stops the readers and ends every subscription (``LiveEnd/stopped``).
    public func stop() async {
        let task = running.withLockedValue { task in defer { task = nil }; return task }
        task?.cancel()
        await task?.value
        for subscription in subscribers.withLockedValue({ s in defer { s.removeAll() }; return Array(s.values) }) {
            subscription.finish(.stopped)
        }
    }

    func read(shard: Int) async {
        var last = "$"
        while !Task.isCancelled {
            do {
                if last == "$" {
                    // Start from the newest entry's id, so that a reconnect goes on from there.
                    let reply = try await reader.command(onShard: shard, ["XREVRANGE", .string(key), "+", "-", "COUNT", "1"])
                    last = reply.array?.first?.array?.first?.string ?? "0-0"
                }
                let reply = try await reader.command(onShard: shard, ["XREAD", "COUNT", "1000", "BLOCK", "1000", "STREAMS", .string(key), .string(last)])
                let entries = Self.entries(reply.array?.first?.array?.dropFirst().first)
                if let id = entries.last?.id { last = id }
                if !entries.isEmpty { deliver(entries) }
            } catch {
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    /// Parses XREAD / XRANGE entries.
    static func entries(_ reply: RedisReply?) -> [LiveEnvelope] {
        (reply?.array ?? []).compactMap { entry -> LiveEnvelope? in
            guard let parts = entry.array, parts.count == 2, let id = parts[0].string, let fields = parts[1].array else { return nil }
            var tenant: String?, body: [UInt8]?, at: Double?
            var index = 0
            while index + 1 < fields.count {
                switch fields[index].string {
                case "t": tenant = fields[index + 1].string
                case "e": body = fields[index + 1].bytes
                case "at": at = fields[index + 1].string.flatMap(Double.init)
                default: break
                }
                index += 2
            }
            guard let tenant, let body, let event = try? decoder.decode(LiveEvent.self, from: Data(body)) else { return nil }
            return LiveEnvelope(id: id, tenantID: TenantID(trusted: tenant), event: event, time: Date(timeIntervalSince1970: (at ?? 0) / 1000))
        }
    }

    func deliver(_ entries: [LiveEnvelope]) {
        let all = subscribers.withLockedValue { Array($0.values) }
        for subscription in all {
            for entry in entries where subscription.filter.matches(entry) { subscription.offer(entry) }
        }
    }

    /// Subscribes; with `resumeAfter`, the tenant's events after that id are given first. Throws
    /// ``LiveEnd/resumeTooOld(_:)`` when the feed no longer keeps them.
    public func subscribe(_ filter: LiveFilter, resumeAfter: String? = nil) async throws -> LiveSubscription {
        let subscription = LiveSubscription(filter: filter, capacity: bufferSize) { [weak self] id in
            guard let self else { return }
            if subscribers.withLockedValue({ $0.removeValue(forKey: id) }) != nil { subscribersMeter?.decrement() }
        }
        subscribers.withLockedValue { $0[ObjectIdentifier(subscription)] = subscription }
        subscribersMeter?.increment()
        guard let resumeAfter else { return subscription }
        guard Self.isStreamID(resumeAfter) else {
            subscription.cancel()
            throw LiveEnd.resumeTooOld(resumeAfter)
        }
        do {
            let shard = shard(of: filter.tenantID)
            let oldest = try await publisher.command(onShard: shard, ["XRANGE", .string(key), "-", "+", "COUNT", "1"])
            if let first = Self.entries(oldest).first?.id, Self.compare(first, resumeAfter) > 0 {
                // Entries after the resume point may have been trimmed (the oldest kept is newer).
                subscription.cancel()
                throw LiveEnd.resumeTooOld(resumeAfter)
            }
            var cursor = resumeAfter
            var replay: [LiveEnvelope] = []
            while true {
                let reply = try await publisher.command(onShard: shard, ["XRANGE", .string(key), .string("(" + cursor), "+", "COUNT", "1000"])
                let entries = Self.entries(reply)
                guard let last = entries.last else { break }
                replay += entries.filter(filter.matches)
                cursor = last.id
                if replay.count > 10 * bufferSize {
                    // Too far behind to replay: history is the way to catch up.
                    subscription.cancel()
                    throw LiveEnd.resumeTooOld(resumeAfter)
                }
            }
            subscription.prepend(replay)
        } catch let end as LiveEnd {
            throw end
        } catch {
            subscription.cancel()
            throw error
        }
        return subscription
    }

    static func isStreamID(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        return parts.count == 2 && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) && $0.count <= 20 }
    }

    /// Orders stream ids.
    static func compare(_ a: String, _ b: String) -> Int {
        let x = a.split(separator: "-").map { UInt64($0) ?? 0 }, y = b.split(separator: "-").map { UInt64($0) ?? 0 }
        for (p, q) in zip(x, y) where p != q { return p < q ? -1 : 1 }
        return 0
    }
}

/// One subscriber's bounded buffer of events.
public final class LiveSubscription: Sendable {
    public let filter: LiveFilter
    let capacity: Int
    let onEnd: @Sendable (ObjectIdentifier) -> Void

    struct State {
        var buffer: [LiveEnvelope] = []
        var head = 0
        var ended: LiveEnd?
        var lastDelivered: String?
        /// The newest id given by a replay: live copies up to it are dropped.
        var replayedUpTo: String?
        /// Room for a replay on top of the buffer's capacity.
        var extra = 0
        var waiter: CheckedContinuation<Void, Never>?
    }
    let state = NIOLockedValueBox(State())

    init(filter: LiveFilter, capacity: Int, onEnd: @escaping @Sendable (ObjectIdentifier) -> Void) {
        self.filter = filter
        self.capacity = max(1, capacity)
        self.onEnd = onEnd
    }

    func offer(_ envelope: LiveEnvelope) {
        let (waiter, overflowed) = state.withLockedValue { s -> (CheckedContinuation<Void, Never>?, Bool) in
            guard s.ended == nil else { return (nil, false) }
            if let replayed = s.replayedUpTo, LiveFeed.compare(envelope.id, replayed) <= 0 { return (nil, false) }
            if s.buffer.count - s.head >= capacity + s.extra {
                s.ended = .tooSlow(lastDelivered: s.lastDelivered, buffer: capacity)
                s.buffer.removeAll()
                s.head = 0
                defer { s.waiter = nil }
                return (s.waiter, true)
            }
            s.buffer.append(envelope)
            defer { s.waiter = nil }
            return (s.waiter, false)
        }
        waiter?.resume()
        if overflowed { onEnd(ObjectIdentifier(self)) }
    }

    func prepend(_ replay: [LiveEnvelope]) {
        let waiter = state.withLockedValue { s -> CheckedContinuation<Void, Never>? in
            let live = s.buffer[s.head...].filter { e in replay.last.map { LiveFeed.compare(e.id, $0.id) > 0 } ?? true }
            s.buffer = replay + live
            s.head = 0
            s.replayedUpTo = replay.last?.id
            s.extra = replay.count
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume()
    }

    func finish(_ end: LiveEnd) {
        let waiter = state.withLockedValue { s -> CheckedContinuation<Void, Never>? in
            if s.ended == nil { s.ended = end }
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume()
    }

    /// Whether the subscription has ended (it may still hold events to give before a stop).
    public var hasEnded: Bool { state.withLockedValue { $0.ended != nil } }

    /// Ends the subscription (the caller went away).
    public func cancel() {
        finish(.stopped)
        onEnd(ObjectIdentifier(self))
    }

    /// The next event; throws ``LiveEnd`` when the subscription ended (the events buffered before
    /// a stop are given first; an overflow ends it at once).
    public func next() async throws -> LiveEnvelope {
        while true {
            let outcome = state.withLockedValue { s -> Result<LiveEnvelope, LiveEnd>? in
                if case .tooSlow = s.ended { return .failure(s.ended!) }
                if s.head < s.buffer.count {
                    let e = s.buffer[s.head]
                    s.head += 1
                    if s.head > 256, s.head * 2 > s.buffer.count {
                        s.buffer.removeFirst(s.head)
                        s.head = 0
                    }
                    s.lastDelivered = e.id
                    return .success(e)
                }
                if let ended = s.ended { return .failure(ended) }
                return nil
            }
            switch outcome {
            case .success(let e)?: return e
            case .failure(let end)?: throw end
            case nil:
                try Task.checkCancellation()
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                        let resumeNow = state.withLockedValue { s -> Bool in
                            if s.head < s.buffer.count || s.ended != nil { return true }
                            s.waiter = c
                            return false
                        }
                        if resumeNow { c.resume() }
                    }
                } onCancel: {
                    self.finish(.stopped)
                }
            }
        }
    }
}
