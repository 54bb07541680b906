import Foundation
import Logging
import OpenRouterStandIn
import Testing
@testable import WaqtorApp
import WaqtorContacts
import WaqtorCore
import WaqtorHTTP
import WaqtorInstances
import WaqtorPostgres
import WaqtorProto
import WaqtorRPC
import WaqtorTenants
import WaqtorTestSupport

/// The server with drafting pointed at a stand-in OpenRouter of the test's own, over real HTTP.
func withDrafting<T>(
    logs: CapturedLogs? = nil,
    _ body: (WaqtorApplication, RPCClient, OpenRouterStandIn) async throws -> T
) async throws -> T {
    let standIn = try await OpenRouterStandIn.start(.init(apiKey: "sk-or-v1-test-key-9f8e7d"))
    var configuration = tenantTestConfiguration()
    configuration.aiURL = standIn.baseURL
    configuration.aiAPIKey = "sk-or-v1-test-key-9f8e7d"
    do {
        let result = try await withApplication(configuration, logger: logs?.logger ?? quietLogger) { app, client in
            try await body(app, client, standIn)
        }
        await standIn.stop()
        return result
    } catch {
        await standIn.stop()
        throw error
    }
}

/// A DraftTemplates request.
func draftRequest(_ description: String, language: String = "", tone: String = "", variants: Int32 = 0, model: String = "") -> Waqtor_V1_DraftTemplatesRequest {
    var request = Waqtor_V1_DraftTemplatesRequest()
    request.campaignDescription = description
    request.language = language
    request.tone = tone
    request.variantCount = variants
    request.model = model
    return request
}

@Suite("AIService: drafting through OpenRouter")
struct AITests {
    @Test("only the description (and the asked language, tone and count) leaves: no contact's name or attribute, no chat message, no phone number, no account email")
    func privacyOnTheWire() async throws {
        try await withDrafting { app, client, standIn in
            let tenants = Waqtor_V1_TenantServiceClient(client: client)
            let account = try await signUp(tenants, name: "Padaria Zyxq Lda")
            let tenant = TenantID(trusted: account.tenant.id)
            // Markers in a contact, its attribute and an inbound chat message of the same tenant.
            let nameMarker = "Zyxmarker-Name-7731", attributeMarker = "Zyxmarker-Attr-5519", chatMarker = "Zyxmarker-Chat-2846"
            _ = try await app.contacts.create(
                tenantID: tenant, number: ContactNumber(e164: "+5511987650001", type: "mobile", region: "BR"),
                name: nameMarker, attributes: ["favourite": attributeMarker], optedOut: false, consentSource: .manual, limit: nil)
            let instance = try await app.instances.create(tenantID: tenant, displayName: "Sales")
            let http = HTTPClient()
            let hooks = WebhookHarness(app: app, http: http, port: try #require(app.webhookPort))
            let post = try await hooks.post(instance, chatUpsert(instance, id: "3EBPRIV1", phone: "5511987650002",
                                                                 message: ["conversation": "my order? \(chatMarker)"], pushName: nameMarker))
            await http.shutdown()
            #expect(post.status == 200)
            try await ChatTests.project(app, instance)
            let stored = try await app.postgres.withTransaction(tenantID: account.tenant.id) { tx in
                try await tx.query("SELECT body FROM chat_messages")
            }
            #expect(stored.map { $0["body"].string ?? "" }.contains { $0.contains(chatMarker) }, "the chat marker is stored here")

            let description = "Spring promotion at our bakery: two croissants for 3 EUR, this weekend only"
            let ai = Waqtor_V1_AIServiceClient(client: client)
            let response = try await ai.draftTemplates(draftRequest(description, language: "pt-BR", tone: "friendly", variants: 2), options: account.auth)
            #expect(response.drafts.count == 2)

            let sent = standIn.requests().filter { $0.path.hasSuffix("/chat/completions") }
            #expect(sent.count == 1)
            let request = try #require(sent.first)
            let body = request.bodyString
            #expect(body.contains(description))
            #expect(body.contains("Number of drafts: 2") && body.contains("pt-BR") && body.contains("Tone: friendly"))
            for secret in [nameMarker, attributeMarker, chatMarker, "Zyxmarker", "987650001", "987650002", account.email,
                           account.tenant.id, "Padaria", account.token] {
                #expect(!body.contains(secret), "the request body holds \(secret)")
                #expect(!request.headers.contains { $0.value.contains(secret) }, "a request header holds \(secret)")
            }
            let json = try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
            #expect(json["user"] == nil, "no user field")
            #expect((json["provider"] as? [String: Any])?["data_collection"] as? String == "deny")
            let messages = try #require(json["messages"] as? [[String: Any]])
            #expect(messages.map { $0["role"] as? String } == ["system", "user"])
            #expect(request.header("Authorization") == "Bearer sk-or-v1-test-key-9f8e7d")
        }
    }

    @Test("the description and the API key are never logged: only the description's length and a hash")
    func notLogged() async throws {
        let logs = CapturedLogs()
        let description = "Members-only tasting of our Zyxlog-Vintage-8812 wines on Friday"
        try await withDrafting(logs: logs) { _, client, standIn in
            let account = try await signUp(Waqtor_V1_TenantServiceClient(client: client))
            let ai = Waqtor_V1_AIServiceClient(client: client)
            _ = try await ai.draftTemplates(draftRequest(description), options: account.auth)
            standIn.inject([.status(401)])
            _ = await rpcError { _ = try await ai.draftTemplates(draftRequest(description), options: account.auth) }
        }
        let drafting = try #require(logs.records.first { $0.message == "drafting" })
        #expect(drafting.metadata["description_length"] == String(description.count))
        #expect(drafting.metadata["description_sha256"]?.count == 12)
        for record in logs.records {
            #expect(!record.text.contains("Zyxlog-Vintage"), "logged: \(record.text)")
            #expect(!record.text.contains("test-key-9f8e7d"), "logged: \(record.text)")
        }
    }

    @Test("drafts, their variables, the model, the usage; ListDraftModels names the allowed ones")
    func drafts() async throws {
        try await withDrafting { _, client, standIn in
            let account = try await signUp(Waqtor_V1_TenantServiceClient(client: client))
            let ai = Waqtor_V1_AIServiceClient(client: client)
            let response = try await ai.draftTemplates(draftRequest("Our new store opens in Recife on Saturday"), options: account.auth)
            #expect(response.drafts.count == 3)
            #expect(response.drafts.allSatisfy { $0.variables.first == "name" && $0.text.contains("Recife") })
            #expect(response.model == "google/gemini-2.5-flash" && response.requestedModel == "google/gemini-2.5-flash" && !response.fallbackUsed)
            let usage = try #require(response.usage)
            #expect(usage.promptTokens > 0 && usage.completionTokens > 0 && usage.totalTokens == usage.promptTokens + usage.completionTokens)
            #expect(Decimal(string: usage.cost)! > 0)
            standIn.setUnavailable("google/gemini-2.5-flash", true)
            let fallback = try await ai.draftTemplates(draftRequest("Our new store opens in Recife on Saturday"), options: account.auth)
            #expect(fallback.fallbackUsed && fallback.model == "qwen/qwen3-235b-a22b-07-25")
            let models = try await ai.listDraftModels(.init(), options: account.auth).models
            #expect(models.map(\.id) == ["google/gemini-2.5-flash", "qwen/qwen3-235b-a22b-2507"])
            #expect(models.map(\.isDefault) == [true, false] && models.map(\.isFallback) == [false, true])
        }
    }

    @Test("bad input: INVALID_ARGUMENT naming the field, before any quota is taken or the provider is called")
    func badInput() async throws {
        try await withDrafting { _, client, standIn in
            let tenants = Waqtor_V1_TenantServiceClient(client: client)
            let account = try await signUp(tenants)
            let ai = Waqtor_V1_AIServiceClient(client: client)
            let cases: [(Waqtor_V1_DraftTemplatesRequest, String)] = [
                (draftRequest(""), "campaign_description"),
                (draftRequest(String(repeating: "x", count: 2001)), "campaign_description"),
                (draftRequest("ok", language: "klingon"), "language"),
                (draftRequest("ok", tone: "<script>"), "tone"),
                (draftRequest("ok", variants: 9), "variant_count"),
                (draftRequest("ok", model: "openai/gpt-4o"), "model"),
            ]
            for (request, field) in cases {
                let error = await rpcError { _ = try await ai.draftTemplates(request, options: account.auth) }
                #expect(error?.code == .invalidArgument && error?.message.hasPrefix("\(field):") == true, "\(field): \(String(describing: error))")
            }
            let refused = await rpcError { _ = try await ai.draftTemplates(draftRequest("ok", model: "openai/gpt-4o"), options: account.auth) }
            #expect(refused?.message.contains("google/gemini-2.5-flash, qwen/qwen3-235b-a22b-2507") == true)
            #expect(standIn.requests().isEmpty)
            #expect(try await tenants.getUsage(.init(), options: account.auth).used?.aiDraftsPerDay == 0)
        }
    }

    @Test("the plan's AI drafts per day: consumed per call, given back when drafting fails, then RESOURCE_EXHAUSTED with retry-after-ms")
    func quota() async throws {
        try await withDrafting { app, client, standIn in
            let tenants = Waqtor_V1_TenantServiceClient(client: client)
            let account = try await signUp(tenants)
            let ai = Waqtor_V1_AIServiceClient(client: client)
            // The free plan allows 20 a day: 18 are used.
            try await app.tenants.recordUsage(tenantID: TenantID(trusted: account.tenant.id), aiDrafts: 18)
            _ = try await ai.draftTemplates(draftRequest("Sale on umbrellas"), options: account.auth)
            #expect(try await tenants.getUsage(.init(), options: account.auth).used?.aiDraftsPerDay == 19)
            // A failure (the provider's account is out of credits) gives the unit back.
            standIn.inject([.status(402)])
            let failed = await rpcError { _ = try await ai.draftTemplates(draftRequest("Sale on umbrellas"), options: account.auth) }
            #expect(failed?.code == .failedPrecondition && failed?.message.contains("out of credits") == true)
            #expect(try await tenants.getUsage(.init(), options: account.auth).used?.aiDraftsPerDay == 19)
            _ = try await ai.draftTemplates(draftRequest("Sale on umbrellas"), options: account.auth)
            let exhausted = await rpcError { _ = try await ai.draftTemplates(draftRequest("Sale on umbrellas"), options: account.auth) }
            #expect(exhausted?.code == .resourceExhausted)
            #expect(exhausted?.metadata["limit"] == "ai_drafts_per_day")
            #expect(Int(exhausted?.metadata[Metadata.Keys.retryAfterMilliseconds] ?? "") ?? 0 > 0)
            #expect(standIn.requests().filter { $0.path.hasSuffix("/chat/completions") }.count == 3, "the refused call never reached the provider")
        }
    }

    @Test("tokens and cost per request: the tenant's GetUsage sums them, administrators list them per month")
    func usageAndBilling() async throws {
        try await withDrafting { app, client, standIn in
            let tenants = Waqtor_V1_TenantServiceClient(client: client)
            let account = try await signUp(tenants)
            let other = try await signUp(tenants)
            let ai = Waqtor_V1_AIServiceClient(client: client)
            let first = try await ai.draftTemplates(draftRequest("Half-price pizza on Tuesdays", variants: 2), options: account.auth)
            standIn.inject([.unusable])
            let second = try await ai.draftTemplates(draftRequest("Half-price pizza on Tuesdays", variants: 2), options: account.auth)
            standIn.inject([.status(401)])
            _ = await rpcError { _ = try await ai.draftTemplates(draftRequest("Half-price pizza on Tuesdays"), options: account.auth) }
            _ = try await ai.draftTemplates(draftRequest("Someone else's campaign"), options: other.auth)

            let usage = try await tenants.getUsage(.init(), options: account.auth)
            let today = try #require(usage.aiToday)
            let month = try #require(usage.aiThisMonth)
            let prompt = Int64(first.usage!.promptTokens + second.usage!.promptTokens)
            let completion = Int64(first.usage!.completionTokens + second.usage!.completionTokens)
            #expect(today.requests == 3, "two drafts and one refused by the provider")
            #expect(today.promptTokens == prompt && today.completionTokens == completion)
            #expect(Decimal(string: today.cost) == Decimal(string: first.usage!.cost)! + Decimal(string: second.usage!.cost)!)
            #expect(month.requests >= today.requests && month.promptTokens >= today.promptTokens)
            #expect(usage.used?.aiDraftsPerDay == 2, "the refused call gave its unit back")

            let admin = try await signUpAdministrator(app, tenants)
            var request = Waqtor_V1_AdminGetTenantUsageRequest()
            request.tenantID = account.tenant.id
            let billed = try await tenants.adminGetTenantUsage(request, options: admin.auth)
            #expect(billed.tenant?.id == account.tenant.id && billed.usage?.aiToday == today)
            #expect(billed.aiRequests.map(\.outcome) == ["provider_error", "ok", "ok"])
            #expect(billed.aiRequests.map(\.providerCalls) == [0, 2, 1])
            #expect(billed.aiRequests[1].descriptionLength == Int32("Half-price pizza on Tuesdays".count))
            #expect(billed.aiRequests[1].draftCount == 2 && billed.aiRequests[2].model == "google/gemini-2.5-flash")
            #expect(billed.aiMonth?.requests == 3 && billed.month.count == 7)
            request.month = "2020-01"
            #expect(try await tenants.adminGetTenantUsage(request, options: admin.auth).aiRequests.isEmpty)
            request.month = "January"
            #expect(await rpcError { _ = try await tenants.adminGetTenantUsage(request, options: admin.auth) }?.code == .invalidArgument)
            request.month = ""
            #expect(await rpcError { _ = try await tenants.adminGetTenantUsage(request, options: account.auth) }?.code == .permissionDenied)
        }
    }

    @Test("provider outages: 429/503 retried within the deadline, then UNAVAILABLE with retry-after-ms; a slow provider ends the call before its deadline")
    func outages() async throws {
        try await withDrafting { _, client, standIn in
            let account = try await signUp(Waqtor_V1_TenantServiceClient(client: client))
            let ai = Waqtor_V1_AIServiceClient(client: client)
            standIn.inject([.status(429, retryAfterSeconds: 1), .status(503)])
            let recovered = try await ai.draftTemplates(draftRequest("Flash sale on headphones"), options: account.auth)
            #expect(recovered.drafts.count == 3)
            standIn.inject([.status(503), .status(502), .errorInBody(503)])
            let down = await rpcError { _ = try await ai.draftTemplates(draftRequest("Flash sale on headphones"), options: account.auth) }
            #expect(down?.code == .unavailable && down?.message.contains("unavailable") == true)
            #expect(Int(down?.metadata[Metadata.Keys.retryAfterMilliseconds] ?? "") ?? 0 > 0)
            standIn.inject([.status(429, retryAfterSeconds: 600)])
            let later = await rpcError { _ = try await ai.draftTemplates(draftRequest("Flash sale on headphones"), options: account.auth) }
            #expect(later?.code == .unavailable && later?.metadata[Metadata.Keys.retryAfterMilliseconds] == "600000")
            standIn.inject([.slow(milliseconds: 60_000)])
            var options = account.auth
            // The handler keeps a tenth of what is left (2 s here) to answer in: room for a
            // machine busy with the whole suite.
            options.timeout = .seconds(20)
            let slow = await rpcError { _ = try await ai.draftTemplates(draftRequest("Flash sale on headphones"), options: options) }
            // UNAVAILABLE from the handler, not DEADLINE_EXCEEDED: it ended the call before the deadline.
            #expect(slow?.code == .unavailable && slow?.message.contains("deadline") == true, "\(String(describing: slow))")
            standIn.inject([.unusable, .unusable])
            let unusable = await rpcError { _ = try await ai.draftTemplates(draftRequest("Flash sale on headphones"), options: account.auth) }
            #expect(unusable?.code == .unavailable && unusable?.message.contains("unusable twice") == true)
        }
    }

    @Test("a server whose ai.api_key is empty answers FAILED_PRECONDITION naming the setting")
    func notConfigured() async throws {
        var configuration = tenantTestConfiguration()
        configuration.aiURL = "https://openrouter.ai/api/v1"
        configuration.aiAPIKey = ""
        try await withApplication(configuration) { _, client in
            let account = try await signUp(Waqtor_V1_TenantServiceClient(client: client))
            let error = await rpcError { _ = try await Waqtor_V1_AIServiceClient(client: client).draftTemplates(draftRequest("x"), options: account.auth) }
            #expect(error?.code == .failedPrecondition && error?.message.contains("ai.api_key") == true)
        }
    }
}

@Suite("AI models checked at start-up")
struct AIModelCheckTests {
    @Test("configured models the provider does not list are named in a warning; the key is not logged")
    func unknownModel() async throws {
        let standIn = try await OpenRouterStandIn.start(.init(apiKey: "sk-or-v1-check-key-1a2b"))
        let logs = CapturedLogs()
        var configuration = tenantTestConfiguration()
        configuration.aiURL = standIn.baseURL
        configuration.aiAPIKey = "sk-or-v1-check-key-1a2b"
        configuration.aiModels = ["google/gemini-2.5-flash", "google/gemini-0.9-retired"]
        let app = try WaqtorApplication(configuration: configuration, logger: logs.logger)
        await app.checkAIModels()
        let warning = try #require(logs.records.first { $0.level == .warning && $0.message.contains("does not list") })
        #expect(warning.metadata["missing"] == "google/gemini-0.9-retired")
        configuration.aiModels = ["google/gemini-2.5-flash"]
        let fine = try WaqtorApplication(configuration: configuration, logger: logs.logger)
        await fine.checkAIModels()
        #expect(logs.records.contains { $0.message == "AI models available" })
        #expect(!logs.records.contains { $0.text.contains("check-key-1a2b") })
        await app.closeBackends()
        await fine.closeBackends()
        await standIn.stop()
    }
}
