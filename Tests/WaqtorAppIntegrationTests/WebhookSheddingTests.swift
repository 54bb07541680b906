import Foundation
import Testing
@testable import WaqtorApp
@testable import WaqtorWebhooks
import WaqtorCore
import WaqtorHTTP
import WaqtorInstances
import WaqtorProto
import WaqtorTestSupport

/// Deliveries held after authentication (the processor's `beforeStore`) until ``release()``: the
/// requests stay in flight as long as the test wants, and the test awaits how many arrived.
final class DeliveryHold: @unchecked Sendable {
    // Invariant for @unchecked Sendable: every var is touched only under `lock`.
    private let lock = NSLock()
    private var arrived = 0
    private var released = false
    private var held: [CheckedContinuation<Void, Never>] = []
    private var watchers: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []

    /// Called by each delivery: counts it, then waits for ``release()``.
    func arrive() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            lock.lock()
            arrived += 1
            let ready = watchers.filter { $0.count <= arrived }
            watchers.removeAll { $0.count <= arrived }
            let go = released
            if !go { held.append(continuation) }
            lock.unlock()
            for watcher in ready { watcher.continuation.resume() }
            if go { continuation.resume() }
        }
    }

    /// Returns once `count` deliveries arrived.
    func arrivals(_ count: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            lock.lock()
            if arrived >= count {
                lock.unlock()
                continuation.resume()
            } else {
                watchers.append((count, continuation))
                lock.unlock()
            }
        }
    }

    /// Lets every held delivery (and every later one) go on.
    func release() {
        lock.lock()
        released = true
        let waiting = held
        held = []
        lock.unlock()
        for continuation in waiting { continuation.resume() }
    }

    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return arrived
    }
}

/// Awaits a condition the server reaches on its own (a closed connection seen by its event loop),
/// checking every 10 ms for up to 10 s.
func eventually(_ condition: () -> Bool) async -> Bool {
    for _ in 0..<1000 {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}

/// A webhook listener of its own (real socket, the application's PostgreSQL) whose deliveries
/// wait in `hold` after authentication, with the application's metrics.
func withHeldListener<T>(
    _ h: WebhookHarness, hold: DeliveryHold, _ configuration: WebhookServerConfiguration,
    _ body: (WebhookServer, WebhookHarness) async throws -> T
) async throws -> T {
    let store = h.app.instances
    let processor = WebhookProcessor(
        instances: store, logger: quietLogger, batcher: EventBatcher(store: store), targets: TargetCache(),
        beforeStore: { _ in await hold.arrive() }, metrics: WebhookMetrics(factory: h.app.metrics))
    let server = WebhookServer(configuration: configuration, processor: processor, logger: quietLogger)
    try await server.start()
    do {
        let result = try await body(server, WebhookHarness(app: h.app, http: h.http, port: try #require(server.localPort)))
        hold.release()
        await server.shutdown()
        return result
    } catch {
        hold.release()
        await server.shutdown()
        throw error
    }
}

/// A plain blocking TCP connection to the listener (10 s receive timeout).
final class RawConnection {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw POSIXError(.ECONNREFUSED)
        }
    }

    deinit { close(fd) }

    /// Posts a delivery without a secret (answered 401, the connection kept open) and returns the
    /// answer's status line.
    func post(close: Bool = false) -> String? {
        let connection = close ? "Connection: close\r\n" : ""
        let request = Array("POST /webhooks/evolution/wq-raw HTTP/1.1\r\nHost: 127.0.0.1\r\n\(connection)Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else { return nil }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        // The answer is JSON: it ends with its closing brace.
        while received.last != UInt8(ascii: "}") {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return nil }
            received += chunk[0..<n]
        }
        return String(decoding: received, as: UTF8.self).components(separatedBy: "\r\n").first
    }

    /// Whether the server closed the connection (end of stream or reset) before the timeout.
    func closedByServer() -> Bool {
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, 0)
        return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    }
}

@Suite("Webhook listener sheds load")
struct WebhookSheddingTests {
    @Test("shedding configuration keys: defaults, overrides, the description and bad values")
    func configurationKeys() throws {
        let defaults = try ConfigurationLoader.load(environment: [:])
        #expect(defaults.webhookMaxInFlight == 256 && defaults.webhookRetryAfterSeconds == 2 && defaults.webhookMaxConnections == 10_000)
        let server = WebhookServerConfiguration()
        #expect(server.maxInFlight == 256 && server.retryAfterSeconds == 2 && server.maxConnections == 10_000)
        let set = try ConfigurationLoader.load(
            environment: ["WAQTOR_WEBHOOK_MAX_IN_FLIGHT": "64"],
            overrides: ["webhook.retry_after_seconds=5", "webhook.max_connections=500"])
        #expect(set.webhookMaxInFlight == 64 && set.webhookRetryAfterSeconds == 5 && set.webhookMaxConnections == 500)
        let lines = ConfigurationDescription.lines(set)
        #expect(lines.contains("webhook.max_in_flight = 64"))
        #expect(lines.contains("webhook.retry_after_seconds = 5"))
        #expect(lines.contains("webhook.max_connections = 500"))
        for bad in ["webhook.max_in_flight=0", "webhook.max_in_flight=many", "webhook.retry_after_seconds=0",
                    "webhook.retry_after_seconds=3601", "webhook.max_connections=0"] {
            #expect(throws: ConfigurationError.self, "\(bad)") { try ConfigurationLoader.load(environment: [:], overrides: [bad]) }
        }
    }

    @Test("past webhook.max_in_flight, a delivery gets 503 with Retry-After from its head; every accepted one is stored once released; then 200 again")
    func shedsPastTheBound() async throws {
        try await withWebhooks { h, tenants in
            let account = try await signUp(tenants)
            let tenant = TenantID(trusted: account.tenant.id)
            let inst = try await h.app.instances.create(tenantID: tenant, displayName: "Sales")
            let hold = DeliveryHold()
            try await withHeldListener(h, hold: hold, WebhookServerConfiguration(port: 0, maxInFlight: 3, retryAfterSeconds: 2)) { server, listener in
                // Three deliveries take every place and are held in the pipeline.
                let accepted = (0..<3).map { i in
                    Task { try await listener.post(inst, messageUpsert(inst, id: "3EB0HELD\(i)")) }
                }
                await hold.arrivals(3)
                #expect(server.requestsInFlight == 3)

                // More are refused at once, nothing kept: 503, Retry-After, what to do.
                for i in 0..<4 {
                    let shed = try await listener.post(inst, messageUpsert(inst, id: "3EB0SHED\(i)"))
                    #expect(shed.status == 503)
                    #expect(shed.header("retry-after") == "2")
                    #expect(shed.header("content-type") == "application/json")
                    #expect(shed.bodyString.contains("webhook.max_in_flight") && shed.bodyString.contains("retry after 2 s"), "\(shed.bodyString)")
                    #expect(shed.header("connection")?.lowercased() != "close", "a kept-alive connection stays open")
                }
                // On one connection, shed requests follow each other: the body is dropped, the
                // connection kept (the sender need not reconnect to retry).
                let raw = try RawConnection(port: listener.port)
                #expect(raw.post() == "HTTP/1.1 503 Service Unavailable")
                #expect(raw.post() == "HTTP/1.1 503 Service Unavailable")
                // A sender that asked to close gets its 503 and the close.
                let closing = try RawConnection(port: listener.port)
                #expect(closing.post(close: true) == "HTTP/1.1 503 Service Unavailable")
                #expect(closing.closedByServer())
                #expect(hold.count == 3, "a shed delivery is never authenticated nor parsed")
                #expect(server.requestsInFlight == 3)
                #expect(try await h.app.instances.events(tenantID: tenant, instanceID: inst.instance.id).isEmpty)

                // Released, every accepted delivery is stored and answered 200.
                hold.release()
                for task in accepted {
                    let response = try await task.value
                    #expect(response.status == 200 && response.bodyString.contains("\"duplicate\":false"), "\(response.status) \(response.bodyString)")
                }
                #expect(server.requestsInFlight == 0)
                var events = try await h.app.instances.events(tenantID: tenant, instanceID: inst.instance.id)
                #expect(Set(events.map(\.dedupeKey)) == Set((0..<3).map { "message:3EB0HELD\($0)" }))

                // Drained: new deliveries, and the gateway's retry of a shed one, are accepted.
                for id in ["3EB0SHED0", "3EB0AFTER"] {
                    let response = try await listener.post(inst, messageUpsert(inst, id: id))
                    #expect(response.status == 200 && response.header("retry-after") == nil)
                }
                events = try await h.app.instances.events(tenantID: tenant, instanceID: inst.instance.id)
                #expect(events.count == 5)

                let (_, text) = try await adminGetText(h.app, "/metrics")
                #expect(metricSample(text, "waqtor_webhook_events_total", ["event": "unknown", "outcome": "shed"]) == 7, "four by HTTPClient, three raw")
                #expect(metricSample(text, "waqtor_webhook_events_total", ["event": "messages.upsert", "outcome": "stored"]) == 5)
            }
        }
    }

    @Test("a request that ends without reaching the pipeline (body too large, client gone mid-body) gives its place back")
    func placesComeBack() async throws {
        try await withWebhooks { h, tenants in
            let account = try await signUp(tenants)
            let inst = try await h.app.instances.create(tenantID: TenantID(trusted: account.tenant.id), displayName: "Sales")
            let hold = DeliveryHold()
            hold.release()  // nothing is held here
            try await withHeldListener(h, hold: hold, WebhookServerConfiguration(port: 0, maxBodyBytes: 4096, maxInFlight: 1)) { server, listener in
                let name = inst.instance.gatewayName
                // A chunked body cut off at the limit.
                let large = try await h.http.execute(HTTPRequest(
                    method: "POST", url: "http://127.0.0.1:\(listener.port)/webhooks/evolution/\(name)",
                    headers: [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked"), (webhookSecretHeader, inst.webhookSecret)],
                    body: Array(repeating: UInt8(ascii: " "), count: 64 * 1024), timeout: .seconds(10)))
                #expect(large.status == 413)
                #expect(server.requestsInFlight == 0)
                #expect(try await listener.post(inst, messageUpsert(inst, id: "3EB0PLACE1")).status == 200)
                // Half a body, then the client leaves.
                try await sendTruncatedRequest(port: listener.port, path: "/webhooks/evolution/\(name)", secret: inst.webhookSecret,
                                               body: json(messageUpsert(inst, id: "3EB0GONE")))
                #expect(await eventually { server.requestsInFlight == 0 })
                #expect(try await listener.post(inst, messageUpsert(inst, id: "3EB0PLACE2")).status == 200)
            }
        }
    }

    @Test("past webhook.max_connections, a new connection is closed at once; a place frees when one closes")
    func boundsConnections() async throws {
        try await withWebhooks { h, _ in
            try await withHeldListener(h, hold: DeliveryHold(), WebhookServerConfiguration(port: 0, maxConnections: 2)) { server, listener in
                var first: RawConnection? = try RawConnection(port: listener.port)
                let second = try RawConnection(port: listener.port)
                #expect(first?.post()?.contains(" 401 ") == true)
                #expect(second.post()?.contains(" 401 ") == true)
                #expect(server.openConnections == 2)
                let third = try RawConnection(port: listener.port)
                #expect(third.closedByServer())
                // The two admitted ones still work.
                #expect(second.post()?.contains(" 401 ") == true)
                // One leaves: its place is free again.
                first = nil
                #expect(await eventually { server.openConnections == 1 })
                let fourth = try RawConnection(port: listener.port)
                #expect(fourth.post()?.contains(" 401 ") == true)
                let (_, text) = try await adminGetText(h.app, "/metrics")
                #expect(metricSample(text, "waqtor_webhook_connections_refused_total") == 1)
            }
        }
    }
}
