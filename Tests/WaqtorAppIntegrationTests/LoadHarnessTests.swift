import Foundation
import Testing
import WaqtorProto
import WaqtorRPC
import WaqtorTestSupport

/// `waqtor-load`, built next to the test bundle like `waqtor-server` (`serverExecutable()`).
func loadExecutable() throws -> URL {
    let bundleDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for candidate in [bundleDirectory, bundleDirectory.deletingLastPathComponent()] {
        let url = candidate.appendingPathComponent("waqtor-load")
        if FileManager.default.isExecutableFile(atPath: url.path) { return url }
    }
    throw TestSupportError("waqtor-load not found next to \(CommandLine.arguments[0]); build it with `swift build --build-tests`")
}

/// The fields of `waqtor-load <scenario> --json` the tests read (docs/BENCHMARKS.md, "Harness: product scenarios").
struct LoadReport: Decodable {
    struct Latency: Decodable { var p50: Double; var max: Double }
    struct Stage: Decodable { var count: Int }
    struct Operation: Decodable { var weight: Int; var calls: Int; var ok: Int; var errors: [String: Int] }

    var scenario: String
    var mode: String
    var calls: Int
    var ok: Int
    var errors: [String: Int]
    var latency: Latency
    var stages: [String: Stage]
    var operations: [String: Operation]?
    var outcome: [String: Double?]
    var limits: [String]

    func count(_ key: String) -> Int? { outcome[key].flatMap { $0 }.map { Int($0) } }
}

/// Runs `waqtor-load` to its end (killed after `patience`) and decodes its JSON report.
func runLoad(_ arguments: [String], patience: Duration = .seconds(240)) async throws -> (status: Int32, report: LoadReport?, stderr: String) {
    let process = ChildProcess()
    process.executableURL = try loadExecutable()
    process.arguments = arguments + ["--json"]
    let (stdout, stderr) = (Pipe(), Pipe())
    process.standardOutput = stdout
    process.standardError = stderr
    try process.run()
    let watchdog = Task {
        try await Task.sleep(for: patience)
        process.terminate()
    }
    // Both pipes are read to their end on Dispatch threads (never blocking the cooperative pool),
    // each at once, so that neither fills up while the other is read.
    func drain(_ pipe: Pipe) async -> Data {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: pipe.fileHandleForReading.readDataToEndOfFile()) }
        }
    }
    async let errors = drain(stderr)
    let out = await drain(stdout)
    let err = await errors
    await withCheckedContinuation { continuation in
        DispatchQueue.global().async {
            process.waitUntilExit()
            continuation.resume()
        }
    }
    watchdog.cancel()
    let report = try? JSONDecoder().decode(LoadReport.self, from: out)
    return (process.terminationStatus, report, String(decoding: err, as: UTF8.self) + String(decoding: out, as: UTF8.self))
}

/// Accounts made before the server starts, so that its workers can be given their tenants
/// (send.tenants, chat.tenants) and serve no other test's: signed up through an in-process server,
/// each group written to its own `--accounts` file.
struct PreparedAccounts {
    var file: URL
    var tenantIDs: [String]

    /// One group per count, and an administrator.
    static func make(_ counts: [Int]) async throws -> (groups: [PreparedAccounts], admin: Account) {
        try await withApplication(tenantTestConfiguration()) { app, client in
            let tenants = Waqtor_V1_TenantServiceClient(client: client)
            var groups: [PreparedAccounts] = []
            for count in counts {
                var accounts: [Account] = []
                for _ in 0..<count { accounts.append(try await signUp(tenants, name: "Load Test")) }
                let file = FileManager.default.temporaryDirectory.appendingPathComponent("waqtor-load-accounts-\(UUID().uuidString).txt")
                try accounts.map { "\($0.email) \($0.password)" }.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
                groups.append(PreparedAccounts(file: file, tenantIDs: accounts.map(\.tenant.id)))
            }
            return (groups, try await signUpAdministrator(app, tenants))
        }
    }
}

@Suite("waqtor-load product scenarios against a waqtor-server process", .serialized)
struct LoadHarnessTests {
    /// The harness's addresses for `server`.
    func addresses(_ server: ServerProcess) -> [String] {
        ["--server", "127.0.0.1:\(server.rpcPort)", "--webhook", "http://127.0.0.1:\(server.webhookPort)",
         "--gateway", "http://127.0.0.1:\(server.gatewayPort)", "--timeout", "30", "--setup-timeout", "60"]
    }

    func expectClean(_ run: (status: Int32, report: LoadReport?, stderr: String), scenario: String, calls: Int? = nil) throws -> LoadReport {
        let report = try #require(run.report, "no JSON report from \(scenario): \(run.stderr)")
        #expect(run.status == 0, "\(scenario): \(run.stderr)")
        #expect(report.scenario == scenario)
        #expect(report.calls > 0)
        #expect(report.errors.isEmpty, "\(scenario) errors: \(report.errors); \(run.stderr)")
        #expect(report.ok == report.calls)
        if let calls { #expect(report.calls == calls) }
        #expect(report.latency.p50 > 0 && report.latency.max >= report.latency.p50)
        #expect(!report.limits.isEmpty, "every scenario says what bounds its figure")
        return report
    }

    /// No background work is needed for these, so the server's workers serve no tenant (as every
    /// ServerProcess's), and the harness signs up its own accounts.
    @Test("login, profile and webhook, closed and open loop, with accounts the harness signs up")
    func requestScenarios() async throws {
        let server = try ServerProcess(role: "all", extraEnvironment: ["WAQTOR_ADMIN_PORT": "0"])
        try #require(await server.waitForLog(message: "waqtor-server ready"), "\(server.logText)")
        let at = addresses(server)

        let login = try expectClean(await runLoad(["login", "-c", "2", "-n", "4", "--warmup", "0"] + at), scenario: "login", calls: 4)
        #expect(login.mode == "closed")
        #expect(login.limits.contains { $0.contains("argon2id") }, "the login figure says it is bounded by the hash")

        _ = try expectClean(await runLoad(["profile", "-c", "2", "-m", "2", "-d", "1", "--warmup", "0.2"] + at), scenario: "profile")
        let open = try expectClean(await runLoad(["profile", "-c", "2", "--rate", "40", "-n", "20", "--warmup", "0"] + at), scenario: "profile", calls: 20)
        #expect(open.mode == "open")

        _ = try expectClean(await runLoad(["webhook", "-c", "2", "-m", "2", "-d", "1", "--warmup", "0"] + at), scenario: "webhook")
        let posts = try expectClean(await runLoad(["webhook", "-c", "1", "--rate", "30", "-n", "15", "--warmup", "0"] + at), scenario: "webhook", calls: 15)
        #expect(posts.mode == "open")

        server.signal(SIGTERM)
        #expect(await server.waitForExit() == 0)
    }

    /// send-reply, campaign and mixed need the server's workers and chat projector: the accounts
    /// are made first and the server serves exactly their tenants, under its own send-queue prefix,
    /// so that it does no other test's background work (and no other test's process does this one's).
    @Test("send-reply reaches the gateway, a campaign over two numbers finishes, mixed runs every share")
    func workerScenarios() async throws {
        let (groups, admin) = try await PreparedAccounts.make([2, 1, 2])
        let (replies, campaign, mixed) = (groups[0], groups[1], groups[2])
        defer { for file in [replies.file, campaign.file, mixed.file] { try? FileManager.default.removeItem(at: file) } }
        let tenants = (replies.tenantIDs + campaign.tenantIDs + mixed.tenantIDs).joined(separator: ",")
        let server = try ServerProcess(role: "all", extraEnvironment: [
            "WAQTOR_SEND_TENANTS": tenants, "WAQTOR_CHAT_TENANTS": tenants,
            "WAQTOR_SEND_KEY_PREFIX": TestEnvironment.uniqueName("wqload"),
            // Numbers connect by themselves soon after GetQrCode (the harness also asks the
            // simulator to connect them at once); no typing delay, so that a reply takes ms, not s.
            "WAQTOR_GATEWAY_EMBEDDED_CONNECT_AFTER_MS": "300", "WAQTOR_SEND_MAX_TYPING_DELAY_MS": "0",
            "WAQTOR_ADMIN_PORT": "0",
        ])
        try #require(await server.waitForLog(message: "waqtor-server ready"), "\(server.logText)")
        let at = addresses(server)

        let reply = try expectClean(
            await runLoad(["send-reply", "-c", "2", "-m", "2", "-n", "16", "--warmup", "0", "--accounts", replies.file.path] + at),
            scenario: "send-reply", calls: 16)
        #expect(reply.count("replies_sent") == 16)
        #expect(reply.count("replies_at_gateway") == reply.count("replies_sent_total"), "every reply SENT reached the simulator: \(reply.outcome)")
        #expect((reply.count("replies_at_gateway") ?? 0) >= 16)
        #expect(reply.stages["rpc"]?.count == 16, "the SendTextReply RPC is timed on its own")
        #expect(reply.count("replies_accepted") == 16, "every SendTextReply answered: \(reply.outcome)")
        #expect(reply.count("replies_lost") == 0 && reply.count("replies_duplicated") == 0, "\(reply.outcome)")

        let run = try expectClean(
            await runLoad([
                "campaign", "-c", "1", "--numbers", "2", "--recipients", "6", "--accounts", campaign.file.path,
                "--admin-email", admin.email, "--admin-password", admin.password,
            ] + at),
            scenario: "campaign", calls: 1)
        #expect(run.count("recipients") == 6)
        #expect(run.count("sent") == 6, "every recipient final and sent: \(run.outcome)")
        #expect(run.count("sent_at_gateway") == 6)
        #expect(run.count("lost") == 0 && run.count("gateway_duplicates") == 0, "\(run.outcome)")
        #expect(run.stages["start"]?.count == 1 && run.stages["first_send"]?.count == 1)

        // --timeline and --ready-file, as tools/faults.sh uses them.
        let timeline = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("timeline") + ".csv")
        let ready = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("ready"))
        defer { for file in [timeline, ready] { try? FileManager.default.removeItem(at: file) } }
        let blend = try expectClean(
            await runLoad([
                "mixed", "-c", "2", "-m", "2", "-n", "40", "--warmup", "0", "--accounts", mixed.file.path,
                "--weights", "profile=40,webhook=30,send-reply=20,login=10",
                "--timeline", timeline.path, "--ready-file", ready.path,
            ] + at),
            scenario: "mixed", calls: 40)
        let operations = try #require(blend.operations)
        #expect(Set(operations.keys) == ["profile", "webhook", "send-reply", "login"])
        #expect(operations.values.reduce(0) { $0 + $1.calls } == 40)
        #expect(FileManager.default.fileExists(atPath: ready.path), "--ready-file is created when the calls start")
        let lines = try String(contentsOf: timeline, encoding: .utf8).split(separator: "\n")
        #expect(lines.first == "start_ms,began_ms,end_ms,operation,status,detail")
        let rows = lines.dropFirst().map { $0.split(separator: ",", maxSplits: 5, omittingEmptySubsequences: false) }
        #expect(rows.count == 40, "one line per call (no warm-up here)")
        for row in rows {
            let (start, began, end) = (Double(row[0]) ?? -1, Double(row[1]) ?? -1, Double(row[2]) ?? -1)
            #expect(start > 0 && began >= start - 0.1 && end >= began, "times in order: \(row)")
            #expect(["profile", "webhook", "send-reply", "login"].contains(String(row[3])) && row[4] == "OK", "\(row)")
        }
        #expect(Dictionary(grouping: rows, by: { String($0[3]) }).mapValues(\.count) == operations.mapValues { Int($0.calls) })
        #expect(blend.count("replies_at_gateway") == blend.count("replies_sent_total"))

        server.signal(SIGTERM)
        #expect(await server.waitForExit() == 0)
    }
}
