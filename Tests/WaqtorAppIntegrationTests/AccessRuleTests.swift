import Foundation
import NIOCore
import Testing
@testable import WaqtorApp
@testable import WaqtorAPI
@testable import WaqtorWebhooks
import WaqtorInstances
import WaqtorCore
import WaqtorProto
import WaqtorRPC
import WaqtorPostgres
import WaqtorTenants
import WaqtorTestSupport

/// The access rules come from the schema (`option (access)` on every method, emitted by the
/// generator as `WaqtorAllMethods.access`). These tests are driven by that table, so a method added
/// to the schema is covered without touching them.
@Suite("Access rules from the schema")
struct AccessRuleTests {
    /// Services the schema declares but the server does not serve yet. A service is served whole or
    /// not at all; when one is implemented, it leaves this list (the router test fails until then).
    static let notYetServed: Set<String> = []

    static func service(of method: String) -> String {
        String(method.prefix { $0 != "/" })
    }

    @Test("every method of the schema has a rule the server understands, and the rules say what AUTH.md says")
    func rulesOfTheSchema() throws {
        #expect(Set(WaqtorAllMethods.access.keys) == Set(WaqtorAllMethods.names))
        for method in WaqtorAllMethods.names {
            #expect(AccessRules.access(for: method) != nil, "\(method) has no rule the server understands")
        }
        #expect(AccessRules.access(for: "waqtor.v1.NoService/Nope") == nil)
        // Administrators' methods, in whichever service they are, are for administrators only.
        for method in WaqtorAllMethods.names where method.split(separator: "/").last?.hasPrefix("Admin") == true {
            #expect(AccessRules.access(for: method) == .administrator, "\(method) is named Admin* but is not ACCESS_ADMIN")
        }
        // A few rules AUTH.md names, so that a wrong annotation of these is caught.
        let expected: [String: Access] = [
            "waqtor.v1.HealthService/Ping": .anyone, "waqtor.v1.TenantService/Login": .anyone,
            "waqtor.v1.TenantService/Logout": .sessionOnly, "waqtor.v1.TenantService/CreateApiKey": .sessionOnly,
            "waqtor.v1.TenantService/DeleteAccount": .sessionOnly, "waqtor.v1.TenantService/AdminSuspendTenant": .administrator,
            "waqtor.v1.ChatService/ListConversations": .tenant(.read), "waqtor.v1.ChatService/Live": .tenant(.read),
            "waqtor.v1.CampaignService/ListContacts": .tenant(.read),
            "waqtor.v1.ChatService/SendTextReply": .tenant(.send), "waqtor.v1.CampaignService/StartCampaign": .tenant(.send),
            "waqtor.v1.InstanceService/GetQrCode": .tenant(.write), "waqtor.v1.CampaignService/CreateContact": .tenant(.write),
        ]
        for (method, access) in expected {
            #expect(AccessRules.access(for: method) == access, "\(method)")
        }
    }

    @Test("a served method without a rule is refused before anything runs")
    func missingRuleIsRefused() async throws {
        let interceptor = AuthInterceptor(tenants: TenantStore(pool: PostgresPool(configuration: .init(connectionString: TestEnvironment.databaseURL))))
        let method = "waqtor.v1.ChatService/AdminPurgeEverything"
        #expect(!interceptor.passesThrough(method: method))
        let context = ServerContext(
            method: method, metadata: [:], deadline: nil, requestID: "r", peer: "test", logger: quietLogger)
        let refused = await rpcError {
            _ = try await interceptor.intercept(context: context) { () async throws -> Int in
                Issue.record("the handler of a method without a rule ran")
                return 0
            }
        }
        #expect(refused?.code == .permissionDenied)
        #expect(refused?.message.contains(method) == true, "\(refused?.message ?? "")")
    }

    @Test("the router serves only methods with a rule, and every method of each service it serves")
    func routerMatchesTheRules() async throws {
        try await withApplication(tenantTestConfiguration()) { app, _ in
            let served = Set(app.router.methods)
            let ruled = Set(WaqtorAllMethods.access.keys)
            #expect(served.subtracting(ruled).isEmpty, "served without a rule: \(served.subtracting(ruled).sorted())")
            let servedServices = Set(served.map(Self.service(of:)))
            for method in ruled.sorted() {
                let service = Self.service(of: method)
                if Self.notYetServed.contains(service) {
                    #expect(!servedServices.contains(service), "\(service) is served now: remove it from notYetServed")
                } else {
                    #expect(served.contains(method), "\(method) has a rule but is not served")
                }
            }
        }
    }

    @Test("over RPC, from the table: admin methods refuse tenants, session methods refuse keys, each scope stays in its lane, public methods need nothing")
    func rulesOverRPC() async throws {
        try await withApplication(tenantTestConfiguration()) { app, client in
            let tenants = Waqtor_V1_TenantServiceClient(client: client)
            let tenant = try await signUp(tenants)
            let admin = try await signUpAdministrator(app, tenants)
            func key(_ scope: Waqtor_V1_ApiKeyScope, of account: Account) async throws -> CallOptions {
                var create = Waqtor_V1_CreateApiKeyRequest()
                create.name = "access rules"
                create.scope = scope
                return .bearer(try await tenants.createApiKey(create, options: account.auth).secret)
            }
            let full = try await key(.full, of: tenant)
            let readOnly = try await key(.readOnly, of: tenant)
            let sendOnly = try await key(.sendOnly, of: tenant)
            // An administrator's key is still only a key.
            let adminKey = try await key(.full, of: admin)

            /// The call's status. The credential is checked before the body is decoded, so an empty
            /// body serves every method; a bounded wait keeps a method that passes from hanging.
            func call(_ method: String, _ options: CallOptions) async -> RPCError? {
                var options = options
                options.timeout = .seconds(10)
                return await rpcError {
                    _ = try await client.unary(method: method, request: RawMessage(), responseType: RawMessage.self, options: options)
                }
            }
            func refused(_ method: String, _ options: CallOptions, _ who: String) async {
                let error = await call(method, options)
                #expect(error?.code == .permissionDenied, "\(method) with \(who): \(error.map { "\($0.code) \($0.message)" } ?? "OK")")
                #expect(error?.message.contains(method) == true, "the refusal names the method: \(error?.message ?? "")")
            }
            func admitted(_ method: String, _ options: CallOptions, _ who: String) async {
                let error = await call(method, options)
                #expect(error?.code != .permissionDenied && error?.code != .unauthenticated,
                        "\(method) with \(who): \(error.map { "\($0.code) \($0.message)" } ?? "OK")")
            }

            let served = Set(app.router.methods)
            let rules = WaqtorAllMethods.access.filter { served.contains($0.key) }.sorted { $0.key < $1.key }
            for (method, rule) in rules {
                if rule != .public {
                    let error = await call(method, CallOptions())
                    #expect(error?.code == .unauthenticated, "\(method) without a credential: \(error.map { "\($0.code)" } ?? "OK")")
                }
                switch rule {
                case .public:
                    await admitted(method, CallOptions(), "no credential")
                case .session:
                    await refused(method, full, "a full API key")
                    await refused(method, readOnly, "a read-only API key")
                    // Not called with a session: with an empty body, Logout would end it.
                case .admin:
                    await refused(method, tenant.auth, "a tenant's session")
                    await refused(method, full, "a full API key")
                    await refused(method, adminKey, "an administrator's API key")
                    await admitted(method, admin.auth, "an administrator's session")
                case .tenantWrite:
                    await refused(method, readOnly, "a read-only API key")
                    await refused(method, sendOnly, "a send-only API key")
                    await admitted(method, full, "a full API key")
                case .tenantSend:
                    await refused(method, readOnly, "a read-only API key")
                    await admitted(method, sendOnly, "a send-only API key")
                case .tenantRead:
                    await refused(method, sendOnly, "a send-only API key")
                    await admitted(method, readOnly, "a read-only API key")
                    await admitted(method, tenant.auth, "a session")
                case .unspecified, .UNRECOGNIZED:
                    Issue.record("\(method) has no rule: the generator must have refused it")
                }
            }
        }
    }
}
