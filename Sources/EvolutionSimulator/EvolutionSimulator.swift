import Foundation
import NIOConcurrencyHelpers
import NIOCore
import WaqtorHTTP

/// A stand-in Evolution API v2 (2.3.6) server: the same routes, shapes, status codes, error
/// envelopes and order of checks, plus control routes under `/_sim/` (docs/EVOLUTION.md).
///
/// It records every request it receives (``requests``), hands out QR codes (a real PNG) and
/// pairing codes, connects instances when told to (``connect(instance:number:)``, or
/// `connectAfter` after a `connect` call), and posts webhooks (through WaqtorHTTP) in order, one
/// at a time, to each instance's webhook URL with its configured headers.
public final class EvolutionSimulator: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        /// 0 = a kernel-chosen port (see ``EvolutionSimulator/port``).
        public var port: Int
        /// The global key (`AUTHENTICATION_API_KEY`).
        public var apiKey: String
        /// When set, an instance connects this long after a `connect` call (or a create with
        /// `qrcode: true`).
        public var connectAfter: Duration?
        /// Pause between the webhooks of one send (`send.message`, SERVER_ACK, DELIVERY_ACK, READ).
        public var ackInterval: Duration
        /// `server_url` in webhook envelopes; default `http://host:port`.
        public var serverURL: String?

        public init(host: String = "127.0.0.1", port: Int = 0, apiKey: String = "sim-global-key", connectAfter: Duration? = nil, ackInterval: Duration = .milliseconds(5), serverURL: String? = nil) {
            self.host = host
            self.port = port
            self.apiKey = apiKey
            self.connectAfter = connectAfter
            self.ackInterval = ackInterval
            self.serverURL = serverURL
        }
    }

    public let configuration: Configuration
    let state: NIOLockedValueBox<SimState>
    private let channelBox = NIOLockedValueBox<(any Channel)?>(nil)
    private let portBox = NIOLockedValueBox(0)
    let http: HTTPClient
    let webhookQueue: AsyncStream<WebhookJob>.Continuation
    private let posterTask: NIOLockedValueBox<Task<Void, Never>?> = NIOLockedValueBox(nil)
    let timers = NIOLockedValueBox<[Task<Void, Never>]>([])

    private init(configuration: Configuration) {
        self.configuration = configuration
        self.state = NIOLockedValueBox(SimState())
        self.http = HTTPClient(configuration: HTTPClientConfiguration(timeout: .seconds(10), connectTimeout: .seconds(5), userAgent: "axios/1.7.9"))
        let (stream, continuation) = AsyncStream.makeStream(of: WebhookJob.self)
        self.webhookQueue = continuation
        let http = self.http
        let state = self.state
        posterTask.withLockedValue {
            $0 = Task {
                for await job in stream {
                    var delivery = WebhookDelivery(event: job.event, instance: job.instance, url: job.url, status: nil, error: nil)
                    do {
                        let response = try await http.execute(HTTPRequest(method: "POST", url: job.url, headers: job.headers, body: job.body))
                        delivery.status = response.status
                    } catch {
                        delivery.error = "\(error)"
                    }
                    state.withLockedValue { $0.deliveries.append(delivery) }
                    if job.pauseAfter > .zero { try? await Task.sleep(for: job.pauseAfter) }
                }
            }
        }
    }

    /// Binds and starts serving.
    public static func start(_ configuration: Configuration = Configuration()) async throws -> EvolutionSimulator {
        let simulator = EvolutionSimulator(configuration: configuration)
        let channel = try await bind(host: configuration.host, port: configuration.port, simulator: simulator)
        simulator.channelBox.withLockedValue { $0 = channel }
        simulator.portBox.withLockedValue { $0 = channel.localAddress?.port ?? configuration.port }
        return simulator
    }

    /// The bound port.
    public var port: Int { portBox.withLockedValue { $0 } }
    /// `http://host:port`.
    public var baseURL: String { "http://\(configuration.host):\(port)" }
    var serverURL: String { configuration.serverURL ?? baseURL }

    /// Stops listening, drops pending webhooks and timers, and shuts the webhook client down.
    public func stop() async {
        let channel = channelBox.withLockedValue { value in defer { value = nil }; return value }
        try? await channel?.close()
        webhookQueue.finish()
        for timer in timers.withLockedValue({ $0 }) { timer.cancel() }
        let poster = posterTask.withLockedValue { $0 }
        poster?.cancel()
        await http.shutdown()
    }

    /// Blocks until the process is interrupted (for the executable).
    public func waitUntilClosed() async throws {
        guard let channel = channelBox.withLockedValue({ $0 }) else { return }
        try await channel.closeFuture.get()
    }

    // MARK: Inspection

    /// Every request received, oldest first (control routes excluded).
    public var requests: [RecordedRequest] { state.withLockedValue { $0.requests } }

    public func clearRequests() { state.withLockedValue { $0.requests.removeAll() } }

    /// Every webhook posted so far, oldest first.
    public var deliveries: [WebhookDelivery] { state.withLockedValue { $0.deliveries } }

    /// Waits (polling) until at least `count` webhooks were posted, or `timeout` passes.
    public func waitForDeliveries(count: Int, timeout: Duration = .seconds(5)) async -> [WebhookDelivery] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let current = deliveries
            if current.count >= count || ContinuousClock.now >= deadline { return current }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// The instance's state, or nil when it does not exist.
    public func connectionState(of instance: String) -> String? {
        state.withLockedValue { $0.instances[instance]?.state }
    }

    // MARK: Control (also reachable over HTTP under /_sim/)

    /// Connects an instance now: state `open`, then `connection.update` (`state: open`).
    @discardableResult
    public func connect(instance: String, number: String? = nil) -> Bool {
        state.withLockedValue { state in
            guard var record = state.instances[instance] else { return false }
            connectLocked(&record, number: number)
            state.instances[instance] = record
            return true
        }
    }

    /// Injects an inbound text: posts `messages.upsert`. Returns the message id.
    @discardableResult
    public func injectInbound(instance: String, from: String, text: String, pushName: String = "Simulated Contact") -> String? {
        state.withLockedValue { state in
            guard let record = state.instances[instance] else { return nil }
            let id = SimState.messageID()
            let data: [String: Any] = [
                "key": ["remoteJid": SimState.jid(from), "fromMe": false, "id": id],
                "pushName": pushName,
                "status": "DELIVERY_ACK",
                "message": ["conversation": text],
                "messageType": "conversation",
                "messageTimestamp": Int(Date().timeIntervalSince1970),
                "instanceId": record.id,
                "source": "android",
            ]
            emit("messages.upsert", record, data)
            return id
        }
    }

    /// A logged-out (or banned) close: `status.instance`, `logout.instance`, then
    /// `connection.update` with `state: close` and `statusReason`; the instance stays closed.
    @discardableResult
    public func injectLoggedOut(instance: String, statusReason: Int = 401) -> Bool {
        state.withLockedValue { state in
            guard var record = state.instances[instance] else { return false }
            closeLocked(&record, statusReason: statusReason)
            state.instances[instance] = record
            return true
        }
    }

    /// Makes the sends of one instance (nil: every instance without its own setting) misbehave.
    public func setSendFailure(_ failure: SendFailure, instance: String? = nil) {
        state.withLockedValue { state in
            if let instance { state.failures[instance] = failure } else { state.defaultFailure = failure }
        }
    }

    /// How `connect` answers while the instance is not open: `"qr"` (a QR code, the default),
    /// `"no-qr"` (`{"count":0}`) or `"error"` (200 with `{"error":true,"message":…}`).
    @discardableResult
    public func setConnectMode(_ mode: String, instance: String) -> Bool {
        state.withLockedValue { state in
            guard state.instances[instance] != nil else { return false }
            state.instances[instance]?.connectMode = mode
            return true
        }
    }

    /// Numbers that are not on WhatsApp (whatsappNumbers says `exists:false`; sends answer 400).
    public func addUnknownNumbers(_ numbers: [String]) {
        state.withLockedValue { state in for number in numbers { state.unknownNumbers.insert(SimState.digits(number)) } }
    }

    // MARK: Internals shared with the routes

    struct WebhookJob: Sendable {
        var event: String
        var instance: String
        var url: String
        var headers: [(name: String, value: String)]
        var body: [UInt8]
        var pauseAfter: Duration
    }

    /// Queues a webhook for the instance when its webhook is enabled and subscribed to the event.
    func emit(_ event: String, _ record: SimInstance, _ data: Any, pauseAfter: Duration = .zero) {
        guard let webhook = record.webhook, webhook.enabled, !webhook.url.isEmpty else { return }
        let upper = event.replacingOccurrences(of: ".", with: "_").uppercased()
        guard webhook.events.isEmpty || webhook.events.contains(upper) else { return }
        let url = webhook.byEvents ? webhook.url + "/" + event.replacingOccurrences(of: ".", with: "-") : webhook.url
        let envelope: [String: Any] = [
            "event": event,
            "instance": record.name,
            "data": data,
            "destination": url,
            "date_time": SimState.timestamp(),
            "sender": record.ownerJid.map { $0 as Any } ?? NSNull(),
            "server_url": serverURL,
            "apikey": record.token,
        ]
        var headers: [(name: String, value: String)] = [("Content-Type", "application/json")]
        for (name, value) in webhook.headers.sorted(by: { $0.key < $1.key }) {
            if name == "jwt_key" {
                headers.append(("Authorization", "Bearer " + WebhookJWT.token(key: value)))
            } else {
                headers.append((name, value))
            }
        }
        webhookQueue.yield(WebhookJob(event: event, instance: record.name, url: url, headers: headers, body: SimJSON.encode(envelope), pauseAfter: pauseAfter))
    }

    func connectLocked(_ record: inout SimInstance, number: String?) {
        if let number, !number.isEmpty { record.number = SimState.digits(number) }
        if record.number == nil { record.number = "55119" + String(format: "%08d", Int.random(in: 0..<100_000_000)) }
        record.state = "open"
        record.ownerJid = SimState.jid(record.number!)
        record.disconnectionReasonCode = nil
        emit("connection.update", record, [
            "instance": record.name, "state": "open", "statusReason": 200,
            "wuid": record.ownerJid!, "profileName": record.profileName,
        ])
    }

    func closeLocked(_ record: inout SimInstance, statusReason: Int) {
        record.state = "close"
        record.disconnectionReasonCode = statusReason
        emit("status.instance", record, [
            "instance": record.name, "status": "closed", "disconnectionAt": SimState.timestamp(),
            "disconnectionReasonCode": statusReason,
        ])
        emit("logout.instance", record, ["instance": record.name, "statusReason": statusReason])
        emit("connection.update", record, ["instance": record.name, "state": "close", "statusReason": statusReason])
    }

    func scheduleConnect(_ instance: String, instanceID: String) {
        guard let after = configuration.connectAfter else { return }
        let task = Task { [weak self] in
            try? await Task.sleep(for: after)
            guard !Task.isCancelled, let self else { return }
            self.state.withLockedValue { state in
                guard var record = state.instances[instance], record.id == instanceID, record.state != "open" else { return }
                self.connectLocked(&record, number: nil)
                state.instances[instance] = record
            }
        }
        timers.withLockedValue { $0.append(task) }
    }
}
