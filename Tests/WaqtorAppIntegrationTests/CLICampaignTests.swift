import Foundation
import Testing
@testable import WaqtorApp
import WaqtorCore
import WaqtorInstances
import WaqtorTestSupport

/// `waqtor campaign …` against a real server. The number is stored and marked open directly (no
/// gateway answers sends here: the campaign runs until it is cancelled).
@Suite("CLI: campaigns")
struct CLICampaignTests {
    @Test("create, list, get, update, preview; start refused for an unpaired number with the number in the hint; start --watch follows pause, resume and cancel to the end; progress, results, watch")
    func campaignLifecycle() async throws {
        try await withApplication(tenantTestConfiguration()) { app, _ in
            let cli = try CLI(app)
            defer { cli.remove() }
            _ = try await cli.signUp()
            let tenant = TenantID(trusted: try #require(string(try await cli.run(["whoami", "--json"]).json(), "tenant", "id")))
            let number = try await app.instances.create(tenantID: tenant, displayName: "Sales").instance.id.rawValue

            let list = try #require(string(try await cli.run(["list", "create", "Customers", "--json"]).json(), "contact_list", "id"))
            let file = cli.configDirectory.appendingPathComponent("customers.csv")
            try "phone_number,name,opted_out\n+5511987651001,Ana,no\n+5511987651002,Bruno,no\n+5511987651003,Carla,yes\n"
                .write(to: file, atomically: true, encoding: .utf8)
            #expect(value(try await cli.run(["contact", "import", file.path, "--list", list, "--json"]).json(), "imported") as? Int == 3)

            let created = try await cli.run(["campaign", "create", "--name", "Promo", "--text", "{Hi|Hello} {{name}}", "--list", list,
                                             "--number", number, "--min-delay-ms", "600000", "--max-delay-ms", "600000", "--json"])
            #expect(created.status == 0, "\(created)")
            let id = try #require(string(try created.json(), "campaign", "id"))
            #expect(string(try created.json(), "campaign", "state") == "draft")
            #expect(value(try created.json(), "campaign", "instance_ids") as? [String] == [number])
            #expect(value(try created.json(), "campaign", "pacing_override", "min_delay_ms") as? Int == 600_000)

            let listed = try await cli.run(["campaign", "list", "--json"])
            #expect((value(try listed.json(), "campaigns") as? [[String: Any]])?.map { $0["id"] as? String } == [id])
            #expect(string(try await cli.run(["campaign", "get", id, "--json"]).json(), "campaign", "name") == "Promo")
            let renamed = try await cli.run(["campaign", "update", id, "--name", "Promo 2", "--json"])
            #expect(string(try renamed.json(), "campaign", "name") == "Promo 2", "\(renamed)")

            let preview = try await cli.run(["campaign", "preview", id, "--samples", "2", "--json"])
            #expect(preview.status == 0, "\(preview)")
            #expect((value(try preview.json(), "samples") as? [Any])?.count == 2)
            #expect(value(try preview.json(), "recipient_count") as? Int == 2)
            #expect(value(try preview.json(), "opted_out_count") as? Int == 1)
            #expect(value(try preview.json(), "connected_number_count") as? Int == 0)

            // No connected number: refused, and the hint names the number to pair.
            let unpaired = try await cli.run(["campaign", "start", id, "--json"])
            #expect(unpaired.status == 2, "\(unpaired)")
            #expect(string(try unpaired.error(), "status") == "FAILED_PRECONDITION")
            #expect(string(try unpaired.error(), "hint") == "pair the number first: waqtor instance qr \(number)")

            _ = try await app.instances.updateConnection(tenantID: tenant, id: InstanceID(trusted: number), .event(.connection(.open, reason: 200), at: nil))

            // start --watch: the campaign, then its progress until it ends.
            let watcher = try cli.spawn(["campaign", "start", id, "--watch", "--interval-ms", "250", "--json"])
            defer { watcher.stop() }
            try await watcher.waitForLine("the started campaign") { $0.contains(#""campaign":{"#) && $0.contains(#""state":"running""#) }
            try await watcher.waitForLine("a progress snapshot") { $0.contains(#""progress":{"#) }
            let paused = try await cli.run(["campaign", "pause", id, "--json"])
            #expect(string(try paused.json(), "campaign", "state") == "paused", "\(paused)")
            try await watcher.waitForLine("the paused snapshot") { $0.contains(#""progress":{"#) && $0.contains(#""state":"paused""#) }
            let resumed = try await cli.run(["campaign", "resume", id, "--json"])
            #expect(string(try resumed.json(), "campaign", "state") == "running", "\(resumed)")

            let progress = try await cli.run(["campaign", "progress", id, "--json"])
            #expect(value(try progress.json(), "progress", "total_count") as? Int == 3, "\(progress)")
            #expect(value(try progress.json(), "progress", "skipped_count") as? Int == 1)
            let results = try await cli.run(["campaign", "results", id, "--all", "--page-size", "1", "--json"])
            let recipients = try #require(value(try results.json(), "results") as? [[String: Any]], "\(results)")
            #expect(recipients.count == 3)
            #expect(recipients.first { $0["phone_number"] as? String == "+5511987651003" }?["state"] as? String == "skipped")
            let skipped = try await cli.run(["campaign", "results", id, "--state", "skipped", "--json"])
            #expect((value(try skipped.json(), "results") as? [Any])?.count == 1)

            let cancelled = try await cli.run(["campaign", "cancel", id, "--json"])
            #expect(string(try cancelled.json(), "campaign", "state") == "cancelled", "\(cancelled)")
            let watched = await watcher.finish()
            #expect(watched.status == 0, "\(watched)")
            let lines = try watched.objects()
            #expect(string(lines.first, "campaign", "state") == "running")
            #expect(lines.dropFirst().dropLast().allSatisfy { $0["progress"] != nil }, "\(watched)")
            let summary = try #require(lines.last?["summary"] as? [String: Any], "\(watched)")
            #expect(string(summary, "state") == "cancelled")
            #expect(value(summary, "final") as? Bool == true)
            #expect(value(summary, "interrupted") as? Bool == false)
            #expect(value(summary, "total_count") as? Int == 3)

            // Watching an ended campaign: its snapshot and the summary at once.
            let after = try await cli.run(["campaign", "watch", id, "--json"])
            #expect(after.status == 0, "\(after)")
            #expect(string(try after.objects().last, "summary", "state") == "cancelled")
            // On a terminal the bar is drawn, then erased before the summary.
            let terminal = try await cli.runInTerminal(["campaign", "watch", id], columns: 100)
            #expect(terminal.status == 0, "\(terminal.output)")
            let screen = CLITerminalTests.lines(terminal.output).map {
                $0.components(separatedBy: "\r").last?.replacingOccurrences(of: "\u{1B}[K", with: "") ?? ""
            }
            #expect(terminal.output.contains("cancelled 100% ["), "the bar: \(terminal.output.debugDescription)")
            #expect(screen.contains { $0.hasPrefix("campaign cancelled: 3/3 done") }, "\(screen)")
            #expect(!screen.contains { $0.contains("100% ") }, "no bar left: \(screen)")

            let refused = try await cli.run(["campaign", "start", id, "--json"])
            #expect(string(try refused.error(), "status") == "FAILED_PRECONDITION")
            #expect(string(try refused.error(), "hint") == "the current state does not allow this: do what the message says first, then retry")
            let unknown = try await cli.run(["campaign", "get", UUID().uuidString.lowercased(), "--json"])
            #expect(string(try unknown.error(), "hint") == "check the id: waqtor campaign list shows them", "\(unknown)")
            let badFlag = try await cli.run(["campaign", "start", id, "--interval-ms", "500", "--json"])
            #expect(badFlag.status == 64, "--interval-ms needs --watch: \(badFlag)")
        }
    }
}
