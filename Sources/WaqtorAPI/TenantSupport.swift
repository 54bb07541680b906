import WaqtorCore
import WaqtorSecurity
import Foundation
import WaqtorProto
import WaqtorRedis
import WaqtorRPC
import WaqtorTenants
import WaqtorInstances

/// Input checks with messages a person can act on (INVALID_ARGUMENT).
enum Validate {
    static func name(_ raw: String) throws -> String {
        let value = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !value.isEmpty else { throw RPCError(code: .invalidArgument, message: "name is required") }
        guard value.count <= 200 else { throw RPCError(code: .invalidArgument, message: "name is longer than 200 characters") }
        guard !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw RPCError(code: .invalidArgument, message: "name contains control characters")
        }
        return value
    }

    static func email(_ raw: String) throws -> String {
        let value = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !value.isEmpty else { throw RPCError(code: .invalidArgument, message: "email is required") }
        let parts = value.split(separator: "@", omittingEmptySubsequences: false)
        guard value.utf8.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[0].utf8.count <= 64,
              parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix("."), !parts[1].contains(".."),
              !value.contains(where: { $0.isWhitespace })
        else {
            throw RPCError(code: .invalidArgument, message: "email '\(value)' is not a valid address (expected name@example.com)")
        }
        return value
    }

    static func newPassword(_ value: String, field: String) throws {
        guard value.count >= 10 else {
            throw RPCError(code: .invalidArgument, message: "\(field) must be at least 10 characters long")
        }
        guard value.utf8.count <= 1024 else {
            throw RPCError(code: .invalidArgument, message: "\(field) is longer than 1024 bytes")
        }
    }

    static func timeZone(_ raw: String) throws -> String {
        let value = raw.trimmingCharacters(in: .whitespaces)
        guard !value.isEmpty else {
            throw RPCError(code: .invalidArgument, message: "time_zone is required: an IANA name such as Africa/Cairo or America/Sao_Paulo")
        }
        guard value.contains("/") || value == "UTC", TimeZone(identifier: value) != nil else {
            throw RPCError(code: .invalidArgument, message: "time_zone '\(value)' is not an IANA time zone name such as Africa/Cairo or America/Sao_Paulo")
        }
        return value
    }

    static func label(_ raw: String, field: String) throws -> String {
        let value = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !value.isEmpty else { throw RPCError(code: .invalidArgument, message: "\(field) is required") }
        guard value.count <= 100 else { throw RPCError(code: .invalidArgument, message: "\(field) is longer than 100 characters") }
        return value
    }

    static func text(_ raw: String, field: String, max: Int, required: Bool = true) throws -> String {
        let value = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        if required && value.isEmpty { throw RPCError(code: .invalidArgument, message: "\(field) is required") }
        guard value.count <= max else { throw RPCError(code: .invalidArgument, message: "\(field) is longer than \(max) characters") }
        return value
    }

    static func id(_ raw: String, field: String) throws -> String {
        let value = raw.trimmingCharacters(in: .whitespaces)
        guard !value.isEmpty else { throw RPCError(code: .invalidArgument, message: "\(field) is required") }
        guard value.utf8.count <= 100 else { throw RPCError(code: .invalidArgument, message: "\(field) is too long") }
        return value
    }

    /// The longest lifetime an expiring API key may be given; a key meant to last longer is
    /// created without an expiry (and revoked when no longer needed).
    static let maxKeyLifetimeDays = 3653

    /// An API key's `expire_time`: a valid timestamp, in the future, at most
    /// ``maxKeyLifetimeDays`` ahead.
    static func keyExpiry(_ timestamp: Google_Protobuf_Timestamp, now: Date) throws -> Date {
        guard (0..<1_000_000_000).contains(timestamp.nanos) else {
            throw RPCError(code: .invalidArgument, message: "expire_time: nanos must be from 0 to 999999999")
        }
        let date = timestamp.date
        guard date > now else {
            throw RPCError(code: .invalidArgument, message: "expire_time must be in the future (it is \(rfc3339(date)), the server's time is \(rfc3339(now)))")
        }
        guard date.timeIntervalSince(now) <= Double(maxKeyLifetimeDays) * 86_400 else {
            throw RPCError(code: .invalidArgument, message: "expire_time is more than 10 years ahead; leave it unset for a key that does not expire")
        }
        return date
    }

    private static func rfc3339(_ date: Date) -> String {
        date.formatted(.iso8601)
    }

    /// Ids that are UUIDs in the database: anything else cannot exist, so NOT_FOUND rather than a
    /// database error.
    /// A typed id from a request field: INVALID_ARGUMENT when empty, NOT_FOUND when it is not a
    /// UUID (no such thing can exist).
    static func id<ID: TypedID>(_ raw: String, field: String, as _: ID.Type = ID.self) throws -> ID {
        let value = try uuid(raw, field: field)
        return ID(trusted: value)
    }

    static func uuid(_ raw: String, field: String) throws -> String {
        let value = try id(raw, field: field)
        guard UUID(uuidString: value) != nil else {
            throw RPCError(code: .notFound, message: "\(field): '\(value)' is not an id (no such thing exists)")
        }
        return value.lowercased()
    }
}

/// Offset paging with opaque tokens (`page_size` 1-200, default 50).
struct Paging {
    let size: Int
    let offset: Int

    init(size: Int32, token: String) throws {
        guard size >= 0 else { throw RPCError(code: .invalidArgument, message: "page_size must not be negative") }
        self.size = size == 0 ? 50 : min(Int(size), 200)
        if token.isEmpty {
            offset = 0
        } else {
            guard token.hasPrefix("o"), let value = Int(token.dropFirst()), value >= 0 else {
                throw RPCError(code: .invalidArgument, message: "page_token is not one this server issued; start again without it")
            }
            offset = value
        }
    }

    static func token(offset: Int) -> String { "o\(offset)" }

    func slice<T>(_ all: [T]) -> (items: [T], next: String) {
        guard offset < all.count else { return ([], "") }
        let end = min(all.count, offset + size)
        return (Array(all[offset..<end]), end < all.count ? Self.token(offset: end) : "")
    }
}

/// Store values to API messages.
enum Convert {
    static func state(_ status: TenantStatus) -> Waqtor_V1_TenantState {
        switch status {
        case .active: .active
        case .suspended: .suspended
        }
    }

    static func tenant(_ profile: TenantProfile) -> Waqtor_V1_Tenant {
        var tenant = Waqtor_V1_Tenant()
        tenant.id = profile.id.rawValue
        tenant.name = profile.name
        tenant.email = profile.email
        tenant.timeZone = profile.timeZone
        tenant.planID = profile.planID
        tenant.state = state(profile.status)
        tenant.suspensionReason = profile.suspensionReason ?? ""
        tenant.createTime = Google_Protobuf_Timestamp(date: profile.createdAt)
        tenant.updateTime = Google_Protobuf_Timestamp(date: profile.updatedAt)
        return tenant
    }

    static func tenant(_ summary: TenantSummary) -> Waqtor_V1_Tenant {
        var tenant = Waqtor_V1_Tenant()
        tenant.id = summary.id.rawValue
        tenant.name = summary.name
        tenant.email = summary.email
        tenant.timeZone = summary.timeZone
        tenant.planID = summary.planID
        tenant.state = state(summary.status)
        tenant.suspensionReason = summary.suspensionReason ?? ""
        tenant.createTime = Google_Protobuf_Timestamp(date: summary.createdAt)
        tenant.updateTime = Google_Protobuf_Timestamp(date: summary.updatedAt)
        return tenant
    }

    static func session(_ session: IssuedSession) -> Waqtor_V1_Session {
        var value = Waqtor_V1_Session()
        value.token = session.token.value
        value.expireTime = Google_Protobuf_Timestamp(date: session.expiresAt)
        return value
    }

    static func apiKey(_ record: APIKeyRecord) -> Waqtor_V1_ApiKey {
        var key = Waqtor_V1_ApiKey()
        key.id = record.id
        key.name = record.name
        switch record.scope {
        case .full: key.scope = .full
        case .sendOnly: key.scope = .sendOnly
        case .readOnly: key.scope = .readOnly
        }
        key.secretPrefix = record.keyPrefix
        key.createTime = Google_Protobuf_Timestamp(date: record.createdAt)
        key.lastUseTime = record.lastUsedAt.map(Google_Protobuf_Timestamp.init(date:))
        key.expireTime = record.expiresAt.map(Google_Protobuf_Timestamp.init(date:))
        key.revokeTime = record.revokedAt.map(Google_Protobuf_Timestamp.init(date:))
        return key
    }

    static func aiUsage(_ totals: AIUsageTotals) -> Waqtor_V1_AIUsage {
        var usage = Waqtor_V1_AIUsage()
        usage.requests = Int32(clamping: totals.requests)
        usage.promptTokens = Int64(totals.promptTokens)
        usage.completionTokens = Int64(totals.completionTokens)
        usage.cost = totals.cost
        return usage
    }

    static func aiRequest(_ record: AIRequestRecord) -> Waqtor_V1_AIRequestRecord {
        var message = Waqtor_V1_AIRequestRecord()
        message.id = record.id
        message.createTime = Google_Protobuf_Timestamp(date: record.createdAt)
        message.requestedModel = record.requestedModel
        message.model = record.model
        message.outcome = record.outcome.rawValue
        message.providerCalls = Int32(clamping: record.providerCalls)
        message.promptTokens = Int32(clamping: record.promptTokens)
        message.completionTokens = Int32(clamping: record.completionTokens)
        message.cost = record.cost
        message.descriptionLength = Int32(clamping: record.descriptionLength)
        message.draftCount = Int32(clamping: record.draftCount)
        return message
    }

    static func limits(_ plan: WaqtorTenants.Plan) -> Waqtor_V1_PlanLimits {
        var limits = Waqtor_V1_PlanLimits()
        limits.whatsappInstances = Int32(clamping: plan.maxInstances)
        limits.contacts = Int32(clamping: plan.maxContacts)
        limits.messagesPerDay = Int32(clamping: plan.maxMessagesPerDay)
        limits.aiDraftsPerDay = Int32(clamping: plan.maxAIDraftsPerDay)
        return limits
    }

    static func plan(_ plan: WaqtorTenants.Plan) -> Waqtor_V1_Plan {
        var value = Waqtor_V1_Plan()
        value.id = plan.id
        value.name = plan.name
        value.limits = limits(plan)
        value.requestable = plan.rank > 0
        return value
    }

    static func upgradeRequest(_ request: UpgradeRequest, currentPlan: String?) -> Waqtor_V1_UpgradeRequest {
        var value = Waqtor_V1_UpgradeRequest()
        value.id = request.id
        value.tenantID = request.tenantID.rawValue
        value.currentPlanID = currentPlan ?? ""
        value.requestedPlanID = request.requestedPlan
        value.reason = request.reason
        switch request.state {
        case .pending: value.state = .pending
        case .granted: value.state = .granted
        case .rejected: value.state = .rejected
        case .cancelled: value.state = .cancelled
        }
        value.decidedBy = request.decidedBy?.rawValue ?? ""
        value.decisionNote = request.decisionNote ?? ""
        value.createTime = Google_Protobuf_Timestamp(date: request.createdAt)
        value.decideTime = request.decidedAt.map(Google_Protobuf_Timestamp.init(date:))
        return value
    }

    static func planChange(_ change: PlanChange) -> Waqtor_V1_PlanChange {
        var value = Waqtor_V1_PlanChange()
        value.id = change.id
        value.tenantID = change.tenantID.rawValue
        value.fromPlanID = change.fromPlan
        value.toPlanID = change.toPlan
        value.changedBy = change.changedBy?.rawValue ?? ""
        value.reason = change.reason
        value.changeTime = Google_Protobuf_Timestamp(date: change.changedAt)
        return value
    }

    /// Today's start and end in the tenant's time zone.
    static func dayBounds(timeZone: String, now: Date) -> (Date, Date) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: timeZone) ?? TimeZone(identifier: "UTC")!
        let start = calendar.startOfDay(for: now)
        let end = calendar.date(byAdding: .day, value: 1, to: start) ?? start.addingTimeInterval(86_400)
        return (start, end)
    }
}
