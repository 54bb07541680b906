import Foundation
import Logging
import ServiceLifecycle
import WaqtorCampaigns
import WaqtorCore

/// Starts SCHEDULED campaigns when their time comes. Every worker process runs one; a campaign
/// starts exactly once however many run, because the start is a state transition guarded by the
/// state it read, under a row lock (CampaignStore.apply): the second scheduler to get there finds
/// it RUNNING and leaves it. A campaign none of whose numbers is connected at its time pauses
/// with the reason, for the tenant to pair a number and resume; so does one whose attachment is
/// not fit to send at its time (checked where it lives, as a start by hand checks it).
public struct CampaignScheduler: Service {
    let store: CampaignStore
    let clock: any WaqtorClock
    let interval: Duration
    let mediaCheck: MediaCheck?
    let logger: Logger
    /// Only these tenants' campaigns (nil: every tenant's), as `send.tenants` limits a worker.
    let tenants: Set<TenantID>?

    public init(store: CampaignStore, clock: any WaqtorClock = SystemClock(), interval: Duration = .seconds(5),
                mediaCheck: MediaCheck? = nil, logger: Logger, tenants: Set<TenantID>? = nil) {
        self.tenants = tenants
        self.store = store
        self.clock = clock
        self.interval = interval
        self.mediaCheck = mediaCheck
        self.logger = logger
    }

    public func run() async throws {
        // Until the service group shuts down: a graceful shutdown ends the loop between rounds.
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                _ = try? await self.runOnce()
                do { try await self.clock.sleep(for: self.interval) } catch { return }
            }
        }
    }

    /// One round: starts every campaign that is due; returns how many this scheduler started.
    @discardableResult
    public func runOnce() async throws -> Int {
        var started = 0
        for (tenant, id) in try await store.dueScheduled(limit: 100) where tenants?.contains(tenant) ?? true {
            do {
                if let mediaCheck, let media = try await store.get(tenantID: tenant, id: id)?.settings.media {
                    try await mediaCheck.check(media)
                }
                let campaign = try await store.apply(tenantID: tenant, id: id, event: .scheduleDue, context: StartContext(now: clock.now()))
                if campaign?.lifecycle.state == .running {
                    started += 1
                    logger.info("scheduled campaign started", metadata: ["campaign": .string(id.rawValue), "tenant": .string(tenant.rawValue)])
                }
            } catch is CampaignTransitionRefused {
                // Another scheduler started it (or the tenant paused or cancelled it) meanwhile.
            } catch let error as CampaignError where error.category == .aborted {
                // Changed under us: the next round sees its new state.
            } catch let error as DomainError where error.category == .failedPrecondition {
                // Nothing to send from, no one to send to, or an attachment unfit to send:
                // paused with the reason.
                _ = try? await store.apply(tenantID: tenant, id: id, event: .pause(.automatic(error.message)), context: StartContext(now: clock.now()))
                logger.notice("scheduled campaign paused", metadata: ["campaign": .string(id.rawValue), "reason": .string(error.message)])
            } catch {
                logger.warning("scheduled campaign did not start", metadata: ["campaign": .string(id.rawValue), "error": "\(error)"])
            }
        }
        return started
    }
}
