import NIOConcurrencyHelpers
import NIOCore

extension EvolutionSimulator {
    /// An outage of the gateway's host (`POST /_sim/outage`): the listener closes and every
    /// connection with it, so that for `duration` connections are refused (the gateway cannot be
    /// reached, as when its process or host is down); then it listens again on the same port with
    /// its state (instances, sends, settings) as it was. Answers false when an outage is already
    /// in progress or the simulator is stopped.
    public func beginOutage(for duration: Duration) async -> Bool {
        let end = Task<Void, Never> { [self] in
            do { try await Task.sleep(for: duration) } catch { return }  // stopped meanwhile
            await endOutage()
        }
        let started = outageBox.withLockedValue { current -> Bool in
            guard current == nil else { return false }
            current = end
            return true
        }
        guard started, let listener = channelBox.withLockedValue({ $0 }) else {
            if !started { end.cancel() }
            return false
        }
        try? await listener.close()
        for connection in connections.withLockedValue({ Array($0.values) }) { try? await connection.close() }
        return true
    }

    /// Whether an outage is in progress.
    public var inOutage: Bool { outageBox.withLockedValue { $0 != nil } }

    private func endOutage() async {
        // Bound again on the same port (retried: the old socket may linger for a moment).
        for _ in 0..<100 {
            if let channel = try? await Self.bind(host: configuration.host, port: port, simulator: self) {
                channelBox.withLockedValue { $0 = channel }
                break
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        outageBox.withLockedValue { $0 = nil }
    }
}
