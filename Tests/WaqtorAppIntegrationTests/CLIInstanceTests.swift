import EvolutionSimulator
import Foundation
import Testing
@testable import WaqtorApp
import WaqtorProto
import WaqtorRPC
import WaqtorTestSupport

/// `waqtor instance …` against a server whose gateway is the Evolution API simulator.
@Suite("CLI: WhatsApp numbers (instance) against the gateway simulator")
struct CLIInstanceTests {
    @Test("create, list, get, state, qr (PNG saved 0600), paired by the gateway, settings, the plan's limit, logout, delete")
    func instanceLifecycle() async throws {
        try await withGateway { simulator, app, _ in
            let cli = try CLI(app)
            defer { cli.remove() }
            _ = try await cli.signUp()

            let created = try await cli.run(["instance", "create", "--name", "Sales", "--phone", "+5511999998888", "--json"])
            #expect(created.status == 0, "\(created)")
            let id = try #require(string(try created.json(), "instance", "id"))
            let gatewayName = try #require(string(try created.json(), "instance", "gateway_instance_name"))
            #expect(string(try created.json(), "instance", "state") == "close")
            #expect(string(try created.json(), "instance", "phone_number") == "+5511999998888")
            #expect(string(try created.json(), "instance", "display_name") == "Sales")

            let listed = try await cli.run(["instance", "list", "--json"])
            #expect((value(try listed.json(), "instances") as? [[String: Any]])?.map { $0["id"] as? String } == [id], "\(listed)")
            let got = try await cli.run(["instance", "get", id, "--json"])
            #expect(string(try got.json(), "instance", "id") == id)
            #expect(value(try got.json(), "instance", "pacing", "min_delay_ms") is Int)

            // Not open yet: exit status 1, the state in the JSON.
            let closed = try await cli.run(["instance", "state", id, "--json"])
            #expect(closed.status == 1, "\(closed)")
            #expect(string(try closed.json(), "state") == "close")

            let qr = try await cli.run(["instance", "qr", id, "--json"])
            #expect(qr.status == 0, "\(qr)")
            let png = try #require(string(try qr.json(), "qr_png_file"))
            #expect(string(try qr.json(), "state") == "connecting")
            #expect(string(try qr.json(), "qr_code")?.isEmpty == false)
            let saved = cli.configDirectory.appendingPathComponent(png).standardizedFileURL.path
            let bytes = try #require(FileManager.default.contents(atPath: saved))
            #expect(bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]), "a PNG")
            #expect(CLIConfigTests.mode(saved) == 0o600)

            #expect(simulator.connect(instance: gatewayName))
            try await awaitCondition("the number is open") {
                try await cli.run(["instance", "state", id, "--json"]).status == 0
            }
            let open = try await cli.run(["instance", "state", id, "--json"])
            #expect(string(try open.json(), "state") == "open")
            let paired = try await cli.run(["instance", "qr", id, "--json"])
            #expect(string(try paired.json(), "state") == "open", "nothing to pair: \(paired)")
            #expect(value(try paired.json(), "qr_png_file") == nil)

            let changed = try await cli.run(["instance", "settings", id, "--min-delay-ms", "2000", "--max-delay-ms", "4000",
                                             "--quiet-hours", "22:00-07:00", "--json"])
            #expect(changed.status == 0, "\(changed)")
            #expect(value(try changed.json(), "pacing", "min_delay_ms") as? Int == 2000)
            #expect(value(try changed.json(), "pacing", "quiet_hours_start_minute") as? Int == 22 * 60)
            let shown = try await cli.run(["instance", "settings", id, "--json"])
            #expect(value(try shown.json(), "pacing", "max_delay_ms") as? Int == 4000)
            #expect(value(try shown.json(), "pacing", "quiet_hours_enabled") as? Bool == true)

            // The free plan has one number: the limit names what to do.
            let second = try await cli.run(["instance", "create", "--name", "Support", "--json"])
            #expect(second.status == 2, "\(second)")
            let limit = try second.error()
            #expect(string(limit, "status") == "RESOURCE_EXHAUSTED")
            #expect(string(limit, "limit") == "whatsapp_instances")
            #expect(string(limit, "hint") == "delete a number you no longer use (waqtor instance delete), or upgrade your plan: waqtor plan upgrade")

            let loggedOut = try await cli.run(["instance", "logout", id, "--json"])
            #expect(loggedOut.status == 0, "\(loggedOut)")
            #expect(string(try loggedOut.json(), "instance", "id") == id)

            let unconfirmed = try await cli.run(["instance", "delete", id, "--json"])
            #expect(unconfirmed.status == 64, "\(unconfirmed)")
            #expect(string(try unconfirmed.error(), "message")?.contains("add --yes to confirm") == true)
            let deleted = try await cli.run(["instance", "delete", id, "--yes", "--json"])
            #expect(value(try deleted.json(), "ok") as? Bool == true, "\(deleted)")
            let gone = try await cli.run(["instance", "get", id, "--json"])
            #expect(gone.status == 2)
            #expect(string(try gone.error(), "status") == "NOT_FOUND")
            #expect(string(try gone.error(), "hint") == "check the id: waqtor instance list shows them")

            let badPhone = try await cli.run(["instance", "create", "--name", "X", "--phone", "11 9999", "--json"])
            #expect(badPhone.status == 64, "\(badPhone)")
        }
    }
}
