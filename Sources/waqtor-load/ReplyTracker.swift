import Foundation
import WaqtorProto
import WaqtorRPC

/// Follows one account's chat events (ChatService.Live) and hands each reply's final status to the
/// call waiting for it: the end of send-reply's end-to-end latency.
///
/// A status may arrive before SendTextReply's answer has told the caller the message's id (the
/// worker can send and publish within the same millisecond), so a status nobody waits for yet is
/// kept until its waiter comes (and dropped after a minute).
final class ReplyTracker: @unchecked Sendable {
    /// How a reply ended, as Live told it.
    enum Final: Sendable {
        case sent
        case failed(String)
        case timedOut
    }

    // Invariant for @unchecked Sendable: every mutable field is touched only under `lock`.
    private let lock = NSLock()
    private var waiting: [String: (deadline: UInt64, continuation: CheckedContinuation<Final, Never>)] = [:]
    private var early: [String: (final: Final, at: UInt64)] = [:]
    private var inbound: [String] = []
    private var stream: Task<Void, Never>?
    private var sweeper: Task<Void, Never>?
    private var lastEventID = ""
    private var failures = 0
    private var sentCount = 0

    /// Opens the stream (resumed after the last event if it ends) and the timeout sweeper.
    func start(client: RPCClient, token: String) {
        let chat = Waqtor_V1_ChatServiceClient(client: client)
        var options = CallOptions()  // no deadline: the stream lasts the run
        options.metadata.add(Metadata.Keys.authorization, "Bearer \(token)")
        let streamTask = Task { [self] in
            while !Task.isCancelled {
                var request = Waqtor_V1_LiveRequest()
                request.resumeAfterEventID = lock.withLock { lastEventID }
                do {
                    for try await event in chat.live(request, options: options) { observe(event) }
                    // Ended by the server with END OK: resumed below.
                    if !Task.isCancelled { lock.withLock { cleanEnds += 1 } }
                } catch let error as RPCError where error.code == .unavailable && error.metadata[Metadata.Keys.retryAfterMilliseconds] != nil {
                    // A draining server's end of Live (docs/CHAT.md): resumed below, on the new
                    // connection the client opens after the GOAWAY.
                    lock.withLock { cleanEnds += 1 }
                } catch {
                    if Task.isCancelled { break }
                    lock.withLock { failures += 1 }
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        let sweeperTask = Task { [self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(50))
                expire(now: monotonicNanos())
            }
        }
        lock.withLock {
            stream = streamTask
            sweeper = sweeperTask
        }
    }

    func stop() async {
        let (stream, sweeper) = lock.withLock { (self.stream, self.sweeper) }
        stream?.cancel()
        sweeper?.cancel()
        await stream?.value
        await sweeper?.value
        expire(now: .max)
    }

    /// Times opening or reading the Live stream failed (it is opened again).
    var restarts: Int { lock.withLock { failures } }

    private var cleanEnds = 0
    /// Times the server ended the Live stream itself (END OK, or a draining server's END
    /// UNAVAILABLE with `retry-after-ms`), before the run ended.
    var endsByServer: Int { lock.withLock { cleanEnds } }

    /// Replies waited for that ended SENT (warm-up included).
    var sent: Int { lock.withLock { sentCount } }

    private var acceptedTexts: [String] = []

    /// Notes a reply the server accepted (SendTextReply answered with its message): it must reach
    /// the gateway exactly once, whatever happens to the wait for SENT.
    func accepted(_ text: String) { lock.withLock { acceptedTexts.append(text) } }

    /// The texts of every reply the server accepted (warm-up included).
    var accepted: [String] { lock.withLock { acceptedTexts } }

    /// Waits for message `id`'s final status, at most until `deadline` (monotonic ns).
    func wait(for id: String, deadline: UInt64) async -> Final {
        let final = await withCheckedContinuation { continuation in
            let ready: Final? = lock.withLock {
                if let seen = early.removeValue(forKey: id) { return seen.final }
                waiting[id] = (deadline, continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
        if case .sent = final { lock.withLock { sentCount += 1 } }
        return final
    }

    /// Whether Live has delivered an inbound message with this text (set-up's proof that the stream
    /// is open before anything is measured).
    func sawInbound(_ text: String) -> Bool {
        lock.withLock { inbound.contains(text) }
    }

    private func observe(_ event: Waqtor_V1_LiveResponse) {
        var id = ""
        var final: Final?
        switch event.event {
        case .statusUpdate(let update)?:
            id = update.messageID
            final = Self.final(update.status, error: update.error)
        case .message(let message)?:
            if message.direction == .inbound {
                lock.withLock {
                    inbound.append(message.text)
                    if inbound.count > 100 { inbound.removeFirst(50) }
                }
            } else {
                id = message.id
                final = Self.final(message.status, error: message.error)
            }
        default:
            break
        }
        let now = monotonicNanos()
        let resume: CheckedContinuation<Final, Never>? = lock.withLock {
            if !event.eventID.isEmpty { lastEventID = event.eventID }
            guard let final, !id.isEmpty else { return nil }
            if let waiter = waiting.removeValue(forKey: id) { return waiter.continuation }
            early[id] = (final, now)
            return nil
        }
        if let final { resume?.resume(returning: final) }
    }

    private static func final(_ status: Waqtor_V1_MessageStatus, error: String) -> Final? {
        switch status {
        case .sent, .delivered, .read: .sent
        case .failed: .failed(error)
        default: nil
        }
    }

    private func expire(now: UInt64) {
        let expired: [CheckedContinuation<Final, Never>] = lock.withLock {
            let late = waiting.filter { $0.value.deadline <= now }
            for key in late.keys { waiting.removeValue(forKey: key) }
            early = early.filter { $0.value.at &+ 60_000_000_000 > now }
            return late.values.map(\.continuation)
        }
        for continuation in expired { continuation.resume(returning: .timedOut) }
    }
}
