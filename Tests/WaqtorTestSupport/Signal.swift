import Foundation

/// A one-shot event a test can await instead of sleeping: `fire()` once, `await wait()` anywhere.
public final class Signal: @unchecked Sendable {
    // Invariant for @unchecked Sendable: `fired` and `waiters` are touched only under `lock`.
    private let lock = NSLock()
    private var fired = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    public init() {}

    /// Wakes every waiter, now and later.
    public func fire() {
        lock.lock()
        fired = true
        let waiting = waiters
        waiters = []
        lock.unlock()
        for waiter in waiting { waiter.resume() }
    }

    /// Whether ``fire()`` has run.
    public var isFired: Bool {
        lock.lock()
        defer { lock.unlock() }
        return fired
    }

    /// Returns once ``fire()`` has run.
    public func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            lock.lock()
            if fired {
                lock.unlock()
                continuation.resume()
            } else {
                waiters.append(continuation)
                lock.unlock()
            }
        }
    }
}
