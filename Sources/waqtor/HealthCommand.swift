import ArgumentParser
import Foundation
import WaqtorProto
import WaqtorRPC

/// `waqtor health`: HealthService.Readiness, per component.
struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Show whether the server and each of its dependencies are ready (HealthService.Readiness).",
        discussion: "Exit status: 0 ready, 1 not ready, 2 the call failed."
    )

    @OptionGroup var global: GlobalOptions

    struct ComponentJSON: Encodable {
        var name: String
        var ready: Bool
        var detail: String
        var latencyMicros: Int64
        enum CodingKeys: String, CodingKey {
            case name, ready, detail
            case latencyMicros = "latency_us"
        }
    }

    struct HealthJSON: Encodable {
        var ready: Bool
        var components: [ComponentJSON]
    }

    func run() async throws {
        let global = self.global
        let endpoint = try global.endpoint()
        let options = global.callOptions
        let response = try await global.withClient { client in
            try await Waqtor_V1_HealthServiceClient(client: client).readiness(Waqtor_V1_ReadinessRequest(), options: options)
        }
        if global.json {
            Output.json(HealthJSON(
                ready: response.ready,
                components: response.components.map {
                    ComponentJSON(name: $0.name, ready: $0.ready, detail: $0.detail, latencyMicros: $0.latencyMicros)
                }))
        } else {
            let colours = Terminal.stdoutColours
            func word(_ ready: Bool) -> String { ready ? "ready" : "NOT READY" }
            Output.line("\(endpoint.description): " + Terminal.paint(word(response.ready), Terminal.statusStyle(word(response.ready)), enabled: colours))
            let nameWidth = response.components.map(\.name.count).max() ?? 0
            for component in response.components {
                let name = component.name.padding(toLength: nameWidth, withPad: " ", startingAt: 0)
                let state = Terminal.paint(word(component.ready), Terminal.statusStyle(word(component.ready)), enabled: colours)
                    + String(repeating: " ", count: 9 - word(component.ready).count)
                let latency = String(component.latencyMicros) + " µs"
                var line = "  \(name)  \(state)  \(String(repeating: " ", count: max(0, 10 - latency.count)))\(latency)"
                if !component.detail.isEmpty { line += "  \(component.detail)" }
                Output.line(line)
            }
        }
        if !response.ready { throw ExitCode(Output.ExitStatus.checkFailed) }
    }
}
