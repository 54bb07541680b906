import NIOConcurrencyHelpers
import WaqtorCore
import WaqtorInstances
import WaqtorTenants
import WaqtorPostgres

/// Group commit for webhook events that change no connection state: deliveries that arrive while
/// a batch is being written wait and go together in the next one (one transaction per tenant),
/// so PostgreSQL commits (and fsyncs) once per batch instead of once per delivery. No delivery is
/// answered before its batch committed. At most `writers` batches are written at once; a batch
/// holds at most `maxBatch` deliveries.
final class EventBatcher: Sendable {
    private struct Waiting: Sendable {
        var event: PlainEvent
        var continuation: CheckedContinuation<RecordedEvent, any Error>
    }
    private struct State {
        var pending: [Waiting] = []
        var writing = 0
    }
    private let state = NIOLockedValueBox(State())
    private let store: InstanceStore
    private let writers: Int
    private let maxBatch: Int

    init(store: InstanceStore, writers: Int = 4, maxBatch: Int = 256) {
        self.store = store
        self.writers = max(1, writers)
        self.maxBatch = max(1, maxBatch)
    }

    /// Stores one event (with the others of its batch) and returns its outcome.
    func record(_ event: PlainEvent) async throws -> RecordedEvent {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<RecordedEvent, any Error>) in
            let lead = state.withLockedValue { s -> Bool in
                s.pending.append(Waiting(event: event, continuation: continuation))
                guard s.writing < writers else { return false }
                s.writing += 1
                return true
            }
            // The delivery that finds a free writer starts one: it writes batches (this delivery's
            // first) until none is left, then ends. Its deliveries' requests wait for it, so a
            // listener that drains its requests at shutdown waits for it too.
            if lead { Task { await self.drain() } }
        }
    }

    private func drain() async {
        while true {
            let batch = state.withLockedValue { s -> [Waiting] in
                let taken = Array(s.pending.prefix(maxBatch))
                s.pending.removeFirst(taken.count)
                if taken.isEmpty { s.writing -= 1 }
                return taken
            }
            guard !batch.isEmpty else { return }
            for group in Dictionary(grouping: batch, by: \.event.target.tenantID).values {
                await write(group)
            }
        }
    }

    private func write(_ group: [Waiting]) async {
        let tenant = group[0].event.target.tenantID
        do {
            let outcomes = try await store.recordPlainEvents(tenantID: tenant, group.map(\.event))
            for (waiting, outcome) in zip(group, outcomes) { waiting.continuation.resume(returning: outcome) }
        } catch let error as TenantStoreError where error.underlying?.sqlState?.hasPrefix("22") == true && group.count > 1 {
            // One delivery PostgreSQL cannot store (e.g. \u0000 in a string) fails alone.
            for waiting in group { await write([waiting]) }
        } catch {
            for waiting in group { waiting.continuation.resume(throwing: error) }
        }
    }
}

/// Gateway names resolved recently (the instance, its tenant and its secret's hash), kept
/// `lifetime`: a delivery does not cost a database lookup before its secret is checked. A deleted
/// instance or a new secret takes effect within `lifetime` (an event for a deleted instance is
/// then answered 404 by the store). Unknown names are not remembered.
final class TargetCache: Sendable {
    private struct Entry: Sendable {
        var target: WebhookTarget
        var until: ContinuousClock.Instant
    }
    private let entries = NIOLockedValueBox<[String: Entry]>([:])
    private let lifetime: Duration
    private let capacity: Int

    init(lifetime: Duration = .seconds(2), capacity: Int = 10_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    func get(_ name: String) -> WebhookTarget? {
        let now = ContinuousClock.now
        return entries.withLockedValue { e in
            guard let entry = e[name] else { return nil }
            if entry.until < now {
                e[name] = nil
                return nil
            }
            return entry.target
        }
    }

    func put(_ name: String, _ target: WebhookTarget) {
        let until = ContinuousClock.now + lifetime
        entries.withLockedValue { e in
            if e.count >= capacity { e.removeAll(keepingCapacity: true) }
            e[name] = Entry(target: target, until: until)
        }
    }
}
