import ArgumentParser
import Foundation

/// `waqtor-load login`: TenantService.Login, repeatedly, one account per connection.
struct LoginScenario: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "TenantService.Login calls (argon2id: slow on purpose).",
        discussion: """
            Set-up signs up one account per connection (unique emails), then each loop logs in with \
            its connection's account again and again. The login throttle counts only failed logins, \
            so these are never refused. Each login verifies an argon2id hash (64 MiB, 3 passes): the \
            figure is bounded by that hash, by design.
            """)

    @OptionGroup var options: LoadOptions

    func validate() throws { try options.check() }

    func run() async throws {
        try await ScenarioRunner.run(options, scenario: "login", call: "TenantService.Login", unit: "logins") { harness in
            let accounts = try await harness.accounts()
            return PreparedScenario(
                call: { c, _ in await harness.loginCall(accounts[c], connection: c) },
                limits: { result in
                    let p50 = (result.operations["login"]?.latency).map { Report.Latency($0).p50 / 1000 } ?? 0
                    return [
                        "bounded by the password hash on purpose: each Login verifies an argon2id hash (64 MiB, 3 passes, "
                            + "about \(String(format: "%.0f", p50)) ms per login at p50 here) on the server's blocking thread pool, "
                            + "so logins/s is about the server's cores divided by the hash time, whatever the RPC path costs",
                    ]
                })
        }
    }
}

/// `waqtor-load profile`: TenantService.GetProfile with a session.
struct ProfileScenario: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "TenantService.GetProfile calls (an authenticated PostgreSQL read).",
        discussion: "Set-up signs up one account per connection; each loop reads its account's profile with the session from sign-up.")

    @OptionGroup var options: LoadOptions

    func validate() throws { try options.check() }

    func run() async throws {
        try await ScenarioRunner.run(options, scenario: "profile", call: "TenantService.GetProfile", unit: "reads") { harness in
            let accounts = try await harness.accounts()
            return PreparedScenario(
                call: { c, _ in await harness.profileCall(accounts[c], connection: c) },
                limits: { _ in
                    ["each call authenticates the session (a PostgreSQL lookup of its hash) and reads the tenant in a "
                        + "tenant transaction: PostgreSQL round trips and the pool (database.pool_size) bound it, with the "
                        + "server, PostgreSQL and the load generator sharing the machine's cores"]
                })
        }
    }
}

/// `waqtor-load webhook`: Evolution-shaped `messages.upsert` posts to the webhook listener.
struct WebhookScenario: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhook",
        abstract: "messages.upsert posts to the server's webhook listener (through WaqtorHTTP).",
        discussion: """
            Set-up signs up one account per connection and creates its number; the number's webhook \
            secret is read from the gateway (GET /webhook/find, --gateway and --gateway-key). Each \
            loop posts a new message (a new id, one of 100 customers) to \
            {--webhook}/webhooks/evolution/{gateway name}; a call succeeds on HTTP 200, after the \
            event was committed. HTTP statuses count as errors named HTTP_<status>.
            """)

    @OptionGroup var options: LoadOptions

    func validate() throws { try options.check() }

    func run() async throws {
        try await ScenarioRunner.run(
            options, scenario: "webhook", call: "POST /webhooks/evolution/{instance} (messages.upsert)", unit: "posts",
            httpConnections: options.connections * options.inFlight
        ) { harness in
            let accounts = try await harness.accounts()
            let targets = try await harness.webhookTargets(try await harness.oneNumberEach(accounts))
            return PreparedScenario(
                call: { c, sequence in await harness.webhookCall(targets[c], sequence: sequence) },
                limits: { _ in
                    ["each post is authenticated (SHA-256 of the secret against the stored hash), then stored by group "
                        + "commit (deliveries arriving together share one transaction) before the 200; the chat projector "
                        + "makes conversations of them afterwards, outside this latency (docs/WEBHOOKS.md)",
                     "the posts go through one libcurl client thread in the load generator, on the same cores as the server and PostgreSQL"]
                })
        }
    }
}
