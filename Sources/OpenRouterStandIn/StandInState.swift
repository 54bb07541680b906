/// Everything requests change, kept under one lock (``OpenRouterStandIn/state``) so a fault is
/// taken by exactly one request and the record stays in arrival order.
struct StandInState {
    /// Oldest first, at most the configured number.
    var requests: [RecordedRequest] = []
    /// FIFO; a few entries at most, so removing the first is cheap enough.
    var faults: [Fault] = []
    /// Model ids with no endpoint right now.
    var unavailable: Set<String> = []
    /// Numbers generation ids, so two answers in the same second still differ.
    var generations = 0

    mutating func record(_ request: RecordedRequest, limit: Int) {
        guard limit > 0 else { return }
        requests.append(request)
        if requests.count > limit { requests.removeFirst(requests.count - limit) }
    }

    mutating func takeFault() -> Fault? {
        faults.isEmpty ? nil : faults.removeFirst()
    }

    mutating func nextGeneration() -> Int {
        generations += 1
        return generations
    }
}
