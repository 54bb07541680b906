import ArgumentParser
import Foundation
import WaqtorProto
import WaqtorRPC

/// `waqtor admin …`: the administrators' operations (PERMISSION_DENIED for anyone else).
struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin", abstract: "Administrators: tenants, their usage, plans, suspensions and upgrade requests.",
        subcommands: [Tenants.self, Usage.self, SetPlan.self, Suspend.self, Reactivate.self, Requests.self, Grant.self, Reject.self])

    enum TenantStateFilter: String, ExpressibleByArgument, CaseIterable {
        case active, suspended, deleted
        var proto: Waqtor_V1_TenantState {
            switch self {
            case .active: .active
            case .suspended: .suspended
            case .deleted: .deleted
            }
        }
    }

    enum RequestStateFilter: String, ExpressibleByArgument, CaseIterable {
        case pending, granted, rejected, cancelled
        var proto: Waqtor_V1_UpgradeRequestState {
            switch self {
            case .pending: .pending
            case .granted: .granted
            case .rejected: .rejected
            case .cancelled: .cancelled
            }
        }
    }

    struct Tenants: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "tenants", abstract: "List or search tenants, newest first (TenantService.AdminListTenants).")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @OptionGroup var page: PageOptions
        @Option(help: ArgumentHelp("Case-insensitive substring of the name or email.", valueName: "text")) var search: String = ""
        @Option(help: ArgumentHelp("Only tenants in this state: active, suspended or deleted (lists nothing: a deleted account is removed with all its data).", valueName: "state"))
        var state: TenantStateFilter?
        @Option(help: ArgumentHelp("Only tenants on this plan.", valueName: "plan")) var plan: String = ""

        func run() async throws {
            let global = self.global
            var request = Waqtor_V1_AdminListTenantsRequest()
            request.pageSize = page.pageSize
            request.pageToken = page.pageToken
            request.query = search
            request.state = state?.proto ?? .unspecified
            request.planID = plan
            let sent = request
            let response = try await global.withAuthenticatedClient(auth) { tenants, options in
                try await tenants.adminListTenants(sent, options: options)
            }
            if global.json {
                struct Body: Encodable {
                    var tenants: [TenantJSON.Tenant]
                    var nextPageToken: String
                    enum CodingKeys: String, CodingKey { case tenants, nextPageToken = "next_page_token" }
                }
                Output.json(Body(tenants: response.tenants.map(TenantJSON.Tenant.init), nextPageToken: response.nextPageToken))
            } else {
                Output.tenantTable(response.tenants)
                Output.nextPage(response.nextPageToken)
            }
        }
    }

    struct Usage: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "usage",
            abstract: "A tenant's usage and its AI drafting requests of a month (TenantService.AdminGetTenantUsage).",
            discussion: """
                The tenant's usage as `waqtor usage` shows it to the tenant, then the month's AI \
                drafting totals and its requests, newest first (at most 1000 listed; the totals count \
                them all): when, the model that answered (the requested one in parentheses when none \
                did), the outcome (ok, unusable, provider_error, timeout), the provider calls, the \
                tokens, the provider's cost and the drafts returned. The month is the tenant's \
                (its time zone).
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @Argument(help: ArgumentHelp("The tenant's id.", valueName: "tenant-id")) var tenantID: String
        @Option(help: ArgumentHelp("The month of the AI requests (default: the tenant's current month).", valueName: "YYYY-MM"))
        var month: String?

        func validate() throws {
            if tenantID.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("the tenant id is empty") }
            if let month {
                let parts = month.split(separator: "-", omittingEmptySubsequences: false)
                guard month.count == 7, parts.count == 2, parts[0].count == 4, parts[1].count == 2,
                      let year = Int(parts[0]), let number = Int(parts[1]), (2000...9999).contains(year), (1...12).contains(number)
                else { throw ValidationError("--month must be a month written YYYY-MM, e.g. 2026-11, got '\(month)'") }
            }
        }

        func run() async throws {
            let global = self.global
            var request = Waqtor_V1_AdminGetTenantUsageRequest()
            request.tenantID = tenantID.trimmingCharacters(in: .whitespaces)
            request.month = month ?? ""
            let sent = request
            let response = try await global.withAuthenticatedClient(auth) { tenants, options in
                try await tenants.adminGetTenantUsage(sent, options: options)
            }
            if global.json {
                struct Body: Encodable {
                    var tenant: TenantJSON.Tenant?
                    var usage: TenantJSON.Usage?
                    var month: String
                    var aiMonth: TenantJSON.AIUsage
                    var aiRequests: [TenantJSON.AIRequest]
                    enum CodingKeys: String, CodingKey { case tenant, usage, month, aiMonth = "ai_month", aiRequests = "ai_requests" }
                }
                Output.json(Body(
                    tenant: response.tenant.map(TenantJSON.Tenant.init), usage: response.usage.map(TenantJSON.Usage.init),
                    month: response.month, aiMonth: TenantJSON.AIUsage(response.aiMonth ?? Waqtor_V1_AIUsage()),
                    aiRequests: response.aiRequests.map(TenantJSON.AIRequest.init)))
                return
            }
            if let t = response.tenant {
                Output.line("tenant \(t.name) <\(t.email)> (\(t.id)): plan \(t.planID), \(Names.tenantState(t.state)), time zone \(t.timeZone)")
                Output.line("")
            }
            Output.usage(response.usage ?? Waqtor_V1_GetUsageResponse())
            let total = TenantJSON.AIUsage(response.aiMonth ?? Waqtor_V1_AIUsage())
            Output.line("")
            Output.line("AI drafting in \(response.month): \(total.requests) request\(total.requests == 1 ? "" : "s"), "
                + "tokens \(total.promptTokens) prompt + \(total.completionTokens) completion, cost \(total.cost)")
            Output.table(
                ["TIME", "MODEL", "OUTCOME", "CALLS", "PROMPT", "COMPLETION", "COST", "DRAFTS"],
                response.aiRequests.map { r in
                    let record = TenantJSON.AIRequest(r)
                    return [Output.time(r.createTime), r.model.isEmpty ? "(\(r.requestedModel))" : r.model, r.outcome,
                            String(r.providerCalls), String(r.promptTokens), String(r.completionTokens), record.cost, String(r.draftCount)]
                })
            if Int(total.requests) > response.aiRequests.count {
                Output.stderr("listed the newest \(response.aiRequests.count) of \(total.requests) requests")
            }
        }
    }

    struct SetPlan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-plan", abstract: "Move a tenant to a plan, recording why (TenantService.AdminSetTenantPlan).")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @Argument(help: ArgumentHelp("The tenant's id.", valueName: "tenant-id")) var tenantID: String
        @Option(help: ArgumentHelp("The new plan's id.", valueName: "plan")) var plan: String
        @Option(help: ArgumentHelp("Why (recorded with your id).", valueName: "text")) var reason: String

        func run() async throws {
            let global = self.global
            var request = Waqtor_V1_AdminSetTenantPlanRequest()
            request.tenantID = tenantID
            request.planID = plan
            request.reason = reason
            let sent = request
            let response = try await global.withAuthenticatedClient(auth) { tenants, options in
                try await tenants.adminSetTenantPlan(sent, options: options)
            }
            if global.json {
                struct Body: Encodable { var tenant: TenantJSON.Tenant?; var change: TenantJSON.PlanChange? }
                Output.json(Body(tenant: response.tenant.map(TenantJSON.Tenant.init), change: response.change.map(TenantJSON.PlanChange.init)))
            } else {
                if let change = response.change {
                    Output.line("tenant \(change.tenantID): plan \(change.fromPlanID) -> \(change.toPlanID) (change \(change.id))")
                } else {
                    Output.line("tenant \(tenantID): plan \(response.tenant?.planID ?? plan)")
                }
            }
        }
    }

    struct Suspend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "suspend",
            abstract: "Suspend a tenant: its calls fail and its sending stops (TenantService.AdminSuspendTenant).")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @Argument(help: ArgumentHelp("The tenant's id.", valueName: "tenant-id")) var tenantID: String
        @Option(help: ArgumentHelp("Why (shown to the tenant).", valueName: "text")) var reason: String

        func run() async throws {
            let global = self.global
            var request = Waqtor_V1_AdminSuspendTenantRequest()
            request.tenantID = tenantID
            request.reason = reason
            let sent = request
            let response = try await global.withAuthenticatedClient(auth) { tenants, options in
                try await tenants.adminSuspendTenant(sent, options: options)
            }
            printTenant(response.tenant, global: global)
        }
    }

    struct Reactivate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reactivate", abstract: "Lift a tenant's suspension (TenantService.AdminReactivateTenant).")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @Argument(help: ArgumentHelp("The tenant's id.", valueName: "tenant-id")) var tenantID: String
        @Option(help: ArgumentHelp("Why (recorded).", valueName: "text")) var reason: String = ""

        func run() async throws {
            let global = self.global
            var request = Waqtor_V1_AdminReactivateTenantRequest()
            request.tenantID = tenantID
            request.reason = reason
            let sent = request
            let response = try await global.withAuthenticatedClient(auth) { tenants, options in
                try await tenants.adminReactivateTenant(sent, options: options)
            }
            printTenant(response.tenant, global: global)
        }
    }

    struct Requests: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "requests", abstract: "Upgrade requests of all tenants, oldest first (TenantService.AdminListUpgradeRequests).")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @OptionGroup var page: PageOptions
        @Option(help: ArgumentHelp("Only requests in this state: pending, granted, rejected or cancelled (withdrawn when the plan was set to the requested one or higher).", valueName: "state"))
        var state: RequestStateFilter?
        @Option(help: ArgumentHelp("Only this tenant's requests.", valueName: "tenant-id")) var tenant: String = ""

        func run() async throws {
            let global = self.global
            var request = Waqtor_V1_AdminListUpgradeRequestsRequest()
            request.pageSize = page.pageSize
            request.pageToken = page.pageToken
            request.state = state?.proto ?? .unspecified
            request.tenantID = tenant
            let sent = request
            let response = try await global.withAuthenticatedClient(auth) { tenants, options in
                try await tenants.adminListUpgradeRequests(sent, options: options)
            }
            printUpgradeRequests(response.upgradeRequests, nextPageToken: response.nextPageToken, withTenant: true, global: global)
        }
    }

    struct Grant: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "grant", abstract: "Grant an upgrade request: the tenant moves to the plan (TenantService.AdminGrantUpgradeRequest).")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @Argument(help: ArgumentHelp("The upgrade request's id.", valueName: "request-id")) var requestID: String
        @Option(help: ArgumentHelp("A note to the tenant.", valueName: "text")) var note: String = ""

        func run() async throws {
            let global = self.global
            var request = Waqtor_V1_AdminGrantUpgradeRequestRequest()
            request.upgradeRequestID = requestID
            request.note = note
            let sent = request
            let response = try await global.withAuthenticatedClient(auth) { tenants, options in
                try await tenants.adminGrantUpgradeRequest(sent, options: options)
            }
            if global.json {
                struct Body: Encodable {
                    var upgradeRequest: TenantJSON.UpgradeRequest?
                    var tenant: TenantJSON.Tenant?
                    enum CodingKeys: String, CodingKey { case tenant, upgradeRequest = "upgrade_request" }
                }
                Output.json(Body(
                    upgradeRequest: response.upgradeRequest.map(TenantJSON.UpgradeRequest.init),
                    tenant: response.tenant.map(TenantJSON.Tenant.init)))
            } else if let r = response.upgradeRequest {
                Output.line("granted \(r.id): tenant \(r.tenantID) is now on \(response.tenant?.planID ?? r.requestedPlanID)")
            }
        }
    }

    struct Reject: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reject", abstract: "Reject an upgrade request (TenantService.AdminRejectUpgradeRequest).")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @Argument(help: ArgumentHelp("The upgrade request's id.", valueName: "request-id")) var requestID: String
        @Option(help: ArgumentHelp("Why (shown to the tenant).", valueName: "text")) var note: String = ""

        func run() async throws {
            let global = self.global
            var request = Waqtor_V1_AdminRejectUpgradeRequestRequest()
            request.upgradeRequestID = requestID
            request.note = note
            let sent = request
            let response = try await global.withAuthenticatedClient(auth) { tenants, options in
                try await tenants.adminRejectUpgradeRequest(sent, options: options)
            }
            printUpgradeRequest(response.upgradeRequest, global: global)
        }
    }
}
