import CoreMetrics
import Foundation
import WaqtorMetrics
import Logging
import WaqtorCore
import WaqtorDrafting
import WaqtorProto
import WaqtorRPC
import WaqtorTenants

/// AIService: drafts campaign templates through the AI provider (docs/AI.md).
///
/// A call is checked (every field, the model against the allow-list), takes one unit of the
/// plan's AI drafts per day, and hands ``WaqtorDrafting/Drafter`` the checked input alone: this
/// handler reads nothing of the tenant's contacts, chats or campaigns. What the provider call
/// consumed is recorded per tenant (tokens, cost), successful or not; a failed call gives its
/// quota unit back.
public struct AIService: Waqtor_V1_AIServiceHandler {
    let configuration: DraftingConfiguration
    /// The drafter in effect (its provider address is known once an embedded stand-in started).
    let drafter: @Sendable () -> Drafter
    let tenants: TenantStore
    let quota: PlanQuota
    /// The limit of a call whose caller gave no deadline.
    let defaultTimeout: Duration
    /// Requests, tokens, cost and errors (nil: none recorded).
    let metrics: AIMetrics?

    public init(configuration: DraftingConfiguration, drafter: @escaping @Sendable () -> Drafter, tenants: TenantStore, quota: PlanQuota,
                defaultTimeout: Duration, metrics: (any MetricsFactory)? = nil) {
        self.metrics = metrics.map(AIMetrics.init)
        self.configuration = configuration
        self.drafter = drafter
        self.tenants = tenants
        self.quota = quota
        self.defaultTimeout = defaultTimeout
    }

    public func draftTemplates(_ request: Waqtor_V1_DraftTemplatesRequest, context: ServerContext) async throws -> Waqtor_V1_DraftTemplatesResponse {
        let caller = try Caller.require()
        let input = try DraftInput(
            description: request.campaignDescription, language: request.language, tone: request.tone,
            variantCount: Int(request.variantCount), model: request.model, configuration: configuration)
        try await quota.consume(tenantID: caller.tenantID, .aiDrafts)
        let ownLimit = ContinuousClock.now.advanced(by: defaultTimeout)
        let deadline = context.deadline.map { min($0, ownLimit) } ?? ownLimit
        let result: DraftResult
        do {
            result = try await drafter().draft(input, deadline: deadline)
        } catch {
            // The unit goes back; what the provider charged stays on record. Neither may be
            // skipped because the caller went away, so they run in a task of their own.
            let tenants = self.tenants
            let record = Self.record(input, spend: error.spend, outcome: AIRequestOutcome(rawValue: error.outcome) ?? .providerError, drafts: 0)
            let reached = error.spend.providerCalls > 0 || error.reachedProvider
            await Task {
                try? await tenants.releaseDailyQuota(tenantID: caller.tenantID, .aiDrafts)
                if reached { try? await tenants.recordAIRequest(tenantID: caller.tenantID, record) }
            }.value
            context.logger.notice("drafting failed", metadata: ["outcome": .string(error.outcome), "reason": .string(error.error.message)])
            metrics?.record(model: input.model, outcome: error.outcome, spend: error.spend)
            throw error.error
        }
        metrics?.record(model: input.model, outcome: "ok", spend: result.spend)
        let record = Self.record(input, spend: result.spend, outcome: .ok, drafts: result.drafts.count)
        let tenants = self.tenants
        await Task { try? await tenants.recordAIRequest(tenantID: caller.tenantID, record) }.value
        var response = Waqtor_V1_DraftTemplatesResponse()
        response.drafts = result.drafts.map { draft in
            var message = Waqtor_V1_Draft()
            message.text = draft.text
            message.variables = draft.variables
            return message
        }
        response.model = result.model
        response.requestedModel = result.requestedModel
        response.fallbackUsed = result.fallbackUsed
        var usage = Waqtor_V1_TokenUsage()
        usage.promptTokens = Int32(clamping: result.spend.promptTokens)
        usage.completionTokens = Int32(clamping: result.spend.completionTokens)
        usage.totalTokens = Int32(clamping: result.spend.promptTokens + result.spend.completionTokens)
        usage.cost = result.spend.cost
        response.usage = usage
        return response
    }

    public func listDraftModels(_ request: Waqtor_V1_ListDraftModelsRequest, context: ServerContext) async throws -> Waqtor_V1_ListDraftModelsResponse {
        _ = try Caller.require()
        var response = Waqtor_V1_ListDraftModelsResponse()
        let ids = [configuration.defaultModel] + configuration.models.filter { $0 != configuration.defaultModel }
        response.models = ids.map { id in
            var model = Waqtor_V1_DraftModel()
            model.id = id
            model.isDefault = id == configuration.defaultModel
            model.isFallback = id == configuration.fallbackModel
            return model
        }
        return response
    }

    static func record(_ input: DraftInput, spend: DraftSpend, outcome: AIRequestOutcome, drafts: Int) -> AIRequestRecord {
        AIRequestRecord(
            requestedModel: input.model, model: spend.model, outcome: outcome, providerCalls: spend.providerCalls,
            promptTokens: spend.promptTokens, completionTokens: spend.completionTokens, cost: spend.cost,
            descriptionLength: input.description.count, draftCount: drafts)
    }
}

/// AI drafting's metrics:
/// - `waqtor_ai_requests_total{model, outcome}`: DraftTemplates calls that reached the drafter, by
///   the requested model (from the allow-list) and outcome (`ok`, `unusable`, `provider_error`,
///   `timeout`);
/// - `waqtor_ai_tokens_total{kind}`: prompt and completion tokens the provider reported;
/// - `waqtor_ai_cost_credits_total`: what the provider charged, in its credits.
final class AIMetrics: Sendable {
    let promptTokens: Counter
    let completionTokens: Counter
    let cost: FloatingPointCounter
    private let requests: CounterFamily

    init(factory: any MetricsFactory) {
        promptTokens = Counter(label: "waqtor_ai_tokens_total", dimensions: [("kind", "prompt")], factory: factory)
        completionTokens = Counter(label: "waqtor_ai_tokens_total", dimensions: [("kind", "completion")], factory: factory)
        cost = FloatingPointCounter(label: "waqtor_ai_cost_credits_total", factory: factory)
        requests = CounterFamily(label: "waqtor_ai_requests_total", factory: factory)
    }

    func record(model: String, outcome: String, spend: DraftSpend) {
        requests.increment([("model", model), ("outcome", outcome)])
        promptTokens.increment(by: spend.promptTokens)
        completionTokens.increment(by: spend.completionTokens)
        if let charged = Double(spend.cost), charged > 0 { cost.increment(by: charged) }
    }
}
