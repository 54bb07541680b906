import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import WaqtorChat
import WaqtorCore
import WaqtorSendQueue

/// Turns stored `messages.upsert` and `send.message` webhook events into conversations and
/// messages (docs/CHAT.md, "Inbound"), after the webhook's answer: each round takes the numbers
/// with unprocessed events and projects each in one transaction, in arrival order. Events stay
/// unprocessed until projected, so a restart picks them up again. New messages, unread counts and
/// confirmation replies are published to the live feed; confirmation replies go to their reply
/// lanes. Every `api` and `all` process runs one; several share the numbers (a number is one
/// projector's at a time).
public struct ChatProjector: Service {
    let chat: ChatStore
    let lanes: SendLanes?
    let live: LiveFeed?
    let clock: any WaqtorClock
    let interval: Duration
    let logger: Logger
    let signal: ProjectorSignal
    /// Only these tenants' events (nil: every tenant's).
    let tenants: Set<TenantID>?

    public init(chat: ChatStore, lanes: SendLanes?, live: LiveFeed?, clock: any WaqtorClock, interval: Duration = .milliseconds(100),
                signal: ProjectorSignal = ProjectorSignal(), tenants: Set<TenantID>? = nil, logger: Logger) {
        self.tenants = tenants
        self.chat = chat
        self.lanes = lanes
        self.live = live
        self.clock = clock
        self.interval = interval
        self.signal = signal
        self.logger = logger
    }

    public func run() async throws {
        await Rounds.run(logger: logger, failure: "chat projection failed", pause: { await self.signal.wait(upTo: self.interval) }) {
            try await self.runOnce() > 0
        }
    }

    /// One round: every number with unprocessed message events (up to 64 at once, 4 in
    /// parallel). Returns the events processed.
    @discardableResult
    public func runOnce() async throws -> Int {
        // With tenants given, only theirs are looked at (not every tenant's pending events).
        let pending: [(TenantID, InstanceID)]
        if let tenants { pending = try await chat.pendingInstances(tenants: tenants, limit: 64) } else { pending = try await chat.pendingInstances(limit: 64) }
        guard !pending.isEmpty else { return 0 }
        let total = NIOLockedValueBox(0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            var iterator = pending.makeIterator()
            func next() -> Bool {
                guard let (tenant, instance) = iterator.next() else { return false }
                group.addTask {
                    let result = try await self.chat.project(tenantID: tenant, instanceID: instance)
                    total.withLockedValue { $0 += result.processed }
                    await self.publish(tenant: tenant, result)
                }
                return true
            }
            for _ in 0..<4 where next() {}
            while try await group.next() != nil { _ = next() }
        }
        return total.withLockedValue { $0 }
    }

    func publish(tenant: TenantID, _ result: ProjectionResult) async {
        if let lanes, !result.replies.isEmpty {
            do {
                try await lanes.pushReplies(result.replies.map { (instance: $0.instanceID, tenant: tenant, id: $0.id) }, now: clock.now())
            } catch {
                // The maintainer's sweep pushes them later.
                logger.warning("chat: queuing confirmation replies failed; they are queued on the next sweep", metadata: ["error": "\(error)"])
            }
        }
        guard let live else { return }
        var events: [LiveEvent] = result.newMessages.sorted { ($0.createdAt, $0.seq) < ($1.createdAt, $1.seq) }.map { .message($0) }
        events += result.touchedConversations.map { .read(conversationID: $0.id, instanceID: $0.instanceID, unreadCount: $0.unreadCount) }
        events += result.replies.map { .message($0) }
        do {
            try await live.publish(tenantID: tenant, events)
        } catch {
            logger.notice("chat: publishing to the live feed failed", metadata: ["error": "\(error)"])
        }
    }
}

/// Wakes a projector early (the webhook listener stored a message event in this process).
public final class ProjectorSignal: Sendable {
    private let state = NIOLockedValueBox<(pending: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    public init() {}

    /// Wakes the projector (or makes its next wait return at once).
    public func notify() {
        let waiter = state.withLockedValue { s -> CheckedContinuation<Void, Never>? in
            guard let waiter = s.waiter else {
                s.pending = true
                return nil
            }
            s.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Waits for a notification, at most `timeout`.
    func wait(upTo timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let now = self.state.withLockedValue { s -> Bool in
                        if s.pending {
                            s.pending = false
                            return true
                        }
                        if let old = s.waiter { old.resume() }
                        s.waiter = c
                        return false
                    }
                    if now { c.resume() }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                self.notify()
            }
            await group.next()
            group.cancelAll()
            // The timer's notify after a real wake-up leaves `pending`: one extra round, harmless.
        }
    }
}
