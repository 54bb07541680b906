import Testing
@testable import WaqtorPostgres

@Suite("Pool state machine (pure)")
struct PoolStateMachineTests {
    @Test func leasesEmptySlotsLazilyThenWaits() {
        var pool = ConnectionPoolStateMachine(capacity: 2)
        #expect(pool.lease(1) == .leased(0, connected: false))
        #expect(pool.lease(2) == .leased(1, connected: false))
        #expect(pool.lease(3) == .wait)
        #expect(pool.waitingCount == 1)
        #expect(pool.openConnectionCount == 0)
    }

    @Test func reusesOpenConnectionBeforeOpeningAnother() {
        var pool = ConnectionPoolStateMachine(capacity: 3)
        #expect(pool.lease(1) == .leased(0, connected: false))
        #expect(pool.release(0, keepConnection: true) == .none)
        #expect(pool.lease(2) == .leased(0, connected: true))
        #expect(pool.openConnectionCount == 1)
    }

    @Test func waitersAreServedFirstComeFirstServed() {
        var pool = ConnectionPoolStateMachine(capacity: 1)
        #expect(pool.lease(1) == .leased(0, connected: false))
        #expect(pool.lease(2) == .wait)
        #expect(pool.lease(3) == .wait)
        #expect(pool.release(0, keepConnection: true) == .handOver(0, to: 2, connected: true))
        #expect(pool.release(0, keepConnection: true) == .handOver(0, to: 3, connected: true))
        #expect(pool.release(0, keepConnection: true) == .none)
        #expect(pool.leasedCount == 0)
    }

    @Test func discardedConnectionIsHandedOverEmpty() {
        var pool = ConnectionPoolStateMachine(capacity: 1)
        _ = pool.lease(1)
        _ = pool.release(0, keepConnection: true)
        _ = pool.lease(2)
        #expect(pool.lease(3) == .wait)
        #expect(pool.release(0, keepConnection: false) == .closeConnection(0))
        #expect(pool.slots[0] == .closing)
        #expect(pool.connectionClosed(0) == .handOver(0, to: 3, connected: false))
        #expect(pool.openConnectionCount == 0)
    }

    /// A slot whose lessee did not end clean is closing: no newcomer can lease it, and it is free
    /// again only once its connection is closed.
    @Test func slotThatDidNotEndCleanIsNeverLeasedBeforeItsConnectionIsClosed() {
        var pool = ConnectionPoolStateMachine(capacity: 1)
        #expect(pool.lease(1) == .leased(0, connected: false))
        #expect(pool.release(0, keepConnection: true) == .none)
        #expect(pool.lease(2) == .leased(0, connected: true))
        #expect(pool.release(0, keepConnection: false) == .closeConnection(0))
        #expect(pool.closingCount == 1)
        #expect(pool.lease(3) == .wait)
        #expect(pool.connectionClosed(0) == .handOver(0, to: 3, connected: false))
        #expect(pool.release(0, keepConnection: true) == .none)
        #expect(pool.lease(4) == .leased(0, connected: true))
    }

    @Test func newRequestDoesNotOvertakeQueuedWaiter() {
        var pool = ConnectionPoolStateMachine(capacity: 1)
        _ = pool.lease(1)
        #expect(pool.lease(2) == .wait)
        // The slot goes to waiter 2, not to a newcomer.
        #expect(pool.release(0, keepConnection: true) == .handOver(0, to: 2, connected: true))
        #expect(pool.lease(3) == .wait)
    }

    @Test func cancelledWaiterIsSkipped() {
        var pool = ConnectionPoolStateMachine(capacity: 1)
        _ = pool.lease(1)
        _ = pool.lease(2)
        _ = pool.lease(3)
        let first = pool.cancelWaiter(2)
        let second = pool.cancelWaiter(2)
        #expect(first)
        #expect(!second)
        #expect(pool.release(0, keepConnection: true) == .handOver(0, to: 3, connected: true))
        let served = !pool.cancelWaiter(3)
        #expect(served, "already served")
    }

    @Test func shutdownFailsWaitersClosesIdleAndLaterReleases() {
        var pool = ConnectionPoolStateMachine(capacity: 2)
        _ = pool.lease(1)
        _ = pool.lease(2)
        _ = pool.release(1, keepConnection: true)
        _ = pool.lease(3)  // takes slot 1 again
        _ = pool.release(1, keepConnection: true)
        #expect(pool.lease(4) == .leased(1, connected: true))
        #expect(pool.lease(5) == .wait)
        #expect(pool.release(1, keepConnection: true) == .handOver(1, to: 5, connected: true))
        let action = pool.shutdown()
        #expect(action.failWaiters.isEmpty)
        #expect(action.closeSlots.isEmpty)
        #expect(pool.release(0, keepConnection: true) == .closeConnection(0))
        #expect(pool.connectionClosed(0) == .none)
        #expect(pool.release(1, keepConnection: false) == .closeConnection(1))
        #expect(pool.connectionClosed(1) == .none)
        #expect(pool.lease(6) == .closed)
        #expect(pool.openConnectionCount == 0)
    }

    @Test func shutdownReportsWaitersAndIdleConnections() {
        var pool = ConnectionPoolStateMachine(capacity: 2)
        _ = pool.lease(1)
        _ = pool.lease(2)
        _ = pool.release(1, keepConnection: true)
        _ = pool.lease(3)
        #expect(pool.lease(4) == .wait)
        _ = pool.release(0, keepConnection: false)
        #expect(pool.connectionClosed(0) == .handOver(0, to: 4, connected: false))
        #expect(pool.lease(5) == .wait)
        #expect(pool.lease(6) == .wait)
        let action = pool.shutdown()
        #expect(action.failWaiters == [5, 6])
    }

    @Test func manyWaitersStayInOrderAcrossCompaction() {
        var pool = ConnectionPoolStateMachine(capacity: 1)
        _ = pool.lease(0)
        for id in 1...500 { #expect(pool.lease(UInt64(id)) == .wait) }
        for id in 1...500 {
            #expect(pool.release(0, keepConnection: true) == .handOver(0, to: UInt64(id), connected: true))
        }
        #expect(pool.release(0, keepConnection: true) == .none)
        #expect(pool.waitingCount == 0)
    }
}
