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
        commandName: "usage", abstract: "Your usage against your plan's limits (TenantService.GetUsage).",
        discussion: "Per-day counters count the current day in your time zone.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var auth: AuthOptions

    func run() async throws {
        let global = self.global
        let response = try await global.withAuthenticatedClient(auth) { tenants, options in
            try await tenants.getUsage(Waqtor_V1_GetUsageRequest(), options: options)
        }
        if global.json {
            struct Body: Encodable {
                var limits, used: TenantJSON.Limits?
                var dayStartTime, dayEndTime: String?
                enum CodingKeys: String, CodingKey {
                    case limits, used, dayStartTime = "day_start_time", dayEndTime = "day_end_time"
                }
            }
            Output.json(Body(
                limits: response.limits.map(TenantJSON.Limits.init), used: response.used.map(TenantJSON.Limits.init),
                dayStartTime: response.dayStartTime.map(Output.rfc3339), dayEndTime: response.dayEndTime.map(Output.rfc3339)))
            return
        }
        let limits = response.limits ?? Waqtor_V1_PlanLimits()
        let used = response.used ?? Waqtor_V1_PlanLimits()
        func row(_ name: String, _ used: Int32, _ limit: Int32) -> [String] {
            let left = limit < 0 ? "" : String(max(0, limit - used))
            return [name, String(used), Names.limit(limit), left]
        }
        Output.table(["", "USED", "LIMIT", "LEFT"], [
            row("whatsapp instances", used.whatsappInstances, limits.whatsappInstances),
            row("contacts", used.contacts, limits.contacts),
            row("messages today", used.messagesPerDay, limits.messagesPerDay),
            row("ai drafts today", used.aiDraftsPerDay, limits.aiDraftsPerDay),
        ])
        if let end = response.dayEndTime { Output.line("daily counters reset at \(Output.rfc3339(end))") }
    }
}
