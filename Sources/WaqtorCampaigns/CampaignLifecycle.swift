import Foundation
import WaqtorCore

/// A campaign's life cycle state (stored as its raw value in `campaigns.state`).
public enum CampaignState: String, Sendable, Hashable, CaseIterable {
    /// Editable; not started.
    case draft
    /// Started, waiting for its schedule time.
    case scheduled
    /// Sending.
    case running
    /// Paused by the tenant, or automatically (the number logged out or banned).
    case paused
    /// Every recipient reached a final state.
    case completed
    /// Cancelled by the tenant.
    case cancelled
    /// Stopped by an error it cannot recover from.
    case failed

    /// Completed, cancelled and failed campaigns never change again.
    public var isFinal: Bool { self == .completed || self == .cancelled || self == .failed }

    /// How the state reads in messages: "DRAFT", "RUNNING", ... (as the API spells it).
    public var label: String { rawValue.uppercased() }
}

/// Why a campaign is paused.
public enum PauseReason: Sendable, Hashable {
    /// The tenant paused it.
    case byTenant
    /// Sending cannot go on until something outside the campaign changes (the number logged out
    /// or banned, the plan's daily quota used up): the text says what, for `state_detail`.
    case automatic(String)

    public var detail: String {
        switch self {
        case .byTenant: "paused by the account"
        case .automatic(let why): why
        }
    }
}

/// What can happen to a campaign.
public enum CampaignEvent: Sendable, Hashable {
    /// The tenant starts it. With a schedule time still ahead of `now`, it waits (SCHEDULED);
    /// otherwise it runs at once.
    case start(scheduleTime: Date?, now: Date)
    /// Its schedule time came (the scheduler, exactly once across servers).
    case scheduleDue
    /// Paused by the tenant or automatically.
    case pause(PauseReason)
    /// The tenant resumes it: RUNNING, or SCHEDULED again when its schedule time is still ahead.
    case resume(scheduleTime: Date?, now: Date)
    /// The tenant cancels it: unsent recipients are cancelled.
    case cancel
    /// Every recipient reached a final state.
    case allRecipientsFinal
    /// An error it cannot recover from.
    case fail(String)
    /// The tenant changes its name, template, media, audience, numbers, schedule or pacing.
    case edit
}

/// What the store must do along with a transition, in the same transaction.
public enum CampaignEffect: Sendable, Hashable {
    /// Materialise the audience (recipients, numbers, rendered texts) and hand it to the send
    /// queue: the first time the campaign runs.
    case materializeAudience
    /// Record `start_time` (the first time it runs).
    case recordStartTime
    /// Record `finish_time` (it reached a final state).
    case recordFinishTime
    /// Mark every recipient that was not sent CANCELLED and take them off the send queue.
    case cancelUnsentRecipients
    /// Stop handing its messages to the numbers (they stay queued, in order).
    case holdSending
    /// Hand its messages to the numbers again.
    case releaseSending
}

/// A campaign's state and what the machine needs to know about its past: a pure value, no I/O.
/// The store reads it from the row, applies an event, and writes the result with its effects in
/// one transaction, guarded by the state it read (so two servers cannot both apply one).
public struct CampaignLifecycle: Sendable, Hashable {
    public private(set) var state: CampaignState
    /// Why it is PAUSED or FAILED ("" otherwise).
    public private(set) var detail: String
    /// Whether its audience was materialised (it has run at least once).
    public private(set) var materialized: Bool

    public init(state: CampaignState = .draft, detail: String = "", materialized: Bool = false) {
        self.state = state
        self.detail = detail
        self.materialized = materialized
    }

    /// The state after `event`, and the effects to apply with it; or a
    /// ``CampaignTransitionRefused`` naming the current state.
    public func applying(_ event: CampaignEvent) throws(CampaignTransitionRefused) -> (CampaignLifecycle, Set<CampaignEffect>) {
        var next = self
        var effects: Set<CampaignEffect> = []

        func run() {
            next.state = .running
            next.detail = ""
            if !materialized {
                next.materialized = true
                effects.formUnion([.materializeAudience, .recordStartTime])
            } else {
                effects.insert(.releaseSending)
            }
        }

        switch (state, event) {
        case (.draft, .start(let scheduleTime, let now)):
            if let scheduleTime, scheduleTime > now {
                next.state = .scheduled
                next.detail = ""
            } else {
                run()
            }
        case (.scheduled, .scheduleDue):
            run()
        case (.scheduled, .pause(let reason)), (.running, .pause(let reason)):
            next.state = .paused
            next.detail = reason.detail
            if state == .running { effects.insert(.holdSending) }
        case (.paused, .pause(.automatic(let why))):
            // A second automatic reason (or one while paused by the tenant) replaces the text:
            // the latest cause is what the tenant must fix.
            next.detail = why
        case (.paused, .resume(let scheduleTime, let now)):
            if !materialized, let scheduleTime, scheduleTime > now {
                next.state = .scheduled
                next.detail = ""
            } else {
                run()
            }
        case (.draft, .cancel), (.scheduled, .cancel), (.running, .cancel), (.paused, .cancel):
            next.state = .cancelled
            next.detail = ""
            effects.insert(.recordFinishTime)
            if materialized { effects.insert(.cancelUnsentRecipients) }
        case (.running, .allRecipientsFinal), (.paused, .allRecipientsFinal):
            next.state = .completed
            next.detail = ""
            effects.insert(.recordFinishTime)
        case (.scheduled, .fail(let why)), (.running, .fail(let why)), (.paused, .fail(let why)):
            next.state = .failed
            next.detail = why
            effects.insert(.recordFinishTime)
            if materialized { effects.insert(.cancelUnsentRecipients) }
        case (.draft, .edit), (.scheduled, .edit):
            break
        default:
            throw CampaignTransitionRefused(state: state, event: event)
        }
        return (next, effects)
    }
}

/// An event the campaign's state does not allow (FAILED_PRECONDITION on the wire), naming the
/// current state and what would be possible.
public struct CampaignTransitionRefused: DomainError, Hashable {
    public var state: CampaignState
    public var event: CampaignEvent

    public var category: DomainErrorCategory { .failedPrecondition }

    public var message: String {
        let what: String
        let allowed: String
        switch event {
        case .start: (what, allowed) = ("started", "only a DRAFT campaign can be started")
        case .scheduleDue: (what, allowed) = ("started by its schedule", "only a SCHEDULED campaign starts by its schedule")
        case .pause: (what, allowed) = ("paused", "only a SCHEDULED or RUNNING campaign can be paused")
        case .resume: (what, allowed) = ("resumed", "only a PAUSED campaign can be resumed")
        case .cancel: (what, allowed) = ("cancelled", "a COMPLETED, CANCELLED or FAILED campaign is over")
        case .allRecipientsFinal: (what, allowed) = ("completed", "only a RUNNING or PAUSED campaign completes")
        case .fail: (what, allowed) = ("failed", "only a SCHEDULED, RUNNING or PAUSED campaign can fail")
        case .edit: (what, allowed) = ("changed", "only a DRAFT or SCHEDULED campaign can be changed; pause and cancel it, or create a new one")
        }
        return "the campaign is \(state.label) and cannot be \(what): \(allowed)"
    }
}
