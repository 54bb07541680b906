import Logging
import NIOConcurrencyHelpers
import Testing
import WaqtorRPC
import WaqtorTestSupport

/// The error a call ends with (a domain error as the API edge maps it), or nil when it succeeds.
func rpcError(_ body: () async throws -> Void) async -> RPCError? {
    do {
        try await body()
        return nil
    } catch let error as RPCError {
        return error
    } catch let error as any RPCErrorConvertible {
        // A domain or backend error, as the server's error map answers it.
        return error.rpcError
    } catch {
        return RPCError(code: .unknown, message: "\(error)")
    }
}

/// Log records kept in memory, so that a test can check what the server logged and at what level,
/// and await a record instead of sleeping.
final class CapturedLogs: Sendable {
    struct Record: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
        /// The message and its metadata as `key=value` pairs, for "never logged" checks.
        var text: String { ([message] + metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }).joined(separator: " ") }
    }

    private struct State {
        var records: [Record] = []
        var waiters: [(predicate: @Sendable (Record) -> Bool, signal: Signal)] = []
    }

    private let state = NIOLockedValueBox(State())

    /// Every record so far, in order.
    var records: [Record] { state.withLockedValue { $0.records } }

    /// A logger at trace level that records here.
    var logger: Logger {
        var logger = Logger(label: "waqtor.test.captured") { _ in Handler(logs: self) }
        logger.logLevel = .trace
        return logger
    }

    func append(_ record: Record) {
        let ready = state.withLockedValue { state in
            state.records.append(record)
            let ready = state.waiters.filter { $0.predicate(record) }
            state.waiters.removeAll { $0.predicate(record) }
            return ready
        }
        for waiter in ready { waiter.signal.fire() }
    }

    /// Returns once a record matching `predicate` was logged (now or earlier).
    func wait(for predicate: @escaping @Sendable (Record) -> Bool) async {
        let signal = Signal()
        let already = state.withLockedValue { state -> Bool in
            if state.records.contains(where: predicate) { return true }
            state.waiters.append((predicate, signal))
            return false
        }
        if !already { await signal.wait() }
    }

    struct Handler: LogHandler {
        let logs: CapturedLogs
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var merged = metadata
            if let extra = event.metadata { merged.merge(extra) { $1 } }
            logs.append(Record(level: event.level, message: "\(event.message)", metadata: merged.mapValues { "\($0)" }))
        }
    }
}
