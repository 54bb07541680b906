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
        /// The gateway machine's zone: envelopes' `date_time` is its wall-clock time written with a
        /// `Z` suffix, as 2.3.6 does. Default America/Sao_Paulo, the official image's zone.
        public var timeZone: TimeZone
        /// The send log (``EvolutionSimulator/sends()``) keeps this many sends, the latest.
        public var maxRecordedSends: Int

        public init(
            host: String = "127.0.0.1", port: Int = 0, apiKey: String = "sim-global-key", connectAfter: Duration? = nil,
            ackInterval: Duration = .milliseconds(5), serverURL: String? = nil,
            timeZone: TimeZone = TimeZone(identifier: "America/Sao_Paulo") ?? TimeZone(secondsFromGMT: -3 * 3600)!,
            maxRecordedSends: Int = 2_000_000
        ) {
            self.host = host
            self.port = port
            self.apiKey = apiKey
            self.connectAfter = connectAfter
            self.ackInterval = ackInterval
            self.serverURL = serverURL
            self.timeZone = timeZone
            self.maxRecordedSends = maxRecordedSends
        }
    }

    public let configuration: Configuration
    /// When the simulator was made: the origin of the times `GET /_sim/sends` reports.
    public let startedAt: ContinuousClock.Instant
    let state: NIOLockedValueBox<SimState>
    let sendLog: NIOLockedValueBox<SimSendLog>
    let webhookState = NIOLockedValueBox(SimWebhookState())
    let channelBox = NIOLockedValueBox<(any Channel)?>(nil)
    /// Accepted connections, closed by ``stop()`` (a stopped gateway answers nothing, also on a
    /// client's kept-alive connection).
    let connections = NIOLockedValueBox<[ObjectIdentifier: any Channel]>([:])
    /// The end of an outage in progress (`POST /_sim/outage`), nil when serving.
    let outageBox = NIOLockedValueBox<Task<Void, Never>?>(nil)
    private let portBox = NIOLockedValueBox(0)
    let http: HTTPClient
    let webhookQueue: AsyncStream<WebhookJob>.Continuation
    private let posterTask: NIOLockedValueBox<Task<Void, Never>?> = NIOLockedValueBox(nil)
    let timers = NIOLockedValueBox<[Task<Void, Never>]>([])

    private init(configuration: Configuration) {
        self.configuration = configuration
        self.startedAt = ContinuousClock.now
        self.state = NIOLockedValueBox(SimState())
        self.sendLog = NIOLockedValueBox(SimSendLog(capacity: configuration.maxRecordedSends))
        self.http = HTTPClient(configuration: HTTPClientConfiguration(timeout: .seconds(10), connectTimeout: .seconds(5), userAgent: "axios/1.7.9"))
        let (stream, continuation) = AsyncStream.makeStream(of: WebhookJob.self)
        self.webhookQueue = continuation
        let http = self.http
        let hooks = self.webhookState
        posterTask.withLockedValue {
            $0 = Task {
                for await job in stream {
                    let delivery = await Self.post(job, http: http)
                    hooks.withLockedValue { $0.deliveries.append(delivery) }
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

    func track(_ channel: any Channel) {
        let key = ObjectIdentifier(channel)
        connections.withLockedValue { $0[key] = channel }
        channel.closeFuture.whenComplete { [connections] _ in connections.withLockedValue { _ = $0.removeValue(forKey: key) } }
    }

    /// Stops listening, closes its connections, drops pending webhooks and timers, and shuts the
    /// webhook client down.
    public func stop() async {
        outageBox.withLockedValue { $0?.cancel(); $0 = nil }
        let channel = channelBox.withLockedValue { value in defer { value = nil }; return value }
        try? await channel?.close()
        for connection in connections.withLockedValue({ Array($0.values) }) { try? await connection.close() }
        webhookQueue.finish()
        for timer in timers.withLockedValue({ $0 }) { timer.cancel() }
        let poster = posterTask.withLockedValue { $0 }
        poster?.cancel()
        await http.shutdown()
    }

    /// Blocks until the process is interrupted (for the executable).
    public func waitUntilClosed() async throws {
        // An outage closes the listener and binds it again: wait for that rather than end.
        while true {
            guard let channel = channelBox.withLockedValue({ $0 }) else { return }
            try await channel.closeFuture.get()
            guard let outage = outageBox.withLockedValue({ $0 }) else { return }
            await outage.value
        }
    }

    // MARK: Inspection

    /// Every request received, oldest first (control routes excluded).
    public var requests: [RecordedRequest] { state.withLockedValue { $0.requests } }

    public func clearRequests() { state.withLockedValue { $0.requests.removeAll() } }

    /// Every message send that reached the send handler (``SimSend``) and was answered, in arrival
    /// order: the latest ``Configuration/maxRecordedSends``. A send whose answer is still being
    /// delayed appears once it is written.
    public func sends() -> [SimSend] { sendLog.withLockedValue { $0.sends() } }

    /// Empties the send log (answers still pending are not logged either).
    public func clearSends() { sendLog.withLockedValue { $0.removeAll() } }

    /// Waits (polling) until at least `count` sends were answered, or `timeout` passes; returns
    /// ``sends()`` either way.
    public func waitForSends(count: Int, timeout: Duration = .seconds(60)) async -> [SimSend] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let settled = sendLog.withLockedValue { $0.settledCount }
            if settled >= count || ContinuousClock.now >= deadline { return sends() }
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Sends in the log, answered or not.
    var loggedSendCount: Int { sendLog.withLockedValue { $0.count } }

    func settleSend(_ sequence: Int, answeredAt: ContinuousClock.Instant, written: Bool) {
        sendLog.withLockedValue { $0.settle(sequence, answeredAt: answeredAt, written: written) }
    }

    /// Every webhook posted so far (and every one dropped, with the error "dropped"), in the order
    /// their posts ended.
    public var deliveries: [WebhookDelivery] { webhookState.withLockedValue { $0.deliveries } }

    /// Waits (polling) until at least `count` webhooks were posted, or `timeout` passes.
    public func waitForDeliveries(count: Int, timeout: Duration = .seconds(60)) async -> [WebhookDelivery] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let current = deliveries
            if current.count >= count || ContinuousClock.now >= deadline { return current }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Waits (polling) until `condition` holds for the webhooks posted (or dropped) so far, or
    /// `timeout` passes; returns them either way. A delivery is recorded once the receiver has
    /// answered, so whatever the receiver did with it is done.
    public func waitForDeliveries(timeout: Duration = .seconds(60), until condition: ([WebhookDelivery]) -> Bool) async -> [WebhookDelivery] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let current = deliveries
            if condition(current) || ContinuousClock.now >= deadline { return current }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Waits until every webhook emitted so far was answered by its receiver (or dropped), or
    /// `timeout` passes; returns whether they all were. What the receiver did with them is done.
    /// The default minute only bounds a wait that would otherwise never end: on a loaded machine a
    /// delivery and its retries have taken over 10 s.
    @discardableResult
    public func waitForAllWebhooks(timeout: Duration = .seconds(60)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while true {
            let (emitted, delivered) = webhookState.withLockedValue { ($0.emitted, $0.deliveries.count) }
            if delivered >= emitted { return true }
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// The instance's state, or nil when it does not exist.
    public func connectionState(of instance: String) -> String? {
        state.withLockedValue { $0.instances[instance]?.state }
    }

    /// The instance's current session: the number it asks pairing codes for (digits; nil: QR
    /// codes only) and its latest pairing code. Nil when the instance does not exist.
    public func pairingSession(of instance: String) -> (number: String?, pairingCode: String?)? {
        state.withLockedValue { state in
            state.instances[instance].map { ($0.pairingNumber, $0.qr?.pairingCode) }
        }
    }

    // MARK: Control (also reachable over HTTP under /_sim/)

    /// Connects an instance now (the QR code was scanned, or the pairing code typed): state
    /// `open`, then `connection.update` `{state: open, wuid, profileName}`. The paired number is
    /// `number`, else the session's pairing number, else the number given at creation, else a
    /// random one.
    @discardableResult
    public func connect(instance: String, number: String? = nil, profileName: String? = nil) -> Bool {
        state.withLockedValue { state in
            guard var record = state.instances[instance] else { return false }
            if let profileName { record.profileName = profileName }
            connectLocked(&record, number: number)
            state.instances[instance] = record
            return true
        }
    }

    /// The socket of an open instance dropped and came back (2.3.6 posts no webhook for a close
    /// it reconnects after): `connection.update` `connecting`, then `open`. The gateway posts
    /// them without waiting for each other, so they can arrive in either order; with
    /// `lateConnecting`, the `connecting` (stamped first) is delivered that much after the `open`.
    @discardableResult
    public func reconnect(instance: String, lateConnecting: Duration = .zero) -> Bool {
        state.withLockedValue { state in
            guard var record = state.instances[instance], record.state == "open" else { return false }
            reconnectLocked(&record, lateConnecting: lateConnecting)
            state.instances[instance] = record
            return true
        }
    }

    /// Webhooks of these events (dotted names; `"*"`: every event) are lost from now on, for one
    /// instance (nil: all instances):
    /// stamped and recorded in ``deliveries`` with the error "dropped", but never posted. An empty
    /// set delivers them again.
    public func dropWebhooks(_ events: Set<String>, instance: String? = nil) {
        webhookState.withLockedValue { $0.droppedEvents[instance ?? "*"] = events.isEmpty ? nil : events }
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
    /// `"no-qr"` (`{"count":0}`), `"error"` (200 with `{"error":true,"message":…}`) or
    /// `"slow-qr"` (a new session's first QR code comes 300 ms after the answer, which holds the
    /// previous cached codes: 2.3.6 answers after a fixed 2 s wait, sometimes before the new code).
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

    /// Posts one webhook and reports how the receiver answered.
    static func post(_ job: WebhookJob, http: HTTPClient) async -> WebhookDelivery {
        var delivery = WebhookDelivery(event: job.event, instance: job.instance, url: job.url, status: nil, error: nil)
        do {
            let response = try await http.execute(HTTPRequest(method: "POST", url: job.url, headers: job.headers, body: job.body))
            delivery.status = response.status
        } catch {
            delivery.error = "\(error)"
        }
        return delivery
    }

    struct WebhookJob: Sendable {
        var event: String
        var instance: String
        var url: String
        var headers: [(name: String, value: String)]
        var body: [UInt8]
        var pauseAfter: Duration
    }

    /// Queues a webhook for the instance when its webhook is enabled and subscribed to the event.
    /// Its `date_time` is stamped now; with `deliverAfter`, it is posted that much later, outside
    /// the queue (so later events can arrive first, as with the gateway's concurrent posts).
    func emit(_ event: String, _ record: SimInstance, _ data: Any?, pauseAfter: Duration = .zero, deliverAfter: Duration = .zero) {
        guard let webhook = record.webhook, webhook.enabled, !webhook.url.isEmpty else { return }
        let upper = event.replacingOccurrences(of: ".", with: "_").uppercased()
        guard webhook.events.isEmpty || webhook.events.contains(upper) else { return }
        let url = webhook.byEvents ? webhook.url + "/" + event.replacingOccurrences(of: ".", with: "-") : webhook.url
        let (stamp, dropped) = webhookState.withLockedValue { hooks -> (Date, Bool) in
            let now = Date()
            hooks.lastStamp = max(now, hooks.lastStamp.addingTimeInterval(0.001))
            hooks.emitted += 1
            return (hooks.lastStamp, hooks.drops(event, instance: record.name))
        }
        let envelope: [String: Any] = [
            "event": event,
            "instance": record.name,
            "data": data ?? NSNull(),
            "destination": url,
            "date_time": SimState.envelopeTime(stamp, zone: configuration.timeZone),
            "sender": record.ownerJid.map { $0 as Any } ?? NSNull(),
            "server_url": serverURL,
            "apikey": record.token,
        ]
        if dropped {
            webhookState.withLockedValue { $0.deliveries.append(WebhookDelivery(event: event, instance: record.name, url: url, status: nil, error: "dropped")) }
            return
        }
        var headers: [(name: String, value: String)] = [("Content-Type", "application/json")]
        for (name, value) in webhook.headers.sorted(by: { $0.key < $1.key }) {
            if name == "jwt_key" {
                headers.append(("Authorization", "Bearer " + WebhookJWT.token(key: value)))
            } else {
                headers.append((name, value))
            }
        }
        let job = WebhookJob(event: event, instance: record.name, url: url, headers: headers, body: SimJSON.encode(envelope), pauseAfter: pauseAfter)
        if deliverAfter > .zero {
            let http = self.http
            let hooks = self.webhookState
            let task = Task {
                try? await Task.sleep(for: deliverAfter)
                guard !Task.isCancelled else { return }
                let delivery = await Self.post(job, http: http)
                hooks.withLockedValue { $0.deliveries.append(delivery) }
            }
            timers.withLockedValue { $0.append(task) }
        } else {
            webhookQueue.yield(job)
        }
    }

    func connectLocked(_ record: inout SimInstance, number: String?) {
        if let number, !number.isEmpty {
            record.pairingNumber = SimState.digits(number)
        }
        let paired = record.pairingNumber ?? record.number ?? "55119" + String(format: "%08d", Int.random(in: 0..<100_000_000))
        record.state = "open"
        record.ownerJid = SimState.jid(paired)
        record.disconnectionReasonCode = nil
        // 2.3.6: {instance, wuid, profileName, profilePictureUrl, state, statusReason}.
        emit("connection.update", record, [
            "instance": record.name, "wuid": record.ownerJid!, "profileName": record.profileName,
            "profilePictureUrl": NSNull(), "state": "open", "statusReason": 200,
        ])
    }

    func reconnectLocked(_ record: inout SimInstance, lateConnecting: Duration = .zero) {
        emit("connection.update", record, ["instance": record.name, "state": "connecting", "statusReason": 200], deliverAfter: lateConnecting)
        connectLocked(&record, number: nil)
    }

    /// A new session on a closed instance (2.3.6 `connectToWhatsapp(number)`): `connecting`, then
    /// a QR code, with a pairing code when the session has a number. Returns the QR code.
    /// With `slowQR`, the first QR code comes that much later and the answer is the previous
    /// cached one (`{"count":n}` if none).
    @discardableResult
    func startSessionLocked(_ record: inout SimInstance, number: String?, slowQR: Duration? = nil) -> [String: Any] {
        record.state = "connecting"
        record.session += 1
        record.pairingNumber = number.map(SimState.digits).flatMap { $0.isEmpty ? nil : $0 }
        emit("connection.update", record, ["instance": record.name, "state": "connecting", "statusReason": 200])
        scheduleConnect(record.name, instanceID: record.id, session: record.session)
        guard let slowQR else { return qrLocked(&record).object }
        let cached = record.qr?.object ?? ["count": record.qrCount]
        let (name, session) = (record.name, record.session)
        let task = Task { [weak self] in
            try? await Task.sleep(for: slowQR)
            guard !Task.isCancelled, let self else { return }
            self.state.withLockedValue { state in
                guard var record = state.instances[name], record.session == session, record.state == "connecting" else { return }
                self.qrLocked(&record)
                state.instances[name] = record
            }
        }
        timers.withLockedValue { $0.append(task) }
        return cached
    }

    /// Issues a QR code (and a pairing code when the session has a number), caches it, and posts
    /// `qrcode.updated`.
    @discardableResult
    func qrLocked(_ record: inout SimInstance) -> SimQR {
        record.qrCount += 1
        let code = "2@" + SimState.hex(40) + "," + SimState.hex(32) + "," + SimState.hex(32) + ",\(record.qrCount)"
        let png = TinyPNG.qrLike(for: code)
        let qr = SimQR(
            code: code, base64: "data:image/png;base64," + Data(png).base64EncodedString(),
            pairingCode: record.pairingNumber == nil ? nil : SimState.pairingCode(), count: record.qrCount)
        record.qr = qr
        emit("qrcode.updated", record, ["qrcode": [
            "instance": record.name, "pairingCode": qr.pairingCode.map { $0 as Any } ?? NSNull(), "code": qr.code, "base64": qr.base64,
        ]])
        return qr
    }

    /// A logged-out close (2.3.6, a close with 401, 402, 403 or 406, including the one its own
    /// logout causes): `status.instance`, `logout.instance` with `data: null`, then
    /// `connection.update` `close`. The session ends; the instance stays closed.
    func closeLocked(_ record: inout SimInstance, statusReason: Int) {
        record.state = "close"
        record.disconnectionReasonCode = statusReason
        record.pairingNumber = nil
        emit("status.instance", record, [
            "instance": record.name, "status": "closed", "disconnectionAt": SimState.timestamp(),
            "disconnectionReasonCode": statusReason,
            "disconnectionObject": "{\"error\":{\"data\":null,\"isBoom\":true,\"isServer\":false,\"output\":{\"statusCode\":\(statusReason)}}}",
        ])
        emit("logout.instance", record, nil)
        emit("connection.update", record, ["instance": record.name, "state": "close", "statusReason": statusReason])
    }

    func scheduleConnect(_ instance: String, instanceID: String, session: Int) {
        guard let after = configuration.connectAfter else { return }
        let task = Task { [weak self] in
            try? await Task.sleep(for: after)
            guard !Task.isCancelled, let self else { return }
            self.state.withLockedValue { state in
                guard var record = state.instances[instance], record.id == instanceID, record.session == session,
                      record.state == "connecting" else { return }
                self.connectLocked(&record, number: nil)
                state.instances[instance] = record
            }
        }
        timers.withLockedValue { $0.append(task) }
    }
}
