#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NIOConcurrencyHelpers

/// The process's limit of open files (`RLIMIT_NOFILE`), raised once per process to what the
/// system allows.
///
/// Every connection (RPC, webhook, PostgreSQL, Redis, the gateway's HTTP) and every event loop
/// takes descriptors, and many systems start a process with a soft limit of 1024, far below
/// `rpc.max_connections` and `webhook.max_connections`. Past the limit, accepting and connecting
/// fail. So the server raises its soft limit to its hard limit at start (as nginx's
/// `worker_rlimit_nofile` or Go's runtime do), and says what it got.
public enum OpenFilesLimit {
    /// What ``raise()`` found and did.
    public struct Outcome: Sendable, Equatable {
        /// The soft limit before, and now (`nil`: unlimited).
        public var before: UInt64?
        public var now: UInt64?
        /// The hard limit (`nil`: unlimited).
        public var hard: UInt64?
    }

    private static let raised = NIOLockedValueBox<Outcome?>(nil)

    /// Raises the soft limit to the hard limit; the first call does it, later ones return what it
    /// did. Returns nil when the limits cannot be read.
    @discardableResult
    public static func raise() -> Outcome? {
        raised.withLockedValue { raised in
            if let raised { return raised }
            var limit = rlimit()
            guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
            let before = limit.rlim_cur
            if limit.rlim_cur != limit.rlim_max {
                var wanted = limit
                wanted.rlim_cur = limit.rlim_max
                if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &wanted) == 0 {
                    limit = wanted
                }
            }
            let outcome = Outcome(before: finite(before), now: finite(limit.rlim_cur), hard: finite(limit.rlim_max))
            raised = outcome
            return outcome
        }
    }

    private static func finite(_ value: rlim_t) -> UInt64? {
        value == rlim_t.max ? nil : UInt64(value)
    }
}
