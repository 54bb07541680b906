/// The pool's bookkeeping as a pure value: what each slot holds, who waits. No I/O, no clocks, no
/// locks: ``PostgresPool`` owns one behind a lock and performs the actions it returns; the unit
/// tests drive it directly.
///
/// A *slot* is a place for one connection. There are `capacity` slots, each in one of four states
/// (``SlotState``): idle with an open connection, idle empty (never opened, or its connection was
/// closed), leased, or closing. Leasing prefers the most recently used open connection (warm
/// caches, and idle ones beyond need can be closed later), then an empty slot (the lessee opens the
/// connection: lazy opening). When all slots are busy, the requester waits, and slots go to waiters
/// first-come first-served.
///
/// A lessee that does not end clean (its connection broke, or is still inside a transaction,
/// because a ROLLBACK failed or never ran) returns the slot with `keepConnection: false`. The slot
/// then goes to *closing*, and nobody can lease it until the shell has closed the connection and
/// reported it with ``connectionClosed(_:)``: a connection that is not idle is never handed on.
struct ConnectionPoolStateMachine: Sendable {
    typealias SlotID = Int
    typealias WaiterID = UInt64

    /// What one slot holds.
    enum SlotState: Equatable, Sendable {
        /// Free, with an open connection that was idle (outside any transaction) when returned.
        case idleConnected
        /// Free, without a connection: the next lessee opens one.
        case idleEmpty
        /// Held by one lessee.
        case leased
        /// Its connection is being closed; it becomes free (or goes to a waiter) after
        /// ``ConnectionPoolStateMachine/connectionClosed(_:)``.
        case closing
    }

    /// The outcome of a lease request.
    enum LeaseAction: Equatable, Sendable {
        /// Use this slot; `connected` says whether it holds an open connection.
        case leased(SlotID, connected: Bool)
        /// All slots are busy: the requester was queued and must wait for ``ReleaseAction/handOver``.
        case wait
        /// The pool is shut down.
        case closed
    }

    /// The outcome of returning a slot, or of a slot's connection being closed.
    enum ReleaseAction: Equatable, Sendable {
        /// Give the slot to this waiter (which was removed from the queue).
        case handOver(SlotID, to: WaiterID, connected: Bool)
        /// The slot is idle again; nothing to do.
        case none
        /// Close the slot's connection (if it has one), then call ``connectionClosed(_:)``.
        case closeConnection(SlotID)
    }

    /// What a shutdown must do.
    struct ShutdownAction: Equatable, Sendable {
        /// Fail these waiters with "closed".
        var failWaiters: [WaiterID]
        /// Close the connections of these idle slots.
        var closeSlots: [SlotID]
    }

    let capacity: Int
    private(set) var slots: [SlotState]
    private var hasConnection: [Bool]  // as last known: true once returned open, false once closed
    private var idleConnected: [SlotID] = []  // a stack: last released is reused first
    private var idleEmpty: [SlotID]
    private var waiters: [WaiterID] = []
    private var waiterHead = 0
    private(set) var isShutdown = false

    init(capacity: Int) {
        precondition(capacity > 0, "a pool needs at least one slot")
        self.capacity = capacity
        self.slots = Array(repeating: .idleEmpty, count: capacity)
        self.hasConnection = Array(repeating: false, count: capacity)
        self.idleEmpty = Array((0..<capacity).reversed())
    }

    /// Slots currently leased.
    var leasedCount: Int { slots.count { $0 == .leased } }
    /// Slots whose connection is being closed.
    var closingCount: Int { slots.count { $0 == .closing } }
    /// Slots known to hold an open connection (idle, or leased after having been returned open).
    var openConnectionCount: Int { hasConnection.count { $0 } }
    /// Requesters waiting, in order.
    var waitingCount: Int { waiters.count - waiterHead }
    var queuedWaiters: ArraySlice<WaiterID> { waiters[waiterHead...] }

    /// A requester asks for a slot.
    mutating func lease(_ waiter: WaiterID) -> LeaseAction {
        if isShutdown { return .closed }
        if waitingCount == 0 {  // never overtake a queued waiter
            if let slot = idleConnected.popLast() {
                slots[slot] = .leased
                return .leased(slot, connected: true)
            }
            if let slot = idleEmpty.popLast() {
                slots[slot] = .leased
                return .leased(slot, connected: false)
            }
        }
        waiters.append(waiter)
        return .wait
    }

    /// A lessee returns its slot. `keepConnection` is true only when the slot holds an open
    /// connection outside any transaction; otherwise the connection must be closed first
    /// (``ReleaseAction/closeConnection(_:)``) before anyone else gets the slot.
    mutating func release(_ slot: SlotID, keepConnection: Bool) -> ReleaseAction {
        precondition(slots[slot] == .leased, "released slot \(slot) that was not leased")
        if !keepConnection || isShutdown {
            slots[slot] = .closing
            return .closeConnection(slot)
        }
        hasConnection[slot] = true
        if let waiter = popWaiter() {
            return .handOver(slot, to: waiter, connected: true)
        }
        slots[slot] = .idleConnected
        idleConnected.append(slot)
        return .none
    }

    /// The shell closed the connection of a slot that was ``SlotState/closing``: the slot goes,
    /// empty, to the first waiter or back to the free list.
    mutating func connectionClosed(_ slot: SlotID) -> ReleaseAction {
        precondition(slots[slot] == .closing, "slot \(slot) was not closing")
        hasConnection[slot] = false
        if !isShutdown, let waiter = popWaiter() {
            slots[slot] = .leased
            return .handOver(slot, to: waiter, connected: false)
        }
        slots[slot] = .idleEmpty
        idleEmpty.append(slot)
        return .none
    }

    /// A waiter gives up (timeout or cancellation). Returns false when it is no longer waiting
    /// (it was already handed a slot), in which case the caller must honour that hand-over.
    mutating func cancelWaiter(_ waiter: WaiterID) -> Bool {
        guard let index = waiters[waiterHead...].firstIndex(of: waiter) else { return false }
        waiters.remove(at: index)
        return true
    }

    /// Stops the pool: no new leases; idle connections close now, leased ones when released.
    mutating func shutdown() -> ShutdownAction {
        guard !isShutdown else { return ShutdownAction(failWaiters: [], closeSlots: []) }
        isShutdown = true
        let failed = Array(waiters[waiterHead...])
        waiters.removeAll()
        waiterHead = 0
        let close = idleConnected
        for slot in idleConnected {
            slots[slot] = .idleEmpty
            hasConnection[slot] = false
        }
        idleEmpty.append(contentsOf: idleConnected)
        idleConnected.removeAll()
        return ShutdownAction(failWaiters: failed, closeSlots: close)
    }

    private mutating func popWaiter() -> WaiterID? {
        guard waiterHead < waiters.count else { return nil }
        let waiter = waiters[waiterHead]
        waiterHead += 1
        if waiterHead > 64, waiterHead * 2 > waiters.count {  // compact now and then
            waiters.removeFirst(waiterHead)
            waiterHead = 0
        }
        return waiter
    }
}
