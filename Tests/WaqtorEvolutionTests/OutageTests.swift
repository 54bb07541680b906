import EvolutionSimulator
import Foundation
import Testing
import WaqtorEvolution
import WaqtorHTTP

/// The simulator's outage (`POST /_sim/outage`): connections are refused for the time asked, then
/// the same port serves again with the state it had (tools/faults.sh's "gateway unreachable").
@Suite("Simulator outage")
struct OutageTests {
    @Test func refusesConnectionsThenServesAgainWithItsState() async throws {
        let h = try await Harness.start()
        let name = uniqueInstance()
        _ = try await h.client.createInstance(name: name)
        h.simulator.connect(instance: name)
        _ = try await h.client.sendText(instance: name, number: "5511900000001", text: "before")

        #expect(try await h.raw("POST", "/_sim/outage", body: "{}").status == 400, "ms is required")
        #expect(try await h.raw("POST", "/_sim/outage", body: "{\"ms\":0}").status == 400)
        let port = h.simulator.port
        let answer = try await h.raw("POST", "/_sim/outage", body: "{\"ms\":3000}")
        #expect(answer.status == 200 && (answer.json as? [String: Any])?["ms"] as? Int == 3000)

        // The send fails as against a gateway that is down: a transport failure, not an answer.
        let deadline = ContinuousClock.now + .seconds(30)
        let probe = h.client(timeout: .seconds(5))
        var refused: EvolutionError?
        while refused == nil, ContinuousClock.now < deadline {
            refused = await gatewayError { try await probe.sendText(instance: name, number: "5511900000002", text: "during") }
            if refused == nil { try await Task.sleep(for: .milliseconds(10)) }
        }
        // Refused, or (a connection the listener had taken just as it closed) never answered:
        // either way the gateway cannot be reached.
        #expect(refused?.kind == .transport || refused?.kind == .timeout, "\(String(describing: refused))")
        // Sends before the listener closed (it closes just after answering) were served as usual.
        let servedBefore = h.simulator.sends().count

        // Back on the same port, with the instance still open.
        var back = false
        while !back, ContinuousClock.now < deadline + .seconds(30) {
            back = (try? await h.client.sendText(instance: name, number: "5511900000003", text: "after")) != nil
            if !back { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(back)
        #expect(h.simulator.port == port && !h.simulator.inOutage)
        let texts = await h.simulator.waitForSends(count: servedBefore + 1).map(\.text)
        #expect(texts.count == servedBefore + 1 && texts.first == "before" && texts.last == "after",
                "nothing reached the handler during the outage: \(texts)")
        await h.stop()
    }
}
