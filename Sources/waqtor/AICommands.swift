import ArgumentParser
import Foundation
import WaqtorProto
import WaqtorRPC

/// `waqtor ai …`: drafting campaign templates with a language model (AIService).
struct AICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ai",
        abstract: "Draft campaign templates with a language model (AIService).",
        discussion: """
            `waqtor ai draft "what the campaign is about"` returns template variants; \
            `--use N --campaign ID` puts the Nth into a DRAFT or SCHEDULED campaign at once. Only \
            the description (with the language and tone) is sent to the model: no contacts, no \
            chats. Each draft call takes one unit of your plan's AI drafts per day (`waqtor usage`). \
            `waqtor ai models` lists the models you may pick with --model.
            """,
        subcommands: [Draft.self, Models.self])

    /// The drafting call's limit without --timeout (the server's own limit is ai.timeout_ms, 90 s by default).
    static let draftTimeout: Duration = .seconds(90)

    struct Draft: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "draft",
            abstract: "Draft template variants from a campaign description (AIService.DraftTemplates).",
            discussion: """
                Prints each draft, numbered from 1, with the {{variables}} it uses, then the model \
                that drafted them ("(fallback)" when the requested one was unavailable), the tokens \
                and the provider's cost. A description of "-" is read from standard input (its final \
                line break dropped). With --use N --campaign ID the campaign is checked first (it \
                must exist and be DRAFT or SCHEDULED, else nothing is drafted), then draft N becomes \
                its template (CampaignService.UpdateCampaign, update path template_text) and the \
                campaign is shown as `waqtor campaign get` shows it. If that step fails (N beyond the \
                drafts returned, a variable the audience's contacts lack, …), the drafts are still \
                printed before the error. Without --timeout the drafting call may take up to 90 \
                seconds (the other calls 10).
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @Argument(help: ArgumentHelp("What the campaign is about, 1 to 2000 characters (- reads it from stdin).", valueName: "description"))
        var description: String
        @Option(help: ArgumentHelp("The tone, e.g. friendly, formal (default: neutral).", valueName: "tone")) var tone: String?
        @Option(help: ArgumentHelp("The drafts' language as a BCP 47 tag, e.g. en, pt-BR (default: the description's).", valueName: "tag"))
        var language: String?
        @Option(help: ArgumentHelp("How many variants to draft, 1 to 5 (default 3).", valueName: "n")) var variants: Int32?
        @Option(help: ArgumentHelp("The model (default: the server's; see `waqtor ai models`).", valueName: "model")) var model: String?
        @Option(help: ArgumentHelp("Put draft N (from 1) into the campaign of --campaign.", valueName: "n")) var use: Int?
        @Option(help: ArgumentHelp("The campaign whose template --use sets (a DRAFT or SCHEDULED one).", valueName: "campaign-id"))
        var campaign: String?

        func validate() throws {
            if description.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { throw ValidationError("the description is empty") }
            if let variants, !(1...5).contains(variants) { throw ValidationError("--variants must be from 1 to 5, got \(variants)") }
            if let model, model.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--model is empty") }
            if use != nil, campaign == nil { throw ValidationError("--use needs --campaign CAMPAIGN_ID (the campaign whose template it sets)") }
            if campaign != nil, use == nil { throw ValidationError("--campaign needs --use N (the draft to put into it)") }
            if let use, use < 1 { throw ValidationError("--use must be 1 or more (drafts are numbered from 1), got \(use)") }
            if let campaign, campaign.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--campaign is empty") }
        }

        /// The description: the argument, or standard input for "-" (a local failure: exit 64).
        func descriptionText() throws(CLIFailure) -> String {
            guard description == "-" else { return description }
            let data = FileHandle.standardInput.readDataToEndOfFile()
            guard let string = String(data: data, encoding: .utf8) else {
                throw CLIFailure(message: "the description read from stdin is not UTF-8", status: Output.ExitStatus.usage)
            }
            let text = string.hasSuffix("\r\n") ? String(string.dropLast(2)) : string.hasSuffix("\n") ? String(string.dropLast()) : string
            if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                throw CLIFailure(message: "the description read from stdin is empty", status: Output.ExitStatus.usage)
            }
            return text
        }

        /// What the calls gave: the drafts, and with --use the campaign or why it was not set.
        enum Step: Sendable {
            case none
            case updated(Waqtor_V1_Campaign?)
            case failed(any Error)
        }

        func run() async throws {
            let global = self.global
            let text = try CampaignCommand.local(global) { () throws(CLIFailure) in try descriptionText() }
            var request = Waqtor_V1_DraftTemplatesRequest()
            request.campaignDescription = text
            request.language = language?.trimmingCharacters(in: .whitespaces) ?? ""
            request.tone = tone?.trimmingCharacters(in: .whitespaces) ?? ""
            request.variantCount = variants ?? 0
            request.model = model?.trimmingCharacters(in: .whitespaces) ?? ""
            let sent = request
            let target = use.flatMap { n in campaign.map { (n, $0.trimmingCharacters(in: .whitespaces)) } }
            // A model may take tens of seconds: a spinner with the time waited, on a terminal.
            let waiting = ProgressLine("drafting", unit: .waiting, enabled: global.showsProgress)
            let (drafted, step) = try await global.withAuthenticatedRPCClient(auth) { client, options in
                let ai = Waqtor_V1_AIServiceClient(client: client)
                // A model may take tens of seconds: without --timeout, the drafting call gets longer.
                var draftOptions = options
                if global.timeout == nil { draftOptions.timeout = AICommand.draftTimeout }
                let draftSeconds = global.timeout ?? Double(AICommand.draftTimeout.components.seconds)
                let draft = { () async throws -> Waqtor_V1_DraftTemplatesResponse in
                    // A timeout's hint names the drafting call's limit (reported after this returns).
                    Hints.update { $0.timeoutSeconds = draftSeconds }
                    return try await waiting.whileWaiting { try await ai.draftTemplates(sent, options: draftOptions) }
                }
                guard case let (n, campaignID)? = target else { return (try await draft(), Step.none) }
                // Check the campaign before drafting, so that a wrong id or a campaign that can no
                // longer change costs no draft.
                let campaigns = Waqtor_V1_CampaignServiceClient(client: client)
                var get = Waqtor_V1_GetCampaignRequest()
                get.campaignID = campaignID
                let current = try await campaigns.getCampaign(get, options: options).campaign
                if let current, current.state != .draft, current.state != .scheduled {
                    throw CLIFailure(
                        message: "campaign \(current.name) (\(current.id)) is \(Names.campaignState(current.state)): only a DRAFT or "
                            + "SCHEDULED campaign can be changed; nothing was drafted",
                        status: Output.ExitStatus.checkFailed)
                }
                let drafted = try await draft()
                guard n <= drafted.drafts.count else {
                    let returned = switch drafted.drafts.count {
                    case 0: "no drafts were returned"
                    case 1: "only 1 draft was returned (use 1)"
                    case let count: "only \(count) drafts were returned (use 1 to \(count))"
                    }
                    let message = "--use \(n): \(returned); the campaign was not changed"
                    return (drafted, Step.failed(CLIFailure(message: message, status: Output.ExitStatus.usage)))
                }
                var campaign = Waqtor_V1_Campaign()
                campaign.id = campaignID
                campaign.templateText = drafted.drafts[n - 1].text
                var update = Waqtor_V1_UpdateCampaignRequest()
                update.campaign = campaign
                update.updatePaths = ["template_text"]
                do {
                    return (drafted, Step.updated(try await campaigns.updateCampaign(update, options: options).campaign))
                } catch {
                    return (drafted, Step.failed(error))
                }
            }
            switch step {
            case .none:
                AICommand.printDrafts(drafted, campaign: nil, global: global)
            case .updated(let campaign):
                AICommand.printDrafts(drafted, campaign: campaign, global: global)
                if !global.json, let n = use {
                    Output.line("")
                    Output.line("draft \(n) is now the template of campaign \(campaign?.id ?? self.campaign ?? ""):")
                    CampaignCommand.printCampaign(campaign, json: false)
                }
            case .failed(let error):
                // The drafts cost a unit of the plan and the provider's tokens: show them anyway.
                AICommand.printDrafts(drafted, campaign: nil, global: global)
                if let error = error as? RPCError {
                    Output.reportError(error, json: global.json)
                    throw ExitCode(Output.ExitStatus.rpcError)
                } else if let failure = error as? CLIFailure {
                    Output.reportFailure(failure, json: global.json)
                    throw ExitCode(failure.status)
                }
                throw error
            }
        }
    }

    struct Models: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "models",
            abstract: "The models `ai draft --model` accepts, the default and the fallback (AIService.ListDraftModels).")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions

        func run() async throws {
            let global = self.global
            let response = try await global.withAuthenticatedRPCClient(auth) { client, options in
                try await Waqtor_V1_AIServiceClient(client: client).listDraftModels(Waqtor_V1_ListDraftModelsRequest(), options: options)
            }
            if global.json {
                struct Body: Encodable { var models: [AIJSON.Model] }
                Output.json(Body(models: response.models.map(AIJSON.Model.init)))
                return
            }
            Output.table(
                ["MODEL", "DEFAULT", "FALLBACK"],
                response.models.map { [$0.id, $0.isDefault ? "*" : "", $0.isFallback ? "*" : ""] })
        }
    }

    /// The drafts, the model, the tokens and the cost; with --json one object (with `campaign`
    /// when one was updated).
    static func printDrafts(_ response: Waqtor_V1_DraftTemplatesResponse, campaign: Waqtor_V1_Campaign?, global: GlobalOptions) {
        let usage = response.usage ?? Waqtor_V1_TokenUsage()
        if global.json {
            Output.json(AIJSON.Drafted(response, campaign: campaign))
            return
        }
        if response.drafts.isEmpty { Output.line("(no drafts)") }
        for (index, draft) in response.drafts.enumerated() {
            let variables = draft.variables.isEmpty ? "no variables" : "variables: " + draft.variables.joined(separator: ", ")
            Output.line("draft \(index + 1) (\(variables)):")
            for line in draft.text.split(separator: "\n", omittingEmptySubsequences: false) { Output.line("  " + line) }
        }
        Output.line("")
        Output.fields([
            ("model", response.model + (response.fallbackUsed ? " (fallback)" : "")),
            ("requested", response.requestedModel == response.model ? "" : response.requestedModel),
            ("tokens", "\(usage.totalTokens) (prompt \(usage.promptTokens), completion \(usage.completionTokens))"),
            ("cost", usage.cost.isEmpty ? "0" : usage.cost),
        ])
    }
}

/// JSON shapes of the AI messages, with the conventions of ``TenantJSON`` (proto field names).
enum AIJSON {
    struct Draft: Encodable {
        var text: String
        var variables: [String]
    }

    struct Usage: Encodable {
        var promptTokens, completionTokens, totalTokens: Int32
        var cost: String
        enum CodingKeys: String, CodingKey {
            case cost
            case promptTokens = "prompt_tokens", completionTokens = "completion_tokens", totalTokens = "total_tokens"
        }
    }

    /// `ai draft --json`.
    struct Drafted: Encodable {
        var drafts: [Draft]
        var model, requestedModel: String
        var fallbackUsed: Bool
        var usage: Usage
        var campaign: CampaignJSON.Campaign?
        enum CodingKeys: String, CodingKey {
            case drafts, model, usage, campaign
            case requestedModel = "requested_model", fallbackUsed = "fallback_used"
        }
        init(_ r: Waqtor_V1_DraftTemplatesResponse, campaign: Waqtor_V1_Campaign?) {
            drafts = r.drafts.map { Draft(text: $0.text, variables: $0.variables) }
            model = r.model; requestedModel = r.requestedModel; fallbackUsed = r.fallbackUsed
            let u = r.usage ?? Waqtor_V1_TokenUsage()
            usage = Usage(promptTokens: u.promptTokens, completionTokens: u.completionTokens, totalTokens: u.totalTokens,
                          cost: u.cost.isEmpty ? "0" : u.cost)
            self.campaign = campaign.map(CampaignJSON.Campaign.init)
        }
    }

    struct Model: Encodable {
        var id: String
        var isDefault, isFallback: Bool
        enum CodingKeys: String, CodingKey { case id, isDefault = "is_default", isFallback = "is_fallback" }
        init(_ m: Waqtor_V1_DraftModel) { id = m.id; isDefault = m.isDefault; isFallback = m.isFallback }
    }
}
