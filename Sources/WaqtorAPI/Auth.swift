import WaqtorCore
import Foundation
import WaqtorProto
import WaqtorRPC
import WaqtorTenants
import WaqtorInstances

/// Who is calling: resolved from the `authorization` metadata by ``AuthInterceptor`` and read by
/// handlers through ``Caller``.
public struct Principal: Sendable, Hashable {
    /// How the caller proved who it is.
    public enum Credential: Sendable, Hashable {
        case session(id: String)
        case apiKey(id: String, scope: APIKeyScope)
    }

    public var tenantID: TenantID
    public var credential: Credential
    public var isAdmin: Bool

    public var sessionID: String? {
        if case .session(let id) = credential { return id }
        return nil
    }
}

/// The principal of the call being served (a task-local value set by ``AuthInterceptor``).
public enum Caller {
    @TaskLocal public static var principal: Principal?

    /// The caller, or UNAUTHENTICATED when the method was served without one (a wiring bug).
    public static func require() throws -> Principal {
        guard let principal else {
            throw RPCError(code: .unauthenticated, message: "this method needs a credential: send `authorization: Bearer <session token or API key>`")
        }
        return principal
    }
}

/// What a method needs from its caller.
public enum Access: Sendable, Hashable {
    /// Anyone, without a credential (health, sign-up, login, the plan catalogue).
    case anyone
    /// A tenant: a session, or an API key whose scope covers the permission.
    case tenant(Permission)
    /// A tenant's session only: logout, and managing the account itself (profile, password, API
    /// keys, plan requests, deletion), so that a leaked key cannot lock its owner out, mint keys
    /// that outlive its revocation, or delete the account.
    case sessionOnly
    /// A session of an active administrator.
    case administrator

    /// What a tenant method does, which decides which API key scopes may call it.
    public enum Permission: String, Sendable, Hashable {
        /// Reads data (profiles, chats, contacts, campaigns, usage): sessions, full and read-only keys.
        case read
        /// Sends WhatsApp messages or drives sending (replies, campaign start/pause/resume/cancel):
        /// sessions, full and send-only keys.
        case send
        /// Changes data (contacts, campaigns, instances): sessions and full keys. (Changes to the
        /// account itself are ``Access/sessionOnly``.)
        case write
    }

    /// The server's meaning of a schema rule; nil for none (ACCESS_UNSPECIFIED, or a number this
    /// build does not know), which is refused.
    init?(rule: Waqtor_V1_Access) {
        switch rule {
        case .public: self = .anyone
        case .session: self = .sessionOnly
        case .tenantRead: self = .tenant(.read)
        case .tenantSend: self = .tenant(.send)
        case .tenantWrite: self = .tenant(.write)
        case .admin: self = .administrator
        case .unspecified, .UNRECOGNIZED: return nil
        }
    }
}

/// The access rule of every method of the API, as the schema declares it: each method's
/// `option (access)` (proto/waqtor/v1/options.proto), which the generator requires and emits as
/// `WaqtorAllMethods.access`. Nothing is derived from a method's name, and a method without a rule
/// (one registered by hand, or a rule this build does not know) is refused: fail closed.
public enum AccessRules {
    /// The rule of `method` (`package.Service/Method`), or nil for a method without one.
    public static func access(for method: String) -> Access? {
        WaqtorAllMethods.access[method].flatMap(Access.init(rule:))
    }

    /// Whether an API key of `scope` may use a method needing `permission`.
    public static func scope(_ scope: APIKeyScope, allows permission: Access.Permission) -> Bool {
        switch scope {
        case .full: true
        case .sendOnly: permission == .send
        case .readOnly: permission == .read
        }
    }
}

/// The credential in an `authorization` metadata value: `<scheme> <credential>`, where the scheme
/// is `Bearer` (a session token `wqs_…` or an API key `wqk_…`) or `ApiKey` (an API key only), in
/// any letter case as HTTP's authentication schemes; one or more spaces between them; spaces
/// around the value are ignored. Nothing else is accepted (no other scheme, no bare token, no
/// tabs, nothing after the credential). Messages never quote the value: it may hold a secret.
enum AuthorizationValue: Equatable {
    case session(String)
    case apiKey(String)

    static let expected = "`authorization: Bearer <session token or API key>` (or `ApiKey <API key>`)"

    static func parse(_ raw: String) throws(RPCError) -> AuthorizationValue {
        var value = Substring(raw)
        while value.first == " " { value.removeFirst() }
        while value.last == " " { value.removeLast() }
        guard let space = value.firstIndex(of: " ") else {
            throw RPCError(code: .unauthenticated, message: "the authorization metadata must be \(expected)")
        }
        let scheme = value[..<space].lowercased()
        let credential = String(value[space...].drop { $0 == " " })
        guard scheme == "bearer" || scheme == "apikey" else {
            throw RPCError(code: .unauthenticated, message: "the authorization scheme must be Bearer or ApiKey: send \(expected)")
        }
        guard !credential.isEmpty, !credential.contains(where: \.isWhitespace) else {
            throw RPCError(code: .unauthenticated, message: "the authorization metadata must be one scheme and one credential: \(expected)")
        }
        if credential.hasPrefix("wqk_") { return .apiKey(credential) }
        if credential.hasPrefix("wqs_") {
            guard scheme == "bearer" else {
                throw RPCError(code: .unauthenticated, message: "the ApiKey scheme is for API keys (wqk_…); send a session token as `Bearer <token>`")
            }
            return .session(credential)
        }
        throw RPCError(code: .unauthenticated, message: "the credential is neither a session token (wqs_…) nor an API key (wqk_…)")
    }
}

/// Authenticates every call from its `authorization` metadata (``AuthorizationValue``) and
/// enforces ``AccessRules`` before the request is decoded.
///
/// Missing, unknown, expired or revoked credentials get UNAUTHENTICATED; a valid credential
/// without the right (suspended tenant, key scope, not an administrator) gets PERMISSION_DENIED.
/// Messages never echo the credential.
public struct AuthInterceptor: RPCInterceptor {
    let tenants: TenantStore

    public init(tenants: TenantStore) {
        self.tenants = tenants
    }

    /// Public methods (``Access/anyone``) have nothing to check, so they stay unwrapped (and an
    /// inline Ping stays inline).
    public func passesThrough(method: String) -> Bool {
        AccessRules.access(for: method) == .anyone
    }

    public func intercept<Result: Sendable>(
        context: ServerContext, next: @Sendable () async throws -> Result
    ) async throws -> Result {
        guard let access = AccessRules.access(for: context.method) else {
            // Served but without a rule in the schema: refused rather than guessed.
            throw RPCError(code: .permissionDenied, message: "\(context.method) has no access rule; it is refused until the schema declares one")
        }
        if access == .anyone {
            return try await next()
        }
        let principal = try await authenticate(context)
        try authorize(principal, access, method: context.method)
        return try await Caller.$principal.withValue(principal) { try await next() }
    }

    func authenticate(_ context: ServerContext) async throws -> Principal {
        guard let header = context.metadata[Metadata.Keys.authorization], !header.isEmpty else {
            throw RPCError(code: .unauthenticated, message: "this method needs a credential: send \(AuthorizationValue.expected) metadata")
        }
        // The credential first, then the account's state: an expired or unknown credential is
        // UNAUTHENTICATED whatever the account's state.
        switch try AuthorizationValue.parse(header) {
        case .session(let token):
            guard let session = try await tenants.resolveSession(token: token) else {
                throw RPCError(code: .unauthenticated, message: "the session is unknown, expired or ended; log in again")
            }
            guard session.status == .active else { throw Self.suspended(reason: session.suspensionReason) }
            return Principal(tenantID: session.tenantID, credential: .session(id: session.sessionID), isAdmin: session.isAdmin)
        case .apiKey(let token):
            guard let key = try await tenants.resolveAPIKey(key: token) else {
                throw RPCError(code: .unauthenticated, message: "the API key is unknown or revoked")
            }
            if key.isExpired {
                let when = key.expiresAt.map { " at \($0.formatted(.iso8601))" } ?? ""
                throw RPCError(code: .unauthenticated, message: "the API key expired\(when); create a new one (`waqtor keys create`)")
            }
            guard key.status == .active else { throw Self.suspended(reason: key.suspensionReason) }
            return Principal(tenantID: key.tenantID, credential: .apiKey(id: key.keyID, scope: key.scope), isAdmin: false)
        }
    }

    /// PERMISSION_DENIED for a suspended account, with the administrator's reason: the tenant is
    /// told it here (every call is refused, so no other answer can carry it).
    static func suspended(reason: String?) -> RPCError {
        let reason = reason?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        return RPCError(
            code: .permissionDenied,
            message: reason.isEmpty
                ? "this account is suspended; contact the administrator"
                : "this account is suspended: \(reason); contact the administrator")
    }

    func authorize(_ principal: Principal, _ access: Access, method: String) throws {
        switch access {
        case .anyone:
            return
        case .sessionOnly:
            guard principal.sessionID != nil else {
                throw RPCError(code: .permissionDenied, message: "\(method) needs a session (log in); API keys cannot use it")
            }
        case .administrator:
            guard principal.sessionID != nil, principal.isAdmin else {
                throw RPCError(code: .permissionDenied, message: "\(method) is for administrators only (with a session, not an API key)")
            }
        case .tenant(let permission):
            if case .apiKey(_, let scope) = principal.credential, !AccessRules.scope(scope, allows: permission) {
                throw RPCError(
                    code: .permissionDenied,
                    message: "this API key's scope (\(scope.rawValue)) does not allow \(method), which needs \(permission.rawValue) access")
            }
        }
    }
}
