import WaqtorCore
import Foundation
import Logging
import WaqtorEvolution
import WaqtorProto
import WaqtorRPC
import WaqtorSendQueue
import WaqtorTenants
import WaqtorInstances

/// `waqtor.v1.InstanceService`: a tenant's WhatsApp numbers, each an Evolution API instance whose
/// webhook points at our endpoint with a per-instance secret. Rows live under row-level security;
/// the gateway instance name is derived from the tenant so tenants never collide.
public struct InstanceService: Waqtor_V1_InstanceServiceHandler {
    let store: InstanceStore
    let gateway: EvolutionClient
    /// The same gateway with a short timeout, for state refreshes that must not hold a caller up.
    let quickGateway: EvolutionClient
    let quota: PlanQuota
    /// The send queue's lanes, to wake a number whose pacing changed (nil: not done).
    let lanes: SendLanes?
    /// The webhook URL to give the gateway for an instance's gateway name.
    let webhookURL: @Sendable (String) -> String
    /// The time: QR code expiry, pairing waits.
    let clock: any WaqtorClock
    /// What this server knows about reaching the gateway: instances are shown with `state_stale`
    /// while it cannot (nil: never stale).
    let gatewayMonitor: GatewayMonitor?

    public init(
        store: InstanceStore, gateway: EvolutionClient, quickGateway: EvolutionClient, quota: PlanQuota,
        webhookURL: @escaping @Sendable (String) -> String, clock: any WaqtorClock = SystemClock(), lanes: SendLanes? = nil,
        gatewayMonitor: GatewayMonitor? = nil
    ) {
        self.gatewayMonitor = gatewayMonitor
        self.lanes = lanes
        self.clock = clock
        self.store = store
        self.gateway = gateway
        self.quickGateway = quickGateway
        self.quota = quota
        self.webhookURL = webhookURL
    }

    public func createInstance(_ request: Waqtor_V1_CreateInstanceRequest, context: ServerContext) async throws -> Waqtor_V1_CreateInstanceResponse {
        let caller = try Caller.require()
        let name = try Validate.label(request.displayName, field: "display_name")
        let phone = try InstanceValidate.phone(request.phoneNumber, field: "phone_number", required: false)
        let pacing = try request.pacing.map { try InstanceValidate.pacing($0, paths: nil, base: InstancePacing()) } ?? InstancePacing()
        let (maximum, planID) = try await quota.maximum(tenantID: caller.tenantID, .whatsappInstances)
        let created: CreatedInstance
        do {
            // The count and the insert happen in one transaction, serialised per tenant.
            created = try await store.create(
                tenantID: caller.tenantID, displayName: name, phoneNumber: phone, pacing: pacing, maxInstances: maximum)
        } catch let limit as InstanceLimitReached {
            throw quota.exceeded(.whatsappInstances, current: limit.current, maximum: limit.limit, planID: planID)
        }
        let webhook = EvolutionWebhook(
            url: webhookURL(created.instance.gatewayName),
            headers: [WebhookHeaders.secret: created.webhookSecret],
            events: EvolutionWebhook.standardEvents)
        do {
            _ = try await gateway.createInstance(name: created.instance.gatewayName, qrcode: false, webhook: webhook)
        } catch {
            // Nothing half-made stays behind: the row goes when the gateway refused.
            _ = try? await store.delete(tenantID: caller.tenantID, id: created.instance.id)
            throw GatewayFailure.logged(error, action: "create the instance", instance: created.instance, logger: context.logger)
        }
        // The gateway creates the instance closed (no session until a QR code is asked for), and
        // CreateInstance answers that: CLOSE.
        _ = try await store.updateConnection(tenantID: caller.tenantID, id: created.instance.id, .observed(.close))
        context.logger.info("instance created", metadata: ["instance": .string(created.instance.id.rawValue), "gateway_name": .string(created.instance.gatewayName)])
        var response = Waqtor_V1_CreateInstanceResponse()
        response.instance = InstanceConvert.instance(try await mine(created.instance.id.rawValue, caller), gateway: gatewayMonitor?.current)
        return response
    }

    public func getInstance(_ request: Waqtor_V1_GetInstanceRequest, context: ServerContext) async throws -> Waqtor_V1_GetInstanceResponse {
        let caller = try Caller.require()
        var response = Waqtor_V1_GetInstanceResponse()
        response.instance = InstanceConvert.instance(try await mine(request.instanceID, caller), gateway: gatewayMonitor?.current)
        return response
    }

    public func listInstances(_ request: Waqtor_V1_ListInstancesRequest, context: ServerContext) async throws -> Waqtor_V1_ListInstancesResponse {
        let caller = try Caller.require()
        let page = try Paging(size: request.pageSize, token: request.pageToken)
        let slice = page.slice(try await store.list(tenantID: caller.tenantID))
        var response = Waqtor_V1_ListInstancesResponse()
        let reachability = gatewayMonitor?.current
        response.instances = slice.items.map { InstanceConvert.instance($0, gateway: reachability) }
        response.nextPageToken = slice.next
        return response
    }

    public func getQrCode(_ request: Waqtor_V1_GetQrCodeRequest, context: ServerContext) async throws -> Waqtor_V1_GetQrCodeResponse {
        let caller = try Caller.require()
        let instance = try await mine(request.instanceID, caller)
        let phone = try InstanceValidate.phone(request.phoneNumber, field: "phone_number", required: false) ?? instance.phoneNumber
        let digits = phone.map { $0.filter(\.isNumber) }
        let pairing = GatewayPairing(gateway: gateway, store: store, instance: instance, logger: context.logger, clock: clock)
        var response = Waqtor_V1_GetQrCodeResponse()
        switch try await pairing.codes(for: digits) {
        case .state(let state):
            let stored = InstanceConvert.stored(state)
            let updated = try await store.updateConnection(tenantID: caller.tenantID, id: instance.id, .observed(stored))
            response.state = InstanceConvert.state(updated?.state ?? stored)
        case .codes(let qr):
            response.qrPng = qr.pngData ?? []
            response.qrCode = qr.code ?? ""
            // A pending session's pairing code is for the number it was started for: handed out
            // only when that is the number asked for.
            response.pairingCode = digits == nil ? "" : qr.pairingCode ?? ""
            // WhatsApp rotates QR codes about every 20 s.
            response.expireTime = Google_Protobuf_Timestamp(date: clock.now().addingTimeInterval(20))
            response.state = .connecting
        }
        return response
    }

    public func getConnectionState(_ request: Waqtor_V1_GetConnectionStateRequest, context: ServerContext) async throws -> Waqtor_V1_GetConnectionStateResponse {
        let caller = try Caller.require()
        var instance = try await mine(request.instanceID, caller)
        // Webhooks keep the state current; asking the gateway as well covers a missed one. A
        // needs-repairing mark stays until the number is paired again (an `open` webhook), so it
        // is answered from the store. A gateway that cannot be asked is an error (UNAVAILABLE, or
        // FAILED_PRECONDITION when it no longer knows the instance), never a stored state passed
        // off as the gateway's: GetInstance returns the stored state without asking.
        if instance.state != .needsRepairing {
            let live: EvolutionConnectionState
            do {
                live = try await quickGateway.connectionState(instance: instance.gatewayName)
            } catch {
                throw GatewayFailure.logged(error, action: InstanceConvert.readStateAction(error, gateway: gatewayMonitor?.current),
                                            instance: instance, logger: context.logger)
            }
            instance = try await store.updateConnection(tenantID: caller.tenantID, id: instance.id, .observed(InstanceConvert.stored(live))) ?? instance
        }
        var response = Waqtor_V1_GetConnectionStateResponse()
        response.state = InstanceConvert.state(instance.state)
        response.detail = InstanceConvert.detail(instance)
        response.sinceTime = Google_Protobuf_Timestamp(date: instance.stateChangedAt)
        return response
    }

    public func getPacing(_ request: Waqtor_V1_GetPacingRequest, context: ServerContext) async throws -> Waqtor_V1_GetPacingResponse {
        let caller = try Caller.require()
        var response = Waqtor_V1_GetPacingResponse()
        response.pacing = InstanceConvert.pacing(try await mine(request.instanceID, caller).pacing)
        return response
    }

    public func updatePacing(_ request: Waqtor_V1_UpdatePacingRequest, context: ServerContext) async throws -> Waqtor_V1_UpdatePacingResponse {
        let caller = try Caller.require()
        let instance = try await mine(request.instanceID, caller)
        guard let given = request.pacing else { throw RPCError(code: .invalidArgument, message: "pacing is required") }
        let pacing = try InstanceValidate.pacing(given, paths: request.updatePaths.isEmpty ? nil : Set(request.updatePaths), base: instance.pacing)
        guard try await store.updatePacing(tenantID: caller.tenantID, id: instance.id, pacing: pacing) else {
            throw RPCError(code: .notFound, message: "no instance \(instance.id) in this account")
        }
        // The number decides again now with the new pacing, instead of waiting out a hold (a cap,
        // quiet hours) the old pacing set. Best effort: the change is stored either way.
        do {
            try await lanes?.wake(instance.id, now: clock.now())
        } catch {
            context.logger.notice("send queue: waking the number after a pacing change failed", metadata: ["error": "\(error)"])
        }
        var response = Waqtor_V1_UpdatePacingResponse()
        response.pacing = InstanceConvert.pacing(try await mine(instance.id.rawValue, caller).pacing)
        return response
    }

    public func logoutInstance(_ request: Waqtor_V1_LogoutInstanceRequest, context: ServerContext) async throws -> Waqtor_V1_LogoutInstanceResponse {
        let caller = try Caller.require()
        let instance = try await mine(request.instanceID, caller)
        // Marked before asking: the gateway answers our logout with the same logged-out (401)
        // close events as a ban, and they may arrive before its answer. Marked, they close the
        // number (CLOSE) instead of flagging it for re-pairing.
        try await GatewayPairing(gateway: gateway, store: store, instance: instance, logger: context.logger, clock: clock)
            .logOut(action: "log the number out")
        var response = Waqtor_V1_LogoutInstanceResponse()
        response.instance = InstanceConvert.instance(try await mine(instance.id.rawValue, caller), gateway: gatewayMonitor?.current)
        return response
    }

    public func deleteInstance(_ request: Waqtor_V1_DeleteInstanceRequest, context: ServerContext) async throws -> Waqtor_V1_DeleteInstanceResponse {
        let caller = try Caller.require()
        let instance = try await mine(request.instanceID, caller)
        // Gateway first, then our rows; an instance the gateway no longer knows is simply gone there.
        do {
            _ = try await gateway.delete(instance: instance.gatewayName)
        } catch {
            if error.kind != .instanceNotFound {
                throw GatewayFailure.logged(error, action: "delete the instance", instance: instance, logger: context.logger)
            }
        }
        _ = try await store.delete(tenantID: caller.tenantID, id: instance.id)
        context.logger.info("instance deleted", metadata: ["instance": .string(instance.id.rawValue)])
        return Waqtor_V1_DeleteInstanceResponse()
    }

    /// The caller's instance, or NOT_FOUND (also for another tenant's id).
    private func mine(_ rawID: String, _ caller: Principal) async throws -> Instance {
        let id = rawID.trimmingCharacters(in: .whitespaces)
        guard !id.isEmpty else { throw RPCError(code: .invalidArgument, message: "instance_id is required") }
        guard let instanceID = InstanceID(validating: id), let instance = try await store.get(tenantID: caller.tenantID, id: instanceID) else {
            throw RPCError(code: .notFound, message: "no instance \(id) in this account")
        }
        return instance
    }
}

/// The header our gateway configuration sends with every webhook.
enum WebhookHeaders {
    static let secret = "x-waqtor-webhook-secret"
}

enum InstanceValidate {
    /// E.164: `+` and 7 to 15 digits (spaces, dashes and parentheses are ignored).
    static func phone(_ raw: String, field: String, required: Bool) throws -> String? {
        let trimmed = raw.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty {
            if required { throw RPCError(code: .invalidArgument, message: "\(field) is required") }
            return nil
        }
        let cleaned = trimmed.filter { !" -()".contains($0) }
        let digits = cleaned.hasPrefix("+") ? String(cleaned.dropFirst()) : cleaned
        guard digits.count >= 7, digits.count <= 15, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber), digits.first != "0" else {
            throw RPCError(code: .invalidArgument, message: "\(field) '\(raw)' is not an international number in E.164 form, e.g. +5511999998888")
        }
        return "+" + digits
    }

    static let pacingPaths: Set<String> = [
        "min_delay_ms", "max_delay_ms", "daily_cap", "quiet_hours_enabled", "quiet_hours_start_minute",
        "quiet_hours_end_minute", "warmup_enabled", "warmup_days",
    ]

    /// The settings of a new instance, and what a zero field means where zeros take the server
    /// default (common.proto, PacingSettings): 3000-9000 ms between sends, the plan's daily limit,
    /// no quiet hours, a 14-day warm-up.
    static let pacingDefaults = InstancePacing()

    /// The pacing that results from a request. With `paths` nil (CreateInstance, UpdatePacing
    /// without update_paths) `given` is the whole settings and each zero field takes the server
    /// default, never the current value, so the same message always gives the same settings. With
    /// `paths`, only the listed fields change, each to exactly the value given; the others keep
    /// `base`. Every documented range is checked on what was sent, whether or not the feature is on:
    /// a wrong value is refused, never stored or dropped unnoticed.
    static func pacing(_ given: Waqtor_V1_PacingSettings, paths: Set<String>?, base: InstancePacing) throws -> InstancePacing {
        if let paths {
            for path in paths where !pacingPaths.contains(path) {
                throw RPCError(code: .invalidArgument, message: "update_paths: unknown field '\(path)'; fields: \(pacingPaths.sorted().joined(separator: ", "))")
            }
        }
        func bad(_ message: String) -> RPCError { RPCError(code: .invalidArgument, message: "pacing.\(message)") }
        func has(_ path: String) -> Bool { paths?.contains(path) ?? true }
        /// The value to take: a listed field's as given, otherwise a non-zero one (zero: the default).
        func chosen(_ path: String, _ value: Int32) -> Int? {
            guard has(path), paths != nil || value != 0 else { return nil }
            return Int(value)
        }
        func check(_ value: Int?, _ path: String, _ range: ClosedRange<Int>, _ why: String = "") throws {
            if let value, !range.contains(value) {
                throw bad("\(path) must be from \(range.lowerBound) to \(range.upperBound)\(why), not \(value)")
            }
        }

        let minDelay = chosen("min_delay_ms", given.minDelayMs)
        let maxDelay = chosen("max_delay_ms", given.maxDelayMs)
        // Aggressive sending gets numbers banned: a floor of one second between sends.
        try check(minDelay, "min_delay_ms", 1000...600_000, " (sending faster gets numbers banned)")
        try check(maxDelay, "max_delay_ms", 1000...600_000)
        let dailyCap = has("daily_cap") ? Int(given.dailyCap) : nil
        try check(dailyCap, "daily_cap", 0...100_000, " (0: the plan's limit)")
        // Zero is midnight here, not a default: the minutes have none (quiet hours are off by default).
        let quietStart = has("quiet_hours_start_minute") ? Int(given.quietHoursStartMinute) : nil
        let quietEnd = has("quiet_hours_end_minute") ? Int(given.quietHoursEndMinute) : nil
        try check(quietStart, "quiet_hours_start_minute", 0...1439, " (minutes after midnight)")
        try check(quietEnd, "quiet_hours_end_minute", 0...1439, " (minutes after midnight)")
        let warmupDays = chosen("warmup_days", given.warmupDays)
        try check(warmupDays, "warmup_days", 1...90)

        var pacing = paths == nil ? pacingDefaults : base
        if let minDelay { pacing.minDelayMs = minDelay }
        if let maxDelay { pacing.maxDelayMs = maxDelay }
        if paths == nil {
            // One bound given, the other zero: the default keeps the default's ratio of 3, so that
            // any valid bound alone gives a valid range.
            if let minDelay, maxDelay == nil { pacing.maxDelayMs = min(minDelay * 3, 600_000) }
            if let maxDelay, minDelay == nil { pacing.minDelayMs = max(maxDelay / 3, 1000) }
        }
        if let dailyCap { pacing.dailyCap = dailyCap == 0 ? nil : dailyCap }

        // Quiet hours are stored as their two minutes (none while off). False is their default.
        let quietOn = has("quiet_hours_enabled") ? given.quietHoursEnabled : base.quietStartMinute != nil
        if quietOn {
            guard let start = quietStart ?? base.quietStartMinute, let end = quietEnd ?? base.quietEndMinute else {
                throw bad("quiet_hours_start_minute and quiet_hours_end_minute are both needed to turn quiet hours on")
            }
            guard start != end else { throw bad("quiet_hours_start_minute must differ from quiet_hours_end_minute") }
            pacing.quietStartMinute = start
            pacing.quietEndMinute = end
        } else {
            pacing.quietStartMinute = nil
            pacing.quietEndMinute = nil
        }

        // Warm-up is on by default, so false means the default where zeros do (without paths);
        // turning it off takes update_paths listing warmup_enabled.
        if paths != nil, has("warmup_enabled") { pacing.warmupEnabled = given.warmupEnabled }
        if let warmupDays { pacing.warmupDays = warmupDays }

        guard pacing.maxDelayMs >= pacing.minDelayMs else {
            throw bad("max_delay_ms (\(pacing.maxDelayMs)) must be at least min_delay_ms (\(pacing.minDelayMs))")
        }
        return pacing
    }
}

enum InstanceConvert {
    static func state(_ state: InstanceState) -> Waqtor_V1_ConnectionState {
        switch state {
        case .unspecified: .unspecified
        case .connecting: .connecting
        case .open: .open
        case .close: .close
        case .refused: .refused
        case .needsRepairing: .needsRepairing
        }
    }

    static func stored(_ state: EvolutionConnectionState) -> InstanceState {
        switch state {
        case .open: .open
        case .connecting: .connecting
        case .close: .close
        case .refused: .refused
        case .other: .unspecified
        }
    }

    static func detail(_ instance: Instance) -> String {
        switch instance.state {
        case .needsRepairing: "WhatsApp ended the session (reason \(instance.stateReason.map(String.init) ?? "?")): logged out or banned; pair the number again"
        case .close where instance.logoutRequested: "logged out on request; get a QR code to pair the number again"
        case .close: instance.stateReason.map { "closed (reason \($0))" } ?? "not connected; get a QR code to pair the number"
        case .connecting: "waiting for the QR code to be scanned"
        case .open: "connected"
        case .refused: "WhatsApp refused the connection (too many QR codes); get a new one"
        case .unspecified: "not known yet"
        }
    }

    static func pacing(_ pacing: InstancePacing) -> Waqtor_V1_PacingSettings {
        var value = Waqtor_V1_PacingSettings()
        value.minDelayMs = Int32(clamping: pacing.minDelayMs)
        value.maxDelayMs = Int32(clamping: pacing.maxDelayMs)
        value.dailyCap = Int32(clamping: pacing.dailyCap ?? 0)
        value.quietHoursEnabled = pacing.quietStartMinute != nil
        value.quietHoursStartMinute = Int32(clamping: pacing.quietStartMinute ?? 0)
        value.quietHoursEndMinute = Int32(clamping: pacing.quietEndMinute ?? 0)
        value.warmupEnabled = pacing.warmupEnabled
        value.warmupDays = Int32(clamping: pacing.warmupDays)
        return value
    }

    /// What GetConnectionState was doing when the gateway failed; while the gateway is known to be
    /// unreachable, since when (the caller then gets UNAVAILABLE saying so).
    static func readStateAction(_ error: EvolutionError, gateway: GatewayReachability?) -> String {
        guard error.status == nil || (502...504).contains(error.status ?? 0), let gateway, gateway.isUnreachable, let since = gateway.since else {
            return "read the connection state"
        }
        var action = "read the connection state (the gateway has been unreachable since \(since.formatted(.iso8601))"
        if let seen = gateway.lastAnswered { action += ", last answered \(seen.formatted(.iso8601))" }
        return action + "; the stored state is in GetInstance, marked state_stale)"
    }

    /// The instance as the API shows it; with `gateway` (what the server knows about reaching the
    /// gateway), `state_stale` and `gateway_seen_time` too.
    static func instance(_ instance: Instance, gateway: GatewayReachability? = nil) -> Waqtor_V1_Instance {
        var value = Waqtor_V1_Instance()
        value.id = instance.id.rawValue
        value.displayName = instance.displayName
        value.phoneNumber = instance.phoneNumber ?? ""
        value.profileName = instance.profileName ?? ""
        value.state = state(instance.state)
        value.pacing = pacing(instance.pacing)
        value.gatewayInstanceName = instance.gatewayName
        value.createTime = Google_Protobuf_Timestamp(date: instance.createdAt)
        value.updateTime = Google_Protobuf_Timestamp(date: instance.updatedAt)
        value.stateChangeTime = Google_Protobuf_Timestamp(date: instance.stateChangedAt)
        if let gateway {
            value.stateStale = gateway.isUnreachable
            value.gatewaySeenTime = gateway.lastAnswered.map { Google_Protobuf_Timestamp(date: $0) }
        }
        return value
    }
}
