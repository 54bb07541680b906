import Foundation
import WaqtorCore
import WaqtorPostgres

/// How a DraftTemplates call that reached the AI provider ended (`ai_requests.outcome`).
public enum AIRequestOutcome: String, Sendable, Hashable {
    /// Drafts were returned.
    case ok
    /// The model's output failed the template checks twice.
    case unusable
    /// The provider refused or failed.
    case providerError = "provider_error"
    /// The caller's deadline passed before an answer.
    case timeout
}

/// One DraftTemplates call that reached the AI provider, for billing by hand. The description
/// itself is never stored, only its length.
public struct AIRequestRecord: Sendable, Hashable {
    public var id: String
    public var createdAt: Date
    /// The model asked for.
    public var requestedModel: String
    /// The model that answered, as the provider named it; empty when none did.
    public var model: String
    public var outcome: AIRequestOutcome
    /// Provider calls made (a retry after unusable output is a second one).
    public var providerCalls: Int
    public var promptTokens: Int
    public var completionTokens: Int
    /// The provider's charge in its credits, as a decimal number ("0.00042").
    public var cost: String
    public var descriptionLength: Int
    public var draftCount: Int

    public init(
        id: String = "", createdAt: Date = Date(), requestedModel: String, model: String, outcome: AIRequestOutcome, providerCalls: Int,
        promptTokens: Int, completionTokens: Int, cost: String, descriptionLength: Int, draftCount: Int
    ) {
        self.id = id
        self.createdAt = createdAt
        self.requestedModel = requestedModel
        self.model = model
        self.outcome = outcome
        self.providerCalls = providerCalls
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cost = cost
        self.descriptionLength = descriptionLength
        self.draftCount = draftCount
    }
}

/// AI drafting over a period.
public struct AIUsageTotals: Sendable, Hashable {
    /// DraftTemplates calls that reached the provider.
    public var requests: Int
    public var promptTokens: Int
    public var completionTokens: Int
    /// The provider's charge in its credits, as a decimal number ("0" when none).
    public var cost: String

    public init(requests: Int = 0, promptTokens: Int = 0, completionTokens: Int = 0, cost: String = "0") {
        self.requests = requests
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cost = cost
    }
}

extension TenantStore {
    /// Stores one AI request of the tenant (written once, never changed).
    public func recordAIRequest(tenantID: TenantID, _ record: AIRequestRecord) async throws {
        try await scoped(tenantID) { tx in
            _ = try await tx.query(
                """
                INSERT INTO ai_requests (tenant_id, requested_model, model, outcome, provider_calls, prompt_tokens, completion_tokens,
                                         cost, description_length, draft_count)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8::numeric, $9, $10)
                """,
                [.id(tenantID), .text(record.requestedModel), .text(record.model), .text(record.outcome.rawValue), .int(Int64(record.providerCalls)),
                 .int(Int64(record.promptTokens)), .int(Int64(record.completionTokens)), .text(record.cost),
                 .int(Int64(record.descriptionLength)), .int(Int64(record.draftCount))])
        }
    }

    /// AI drafting of the tenant's current local day and month (its time zone).
    public func aiUsage(tenantID: TenantID) async throws -> (today: AIUsageTotals, month: AIUsageTotals) {
        try await scoped(tenantID) { tx in
            let rows = try await tx.query(
                """
                WITH bounds AS (
                    SELECT (date_trunc('day', now() AT TIME ZONE t.time_zone) AT TIME ZONE t.time_zone) AS day_start,
                           (date_trunc('month', now() AT TIME ZONE t.time_zone) AT TIME ZONE t.time_zone) AS month_start
                    FROM tenants t WHERE t.id = $1
                )
                SELECT count(*) FILTER (WHERE r.created_at >= b.day_start) AS day_requests,
                       coalesce(sum(r.prompt_tokens) FILTER (WHERE r.created_at >= b.day_start), 0) AS day_prompt,
                       coalesce(sum(r.completion_tokens) FILTER (WHERE r.created_at >= b.day_start), 0) AS day_completion,
                       coalesce(sum(r.cost) FILTER (WHERE r.created_at >= b.day_start), 0)::text AS day_cost,
                       count(r.id) AS month_requests,
                       coalesce(sum(r.prompt_tokens), 0) AS month_prompt,
                       coalesce(sum(r.completion_tokens), 0) AS month_completion,
                       coalesce(sum(r.cost), 0)::text AS month_cost
                FROM bounds b LEFT JOIN ai_requests r ON r.tenant_id = $1 AND r.created_at >= b.month_start
                """, [.id(tenantID)])
            guard let row = rows.first else { return (AIUsageTotals(), AIUsageTotals()) }
            return (
                AIUsageTotals(requests: row["day_requests"].int ?? 0, promptTokens: row["day_prompt"].int ?? 0,
                              completionTokens: row["day_completion"].int ?? 0, cost: Self.decimal(row["day_cost"].string)),
                AIUsageTotals(requests: row["month_requests"].int ?? 0, promptTokens: row["month_prompt"].int ?? 0,
                              completionTokens: row["month_completion"].int ?? 0, cost: Self.decimal(row["month_cost"].string)))
        }
    }

    /// A month's AI requests of the tenant ("YYYY-MM" in its time zone; nil: the current month):
    /// the month, its totals, and its newest `limit` records, newest first.
    public func aiRequests(tenantID: TenantID, month: String?, limit: Int = 1000) async throws
        -> (month: String, totals: AIUsageTotals, records: [AIRequestRecord])
    {
        try await scoped(tenantID) { tx in
            let bounds = try await tx.query(
                """
                SELECT to_char(m.start, 'YYYY-MM') AS month,
                       (m.start AT TIME ZONE t.time_zone) AS from_time, ((m.start + interval '1 month') AT TIME ZONE t.time_zone) AS to_time
                FROM tenants t
                CROSS JOIN LATERAL (SELECT coalesce(to_date($2, 'YYYY-MM')::timestamp, date_trunc('month', now() AT TIME ZONE t.time_zone)) AS start) m
                WHERE t.id = $1
                """, [.id(tenantID), month.map { .text($0) } ?? .null])
            guard let bound = bounds.first, let from = bound["from_time"].date, let to = bound["to_time"].date else {
                throw TenantStoreError(.notFound, "no such tenant")
            }
            let totals = try await tx.query(
                """
                SELECT count(*) AS requests, coalesce(sum(prompt_tokens), 0) AS prompt, coalesce(sum(completion_tokens), 0) AS completion,
                       coalesce(sum(cost), 0)::text AS cost
                FROM ai_requests WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3
                """, [.id(tenantID), .timestamptz(from), .timestamptz(to)]).first
            let rows = try await tx.query(
                """
                SELECT id, created_at, requested_model, model, outcome, provider_calls, prompt_tokens, completion_tokens, cost::text AS cost,
                       description_length, draft_count
                FROM ai_requests WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3
                ORDER BY created_at DESC, id DESC LIMIT $4
                """, [.id(tenantID), .timestamptz(from), .timestamptz(to), .int(Int64(limit))])
            let records = rows.map { row in
                AIRequestRecord(
                    id: row["id"].string ?? "", createdAt: row["created_at"].date ?? Date(timeIntervalSince1970: 0),
                    requestedModel: row["requested_model"].string ?? "", model: row["model"].string ?? "",
                    outcome: AIRequestOutcome(rawValue: row["outcome"].string ?? "") ?? .providerError,
                    providerCalls: row["provider_calls"].int ?? 0, promptTokens: row["prompt_tokens"].int ?? 0,
                    completionTokens: row["completion_tokens"].int ?? 0, cost: Self.decimal(row["cost"].string),
                    descriptionLength: row["description_length"].int ?? 0, draftCount: row["draft_count"].int ?? 0)
            }
            return (bound["month"].string ?? "",
                    AIUsageTotals(requests: totals?["requests"].int ?? 0, promptTokens: totals?["prompt"].int ?? 0,
                                  completionTokens: totals?["completion"].int ?? 0, cost: Self.decimal(totals?["cost"].string)),
                    records)
        }
    }

    /// Gives back `count` units of today's quota taken by ``consumeDailyQuota(tenantID:_:count:)``
    /// for work that then failed (never below zero).
    public func releaseDailyQuota(tenantID: TenantID, _ quota: DailyQuota, count: Int = 1) async throws {
        let column = quota == .messages ? "messages_sent" : "ai_drafts"
        try await scoped(tenantID) { tx in
            _ = try await tx.query(
                """
                UPDATE usage_daily SET \(column) = greatest(\(column) - $2, 0)
                WHERE tenant_id = $1 AND day = (SELECT (now() AT TIME ZONE time_zone)::date FROM tenants WHERE id = $1)
                """, [.id(tenantID), .int(Int64(count))])
        }
    }

    /// A numeric as text without trailing zeros: "0.0000057500" → "0.00000575", "0.0000000000" → "0".
    static func decimal(_ text: String?) -> String { text.map(DecimalText.trimmed) ?? "0" }
}
