import Foundation
import Testing
import WaqtorInstances

@Suite("GatewayReachability: what the server knows about reaching the gateway")
struct GatewayReachabilityTests {
    let t0 = Date(timeIntervalSince1970: 1_750_000_000)
    func at(_ seconds: TimeInterval) -> Date { t0.addingTimeInterval(seconds) }

    @Test("unknown until something is heard; never stale while unknown")
    func startsUnknown() {
        let reachability = GatewayReachability()
        #expect(reachability.state == .unknown)
        #expect(!reachability.isUnreachable)
        #expect(reachability.since == nil && reachability.lastAnswered == nil && reachability.lastError == nil)
    }

    @Test("an answer makes it reachable since then; more answers move last-answered only")
    func answers() {
        var reachability = GatewayReachability()
        do { let changed = reachability.answered(at: at(0)); #expect(changed) }
        #expect(reachability.state == .reachable && reachability.since == at(0) && reachability.lastAnswered == at(0))
        do { let changed = reachability.answered(at: at(5)); #expect(!changed, "no change of state") }
        #expect(reachability.since == at(0) && reachability.lastAnswered == at(5))
        // An answer heard late (an older call ending after a newer one) never moves it back.
        do { let changed = reachability.answered(at: at(3)); #expect(!changed) }
        #expect(reachability.lastAnswered == at(5))
    }

    @Test("a failure makes it unreachable since then, keeping when it last answered; recovery clears the state, not the record")
    func failureAndRecovery() {
        var reachability = GatewayReachability()
        reachability.answered(at: at(0))
        do { let changed = reachability.failed(startedAt: at(10), at: at(12), error: "no connection"); #expect(changed) }
        #expect(reachability.state == .unreachable && reachability.isUnreachable)
        #expect(reachability.since == at(12) && reachability.lastAnswered == at(0))
        #expect(reachability.lastError == "no connection" && reachability.lastFailed == at(12))
        // Further failures keep "since" and update the error.
        do { let changed = reachability.failed(startedAt: at(15), at: at(17), error: "no answer in time"); #expect(!changed) }
        #expect(reachability.since == at(12) && reachability.lastError == "no answer in time")
        do { let changed = reachability.answered(at: at(20)); #expect(changed) }
        #expect(reachability.state == .reachable && reachability.since == at(20) && !reachability.isUnreachable)
        #expect(reachability.lastError == "no answer in time", "the last error stays on record")
    }

    @Test("a slow call's failure does not override an answer heard after that call started")
    func slowCallAfterAnswer() {
        var reachability = GatewayReachability()
        reachability.answered(at: at(10))
        // Started at 5, timed out at 35: the gateway answered another call at 10, so it is up.
        do { let changed = reachability.failed(startedAt: at(5), at: at(35), error: "no answer in time"); #expect(!changed) }
        #expect(reachability.state == .reachable && reachability.lastError == nil)
        // A call started after the last answer that fails does count.
        do { let changed = reachability.failed(startedAt: at(11), at: at(13), error: "no connection"); #expect(changed) }
        #expect(reachability.state == .unreachable)
    }

    @Test("failing before any answer: unreachable, never answered")
    func neverAnswered() {
        var reachability = GatewayReachability()
        do { let changed = reachability.failed(startedAt: at(0), at: at(1), error: "no connection"); #expect(changed) }
        #expect(reachability.isUnreachable && reachability.lastAnswered == nil && reachability.since == at(1))
    }
}
