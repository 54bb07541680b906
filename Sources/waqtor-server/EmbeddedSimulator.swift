import EvolutionSimulator
import OpenRouterStandIn
import WaqtorApp

extension EmbeddedGateway {
    /// The Evolution API simulator, started inside the server for `gateway.url = embedded` (the
    /// default of a local run). Only this program links it; the WaqtorApp library does not.
    static let simulator = EmbeddedGateway { settings in
        let simulator = try await EvolutionSimulator.start(.init(
            host: settings.host, port: settings.port, apiKey: settings.apiKey, connectAfter: settings.connectAfter,
            // A long-running server keeps only the newest sends in the simulator's log.
            maxRecordedSends: 10_000))
        return .init(baseURL: simulator.baseURL, stop: { await simulator.stop() })
    }
}

extension EmbeddedAIProvider {
    /// The OpenRouter stand-in, started inside the server for `ai.url = embedded`.
    static let standIn = EmbeddedAIProvider { settings in
        let standIn = try await OpenRouterStandIn.start(.init(host: settings.host, port: settings.port, apiKey: settings.apiKey))
        return .init(baseURL: standIn.baseURL, stop: { await standIn.stop() })
    }
}
