import WaqtorCore

/// Enforces a tenant's plan limits for the features that consume them: ``PlanLimitReached`` naming
/// the limit, the plan and what to do. Daily quotas are taken atomically in PostgreSQL, and their
/// refusal carries `retry-after-ms` until the counter resets (the tenant's next local midnight), as
/// PROTOCOL.md promises where a retry can succeed; count limits (instances, contacts) are checked
/// by the feature against its own count and carry none (a retry succeeds only after removing some
/// or an upgrade).
public struct PlanQuota: Sendable {
    let store: TenantStore

    public init(store: TenantStore) {
        self.store = store
    }

    /// The limits that are counts of things a tenant has.
    public enum CountLimit: String, Sendable {
        case whatsappInstances = "WhatsApp instances"
        case contacts = "contacts"
    }

    /// Takes `count` messages or AI drafts from today's quota, or throws ``PlanLimitReached``.
    public func consume(tenantID: TenantID, _ quota: DailyQuota, count: Int = 1) async throws {
        switch try await store.consumeDailyQuota(tenantID: tenantID, quota, count: count) {
        case .granted:
            return
        case .exceeded(let used, let limit, let planID, let timeZone, let resetIn):
            let what = quota == .messages ? "messages per day" : "AI drafts per day"
            throw PlanLimitReached(
                message: "plan limit reached: the \(planID) plan allows \(limit) \(what) and \(used) are used today; the counter resets at midnight in your time zone (\(timeZone)), in \(Self.describe(milliseconds: resetIn)), or ask for an upgrade (`waqtor plan upgrade`)",
                limit: quota == .messages ? "messages_per_day" : "ai_drafts_per_day",
                retryAfterMilliseconds: resetIn)
        }
    }

    /// "5 h 12 min", "3 min", "under a minute".
    static func describe(milliseconds: Int) -> String {
        let minutes = (milliseconds + 59_999) / 60_000
        if milliseconds < 60_000 { return "under a minute" }
        return minutes >= 60 ? "\(minutes / 60) h \(minutes % 60) min" : "\(minutes) min"
    }

    /// The plan's maximum for a count limit, and the plan's id.
    public func maximum(tenantID: TenantID, _ limit: CountLimit) async throws -> (maximum: Int, planID: String) {
        let plan = try await store.planAndUsage(tenantID: tenantID).plan
        return (limit == .whatsappInstances ? plan.maxInstances : plan.maxContacts, plan.id)
    }

    /// Throws ``PlanLimitReached`` when adding `adding` to `current` would pass the plan's limit.
    /// (A feature that can race with itself checks inside its own transaction, with ``maximum(tenantID:_:)``
    /// and ``exceeded(_:current:maximum:planID:)``.)
    public func check(tenantID: TenantID, _ limit: CountLimit, current: Int, adding: Int = 1) async throws {
        let (maximum, planID) = try await maximum(tenantID: tenantID, limit)
        guard current + adding > maximum else { return }
        throw exceeded(limit, current: current, maximum: maximum, planID: planID)
    }

    /// The error of a count limit.
    public func exceeded(_ limit: CountLimit, current: Int, maximum: Int, planID: String) -> PlanLimitReached {
        PlanLimitReached(
            message: "plan limit reached: the \(planID) plan allows \(maximum) \(limit.rawValue) and the account has \(current); remove some or ask for an upgrade (`waqtor plan upgrade`)",
            limit: limit == .whatsappInstances ? "whatsapp_instances" : "contacts",
            retryAfterMilliseconds: nil)
    }
}

/// A plan limit refused the work (RESOURCE_EXHAUSTED on the wire, with `limit` naming it and, for
/// a daily quota, `retry-after-ms` until the counter resets).
public struct PlanLimitReached: DomainError, Hashable {
    public var message: String
    /// `messages_per_day`, `ai_drafts_per_day`, `whatsapp_instances` or `contacts`.
    public var limit: String
    public var retryAfterMilliseconds: Int?

    public init(message: String, limit: String, retryAfterMilliseconds: Int?) {
        self.message = message
        self.limit = limit
        self.retryAfterMilliseconds = retryAfterMilliseconds
    }

    public var category: DomainErrorCategory { .limitReached }
    public var details: [String: String] { ["limit": limit] }
}
