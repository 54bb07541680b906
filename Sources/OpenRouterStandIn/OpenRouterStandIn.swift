import NIOConcurrencyHelpers
import NIOCore

/// A stand-in OpenRouter server: `POST /api/v1/chat/completions` and `GET /api/v1/models` in
/// OpenRouter's shapes (error envelopes, blank padding, `usage` with `cost`, dated answered model
/// ids, server-side fallback through `models`), with deterministic drafts built from our drafting
/// prompt, and fault injection (also over HTTP under `/_sim/`) so clients can be tested against the
/// failures the real service produces, without a network or a key.
public final class OpenRouterStandIn: Sendable {
    let configuration: Configuration
    /// The catalogue by id (ids are unique; a later duplicate in the configuration is ignored).
    let catalogue: [String: Model]
    let state: NIOLockedValueBox<StandInState>
    private let listener = NIOLockedValueBox<(any Channel)?>(nil)
    /// Accepted connections, closed by ``stop()`` so a stopped server answers nothing, also on a
    /// client's kept-alive connection.
    private let connections = NIOLockedValueBox<[ObjectIdentifier: any Channel]>([:])
    private let portBox = NIOLockedValueBox(0)

    private init(configuration: Configuration) {
        self.configuration = configuration
        var catalogue: [String: Model] = [:]
        for model in configuration.models where catalogue[model.id] == nil { catalogue[model.id] = model }
        self.catalogue = catalogue
        self.state = NIOLockedValueBox(StandInState())
    }

    /// Binds and starts serving; throws when the address cannot be bound.
    public static func start(_ configuration: Configuration = .init()) async throws -> OpenRouterStandIn {
        let standIn = OpenRouterStandIn(configuration: configuration)
        let channel = try await bind(host: configuration.host, port: configuration.port, standIn: standIn)
        standIn.listener.withLockedValue { $0 = channel }
        standIn.portBox.withLockedValue { $0 = channel.localAddress?.port ?? configuration.port }
        return standIn
    }

    /// The bound port (the kernel's choice when the configuration said 0).
    public var port: Int { portBox.withLockedValue { $0 } }

    /// `http://host:port/api/v1`: what a client takes as OpenRouter's base URL (it appends
    /// `/chat/completions`).
    public var baseURL: String {
        let host = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
        return "http://\(host):\(port)/api/v1"
    }

    func track(_ channel: any Channel) {
        let key = ObjectIdentifier(channel)
        connections.withLockedValue { $0[key] = channel }
        channel.closeFuture.whenComplete { [connections] _ in connections.withLockedValue { _ = $0.removeValue(forKey: key) } }
    }

    /// Stops listening and closes every open connection (answers still delayed are then dropped).
    public func stop() async {
        let channel = listener.withLockedValue { value in defer { value = nil }; return value }
        try? await channel?.close()
        for connection in connections.withLockedValue({ Array($0.values) }) { try? await connection.close() }
    }

    /// Suspends until the listener closes (for the executable, which serves until killed).
    public func waitUntilClosed() async throws {
        guard let channel = listener.withLockedValue({ $0 }) else { return }
        try await channel.closeFuture.get()
    }

    // MARK: Control (also reachable over HTTP under /_sim/)

    /// Requests received on /api/v1/* (not the control routes), oldest first.
    public func requests() -> [RecordedRequest] { state.withLockedValue { $0.requests } }

    /// Forgets the recorded requests.
    public func clearRequests() { state.withLockedValue { $0.requests.removeAll() } }

    /// Queues faults; each chat-completions request takes the next one (FIFO), then normal answers resume.
    public func inject(_ faults: [Fault]) { state.withLockedValue { $0.faults.append(contentsOf: faults) } }

    /// Marks a model as having no available endpoint (or available again): requests skip it, falling
    /// back to the next of `models`, or answer 503 when none remains.
    public func setUnavailable(_ modelID: String, _ unavailable: Bool) {
        state.withLockedValue { state in
            if unavailable { state.unavailable.insert(modelID) } else { state.unavailable.remove(modelID) }
        }
    }

    /// Clears queued faults, recorded requests and unavailable models: a fresh stand-in for the next test.
    public func reset() {
        state.withLockedValue { state in
            state.faults.removeAll()
            state.requests.removeAll()
            state.unavailable.removeAll()
        }
    }
}
