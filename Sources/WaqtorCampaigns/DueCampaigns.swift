import Foundation
import WaqtorCore
import WaqtorPostgres
import WaqtorTenants

extension CampaignStore {
    /// SCHEDULED campaigns of every tenant whose schedule time has come (by PostgreSQL's clock),
    /// earliest first. Only ids: each start then runs in its tenant's transaction.
    public func dueScheduled(limit: Int) async throws -> [(tenantID: TenantID, id: CampaignID)] {
        do {
            return try await pool.query("SELECT * FROM campaign_due_scheduled($1::integer)", [.int(Int64(max(1, limit)))]).compactMap { row in
                guard let tenant = row["tenant_id"].tenantID, let id: CampaignID = row["campaign_id"].id() else { return nil }
                return (tenant, id)
            }
        } catch {
            throw TenantStore.map(error)
        }
    }
}
