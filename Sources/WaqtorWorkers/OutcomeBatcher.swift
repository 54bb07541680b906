import NIOConcurrencyHelpers
import WaqtorCore
import WaqtorSendQueue

/// Group commit of send outcomes: every send that finishes while a flush is under way waits for
/// the next one, which records all of them in one statement per tenant, then ends their leases in
/// one pipelined round trip per shard. The first caller that finds no flush running leads: it
/// flushes until nothing is waiting (no task of its own); the others return once theirs is done.
final class OutcomeBatcher: Sendable {
    struct Item: Sendable {
        var tenant: TenantID
        var record: SendRecord
        var ack: SendLanes.Ack
    }

    private struct State {
        var pending: [(Item, CheckedContinuation<Bool, Never>)] = []
        var flushing = false
    }

    private let state = NIOLockedValueBox(State())
    private let flush: @Sendable ([Item]) async -> Void

    /// `flush` records and acknowledges a batch; it does not fail (it retries what it must).
    init(flush: @escaping @Sendable ([Item]) async -> Void) {
        self.flush = flush
    }

    /// Returns once the item is recorded and its lease ended.
    func submit(_ item: Item) async {
        let leads = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let leads = state.withLockedValue { s -> Bool in
                if s.flushing {
                    s.pending.append((item, continuation))
                    return false
                }
                s.flushing = true
                return true
            }
            if leads { continuation.resume(returning: true) }
        }
        guard leads else { return }  // a leader flushed it
        var batch = [item]
        var waiters: [CheckedContinuation<Bool, Never>] = []
        while true {
            await flush(batch)
            waiters.forEach { $0.resume(returning: false) }
            let next = state.withLockedValue { s -> [(Item, CheckedContinuation<Bool, Never>)] in
                let taken = s.pending
                s.pending.removeAll()
                if taken.isEmpty { s.flushing = false }
                return taken
            }
            if next.isEmpty { return }
            batch = next.map(\.0)
            waiters = next.map(\.1)
        }
    }
}
