/// The pool's bookkeeping as a pure value: which slots are free, which hold an open connection,
/// who waits. No I/O, no clocks, no locks: ``PostgresPool`` owns one behind a lock and performs
/// the actions it returns; the unit tests drive it directly.
///
/// A *slot* is a place for one connection. There are `capacity` slots; a slot is idle with an open
/// connection, idle empty (never opened, or its connection was discarded), or leased. Leasing
/// prefers the most recently used open connection (warm caches, and idle ones beyond need can
/// be closed later), then an empty slot (the lessee opens the connection: lazy opening). When all
/// slots are leased, the requester waits, and released slots go to waiters first-come first-served.
struct ConnectionPoolStateMachine: Sendable {
    typealias SlotID = Int
    typealias WaiterID = UInt64

    /// The outcome of a lease request.
    enum LeaseAction: Equatable, Sendable {
        /// Use this slot; `connected` says whether it holds an open connection.
        case leased(SlotID, connected: Bool)
        /// All slots are busy: the requester was queued and must wait for ``ReleaseAction/handOver``.
        case wait
        /// The pool is shut down.
        case closed
    }

    /// The outcome of returning a slot.
    enum ReleaseAction: Equatable, Sendable {
        /// Give the slot to this waiter (which was removed from the queue).
        case handOver(SlotID, to: WaiterID, connected: Bool)
        /// The slot is idle again; nothing to do.
        case none
        /// The pool is shut down: close the slot's connection, if any.
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
    private var idleConnected: [SlotID] = []  // a stack: last released is reused first
    private var idleEmpty: [SlotID]
    private var connected: [Bool]
    private var leased: Set<SlotID> = []
    private var waiters: [WaiterID] = []
    private var waiterHead = 0
    private(set) var isShutdown = false

    init(capacity: Int) {
        precondition(capacity > 0, "a pool needs at least one slot")
        self.capacity = capacity
        self.idleEmpty = Array((0..<capacity).reversed())
        self.connected = Array(repeating: false, count: capacity)
    }

    /// Slots currently leased.
    var leasedCount: Int { leased.count }
    /// Slots holding an open connection (idle or leased).
    var openConnectionCount: Int { connected.filter { $0 }.count }
    /// Requesters waiting, in order.
    var waitingCount: Int { waiters.count - waiterHead }
    var queuedWaiters: ArraySlice<WaiterID> { waiters[waiterHead...] }

    /// A requester asks for a slot.
    mutating func lease(_ waiter: WaiterID) -> LeaseAction {
        if isShutdown { return .closed }
        if waitingCount == 0 {  // never overtake a queued waiter
            if let slot = idleConnected.popLast() {
                leased.insert(slot)
                return .leased(slot, connected: true)
            }
            if let slot = idleEmpty.popLast() {
                leased.insert(slot)
                return .leased(slot, connected: false)
            }
        }
        waiters.append(waiter)
        return .wait
    }

    /// A lessee returns its slot. `keepConnection` is false when the connection was discarded
    /// (broken, or left inside a transaction) or never opened.
    mutating func release(_ slot: SlotID, keepConnection: Bool) -> ReleaseAction {
        precondition(leased.contains(slot), "released slot \(slot) that was not leased")
        connected[slot] = keepConnection
        if isShutdown {
            leased.remove(slot)
            idleEmpty.append(slot)
            connected[slot] = false
            return keepConnection ? .closeConnection(slot) : .none
        }
        if let waiter = popWaiter() {
            return .handOver(slot, to: waiter, connected: keepConnection)
        }
        leased.remove(slot)
        if keepConnection { idleConnected.append(slot) } else { idleEmpty.append(slot) }
        return .none
    }

    /// A waiter gives up (timeout or cancellation). Returns false when it is no longer waiting
    /// (it was already handed a slot), in which case the caller must honour that hand-over.
    mutating func cancelWaiter(_ waiter: WaiterID) -> Bool {
        guard let index = waiters[waiterHead...].firstIndex(of: waiter) else { return false }
        waiters.remove(at: index)
        return true
    }

    /// Stops the pool: no new leases; leased slots close their connection when released.
    mutating func shutdown() -> ShutdownAction {
        guard !isShutdown else { return ShutdownAction(failWaiters: [], closeSlots: []) }
        isShutdown = true
        let failed = Array(waiters[waiterHead...])
        waiters.removeAll()
        waiterHead = 0
        let close = idleConnected
        for slot in idleConnected { connected[slot] = false }
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
