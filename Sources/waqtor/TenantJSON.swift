import Foundation
import WaqtorProto

/// JSON shapes of the tenant messages: proto field names (snake_case), timestamps as RFC 3339
/// strings (absent when unset), enums as the lowercase names the CLI accepts and prints, limits
/// as numbers (negative: unlimited). Secrets appear only where a command exists to show them.
enum TenantJSON {
    struct Tenant: Encodable {
        var id, name, email, timeZone, planID, state: String
        var suspensionReason: String?
        var createTime, updateTime: String?
        enum CodingKeys: String, CodingKey {
            case id, name, email, state
            case timeZone = "time_zone", planID = "plan_id", suspensionReason = "suspension_reason"
            case createTime = "create_time", updateTime = "update_time"
        }
        init(_ t: Waqtor_V1_Tenant) {
            id = t.id; name = t.name; email = t.email; timeZone = t.timeZone; planID = t.planID
            state = Names.tenantState(t.state)
            suspensionReason = t.suspensionReason.isEmpty ? nil : t.suspensionReason
            createTime = t.createTime.map(Output.rfc3339); updateTime = t.updateTime.map(Output.rfc3339)
        }
    }

    /// A session without its token (the token goes to the credentials file only).
    struct Session: Encodable {
        var expireTime: String?
        var credentialsFile: String
        /// The profile of the credentials file the session was saved in.
        var profile: String
        enum CodingKeys: String, CodingKey {
            case profile
            case expireTime = "expire_time", credentialsFile = "credentials_file"
        }
    }

    struct ApiKey: Encodable {
        var id, name, scope, secretPrefix: String
        var createTime, lastUseTime, expireTime, revokeTime: String?
        enum CodingKeys: String, CodingKey {
            case id, name, scope
            case secretPrefix = "secret_prefix", createTime = "create_time", lastUseTime = "last_use_time"
            case expireTime = "expire_time", revokeTime = "revoke_time"
        }
        init(_ k: Waqtor_V1_ApiKey) {
            id = k.id; name = k.name; scope = Names.scope(k.scope); secretPrefix = k.secretPrefix
            createTime = k.createTime.map(Output.rfc3339); lastUseTime = k.lastUseTime.map(Output.rfc3339)
            expireTime = k.expireTime.map(Output.rfc3339); revokeTime = k.revokeTime.map(Output.rfc3339)
        }
    }

    struct Limits: Encodable {
        var whatsappInstances, contacts, messagesPerDay, aiDraftsPerDay: Int32
        enum CodingKeys: String, CodingKey {
            case contacts
            case whatsappInstances = "whatsapp_instances", messagesPerDay = "messages_per_day", aiDraftsPerDay = "ai_drafts_per_day"
        }
        init(_ l: Waqtor_V1_PlanLimits) {
            whatsappInstances = l.whatsappInstances; contacts = l.contacts
            messagesPerDay = l.messagesPerDay; aiDraftsPerDay = l.aiDraftsPerDay
        }
    }

    /// What AI drafting consumed over a period (`cost` a decimal string, "0" when nothing).
    struct AIUsage: Encodable {
        var requests: Int32
        var promptTokens, completionTokens: Int64
        var cost: String
        enum CodingKeys: String, CodingKey {
            case requests, cost
            case promptTokens = "prompt_tokens", completionTokens = "completion_tokens"
        }
        init(_ u: Waqtor_V1_AIUsage) {
            requests = u.requests; promptTokens = u.promptTokens; completionTokens = u.completionTokens
            cost = u.cost.isEmpty ? "0" : u.cost
        }
    }

    /// `waqtor usage --json`, and the `usage` of `admin usage --json`.
    struct Usage: Encodable {
        var limits, used: Limits?
        var dayStartTime, dayEndTime: String?
        var aiToday, aiThisMonth: AIUsage
        enum CodingKeys: String, CodingKey {
            case limits, used, dayStartTime = "day_start_time", dayEndTime = "day_end_time"
            case aiToday = "ai_today", aiThisMonth = "ai_this_month"
        }
        init(_ r: Waqtor_V1_GetUsageResponse) {
            limits = r.limits.map(Limits.init); used = r.used.map(Limits.init)
            dayStartTime = r.dayStartTime.map(Output.rfc3339); dayEndTime = r.dayEndTime.map(Output.rfc3339)
            aiToday = AIUsage(r.aiToday ?? Waqtor_V1_AIUsage()); aiThisMonth = AIUsage(r.aiThisMonth ?? Waqtor_V1_AIUsage())
        }
    }

    /// One DraftTemplates call that reached the AI provider (`admin usage`).
    struct AIRequest: Encodable {
        var id, requestedModel, model, outcome, cost: String
        var createTime: String?
        var providerCalls, promptTokens, completionTokens, descriptionLength, draftCount: Int32
        enum CodingKeys: String, CodingKey {
            case id, model, outcome, cost
            case requestedModel = "requested_model", createTime = "create_time", providerCalls = "provider_calls"
            case promptTokens = "prompt_tokens", completionTokens = "completion_tokens"
            case descriptionLength = "description_length", draftCount = "draft_count"
        }
        init(_ r: Waqtor_V1_AIRequestRecord) {
            id = r.id; requestedModel = r.requestedModel; model = r.model; outcome = r.outcome
            cost = r.cost.isEmpty ? "0" : r.cost; createTime = r.createTime.map(Output.rfc3339)
            providerCalls = r.providerCalls; promptTokens = r.promptTokens; completionTokens = r.completionTokens
            descriptionLength = r.descriptionLength; draftCount = r.draftCount
        }
    }

    struct Plan: Encodable {
        var id, name, description: String
        var limits: Limits?
        var requestable: Bool
        init(_ p: Waqtor_V1_Plan) {
            id = p.id; name = p.name; description = p.description
            limits = p.limits.map(Limits.init); requestable = p.requestable
        }
    }

    struct UpgradeRequest: Encodable {
        var id, tenantID, currentPlanID, requestedPlanID, reason, state: String
        var decidedBy, decisionNote: String?
        var createTime, decideTime: String?
        enum CodingKeys: String, CodingKey {
            case id, reason, state
            case tenantID = "tenant_id", currentPlanID = "current_plan_id", requestedPlanID = "requested_plan_id"
            case decidedBy = "decided_by", decisionNote = "decision_note", createTime = "create_time", decideTime = "decide_time"
        }
        init(_ r: Waqtor_V1_UpgradeRequest) {
            id = r.id; tenantID = r.tenantID; currentPlanID = r.currentPlanID; requestedPlanID = r.requestedPlanID
            reason = r.reason; state = Names.upgradeState(r.state)
            decidedBy = r.decidedBy.isEmpty ? nil : r.decidedBy
            decisionNote = r.decisionNote.isEmpty ? nil : r.decisionNote
            createTime = r.createTime.map(Output.rfc3339); decideTime = r.decideTime.map(Output.rfc3339)
        }
    }

    struct PlanChange: Encodable {
        var id, tenantID, fromPlanID, toPlanID, changedBy, reason: String
        var upgradeRequestID, changeTime: String?
        enum CodingKeys: String, CodingKey {
            case id, reason
            case tenantID = "tenant_id", fromPlanID = "from_plan_id", toPlanID = "to_plan_id", changedBy = "changed_by"
            case upgradeRequestID = "upgrade_request_id", changeTime = "change_time"
        }
        init(_ c: Waqtor_V1_PlanChange) {
            id = c.id; tenantID = c.tenantID; fromPlanID = c.fromPlanID; toPlanID = c.toPlanID
            changedBy = c.changedBy; reason = c.reason
            upgradeRequestID = c.upgradeRequestID.isEmpty ? nil : c.upgradeRequestID
            changeTime = c.changeTime.map(Output.rfc3339)
        }
    }

    /// `{"ok":true}` for calls whose response is empty.
    struct Done: Encodable { var ok = true }
}

/// The names enums are printed and parsed with.
enum Names {
    static func tenantState(_ state: Waqtor_V1_TenantState) -> String {
        switch state {
        case .unspecified: "unspecified"
        case .active: "active"
        case .suspended: "suspended"
        case .deleted: "deleted"
        case .UNRECOGNIZED(let value): "unknown(\(value))"
        }
    }

    static func scope(_ scope: Waqtor_V1_ApiKeyScope) -> String {
        switch scope {
        case .unspecified: "unspecified"
        case .full: "full"
        case .sendOnly: "send-only"
        case .readOnly: "read-only"
        case .UNRECOGNIZED(let value): "unknown(\(value))"
        }
    }

    static func upgradeState(_ state: Waqtor_V1_UpgradeRequestState) -> String {
        switch state {
        case .unspecified: "unspecified"
        case .pending: "pending"
        case .granted: "granted"
        case .rejected: "rejected"
        case .cancelled: "cancelled"
        case .UNRECOGNIZED(let value): "unknown(\(value))"
        }
    }

    /// A limit for people: negative is unlimited.
    static func limit(_ value: Int32) -> String { value < 0 ? "unlimited" : String(value) }
}

extension Output {
    /// Prints rows as left-aligned columns under a header; "(none)" when there are no rows. On a
    /// terminal the table is cut to its width and state words are coloured (``Table``).
    static func table(_ header: [String], _ rows: [[String]]) {
        guard !rows.isEmpty else {
            line("(none)")
            return
        }
        for text in Table.lines(header: header, rows: rows, width: Terminal.stdoutColumns, colours: Terminal.stdoutColours) {
            line(text)
        }
    }

    /// `key: value` lines with the keys aligned; rows with an empty value are left out. Values are
    /// never cut (they are read one by one); a state or status is coloured on a terminal.
    static func fields(_ pairs: [(String, String)]) {
        let shown = pairs.filter { !$0.1.isEmpty }
        let width = shown.map(\.0.count).max() ?? 0
        for (key, value) in shown {
            let style = ["state", "status"].contains(key) ? Terminal.statusStyle(value) : nil
            line((key + ":").padding(toLength: width + 1, withPad: " ", startingAt: 0) + " "
                + Terminal.paint(value, style, enabled: Terminal.stdoutColours))
        }
    }

    static func time(_ timestamp: Google_Protobuf_Timestamp?) -> String { timestamp.map(rfc3339) ?? "" }

    static func tenantFields(_ t: Waqtor_V1_Tenant) {
        fields([
            ("id", t.id), ("name", t.name), ("email", t.email), ("time zone", t.timeZone), ("plan", t.planID),
            ("state", Names.tenantState(t.state)), ("suspension reason", t.suspensionReason),
            ("created", time(t.createTime)), ("updated", time(t.updateTime)),
        ])
    }

    static func tenantTable(_ tenants: [Waqtor_V1_Tenant]) {
        table(
            ["ID", "NAME", "EMAIL", "PLAN", "STATE", "TIME ZONE", "CREATED"],
            tenants.map { [$0.id, $0.name, $0.email, $0.planID, Names.tenantState($0.state), $0.timeZone, time($0.createTime)] })
    }

    static func keyTable(_ keys: [Waqtor_V1_ApiKey]) {
        table(
            ["ID", "NAME", "SCOPE", "PREFIX", "CREATED", "LAST USED", "EXPIRES", "REVOKED"],
            keys.map {
                [$0.id, $0.name, Names.scope($0.scope), $0.secretPrefix, time($0.createTime),
                 $0.lastUseTime.map(rfc3339) ?? "never", $0.expireTime.map(rfc3339) ?? "never", time($0.revokeTime)]
            })
    }

    static func requestTable(_ requests: [Waqtor_V1_UpgradeRequest], withTenant: Bool) {
        var header = ["ID"]
        if withTenant { header.append("TENANT") }
        header += ["FROM", "TO", "STATE", "CREATED", "DECIDED", "REASON", "NOTE"]
        table(header, requests.map {
            var row = [$0.id]
            if withTenant { row.append($0.tenantID) }
            row += [$0.currentPlanID, $0.requestedPlanID, Names.upgradeState($0.state), time($0.createTime),
                    time($0.decideTime), $0.reason, $0.decisionNote]
            return row
        })
    }

    static func requestFields(_ r: Waqtor_V1_UpgradeRequest) {
        fields([
            ("id", r.id), ("tenant", r.tenantID), ("from", r.currentPlanID), ("to", r.requestedPlanID),
            ("state", Names.upgradeState(r.state)), ("reason", r.reason), ("decided by", r.decidedBy),
            ("note", r.decisionNote), ("created", time(r.createTime)), ("decided", time(r.decideTime)),
        ])
    }

    /// The usage table of `waqtor usage` and `admin usage`: used / limit / left, when the daily
    /// counters reset, then the "AI drafting" table (today and this month).
    static func usage(_ response: Waqtor_V1_GetUsageResponse) {
        let limits = response.limits ?? Waqtor_V1_PlanLimits()
        let used = response.used ?? Waqtor_V1_PlanLimits()
        func row(_ name: String, _ used: Int32, _ limit: Int32) -> [String] {
            let left = limit < 0 ? "" : String(max(0, limit - used))
            return [name, String(used), Names.limit(limit), left]
        }
        table(["", "USED", "LIMIT", "LEFT"], [
            row("whatsapp instances", used.whatsappInstances, limits.whatsappInstances),
            row("contacts", used.contacts, limits.contacts),
            row("messages today", used.messagesPerDay, limits.messagesPerDay),
            row("ai drafts today", used.aiDraftsPerDay, limits.aiDraftsPerDay),
        ])
        if let end = response.dayEndTime { line("daily counters reset at \(rfc3339(end))") }
        line("")
        line("AI drafting")
        table(["PERIOD", "REQUESTS", "PROMPT_TOKENS", "COMPLETION_TOKENS", "COST"], [
            aiUsageRow("today", response.aiToday), aiUsageRow("this month", response.aiThisMonth),
        ])
    }

    static func aiUsageRow(_ period: String, _ usage: Waqtor_V1_AIUsage?) -> [String] {
        let u = TenantJSON.AIUsage(usage ?? Waqtor_V1_AIUsage())
        return [period, String(u.requests), String(u.promptTokens), String(u.completionTokens), u.cost]
    }

    /// Tells how to get the next page (stderr, so stdout stays a clean table).
    static func nextPage(_ token: String) {
        if !token.isEmpty { stderr("more results: repeat with --page-token \(token)") }
    }
}
