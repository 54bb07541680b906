/// The deadlines of a connection's calls, earliest first: a binary min-heap of plain values.
///
/// One NIO timer per connection (for the earliest deadline) replaces one `scheduleTask` per call,
/// whose heap entries and closures cost several allocations and many retains per call. Entries of
/// calls that ended are not removed when they end: they are skipped when they reach the top, and
/// ``compact(keeping:)`` drops them in bulk when they outnumber live ones.
struct DeadlineQueue {
    struct Entry: Equatable {
        /// `NIODeadline.uptimeNanoseconds` of the deadline.
        var at: UInt64
        var callID: UInt32
    }

    private(set) var entries: [Entry] = []

    var count: Int { entries.count }
    var isEmpty: Bool { entries.isEmpty }
    var first: Entry? { entries.first }

    mutating func push(_ entry: Entry) {
        entries.append(entry)
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].at < entries[parent].at else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    @discardableResult
    mutating func popFirst() -> Entry? {
        guard !entries.isEmpty else { return nil }
        let top = entries[0]
        let last = entries.removeLast()
        if !entries.isEmpty {
            entries[0] = last
            siftDown(0)
        }
        return top
    }

    /// Keeps only the entries `keep` approves, in one pass.
    mutating func compact(keeping keep: (Entry) -> Bool) {
        entries.removeAll { !keep($0) }
        var index = entries.count / 2
        while index > 0 {
            index -= 1
            siftDown(index)
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < entries.count else { return }
            var smallest = left
            let right = left + 1
            if right < entries.count, entries[right].at < entries[left].at { smallest = right }
            guard entries[smallest].at < entries[parent].at else { return }
            entries.swapAt(smallest, parent)
            parent = smallest
        }
    }
}
