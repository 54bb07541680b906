import Crypto
import Foundation
import Logging
import WaqtorCore
import WaqtorOpenRouter

/// What a drafting call consumed at the provider, successful or not (for the usage records).
public struct DraftSpend: Sendable, Hashable {
    /// Provider calls made (1, or 2 after unusable output); 0 when none reached it.
    public var providerCalls = 0
    public var promptTokens = 0
    public var completionTokens = 0
    /// In the provider's credits, a decimal number.
    public var cost = "0"
    /// The model that answered last; empty when none did.
    public var model = ""

    public init() {}

    mutating func add(_ completion: OpenRouterCompletion) {
        providerCalls += 1
        promptTokens += completion.usage.promptTokens
        completionTokens += completion.usage.completionTokens
        cost = Self.sum(cost, completion.usage.cost)
        model = completion.model
    }

    /// Two decimal texts added exactly (Foundation's Decimal).
    static func sum(_ a: String, _ b: String) -> String {
        let total = (Decimal(string: a) ?? 0) + (Decimal(string: b) ?? 0)
        return "\(total)"
    }
}

/// Drafts that passed the template checks.
public struct DraftResult: Sendable, Hashable {
    public var drafts: [Draft]
    /// The model that drafted them, as the provider named it.
    public var model: String
    /// The model asked for.
    public var requestedModel: String
    /// Whether the fallback answered.
    public var fallbackUsed: Bool
    public var spend: DraftSpend
}

/// A drafting call that failed, with what it consumed and how it ended (`unusable`,
/// `provider_error`, `timeout`).
public struct DraftFailure: Error, Sendable {
    public var error: DraftingError
    public var spend: DraftSpend
    /// `unusable`, `provider_error` or `timeout` (`ai_requests.outcome`).
    public var outcome: String
    /// Whether an HTTP request reached the provider (a refusal such as 401 costs nothing but is
    /// on record).
    public var reachedProvider: Bool
}

/// Drafts campaign templates: one provider call with the structured-output schema, every draft
/// checked by the template parser, one more call when the answer is unusable, then the checked
/// drafts or an error a person can act on.
///
/// It is given a ``DraftInput`` and nothing else: this module cannot read contacts, chats,
/// recipients or media (it has no database access at all), and the description is logged only
/// as its length and a hash.
public struct Drafter: Sendable {
    public let configuration: DraftingConfiguration
    let client: OpenRouterClient
    let logger: Logger

    public init(configuration: DraftingConfiguration, client: OpenRouterClient, logger: Logger) {
        self.configuration = configuration
        self.client = client
        self.logger = logger
    }

    /// Drafts `input.variantCount` templates before `deadline`.
    public func draft(_ input: DraftInput, deadline: ContinuousClock.Instant?) async throws(DraftFailure) -> DraftResult {
        let request = DraftPrompt.request(input, configuration: configuration)
        var spend = DraftSpend()
        var kept: [Draft] = []
        var problems: [String] = []
        logger.info("drafting", metadata: [
            "description_length": .stringConvertible(input.description.count), "description_sha256": .string(Self.fingerprint(input.description)),
            "model": .string(input.model), "variants": .stringConvertible(input.variantCount),
        ])
        // At most two calls: the second only when the first answer was unusable (or short).
        for call in 1...2 {
            let completion: OpenRouterCompletion
            do {
                completion = try await client.complete(request, deadline: deadline)
            } catch {
                // A failure after one unusable answer keeps the drafts that passed, if any.
                if !kept.isEmpty { break }
                throw DraftFailure(error: Self.map(error), spend: spend, outcome: error.kind == .deadlineExceeded ? "timeout" : "provider_error",
                                   reachedProvider: error.attempts > 0)
            }
            spend.add(completion)
            let outcome = DraftChecker.check(content: completion.content, finishReason: completion.finishReason)
            for draft in outcome.drafts where kept.count < input.variantCount && !kept.contains(draft) { kept.append(draft) }
            problems = outcome.problems
            if kept.count >= input.variantCount { break }
            logger.notice("drafts unusable", metadata: [
                "call": .stringConvertible(call), "kept": .stringConvertible(kept.count), "problems": .string(problems.prefix(3).joined(separator: "; ")),
            ])
        }
        guard !kept.isEmpty else {
            let reason = problems.first ?? "no draft passed the template checks"
            throw DraftFailure(
                error: DraftingError(.unavailable, "the model's answer was unusable twice (\(reason)); try again, rephrase the description, or choose another model (ListDraftModels)",
                                     retryAfterMilliseconds: 1000),
                spend: spend, outcome: "unusable", reachedProvider: true)
        }
        return DraftResult(drafts: kept, model: spend.model, requestedModel: input.model,
                           fallbackUsed: !Self.sameModel(spend.model, input.model), spend: spend)
    }

    /// Whether the answering model is the one asked for. OpenRouter may answer with a dated id
    /// (`qwen/qwen3-235b-a22b-2507` → `qwen/qwen3-235b-a22b-07-25`), so ids are compared without
    /// their trailing all-digit `-` parts.
    static func sameModel(_ answered: String, _ requested: String) -> Bool {
        if answered.isEmpty || answered == requested { return true }
        func stem(_ id: String) -> [Substring] {
            var parts = id.split(separator: "-", omittingEmptySubsequences: false)
            while parts.count > 1, let last = parts.last, !last.isEmpty, last.allSatisfy(\.isNumber) { parts.removeLast() }
            return parts
        }
        return stem(answered) == stem(requested)
    }

    /// The first 12 hex digits of the description's SHA-256: enough to match log lines of one
    /// description, nothing to read it back from.
    static func fingerprint(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).prefix(6).map { String(format: "%02x", $0) }.joined()
    }

    /// Provider failures in the tenant's (and operator's) words.
    static func map(_ error: OpenRouterError) -> DraftingError {
        let said = error.providerMessage.isEmpty ? "" : " (the provider said: \(error.providerMessage))"
        let retry = error.retryAfter.map { Int($0.components.seconds * 1000 + $0.components.attoseconds / 1_000_000_000_000_000) } ?? 1000
        switch error.kind {
        case .notConfigured:
            return DraftingError(.failedPrecondition, "AI drafting is not configured on this server: the operator must set ai.api_key (docs/AI.md)")
        case .unauthorized:
            return DraftingError(.failedPrecondition, "the AI provider refused the server's API key\(said); the operator must set a valid ai.api_key")
        case .insufficientCredits:
            return DraftingError(.failedPrecondition, "the AI provider's account is out of credits\(said); the operator must add credits at openrouter.ai")
        case .refused:
            let reasons = error.reasons.isEmpty ? "" : " (flagged: \(error.reasons.joined(separator: ", ")))"
            return DraftingError(.failedPrecondition, "the AI provider refused the request: its moderation flagged the description\(reasons) or the key lacks permission\(said); rephrase the description, or ask the operator")
        case .badRequest, .notFound:
            return DraftingError(.failedPrecondition, "the AI provider rejected the request\(said); the operator should check ai.url and ai.models")
        case .unavailable:
            return DraftingError(.unavailable, "the AI provider is unavailable right now\(said); retry in \(max(retry / 1000, 1)) s", retryAfterMilliseconds: max(retry, 1))
        case .deadlineExceeded:
            return DraftingError(.unavailable, "the AI provider did not answer within the call's deadline; retry with a longer deadline or later", retryAfterMilliseconds: max(retry, 1))
        case .cancelled:
            return DraftingError(.aborted, "the call was cancelled")
        }
    }
}
