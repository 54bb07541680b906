import Foundation
import Testing
@testable import WaqtorApp
import WaqtorProto
import WaqtorRPC
import WaqtorTestSupport

/// `waqtor admin …`: an administrator (in a profile of its own) and a customer (the default
/// profile) in one credentials file, as an operator who is also a user would have it.
@Suite("CLI: administrators")
struct CLIAdminTests {
    @Test("tenants, usage, requests, grant, reject, set-plan, suspend (the customer's hint) and reactivate")
    func administration() async throws {
        try await withApplication(tenantTestConfiguration()) { app, client in
            let cli = try CLI(app)
            defer { cli.remove() }
            let customer = try await cli.signUp(name: "Customer")
            let admin = try await signUpAdministrator(app, Waqtor_V1_TenantServiceClient(client: client))
            let login = try await cli.run(["login", "--profile", "admin", "--email", admin.email, "--password-stdin", "--json"], stdin: admin.password + "\n")
            #expect(login.status == 0, "\(login)")
            #expect(login.stdout.contains(#""profile":"admin""#))
            func asAdmin(_ arguments: [String]) async throws -> CLIResult {
                try await cli.run(arguments + ["--profile", "admin", "--json"])
            }

            let tenants = try await asAdmin(["admin", "tenants", "--search", customer])
            #expect(tenants.status == 0, "\(tenants)")
            let found = try #require((value(try tenants.json(), "tenants") as? [[String: Any]])?.first, "\(tenants)")
            #expect(string(found, "email") == customer)
            let tenantID = try #require(string(found, "id"))

            let usage = try await asAdmin(["admin", "usage", tenantID])
            #expect(string(try usage.json(), "tenant", "id") == tenantID, "\(usage)")
            #expect(value(try usage.json(), "usage", "limits", "contacts") as? Int == 500)
            #expect(string(try usage.json(), "month")?.count == 7)

            let asked = try await cli.run(["plan", "upgrade", "--to", "pro", "--reason", "more contacts", "--json"])
            let requestID = try #require(string(try asked.json(), "upgrade_request", "id"), "\(asked)")
            let pending = try await asAdmin(["admin", "requests", "--state", "pending", "--tenant", tenantID])
            #expect((value(try pending.json(), "upgrade_requests") as? [[String: Any]])?.map { $0["id"] as? String } == [requestID], "\(pending)")
            let granted = try await asAdmin(["admin", "grant", requestID, "--note", "welcome"])
            #expect(string(try granted.json(), "upgrade_request", "state") == "granted", "\(granted)")
            #expect(string(try granted.json(), "tenant", "plan_id") == "pro")

            let again = try await cli.run(["plan", "upgrade", "--to", "business", "--reason", "even more", "--json"])
            let second = try #require(string(try again.json(), "upgrade_request", "id"), "\(again)")
            let rejected = try await asAdmin(["admin", "reject", second, "--note", "not yet"])
            #expect(string(try rejected.json(), "upgrade_request", "state") == "rejected", "\(rejected)")
            #expect(string(try rejected.json(), "upgrade_request", "decision_note") == "not yet")

            let moved = try await asAdmin(["admin", "set-plan", tenantID, "--plan", "starter", "--reason", "downgrade test"])
            #expect(string(try moved.json(), "change", "from_plan_id") == "pro", "\(moved)")
            #expect(string(try moved.json(), "change", "to_plan_id") == "starter")

            let suspended = try await asAdmin(["admin", "suspend", tenantID, "--reason", "unpaid invoice"])
            #expect(string(try suspended.json(), "tenant", "state") == "suspended", "\(suspended)")
            let refused = try await cli.run(["whoami", "--json"])
            #expect(refused.status == 2, "\(refused)")
            #expect(string(try refused.error(), "status") == "PERMISSION_DENIED")
            #expect(string(try refused.error(), "message")?.contains("unpaid invoice") == true)
            #expect(string(try refused.error(), "hint") == "ask the administrator to reactivate the account")

            let reactivated = try await asAdmin(["admin", "reactivate", tenantID, "--reason", "paid"])
            #expect(string(try reactivated.json(), "tenant", "state") == "active", "\(reactivated)")
            #expect(try await cli.run(["whoami", "--json"]).status == 0)

            let missing = try await asAdmin(["admin", "grant", UUID().uuidString.lowercased()])
            #expect(string(try missing.error(), "status") == "NOT_FOUND", "\(missing)")
            #expect(string(try missing.error(), "hint") == "check the id: waqtor admin tenants (or admin requests) shows them")
        }
    }
}
