import Foundation
import Testing
import WaqtorEvolution
@testable import WaqtorSendQueue

@Suite struct PacingTests {
    let berlin = TimeZone(identifier: "Europe/Berlin")!

    func date(_ text: String, _ zone: TimeZone) -> Date {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = zone
        f.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        return f.date(from: text)!
    }

    @Test func gapIsUniformWithinBounds() {
        #expect(PacingRules.gap(minDelayMs: 1000, maxDelayMs: 3000, unit: 0) == 1000)
        #expect(PacingRules.gap(minDelayMs: 1000, maxDelayMs: 3000, unit: 0.999_999_999_9) == 3000)
        #expect(PacingRules.gap(minDelayMs: 1000, maxDelayMs: 3000, unit: 0.5) == 2000)
        #expect(PacingRules.gap(minDelayMs: 500, maxDelayMs: 500, unit: 0.7) == 500)
        // Out-of-range units are clamped, never outside the bounds.
        #expect(PacingRules.gap(minDelayMs: 10, maxDelayMs: 20, unit: -1) == 10)
        #expect(PacingRules.gap(minDelayMs: 10, maxDelayMs: 20, unit: 7) == 20)
        // Every value of the range is reachable, and only those.
        var seen = Set<Int>()
        for i in 0..<1000 { seen.insert(PacingRules.gap(minDelayMs: 0, maxDelayMs: 9, unit: Double(i) / 1000)) }
        #expect(seen == Set(0...9))
    }

    @Test func warmupDoublesFromTwentyUntilItsDaysPass() {
        #expect(PacingRules.warmupAllowance(day: 0, warmupDays: 14) == 20)
        #expect(PacingRules.warmupAllowance(day: 1, warmupDays: 14) == 40)
        #expect(PacingRules.warmupAllowance(day: 5, warmupDays: 14) == 640)
        #expect(PacingRules.warmupAllowance(day: 13, warmupDays: 14) == 20 << 13)
        #expect(PacingRules.warmupAllowance(day: 14, warmupDays: 14) == nil)
        #expect(PacingRules.warmupAllowance(day: 0, warmupDays: nil) == nil)
        #expect(PacingRules.warmupAllowance(day: 0, warmupDays: 0) == nil)
    }

    @Test func dailyCapIsTheLowestOfOwnCampaignAndWarmup() {
        #expect(PacingRules.dailyCap(own: 500, campaign: nil, warmupDay: 0, warmupDays: 14) == 20)
        #expect(PacingRules.dailyCap(own: 500, campaign: 300, warmupDay: 20, warmupDays: 14) == 300)
        #expect(PacingRules.dailyCap(own: 100, campaign: 300, warmupDay: 20, warmupDays: 14) == 100)
        #expect(PacingRules.dailyCap(own: nil, campaign: nil, warmupDay: 20, warmupDays: 14) == nil)
        // Zero means "no cap of its own" (the plan's limit).
        #expect(PacingRules.dailyCap(own: 0, campaign: 0, warmupDay: 3, warmupDays: nil) == nil)
    }

    @Test func typingDelayFollowsLengthClampedAndJittered() {
        #expect(PacingRules.typingDelay(length: 1, unit: 0.5) == 500)
        #expect(PacingRules.typingDelay(length: 40, unit: 0.5) == 2000)
        #expect(PacingRules.typingDelay(length: 10_000, unit: 0.5) == 5000)
        #expect(PacingRules.typingDelay(length: 40, unit: 0) == 1600)
        #expect(PacingRules.typingDelay(length: 40, unit: 1) == 2400)
        #expect(PacingRules.typingDelay(length: 10_000, unit: 1, maximum: 5000) == 5000)
        #expect(PacingRules.typingDelay(length: 40, unit: 0.5, maximum: 0) == 0)
        #expect(PacingRules.typingDelay(length: 40, unit: 0.5, maximum: 700) == 700)
    }

    @Test func quietHoursWrapOverMidnight() {
        let night = QuietHours(startMinute: 22 * 60, endMinute: 7 * 60)
        #expect(night.contains(minuteOfDay: 22 * 60))
        #expect(night.contains(minuteOfDay: 23 * 60 + 59))
        #expect(night.contains(minuteOfDay: 0))
        #expect(night.contains(minuteOfDay: 6 * 60 + 59))
        #expect(!night.contains(minuteOfDay: 7 * 60))
        #expect(!night.contains(minuteOfDay: 12 * 60))
        let lunch = QuietHours(startMinute: 12 * 60, endMinute: 13 * 60)
        #expect(lunch.contains(minuteOfDay: 12 * 60 + 30))
        #expect(!lunch.contains(minuteOfDay: 13 * 60))
        #expect(!QuietHours(startMinute: 600, endMinute: 600).contains(minuteOfDay: 600))
    }

    @Test func quietHoursWaitUntilTheirEndInTheTenantsZone() {
        let gate = SendGate(zone: berlin)
        let pacing = NumberPacing(minDelayMs: 1000, maxDelayMs: 2000, quietHours: QuietHours(startMinute: 22 * 60, endMinute: 7 * 60))
        let late = date("2026-06-10T23:30:00", berlin)
        #expect(gate.decide(now: late, pacing: pacing, campaignCap: nil, sentToday: 0)
                == .wait(until: date("2026-06-11T07:00:00", berlin), reason: "quiet hours"))
        let noon = date("2026-06-10T12:00:00", berlin)
        #expect(gate.decide(now: noon, pacing: pacing, campaignCap: nil, sentToday: 0) == .send)
    }

    @Test func quietHoursEndingInsideASpringForwardGapEndAtTheFirstTimeAfterIt() {
        // 2026-03-29 Berlin: 02:00 becomes 03:00. Quiet 01:00-02:30: 02:30 never happens.
        let gate = SendGate(zone: berlin)
        let quiet = QuietHours(startMinute: 60, endMinute: 150)
        let end = gate.quietEnd(quiet, after: date("2026-03-29T01:30:00", berlin))
        #expect(end == date("2026-03-29T03:00:00", berlin))
        #expect(!quiet.contains(minuteOfDay: gate.minuteOfDay(end)))
    }

    @Test func dailyCapCountsTheTenantsLocalDay() {
        let gate = SendGate(zone: berlin)
        let pacing = NumberPacing(minDelayMs: 1000, maxDelayMs: 2000, dailyCap: 100)
        let now = date("2026-06-10T15:00:00", berlin)
        #expect(gate.decide(now: now, pacing: pacing, campaignCap: nil, sentToday: 99) == .send)
        #expect(gate.decide(now: now, pacing: pacing, campaignCap: nil, sentToday: 100)
                == .wait(until: date("2026-06-11T00:00:00", berlin), reason: "daily cap of 100 sends"))
        // A campaign's lower cap wins.
        #expect(gate.decide(now: now, pacing: pacing, campaignCap: 50, sentToday: 50)
                == .wait(until: date("2026-06-11T00:00:00", berlin), reason: "daily cap of 50 sends"))
        // The day key is the local one: 23:30 UTC on the 10th is the 11th in Berlin.
        #expect(gate.dayKey(date("2026-06-10T23:30:00", TimeZone(identifier: "UTC")!)) == "2026-06-11")
    }

    @Test func capReachedWaitsPastQuietHoursAfterMidnight() {
        let gate = SendGate(zone: berlin)
        let pacing = NumberPacing(minDelayMs: 1000, maxDelayMs: 2000, dailyCap: 10, quietHours: QuietHours(startMinute: 23 * 60, endMinute: 8 * 60))
        let now = date("2026-06-10T15:00:00", berlin)
        #expect(gate.decide(now: now, pacing: pacing, campaignCap: nil, sentToday: 10)
                == .wait(until: date("2026-06-11T08:00:00", berlin), reason: "daily cap of 10 sends"))
    }

    @Test func warmupCountsLocalDaysFromTheFirstConnection() {
        let gate = SendGate(zone: berlin)
        let paired = date("2026-06-08T23:50:00", berlin)
        let pacing = NumberPacing(minDelayMs: 1000, maxDelayMs: 2000, dailyCap: 1000, warmupDays: 14, warmupStartedAt: paired)
        // Two local days later (the 10th): 80 allowed.
        let now = date("2026-06-10T00:10:00", berlin)
        #expect(gate.localDays(from: paired, to: now) == 2)
        #expect(gate.decide(now: now, pacing: pacing, campaignCap: nil, sentToday: 79) == .send)
        #expect(gate.decide(now: now, pacing: pacing, campaignCap: nil, sentToday: 80)
                == .wait(until: date("2026-06-11T00:00:00", berlin), reason: "warm-up allowance of 80 sends today"))
        // After the ramp, the number's own cap.
        let later = date("2026-07-01T12:00:00", berlin)
        #expect(gate.decide(now: later, pacing: pacing, campaignCap: nil, sentToday: 999) == .send)
        #expect(gate.decide(now: later, pacing: pacing, campaignCap: nil, sentToday: 1000)
                == .wait(until: date("2026-07-02T00:00:00", berlin), reason: "daily cap of 1000 sends"))
    }

    @Test func nextMidnightIsDSTSafe() {
        let gate = SendGate(zone: berlin)
        // The night clocks go back: the local day has 25 hours.
        let next = gate.nextMidnight(after: date("2026-10-25T12:00:00", berlin))
        #expect(next == date("2026-10-26T00:00:00", berlin))
    }

    @Test func retriesBackOffExponentiallyWithJitterUntilTheLimit() {
        let policy = RetryPolicy(maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 6000)
        #expect(policy.delay(afterAttempt: 1, unit: 1) == 1000)
        #expect(policy.delay(afterAttempt: 1, unit: 0) == 500)
        #expect(policy.delay(afterAttempt: 2, unit: 1) == 2000)
        #expect(policy.delay(afterAttempt: 3, unit: 1) == 4000)
        #expect(policy.delay(afterAttempt: 4, unit: 1) == 6000)  // capped
        #expect(policy.delay(afterAttempt: 4, unit: 0) == 3000)
        #expect(policy.delay(afterAttempt: 5, unit: 0.5) == nil)  // no attempt left
    }

    @Test func numberBackoffDoublesToTwoMinutes() {
        #expect(NumberBackoff.holdMilliseconds(consecutiveFailures: 0) == 0)
        #expect(NumberBackoff.holdMilliseconds(consecutiveFailures: 1) == 2000)
        #expect(NumberBackoff.holdMilliseconds(consecutiveFailures: 2) == 4000)
        #expect(NumberBackoff.holdMilliseconds(consecutiveFailures: 7) == 120_000)
        #expect(NumberBackoff.holdMilliseconds(consecutiveFailures: 50) == 120_000)
    }

    @Test func gatewayFailuresAreClassified() {
        func kind(_ error: EvolutionError) -> String {
            switch SendFailureClass.classify(error) {
            case .permanent: "permanent"
            case .transient: "transient"
            case .numberDown: "numberDown"
            case .gatewayDown: "gatewayDown"
            }
        }
        #expect(kind(EvolutionError(kind: .unknownNumber, status: 400, unknownNumbers: ["5511"])) == "permanent")
        #expect(kind(EvolutionError(kind: .badRequest(["Owned media must be a url or base64"]), status: 400)) == "permanent")
        #expect(kind(EvolutionError(kind: .connectionClosed, status: 400)) == "numberDown")
        #expect(kind(EvolutionError(kind: .instanceNotFound, status: 404)) == "numberDown")
        #expect(kind(EvolutionError(kind: .server(500), status: 500)) == "transient")
        #expect(kind(EvolutionError(kind: .server(503), status: 503)) == "transient")
        #expect(kind(EvolutionError(kind: .timeout, status: nil)) == "transient")
        #expect(kind(EvolutionError(kind: .transport, status: nil)) == "transient")
        #expect(kind(EvolutionError(kind: .unauthorized, status: 401)) == "transient")
        #expect(kind(EvolutionError(kind: .invalidResponse, status: 200)) == "transient")
    }

    @Test func anOutageOfTheGatewayIsToldFromAMessagesFailure() {
        func kind(_ c: SendFailureClass) -> String {
            switch c {
            case .permanent: "permanent"
            case .transient: "transient"
            case .numberDown: "numberDown"
            case .gatewayDown: "gatewayDown"
            }
        }
        var detector = GatewayOutageDetector()
        let error500 = EvolutionError(kind: .server(500), status: 500)
        // A refused connection is an outage at once.
        #expect(kind(detector.classify(EvolutionError(kind: .transport, status: nil))) == "gatewayDown")
        detector.succeeded()
        #expect(detector.consecutiveFailures == 0)
        // 5xx and timeouts: one message's failure until the last `threshold` answers all failed.
        #expect(GatewayOutageDetector.threshold == 3)
        #expect(kind(detector.classify(error500)) == "transient")
        #expect(kind(detector.classify(EvolutionError(kind: .timeout, status: nil))) == "transient")
        #expect(kind(detector.classify(error500)) == "gatewayDown")
        #expect(kind(detector.classify(EvolutionError(kind: .invalidResponse, status: 200))) == "gatewayDown")
        // Any other answer shows the gateway works: counting starts again.
        #expect(kind(detector.classify(EvolutionError(kind: .connectionClosed, status: 400))) == "numberDown")
        #expect(detector.consecutiveFailures == 0)
        #expect(kind(detector.classify(error500)) == "transient")
        #expect(kind(detector.classify(EvolutionError(kind: .unknownNumber, status: 400))) == "permanent")
        #expect(kind(detector.classify(error500)) == "transient")
        detector.succeeded()
        #expect(kind(detector.classify(error500)) == "transient")
        // A refused API key is the operator's to fix, not an outage: counted as attempts.
        #expect(kind(detector.classify(EvolutionError(kind: .unauthorized, status: 401))) == "transient")
        #expect(detector.consecutiveFailures == 0)
        // Numbers held through an outage look again within seconds of its end.
        let defaults = RetryPolicy()
        #expect((1...6).map { GatewayOutageDetector.holdMilliseconds(consecutiveFailures: $0, retry: defaults) }
            == [1000, 2000, 4000, 8000, 10_000, 10_000])
        #expect(GatewayOutageDetector.holdMilliseconds(consecutiveFailures: 0, retry: defaults) == 0)
        #expect(GatewayOutageDetector.holdMilliseconds(consecutiveFailures: 9, retry: RetryPolicy(baseDelayMs: 20, maxDelayMs: 200)) == 200)
    }

    @Test func queueEntriesRoundTripAndRefuseGarbage() {
        let text = "0a0b0c0d-0000-4000-8000-000000000001:0a0b0c0d-0000-4000-8000-000000000002"
        #expect(QueueEntry(text)?.text == text)
        #expect(QueueEntry("nope") == nil)
        #expect(QueueEntry("a:b") == nil)
    }
}
