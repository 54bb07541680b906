import Logging
import ServiceLifecycle

/// The loop of a background service that works in rounds: until the service group shuts down
/// (a graceful shutdown ends it between rounds), a round, then `pause` unless the round found
/// work (then the next round starts at once). A failing round is logged at most every 10 s.
enum Rounds {
    static func run(
        logger: Logger, failure: String, pause: @escaping @Sendable () async throws -> Void,
        round: @escaping @Sendable () async throws -> Bool
    ) async {
        await cancelWhenGracefulShutdown {
            var lastError: ContinuousClock.Instant?
            while !Task.isCancelled {
                var worked = false
                do {
                    worked = try await round()
                } catch {
                    let now = ContinuousClock.now
                    if lastError.map({ now - $0 > .seconds(10) }) ?? true {
                        logger.warning("\(failure)", metadata: ["error": "\(error)"])
                        lastError = now
                    }
                }
                if !worked {
                    do { try await pause() } catch { return }
                }
            }
        }
    }
}
