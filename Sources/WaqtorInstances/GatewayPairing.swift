import Foundation
import Logging
import WaqtorCore
import WaqtorEvolution

/// Codes to pair one instance's number, from an Evolution API 2.3.6 gateway, always for the
/// number asked; and WaQtor's own logouts.
///
/// How 2.3.6 answers `GET /instance/connect/{i}?number=` (`InstanceController.connectToWhatsapp`):
/// - **close**: starts a session for `number` (`connectToWhatsapp(number)`: with a number, each QR
///   code comes with a pairing code for it), waits 2 s and answers the session's cached codes.
///   Those may still be an earlier session's: the new QR code replaces them when it comes, and with
///   a number only after its pairing code was asked for (a second later).
/// - **connecting**: the cached codes, whatever `number` is given now.
/// - **open**: the state.
///
/// So a pairing code for another number than the pending session's (or after a QR code only) needs
/// a new session: the pending one is logged out (`DELETE /instance/logout`, which 2.3.6 accepts
/// while connecting; `restart` would reconnect with the old number), and once the gateway reports
/// `close`, connect is called with the new number. Codes known from before (the pending session's,
/// the last `qrcode.updated` stored) are not handed out again: the gateway is asked again until
/// its answer is new.
public struct GatewayPairing {
    let gateway: EvolutionClient
    let store: InstanceStore
    let instance: Instance
    let logger: Logger
    let clock: any WaqtorClock
    /// Between two looks at the gateway while waiting for it.
    var pollInterval: Duration = .milliseconds(200)
    /// How long to wait for a logout to take effect, or for new codes.
    var patience: Duration = .seconds(6)

    public init(gateway: EvolutionClient, store: InstanceStore, instance: Instance, logger: Logger, clock: any WaqtorClock = SystemClock()) {
        self.gateway = gateway
        self.store = store
        self.instance = instance
        self.logger = logger
        self.clock = clock
    }

    public enum Outcome: Sendable {
        /// The gateway answered a state (open: paired already, no code).
        case state(EvolutionConnectionState)
        /// Codes for the number asked (a pairing code only when a number was asked).
        case codes(EvolutionQRCode)
    }

    private var name: String { instance.gatewayName }

    /// Codes for `digits` (nil: a QR code only).
    public func codes(for digits: String?) async throws -> Outcome {
        let action = "get a QR code"
        let live = try await call(action) { () async throws(EvolutionError) in try await gateway.connectionState(instance: name) }
        var stale: Set<String> = []
        switch live {
        case .open:
            return .state(.open)
        case .connecting:
            if instance.paired {
                throw DomainFailure(
                    .failedPrecondition,
                    "cannot \(action): the number is paired and reconnecting, no code is needed; log it out first to pair another number")
            }
            if digits == nil || digits == instance.pairingNumber {
                // The pending session shows the codes asked for (its pairing code is dropped when
                // none was asked).
                let outcome = try await fresh(try await connect(digits, action: action), digits: digits, stale: [], action: action)
                if case .codes = outcome {
                    _ = try await store.updateConnection(tenantID: instance.tenantID, id: instance.id, .observed(.connecting))
                }
                return outcome
            }
            // Another number's session, or a QR code only: end it, then start one for this number.
            if case .qrCode(let cached)? = try? await gateway.connect(instance: name), let code = cached.code { stale.insert(code) }
            try await logOut(action: "get a pairing code for another number")
            try await waitUntilClosed(action: action)
        default:
            break
        }
        // 2.3.6 never clears its cached codes: the last ones seen are not the new session's.
        if let code = try await store.latestQRCode(tenantID: instance.tenantID, instanceID: instance.id) { stale.insert(code) }
        let first = try await connect(digits, action: action)
        if case .qrCode = first {
            _ = try await store.updateConnection(tenantID: instance.tenantID, id: instance.id, .pairingStarted(number: digits))
        }
        return try await fresh(first, digits: digits, stale: stale, action: action)
    }

    /// Logs the number out at WaQtor's request. Marked first: the gateway answers a logout with the
    /// same logged-out (401) close events as a ban, possibly before its HTTP answer; marked, they
    /// close the number instead of flagging it for re-pairing.
    public func logOut(action: String) async throws {
        let before = instance.logoutRequested
        _ = try await store.updateConnection(tenantID: instance.tenantID, id: instance.id, .logoutRequested(true))
        do {
            _ = try await gateway.logout(instance: name)
        } catch {
            // 400: 2.3.6 refuses to log out an instance that is closed, i.e. out already.
            if case .badRequest = error.kind {} else {
                _ = try? await store.updateConnection(tenantID: instance.tenantID, id: instance.id, .logoutRequested(before))
                throw GatewayFailure.logged(error, action: action, instance: instance, logger: logger)
            }
        }
        _ = try await store.updateConnection(tenantID: instance.tenantID, id: instance.id, .loggedOutOnRequest)
    }

    /// 2.3.6 answers a logout before the socket has closed; connect only starts a new session on a
    /// closed instance.
    private func waitUntilClosed(action: String) async throws {
        let deadline = clock.now().addingTimeInterval(patience.timeInterval)
        while true {
            let state = try await call(action) { () async throws(EvolutionError) in try await gateway.connectionState(instance: name) }
            if state == .close { return }
            guard clock.now() < deadline else {
                throw DomainFailure(
                    .unavailable, "cannot \(action): the gateway did not end the pending pairing in time; retry",
                    retryAfterMilliseconds: 2000)
            }
            try await clock.sleep(for: pollInterval)
        }
    }

    /// The first answer if it holds new codes for `digits`, else the gateway's cached codes once
    /// they are (connect while connecting answers the cache; with the same number, a session that
    /// ended meanwhile restarts for it).
    private func fresh(_ first: EvolutionConnectResult, digits: String?, stale: Set<String>, action: String) async throws -> Outcome {
        let deadline = clock.now().addingTimeInterval(patience.timeInterval)
        var answer = first
        while true {
            switch answer {
            case .state(let state):
                return .state(state)
            case .qrCode(let qr):
                if let code = qr.code, !stale.contains(code), digits == nil || qr.pairingCode?.isEmpty == false {
                    return .codes(qr)
                }
            }
            guard clock.now() < deadline else {
                throw DomainFailure(
                    .unavailable,
                    "cannot \(action): the gateway has no \(digits == nil ? "QR" : "pairing") code for this number yet; try again in a few seconds",
                    retryAfterMilliseconds: 2000)
            }
            try await clock.sleep(for: pollInterval)
            answer = try await connect(digits, action: action)
        }
    }

    private func connect(_ digits: String?, action: String) async throws -> EvolutionConnectResult {
        try await call(action) { () async throws(EvolutionError) in try await gateway.connect(instance: name, number: digits) }
    }

    /// A gateway call whose failure is logged and thrown as a ``GatewayFailure``.
    private func call<T>(_ action: String, _ body: () async throws(EvolutionError) -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw GatewayFailure.logged(error, action: action, instance: instance, logger: logger)
        }
    }
}

extension GatewayFailure {
    /// Logs a failed gateway call about `instance` (see ``GatewayFailure/log(to:metadata:)``) and
    /// returns the error to throw.
    public static func logged(_ error: EvolutionError, action: String, instance: Instance?, logger: Logger) -> GatewayFailure {
        let failure = GatewayFailure(error, action: action)
        var metadata: Logger.Metadata = [:]
        if let instance {
            metadata["instance"] = .string(instance.id.rawValue)
            metadata["gateway_name"] = .string(instance.gatewayName)
        }
        failure.log(to: logger, metadata: metadata)
        return failure
    }
}
