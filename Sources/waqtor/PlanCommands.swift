import ArgumentParser
import Foundation
import WaqtorProto
import WaqtorRPC

/// `waqtor plan [show|upgrade|requests]`.
struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan", abstract: "Show your plan and the plans on offer; ask for an upgrade.",
        subcommands: [Show.self, Upgrade.self, Requests.self], defaultSubcommand: Show.self)

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Your plan and the plans on offer (TenantService.GetMyPlan and ListPlans). The default.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions

        func run() async throws {
            let global = self.global
            let (mine, all) = try await global.withAuthenticatedClient(auth) { tenants, options in
                let mine = try await tenants.getMyPlan(Waqtor_V1_GetMyPlanRequest(), options: options)
                let all = try await tenants.listPlans(Waqtor_V1_ListPlansRequest(), options: options)
                return (mine, all)
            }
            if global.json {
                struct Body: Encodable {
                    var plan: TenantJSON.Plan?
                    var sinceTime: String?
                    var plans: [TenantJSON.Plan]
                    enum CodingKeys: String, CodingKey { case plan, plans, sinceTime = "since_time" }
                }
                Output.json(Body(
                    plan: mine.plan.map(TenantJSON.Plan.init), sinceTime: mine.sinceTime.map(Output.rfc3339),
                    plans: all.plans.map(TenantJSON.Plan.init)))
                return
            }
            if let plan = mine.plan {
                Output.line("your plan: \(plan.id) (\(plan.name))" + (mine.sinceTime.map { " since \(Output.rfc3339($0))" } ?? ""))
            }
            Output.line("")
            Output.table(
                ["", "PLAN", "NAME", "INSTANCES", "CONTACTS", "MESSAGES/DAY", "AI DRAFTS/DAY", "DESCRIPTION"],
                all.plans.map { plan in
                    let limits = plan.limits ?? Waqtor_V1_PlanLimits()
                    return [plan.id == mine.plan?.id ? "*" : "", plan.id, plan.name,
                            Names.limit(limits.whatsappInstances), Names.limit(limits.contacts),
                            Names.limit(limits.messagesPerDay), Names.limit(limits.aiDraftsPerDay), plan.description]
                })
            Output.line("")
            Output.line("to move: waqtor plan upgrade --to PLAN --reason TEXT (an administrator grants it)")
        }
    }

    struct Upgrade: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "upgrade", abstract: "Ask an administrator to move you to another plan (TenantService.RequestUpgrade).")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @Option(help: ArgumentHelp("The plan's id (see `waqtor plan`).", valueName: "plan")) var to: String
        @Option(help: ArgumentHelp("Why (shown to the administrators).", valueName: "text")) var reason: String

        func run() async throws {
            let global = self.global
            var request = Waqtor_V1_RequestUpgradeRequest()
            request.requestedPlanID = to
            request.reason = reason
            let sent = request
            let response = try await global.withAuthenticatedClient(auth) { tenants, options in
                try await tenants.requestUpgrade(sent, options: options)
            }
            printUpgradeRequest(response.upgradeRequest, global: global)
        }
    }

    struct Requests: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "requests", abstract: "Your upgrade requests, newest first (TenantService.ListMyUpgradeRequests).")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @OptionGroup var page: PageOptions

        func run() async throws {
            let global = self.global
            var request = Waqtor_V1_ListMyUpgradeRequestsRequest()
            request.pageSize = page.pageSize
            request.pageToken = page.pageToken
            let sent = request
            let response = try await global.withAuthenticatedClient(auth) { tenants, options in
                try await tenants.listMyUpgradeRequests(sent, options: options)
            }
            printUpgradeRequests(response.upgradeRequests, nextPageToken: response.nextPageToken, withTenant: false, global: global)
        }
    }
}

/// `{"upgrade_request":…}` or its fields.
func printUpgradeRequest(_ request: Waqtor_V1_UpgradeRequest?, global: GlobalOptions) {
    if global.json {
        struct Body: Encodable {
            var upgradeRequest: TenantJSON.UpgradeRequest?
            enum CodingKeys: String, CodingKey { case upgradeRequest = "upgrade_request" }
        }
        Output.json(Body(upgradeRequest: request.map(TenantJSON.UpgradeRequest.init)))
    } else if let request {
        Output.requestFields(request)
    }
}

/// `{"upgrade_requests":[…],"next_page_token":…}` or a table.
func printUpgradeRequests(_ requests: [Waqtor_V1_UpgradeRequest], nextPageToken: String, withTenant: Bool, global: GlobalOptions) {
    if global.json {
        struct Body: Encodable {
            var upgradeRequests: [TenantJSON.UpgradeRequest]
            var nextPageToken: String
            enum CodingKeys: String, CodingKey { case upgradeRequests = "upgrade_requests", nextPageToken = "next_page_token" }
        }
        Output.json(Body(upgradeRequests: requests.map(TenantJSON.UpgradeRequest.init), nextPageToken: nextPageToken))
    } else {
        Output.requestTable(requests, withTenant: withTenant)
        Output.nextPage(nextPageToken)
    }
}

/// `waqtor usage`: TenantService.GetUsage.
struct UsageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "usage", abstract: "Your usage against your plan's limits, and your AI drafting (TenantService.GetUsage).",
        discussion: """
            Per-day counters count the current day in your time zone; the AI drafting table counts \
            the DraftTemplates calls that reached the provider today and this month, their tokens \
            and the provider's cost (US dollars at OpenRouter).
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var auth: AuthOptions

    func run() async throws {
        let global = self.global
        let response = try await global.withAuthenticatedClient(auth) { tenants, options in
            try await tenants.getUsage(Waqtor_V1_GetUsageRequest(), options: options)
        }
        if global.json {
            Output.json(TenantJSON.Usage(response))
            return
        }
        Output.usage(response)
    }
}
