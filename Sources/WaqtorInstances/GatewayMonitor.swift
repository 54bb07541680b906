import Foundation
import Logging
import Synchronization
import WaqtorCore
import WaqtorEvolution

/// What this server knows about reaching the Evolution API gateway: a pure value, changed by what
/// the server hears (``answered(at:)``) or does not hear (``failed(startedAt:at:error:)``) from it.
///
/// Instance states are kept current by the gateway's webhooks; while the gateway cannot be reached
/// no webhook comes, and the stored states are shown as stale (`Instance.state_stale`).
public struct GatewayReachability: Sendable, Equatable {
    public enum State: String, Sendable, Equatable {
        /// Nothing heard yet (before the first probe has ended).
        case unknown
        /// The gateway answered last.
        case reachable
        /// The gateway did not answer (no connection, no answer in time, a proxy's 502/503/504).
        case unreachable
    }

    /// Reachable or not.
    public private(set) var state: State = .unknown
    /// Since when ``state`` holds (nil while unknown): the first answer after a failure, or the
    /// first failure after an answer.
    public private(set) var since: Date?
    /// When the gateway last answered (nil until it has).
    public private(set) var lastAnswered: Date?
    /// The last failure (log-safe: the transport error or the gateway's status, never the API
    /// key), kept after the gateway comes back, for the record.
    public private(set) var lastError: String?
    /// When ``lastError`` happened.
    public private(set) var lastFailed: Date?
    /// How long the last probe took (nil before the first one ended).
    public var lastProbeDuration: Duration?

    public init() {}

    /// True while the gateway cannot be reached: stored instance states may be out of date.
    public var isUnreachable: Bool { state == .unreachable }

    /// The gateway answered at `time`. Returns true when the state changed.
    @discardableResult
    public mutating func answered(at time: Date) -> Bool {
        if lastAnswered.map({ $0 < time }) ?? true { lastAnswered = time }
        guard state != .reachable else { return false }
        state = .reachable
        since = time
        return true
    }

    /// A call that started at `startedAt` got no answer by `time`. Calls overlap: when the gateway
    /// answered another call after this one started, it is up (that call was only slow), and the
    /// state stays. Returns true when the state changed.
    @discardableResult
    public mutating func failed(startedAt: Date, at time: Date, error: String) -> Bool {
        if let lastAnswered, lastAnswered >= startedAt { return false }
        lastError = error
        lastFailed = time
        guard state != .unreachable else { return false }
        state = .unreachable
        since = time
        return true
    }
}

/// Watches the gateway from an `api` process: `GET /` (Evolution API's welcome; no key needed) at
/// start and then every `interval`, each with a short timeout, plus what the process's own
/// gateway calls learn (``record(_:after:)``: any HTTP answer means reachable, a failed connection
/// or a timeout unreachable). Nothing waits for it: readers take the last known
/// ``GatewayReachability`` (``current``), which costs a lock.
///
/// The probe runs in its own task, started by ``start()`` and ended by ``stop()``; libcurl's work
/// happens on WaqtorHTTP's thread. Times come from the injected clock; the wait between probes is
/// real time (it paces I/O, it is no rule of the product).
public final class GatewayMonitor: Sendable {
    /// Where the measurements go (the root makes metrics of them).
    public struct Hooks: Sendable {
        /// The reachability after every outcome heard while running.
        public var state: @Sendable (GatewayReachability) -> Void
        /// One probe's duration and whether the gateway answered it.
        public var probed: @Sendable (_ duration: Duration, _ answered: Bool) -> Void

        public init(
            state: @escaping @Sendable (GatewayReachability) -> Void = { _ in },
            probed: @escaping @Sendable (_ duration: Duration, _ answered: Bool) -> Void = { _, _ in }
        ) {
            self.state = state
            self.probed = probed
        }
    }

    /// The longest one probe waits for an answer.
    public static let probeTimeout: Duration = .seconds(2)

    /// The gateway's base URL (for the operator's details; holds no key).
    public let address: String
    /// Time between the end of one probe and the start of the next.
    public let interval: Duration
    private let client: EvolutionClient
    private let clock: any WaqtorClock
    private let logger: Logger
    private let hooks: Hooks
    private let status = Mutex(GatewayReachability())
    private let task = Mutex<Task<Void, Never>?>(nil)

    /// `gateway` is the client whose base URL and key the probe uses (with ``probeTimeout``).
    public init(gateway: EvolutionClient, interval: Duration, clock: any WaqtorClock = SystemClock(),
                logger: Logger = Logger(label: "waqtor.gateway"), hooks: Hooks = Hooks()) {
        client = EvolutionClient(baseURL: gateway.baseURL, apiKey: gateway.apiKey, http: gateway.http,
                                 timeout: min(Self.probeTimeout, gateway.timeout))
        address = gateway.baseURL
        self.interval = interval
        self.clock = clock
        self.logger = logger
        self.hooks = hooks
    }

    /// The last known reachability.
    public var current: GatewayReachability { status.withLock { $0 } }

    /// Whether the probe task runs (outcomes are heard only then).
    public var isRunning: Bool { task.withLock { $0 != nil } }

    /// Starts probing: the first probe at once, then one every ``interval``. Returns at once.
    public func start() {
        task.withLock { task in
            guard task == nil else { return }
            task = Task { [self] in
                while !Task.isCancelled {
                    await probe()
                    try? await Task.sleep(for: interval)
                }
            }
        }
    }

    /// Stops probing and waits for the probe task to end (a probe in flight is cancelled).
    public func stop() async {
        let running = task.withLock { task in
            defer { task = nil }
            return task
        }
        running?.cancel()
        await running?.value
    }

    /// One probe: `GET /`. Any HTTP answer but a proxy's 502, 503 or 504 is an answer (a 401
    /// would still be the gateway speaking).
    public func probe() async {
        let startedAt = clock.now()
        let started = ContinuousClock.now
        var failure: EvolutionError?
        do throws(EvolutionError) {
            try await client.welcome()
        } catch {
            if error.kind == .transport, Task.isCancelled { return }
            if error.status == nil || Self.isProxyDown(error.status) { failure = error }
        }
        let elapsed = ContinuousClock.now - started
        hooks.probed(elapsed, failure == nil)
        status.withLock { $0.lastProbeDuration = elapsed }
        apply(failure, startedAt: startedAt)
    }

    /// What one of the process's own gateway calls learned (``EvolutionClient/reachability``);
    /// `duration` is how long the call took. Ignored while the monitor is not running.
    public func record(_ outcome: EvolutionReachability, after duration: Duration) {
        guard isRunning else { return }
        let now = clock.now()
        switch outcome {
        case .answered:
            apply(nil, startedAt: now)
        case .unreachable(let error):
            apply(error, startedAt: now.addingTimeInterval(-duration.timeInterval))
        }
    }

    /// 502, 503 and 504: a proxy in front of the gateway answering that the gateway is down.
    static func isProxyDown(_ status: Int?) -> Bool {
        guard let status else { return false }
        return (502...504).contains(status)
    }

    /// A log-safe text of a failure: the kind and status, and the transport error's words (libcurl's
    /// message names the host, never a header).
    static func describe(_ error: EvolutionError) -> String {
        switch error.kind {
        case .timeout: "no answer in time"
        case .transport: error.body.isEmpty ? "no connection" : String(error.body.prefix(300))
        default: "HTTP \(error.status.map(String.init) ?? "?")"
        }
    }

    private func apply(_ failure: EvolutionError?, startedAt: Date) {
        let now = clock.now()
        let (changed, after, before) = status.withLock { status -> (Bool, GatewayReachability, GatewayReachability) in
            let before = status
            let changed = failure.map { status.failed(startedAt: startedAt, at: now, error: Self.describe($0)) }
                ?? status.answered(at: now)
            return (changed, status, before)
        }
        hooks.state(after)
        guard changed else { return }
        switch after.state {
        case .unreachable:
            logger.warning("WhatsApp gateway unreachable: instance states are shown as stale (state_stale) and campaign sends wait until it answers", metadata: [
                "gateway": .string(address), "error": .string(after.lastError ?? ""),
            ])
        case .reachable where before.state == .unreachable:
            var metadata: Logger.Metadata = ["gateway": .string(address)]
            if let since = before.since { metadata["unreachable_seconds"] = .stringConvertible(Int(now.timeIntervalSince(since).rounded())) }
            logger.notice("WhatsApp gateway reachable again", metadata: metadata)
        case .reachable:
            logger.info("WhatsApp gateway reachable", metadata: ["gateway": .string(address)])
        case .unknown:
            break
        }
    }
}
