import WaqtorRPC
import WaqtorTenants

/// Enforces a tenant's plan limits for the features that consume them: RESOURCE_EXHAUSTED naming
/// the limit, the plan and what to do. Daily quotas are taken atomically in PostgreSQL; count
/// limits (instances, contacts) are checked by the feature against its own count.
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

    /// Takes `count` messages or AI drafts from today's quota, or throws RESOURCE_EXHAUSTED.
    public func consume(tenantID: String, _ quota: DailyQuota, count: Int = 1) async throws {
        switch try await store.consumeDailyQuota(tenantID: tenantID, quota, count: count) {
        case .granted:
            return
        case .exceeded(let used, let limit, let planID):
            let what = quota == .messages ? "messages per day" : "AI drafts per day"
            throw RPCError(
                code: .resourceExhausted,
                message: "plan limit reached: the \(planID) plan allows \(limit) \(what) and \(used) are used today; wait for tomorrow (in your time zone) or ask for an upgrade (`waqtor plan upgrade`)",
                metadata: ["limit": quota.rawValue == "messages" ? "messages_per_day" : "ai_drafts_per_day"])
        }
    }

    /// Throws RESOURCE_EXHAUSTED when adding `adding` to `current` would pass the plan's limit.
    public func check(tenantID: String, _ limit: CountLimit, current: Int, adding: Int = 1) async throws {
        let plan = try await store.planAndUsage(tenantID: tenantID).plan
        let maximum = limit == .whatsappInstances ? plan.maxInstances : plan.maxContacts
        guard current + adding > maximum else { return }
        throw RPCError(
            code: .resourceExhausted,
            message: "plan limit reached: the \(plan.id) plan allows \(maximum) \(limit.rawValue) and the account has \(current); remove some or ask for an upgrade (`waqtor plan upgrade`)",
            metadata: ["limit": limit == .whatsappInstances ? "whatsapp_instances" : "contacts"])
    }
}
