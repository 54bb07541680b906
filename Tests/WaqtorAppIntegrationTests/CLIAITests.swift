import Foundation
import OpenRouterStandIn
import Testing
@testable import WaqtorApp
import WaqtorCore
import WaqtorInstances
import WaqtorTestSupport

/// `waqtor ai …` against a server drafting through the OpenRouter stand-in.
@Suite("CLI: AI drafting")
struct CLIAITests {
    @Test("models, draft (from an argument and from stdin), draft --use into a campaign, a --use beyond the drafts, the usage it counts")
    func drafting() async throws {
        try await withDrafting { app, _, _ in
            let cli = try CLI(app)
            defer { cli.remove() }
            _ = try await cli.signUp()

            let models = try await cli.run(["ai", "models", "--json"])
            #expect(models.status == 0, "\(models)")
            let list = try #require(value(try models.json(), "models") as? [[String: Any]])
            #expect(list.contains { $0["is_default"] as? Bool == true })

            let drafted = try await cli.run(["ai", "draft", "Winter sale: 20% off all coats until Sunday", "--language", "en", "--variants", "2", "--json"])
            #expect(drafted.status == 0, "\(drafted)")
            let drafts = try #require(value(try drafted.json(), "drafts") as? [[String: Any]])
            #expect(drafts.count == 2)
            #expect(drafts.allSatisfy { ($0["text"] as? String)?.isEmpty == false })
            #expect(string(try drafted.json(), "model")?.isEmpty == false)
            #expect((value(try drafted.json(), "usage", "total_tokens") as? Int ?? 0) > 0)
            #expect(!drafted.stderr.contains("drafting"), "no spinner in a pipe")

            let fromStdin = try await cli.run(["ai", "draft", "-", "--variants", "1", "--json"], stdin: "Spring promotion at our bakery\n")
            #expect((value(try fromStdin.json(), "drafts") as? [Any])?.count == 1, "\(fromStdin)")

            // Into a campaign: a number, a list with a contact, a draft campaign.
            let tenant = TenantID(trusted: try #require(string(try await cli.run(["whoami", "--json"]).json(), "tenant", "id")))
            let number = try await app.instances.create(tenantID: tenant, displayName: "Sales").instance.id.rawValue
            let listID = try #require(string(try await cli.run(["list", "create", "All", "--json"]).json(), "contact_list", "id"))
            let contact = try #require(string(try await cli.run(["contact", "add", "--phone", "+5511987653001", "--name", "Ana", "--json"]).json(), "contact", "id"))
            _ = try await cli.run(["list", "add", listID, contact, "--json"])
            let campaign = try #require(string(try await cli.run(["campaign", "create", "--name", "Coats", "--text", "placeholder", "--list", listID,
                                                                   "--number", number, "--json"]).json(), "campaign", "id"))
            let used = try await cli.run(["ai", "draft", "Winter sale on coats", "--variants", "2", "--use", "2", "--campaign", campaign, "--json"])
            #expect(used.status == 0, "\(used)")
            let usedDrafts = try #require(value(try used.json(), "drafts") as? [[String: Any]])
            #expect(string(try used.json(), "campaign", "template_text") == usedDrafts[1]["text"] as? String)
            #expect(string(try await cli.run(["campaign", "get", campaign, "--json"]).json(), "campaign", "template_text") == usedDrafts[1]["text"] as? String)

            let beyond = try await cli.run(["ai", "draft", "Winter sale on coats", "--variants", "1", "--use", "3", "--campaign", campaign, "--json"])
            #expect(beyond.status == 64, "\(beyond)")
            let lines = try beyond.objects()
            #expect(lines.count == 2, "the drafts, then the error: \(beyond)")
            #expect((value(lines.first, "drafts") as? [Any])?.count == 1)
            #expect(string(lines.last, "error", "message")?.contains("--use 3: only 1 draft was returned") == true)

            let badUse = try await cli.run(["ai", "draft", "x", "--use", "1", "--json"])
            #expect(badUse.status == 64, "\(badUse)")
            #expect(string(try badUse.error(), "hint") == "see `waqtor ai draft --help`")

            let usage = try await cli.run(["usage", "--json"])
            #expect(value(try usage.json(), "used", "ai_drafts_per_day") as? Int == 4, "four drafting calls (the refused command line made none): \(usage)")
            #expect(value(try usage.json(), "ai_today", "requests") as? Int == 4)
        }
    }
}
