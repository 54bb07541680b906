import ArgumentParser
import Foundation
import OpenRouterStandIn

/// `waqtor-openrouter-sim`: a stand-in OpenRouter server for local runs and tests in other processes.
@main
struct SimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "waqtor-openrouter-sim",
        abstract: "A simulated OpenRouter API (chat completions, models, errors, deterministic drafts).",
        discussion: "Faults, unavailable models and the request log are controlled under /_sim/."
    )

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0: any free port, printed at start).")
    var port = 7423

    @Option(name: .customLong("api-key"), help: "The only key accepted as Authorization: Bearer <key>.")
    var apiKey = "sim-openrouter-key"

    @Flag(name: .customLong("no-padding"), help: "Do not prefix successful bodies with blank padding.")
    var noPadding = false

    func run() async throws {
        let standIn = try await OpenRouterStandIn.start(.init(host: host, port: port, apiKey: apiKey, padding: !noPadding))
        FileHandle.standardOutput.write(Data("waqtor-openrouter-sim listening on \(standIn.baseURL)\n".utf8))
        try await standIn.waitUntilClosed()
    }
}
