import CoreMetrics
import WaqtorMetrics

/// The webhook listener's metrics:
/// - `waqtor_webhook_events_total{event, outcome}`: deliveries by event (the gateway's names;
///   `unknown` before the body is read, `other` for a name outside the documented set, so that a
///   caller cannot grow the label set) and outcome (`stored`, `duplicate`, `unauthorized`,
///   `bad_request`, `instance_gone`, `unavailable`, and `shed`: answered 503 from the head, body
///   unread, because `webhook.max_in_flight` requests were in flight; always with event `unknown`);
/// - `waqtor_webhook_request_seconds`: from the body read to the answer (storing included; shed
///   requests are not timed);
/// - `waqtor_webhook_connections_refused_total`: connections closed as soon as accepted because
///   `webhook.max_connections` were open.
final class WebhookMetrics: Sendable {
    /// Evolution API 2.3.6's webhook events.
    static let events: Set<String> = [
        "application.startup", "qrcode.updated", "connection.update", "messages.set", "messages.upsert", "messages.edited",
        "messages.update", "messages.delete", "send.message", "contacts.set", "contacts.upsert", "contacts.update",
        "presence.update", "chats.set", "chats.upsert", "chats.update", "chats.delete", "groups.upsert", "group.update",
        "group-participants.update", "call", "typebot.start", "typebot.change-status", "labels.edit", "labels.association",
        "logout.instance", "remove.instance", "status.instance", "instance.create", "instance.delete",
    ]

    let duration: Timer
    private let events: CounterFamily
    private let refusedConnections: Counter

    init(factory: any MetricsFactory) {
        duration = Timer(label: "waqtor_webhook_request_seconds", factory: factory)
        events = CounterFamily(label: "waqtor_webhook_events_total", factory: factory)
        refusedConnections = Counter(label: "waqtor_webhook_connections_refused_total", factory: factory)
    }

    /// A request answered 503 from its head (the bound on requests in flight).
    func recordShed() {
        events.increment([("event", "unknown"), ("outcome", "shed")])
    }

    /// A connection closed as soon as accepted (the bound on connections).
    func recordRefusedConnection() {
        refusedConnections.increment()
    }

    func record(event: String?, outcome: String, since started: ContinuousClock.Instant) {
        duration.record(since: started)
        let name = event.map { Self.events.contains($0) ? $0 : "other" } ?? "unknown"
        events.increment([("event", name), ("outcome", outcome)])
    }
}
