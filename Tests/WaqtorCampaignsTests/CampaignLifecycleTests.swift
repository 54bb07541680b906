import Foundation
import Testing
import WaqtorCampaigns
import WaqtorCore

@Suite("Campaign life cycle (pure)")
struct CampaignLifecycleTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let later = now.addingTimeInterval(3600)
    static let earlier = now.addingTimeInterval(-3600)

    /// One representative of every event (the start and resume variants with and without a
    /// schedule ahead are separate rows).
    static let events: [(String, CampaignEvent)] = [
        ("start now", .start(scheduleTime: nil, now: now)),
        ("start scheduled ahead", .start(scheduleTime: later, now: now)),
        ("start scheduled in the past", .start(scheduleTime: earlier, now: now)),
        ("schedule due", .scheduleDue),
        ("pause by tenant", .pause(.byTenant)),
        ("pause automatic", .pause(.automatic("the number logged out"))),
        ("resume", .resume(scheduleTime: nil, now: now)),
        ("resume scheduled ahead", .resume(scheduleTime: later, now: now)),
        ("cancel", .cancel),
        ("all recipients final", .allRecipientsFinal),
        ("fail", .fail("the number was deleted")),
        ("edit", .edit),
    ]

    /// The expected outcome of every (state, materialised) x event: the next state, or nil when
    /// refused. Written out by hand, not derived from the code under test.
    static let expected: [String: [String: CampaignState?]] = [
        "draft": [
            "start now": .running, "start scheduled ahead": .scheduled, "start scheduled in the past": .running,
            "schedule due": nil, "pause by tenant": nil, "pause automatic": nil, "resume": nil, "resume scheduled ahead": nil,
            "cancel": .cancelled, "all recipients final": nil, "fail": nil, "edit": .draft,
        ],
        "scheduled": [
            "start now": nil, "start scheduled ahead": nil, "start scheduled in the past": nil,
            "schedule due": .running, "pause by tenant": .paused, "pause automatic": .paused, "resume": nil, "resume scheduled ahead": nil,
            "cancel": .cancelled, "all recipients final": nil, "fail": .failed, "edit": .scheduled,
        ],
        "running": [
            "start now": nil, "start scheduled ahead": nil, "start scheduled in the past": nil,
            "schedule due": nil, "pause by tenant": .paused, "pause automatic": .paused, "resume": nil, "resume scheduled ahead": nil,
            "cancel": .cancelled, "all recipients final": .completed, "fail": .failed, "edit": nil,
        ],
        // Paused after having run (materialised): resume always runs.
        "paused": [
            "start now": nil, "start scheduled ahead": nil, "start scheduled in the past": nil,
            "schedule due": nil, "pause by tenant": nil, "pause automatic": .paused, "resume": .running, "resume scheduled ahead": .running,
            "cancel": .cancelled, "all recipients final": .completed, "fail": .failed, "edit": nil,
        ],
        "completed": [:], "cancelled": [:], "failed": [:],
    ]

    static func lifecycle(_ state: CampaignState) -> CampaignLifecycle {
        let materialized = state == .running || state == .paused || state == .completed
        return CampaignLifecycle(state: state, detail: state == .paused ? "paused by the account" : "", materialized: materialized)
    }

    @Test("every state x every event: the next state, or FAILED_PRECONDITION naming the current state")
    func exhaustive() throws {
        var checked = 0
        for state in CampaignState.allCases {
            let row = try #require(Self.expected[state.rawValue], "\(state) has a row")
            for (name, event) in Self.events {
                let want = row[name] ?? nil
                do {
                    let (next, _) = try Self.lifecycle(state).applying(event)
                    #expect(want != nil, "\(state) + \(name) should be refused, went to \(next.state)")
                    #expect(next.state == want, "\(state) + \(name)")
                } catch {
                    #expect(want == nil, "\(state) + \(name) refused: \(error.message)")
                    #expect(error.category == .failedPrecondition)
                    #expect(error.message.contains(state.label), "\(error.message)")
                }
                checked += 1
            }
        }
        #expect(checked == CampaignState.allCases.count * Self.events.count)
    }

    @Test("final states accept nothing")
    func finalStates() {
        for state in CampaignState.allCases where state.isFinal {
            for (name, event) in Self.events {
                #expect(throws: CampaignTransitionRefused.self, "\(state) + \(name)") { try Self.lifecycle(state).applying(event) }
            }
        }
        #expect(Set(CampaignState.allCases.filter(\.isFinal)) == [.completed, .cancelled, .failed])
    }

    @Test("the first run materialises the audience and records the start; later runs only release sending")
    func effectsOfRunning() throws {
        let (running, first) = try CampaignLifecycle().applying(.start(scheduleTime: nil, now: Self.now))
        #expect(first == [.materializeAudience, .recordStartTime])
        #expect(running.materialized)
        let (paused, pauseEffects) = try running.applying(.pause(.byTenant))
        #expect(pauseEffects == [.holdSending])
        #expect(paused.detail == "paused by the account")
        let (resumed, resumeEffects) = try paused.applying(.resume(scheduleTime: nil, now: Self.now))
        #expect(resumeEffects == [.releaseSending])
        #expect(resumed.state == .running && resumed.detail.isEmpty)

        let (scheduled, scheduleEffects) = try CampaignLifecycle().applying(.start(scheduleTime: Self.later, now: Self.now))
        #expect(scheduled.state == .scheduled && scheduleEffects.isEmpty && !scheduled.materialized)
        let (due, dueEffects) = try scheduled.applying(.scheduleDue)
        #expect(due.state == .running && dueEffects == [.materializeAudience, .recordStartTime])
    }

    @Test("a campaign paused before it ever ran waits for its schedule again when resumed early, and runs when resumed late")
    func pausedWhileScheduled() throws {
        let (scheduled, _) = try CampaignLifecycle().applying(.start(scheduleTime: Self.later, now: Self.now))
        let (paused, effects) = try scheduled.applying(.pause(.byTenant))
        #expect(paused.state == .paused && effects.isEmpty, "nothing was sending")
        let (early, _) = try paused.applying(.resume(scheduleTime: Self.later, now: Self.now))
        #expect(early.state == .scheduled)
        let (late, lateEffects) = try paused.applying(.resume(scheduleTime: Self.later, now: Self.later.addingTimeInterval(1)))
        #expect(late.state == .running && lateEffects == [.materializeAudience, .recordStartTime])
    }

    @Test("cancel and fail finish the campaign; unsent recipients are cancelled only if there are any")
    func endings() throws {
        let (running, _) = try CampaignLifecycle().applying(.start(scheduleTime: nil, now: Self.now))
        #expect(try running.applying(.cancel).1 == [.recordFinishTime, .cancelUnsentRecipients])
        #expect(try CampaignLifecycle().applying(.cancel).1 == [.recordFinishTime])
        let (failed, failEffects) = try running.applying(.fail("the number was deleted"))
        #expect(failed.state == .failed && failed.detail == "the number was deleted")
        #expect(failEffects == [.recordFinishTime, .cancelUnsentRecipients])
        let (completed, completeEffects) = try running.applying(.allRecipientsFinal)
        #expect(completed.state == .completed && completeEffects == [.recordFinishTime])
    }

    @Test("an automatic pause while paused keeps it paused with the newest reason")
    func repeatedPause() throws {
        let (running, _) = try CampaignLifecycle().applying(.start(scheduleTime: nil, now: Self.now))
        let (paused, _) = try running.applying(.pause(.automatic("the number logged out")))
        let (again, effects) = try paused.applying(.pause(.automatic("the plan's messages per day are used up")))
        #expect(again.state == .paused && again.detail == "the plan's messages per day are used up" && effects.isEmpty)
        #expect(throws: CampaignTransitionRefused.self) { try paused.applying(.pause(.byTenant)) }
    }
}
