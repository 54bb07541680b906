import Foundation
import WaqtorProto
import WaqtorRPC

/// An account the harness calls as: one per connection.
struct LoadAccount: Sendable {
    var email: String
    var password: String
    var tenantID: String
    var token: String
}

extension Harness {
    /// One account per connection: signed up with unique emails (`load-<run>-<i>@example.com`), or,
    /// with --accounts, logged in to those of the file. At most 4 at a time: each sign-up and login
    /// hashes a password with argon2id, which takes the server's CPU on purpose.
    func accounts() async throws -> [LoadAccount] {
        let given = try options.accounts.map(Self.readAccounts)
        let count = options.connections
        if let given {
            note("logging in to \(min(count, given.count)) accounts of \(options.accounts ?? "")…")
        } else {
            note("signing up \(count) accounts…")
        }
        let password = "load-\(runID)-password"
        return try await inBatches(count, width: 4) { [self] i in
            let tenants = Waqtor_V1_TenantServiceClient(client: clients[i])
            if let given {
                let (email, password) = given[i % given.count]
                return try await login(tenants, email: email, password: password)
            }
            var request = Waqtor_V1_SignUpRequest()
            request.name = "Load \(runID) \(i)"
            request.email = "load-\(runID)-\(i)@example.com"
            request.password = password
            request.timeZone = "UTC"
            let response = try await tenants.signUp(request, options: callOptions())
            guard let tenant = response.tenant, let session = response.session else {
                throw HarnessFailure("SignUp answered without a tenant or session")
            }
            return LoadAccount(email: request.email, password: password, tenantID: tenant.id, token: session.token)
        }
    }

    func login(_ tenants: Waqtor_V1_TenantServiceClient, email: String, password: String) async throws -> LoadAccount {
        var request = Waqtor_V1_LoginRequest()
        request.email = email
        request.password = password
        let response = try await tenants.login(request, options: callOptions())
        guard let tenant = response.tenant, let session = response.session else {
            throw HarnessFailure("Login answered without a tenant or session")
        }
        return LoadAccount(email: email, password: password, tenantID: tenant.id, token: session.token)
    }

    /// Lines of `email password` ('#' starts a comment).
    static func readAccounts(_ path: String) throws -> [(String, String)] {
        guard let data = FileManager.default.contents(atPath: path) else { throw HarnessFailure("cannot read --accounts \(path)") }
        let accounts = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).compactMap { line -> (String, String)? in
            let text = line.trimmingCharacters(in: .whitespaces)
            guard !text.isEmpty, !text.hasPrefix("#") else { return nil }
            let parts = text.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            guard parts.count == 2 else { return nil }
            return (String(parts[0]), parts[1].trimmingCharacters(in: .whitespaces))
        }
        guard !accounts.isEmpty else { throw HarnessFailure("--accounts \(path): no 'email password' line") }
        return accounts
    }

    /// Puts every account on `plan` as the administrator `adminEmail` (TenantService.AdminSetTenantPlan).
    func setPlan(_ plan: String, of accounts: [LoadAccount], adminEmail: String, adminPassword: String) async throws {
        let tenants = Waqtor_V1_TenantServiceClient(client: clients[0])
        let admin = try await login(tenants, email: adminEmail, password: adminPassword)
        note("setting \(accounts.count) accounts to plan \(plan)…")
        for tenantID in Set(accounts.map(\.tenantID)) {
            var request = Waqtor_V1_AdminSetTenantPlanRequest()
            request.tenantID = tenantID
            request.planID = plan
            request.reason = "waqtor-load run \(runID)"
            _ = try await tenants.adminSetTenantPlan(request, options: callOptions(admin.token))
        }
    }
}

/// Runs `body` for 0..<count, at most `width` at once, and returns the results in order.
func inBatches<T: Sendable>(_ count: Int, width: Int, _ body: @escaping @Sendable (Int) async throws -> T) async throws -> [T] {
    var results = [T?](repeating: nil, count: count)
    var start = 0
    while start < count {
        let end = min(count, start + width)
        try await withThrowingTaskGroup(of: (Int, T).self) { group in
            for i in start..<end { group.addTask { (i, try await body(i)) } }
            for try await (i, value) in group { results[i] = value }
        }
        start = end
    }
    return results.map { $0! }
}
