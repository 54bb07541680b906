import Foundation
import WaqtorSecurity
import WaqtorCore
import WaqtorPostgres

/// Whether a tenant may use the service.
public enum TenantStatus: String, Sendable, Hashable {
    case active
    case suspended
}

/// What an API key may do.
public enum APIKeyScope: String, Sendable, Hashable, CaseIterable {
    case full
    case sendOnly = "send_only"
    case readOnly = "read_only"
}

/// What an administrator's tenant listing may filter on: a ``TenantStatus``, or `deleted`, which
/// matches no tenant (deleting an account removes it with all its data; nothing is kept to list).
public enum TenantStateFilter: String, Sendable, Hashable {
    case active
    case suspended
    case deleted
}

/// The state of an upgrade request.
public enum UpgradeRequestState: String, Sendable, Hashable {
    case pending
    case granted
    case rejected
    /// Withdrawn: an administrator set the tenant's plan to the requested one or a higher one
    /// while the request was pending.
    case cancelled
}

/// A tenant's own account, as the tenant (or an administrator) sees it. Never holds the hash.
public struct TenantProfile: Sendable, Hashable {
    public var id: TenantID
    public var name: String
    public var email: String
    public var timeZone: String
    public var planID: String
    public var status: TenantStatus
    /// Why an administrator suspended the tenant; nil while it is active.
    public var suspensionReason: String?
    public var isAdmin: Bool
    public var createdAt: Date
    public var updatedAt: Date
}

/// What login needs about an e-mail address (from `auth_find_login`).
public struct LoginRecord: Sendable, Hashable {
    public var tenantID: TenantID
    public var passwordHash: String
    public var status: TenantStatus
    public var isAdmin: Bool
    /// Why the tenant is suspended (nil while active).
    public var suspensionReason: String?
}

/// A new session; ``token`` is shown once, to the person who logged in.
public struct IssuedSession: Sendable, Hashable {
    public var id: String
    public var tenantID: TenantID
    public var token: SecretToken
    public var expiresAt: Date
}

/// A presented session token that is valid (unexpired, unrevoked).
public struct ResolvedSession: Sendable, Hashable {
    public var sessionID: String
    public var tenantID: TenantID
    public var expiresAt: Date
    public var status: TenantStatus
    public var isAdmin: Bool
    /// Why the tenant is suspended (nil while active).
    public var suspensionReason: String?
}

/// The outcome of ``TenantStore/login(email:password:lifetime:)``.
public enum LoginOutcome: Sendable, Hashable {
    case success(IssuedSession, isAdmin: Bool)
    /// Unknown e-mail or wrong password (indistinguishable on purpose).
    case invalidCredentials
    /// The password was right but the account is suspended, with the administrator's reason
    /// (empty if none was recorded).
    case suspended(reason: String)
}

/// An API key as listed (never the secret).
public struct APIKeyRecord: Sendable, Hashable {
    public var id: String
    public var name: String
    public var scope: APIKeyScope
    /// The first characters of the key, so a person can tell keys apart.
    public var keyPrefix: String
    public var createdAt: Date
    public var lastUsedAt: Date?
    /// When the key stops working; nil: never.
    public var expiresAt: Date?
    public var revokedAt: Date?
}

/// A new API key; ``token`` is shown once.
public struct IssuedAPIKey: Sendable, Hashable {
    public var record: APIKeyRecord
    public var token: SecretToken
}

/// A presented API key that is not revoked. It may have expired: check ``isExpired`` before
/// accepting it (an expired key is returned so that its holder can be told so).
public struct ResolvedAPIKey: Sendable, Hashable {
    public var keyID: String
    public var tenantID: TenantID
    public var scope: APIKeyScope
    public var status: TenantStatus
    /// Why the tenant is suspended (nil while active).
    public var suspensionReason: String?
    /// When the key stops working; nil: never.
    public var expiresAt: Date?
    /// Whether ``expiresAt`` has passed (by the database's clock): the key must be refused.
    public var isExpired: Bool
}

/// A plan and its limits.
public struct Plan: Sendable, Hashable {
    public var id: String
    public var name: String
    /// Order from free (0) upwards.
    public var rank: Int
    public var maxInstances: Int
    public var maxContacts: Int
    public var maxMessagesPerDay: Int
    public var maxAIDraftsPerDay: Int
}

/// A tenant's plan, what it has now, and today's usage (the day in the tenant's time zone).
public struct PlanUsage: Sendable, Hashable {
    public var plan: Plan
    /// `YYYY-MM-DD`.
    public var day: String
    public var messagesSent: Int
    public var aiDrafts: Int
    /// WhatsApp instances the tenant has (every state: each one holds a gateway instance).
    public var instances: Int
    /// Contacts the tenant has.
    public var contacts: Int
}

/// A request for a bigger plan, decided by hand by an administrator.
public struct UpgradeRequest: Sendable, Hashable {
    public var id: String
    public var tenantID: TenantID
    public var requestedPlan: String
    public var reason: String
    public var state: UpgradeRequestState
    public var decidedBy: TenantID?
    public var decidedAt: Date?
    public var decisionNote: String?
    public var createdAt: Date
    /// Filled in administrator listings only.
    public var tenantEmail: String?
    /// Filled in administrator listings only: the tenant's plan now.
    public var currentPlan: String?
}

/// One change of a tenant's plan: who, when, why.
public struct PlanChange: Sendable, Hashable {
    public var id: String
    public var tenantID: TenantID
    public var fromPlan: String
    public var toPlan: String
    public var changedBy: TenantID?
    public var reason: String
    public var changedAt: Date
}

/// A tenant in an administrator's list.
public struct TenantSummary: Sendable, Hashable {
    public var id: TenantID
    public var name: String
    public var email: String
    public var timeZone: String
    public var planID: String
    public var status: TenantStatus
    /// Why an administrator suspended the tenant; nil while it is active.
    public var suspensionReason: String?
    public var isAdmin: Bool
    public var createdAt: Date
    public var updatedAt: Date
}

/// The outcome of deciding an upgrade request.
public enum UpgradeDecisionOutcome: Sendable, Hashable {
    /// This call decided it (granted: the plan is changed and recorded).
    case decided(UpgradeRequestState)
    /// It had been decided before; nothing changed.
    case alreadyDecided(UpgradeRequestState)
}

/// Why a store operation failed. The description never contains secrets or another tenant's data.
public struct TenantStoreError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// A unique value is taken (e-mail at sign-up; a pending upgrade request already exists).
        case alreadyExists
        /// No such row for this tenant (including rows of other tenants).
        case notFound
        /// Wrong current password.
        case invalidCredentials
        /// The caller is not an (active) administrator.
        case permissionDenied
        /// A value the database rejected (unknown plan, malformed id, bad status).
        case invalidArgument
        /// Anything else from PostgreSQL (connection, timeout…).
        case database
    }

    public var kind: Kind
    /// A fixed, log-safe explanation.
    public var context: String?
    /// The database error behind it, if any.
    public var underlying: PostgresError?

    public init(_ kind: Kind, _ context: String? = nil, underlying: PostgresError? = nil) {
        self.kind = kind
        self.context = context
        self.underlying = underlying
    }

    public var description: String {
        var text = "tenant store: \(kind)"
        if let context { text += ": \(context)" }
        if let underlying { text += " (\(underlying.description))" }
        return text
    }
}


/// A per-day plan limit that is consumed as it is used.
public enum DailyQuota: String, Sendable, Hashable {
    case messages
    case aiDrafts = "ai_drafts"
}

/// What ``TenantStore/consumeDailyQuota(tenantID:_:count:)`` decided.
public enum QuotaOutcome: Sendable, Hashable {
    /// Taken; `used` now counts it.
    case granted(used: Int, limit: Int)
    /// Refused; nothing was taken. The counter resets at the tenant's next local midnight,
    /// `resetInMilliseconds` from now (by the database's clock).
    case exceeded(used: Int, limit: Int, planID: String, timeZone: String, resetInMilliseconds: Int)
}
