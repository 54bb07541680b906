import ArgumentParser
import EvolutionSimulator
import Foundation

/// `waqtor-evolution-sim`: a stand-in Evolution API v2 server for local runs and tests.
@main
struct SimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "waqtor-evolution-sim",
        abstract: "A simulated Evolution API v2 server (routes, shapes, errors and webhooks).",
        discussion: "Control routes live under /_sim/ (see docs/EVOLUTION.md)."
    )

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0: any free port, printed at start).")
    var port = 8080

    @Option(name: .customLong("api-key"), help: "The global API key (AUTHENTICATION_API_KEY).")
    var apiKey = "sim-global-key"

    @Option(name: .customLong("connect-after-ms"), help: "Connect an instance this many ms after a connect call (0: only through /_sim/connect).")
    var connectAfterMs = 0

    @Option(name: .customLong("ack-interval-ms"), help: "Pause between the webhooks of one send.")
    var ackIntervalMs = 200

    @Option(name: .customLong("server-url"), help: "server_url in webhook envelopes (default http://host:port).")
    var serverURL: String?

    @Option(name: .customLong("time-zone"), help: "The gateway's zone: webhook date_time is its local time with a Z suffix, as Evolution API 2.3.6 writes it.")
    var timeZone = "America/Sao_Paulo"

    func run() async throws {
        guard let zone = TimeZone(identifier: timeZone) else {
            throw ValidationError("unknown time zone '\(timeZone)' (an IANA name such as UTC or America/Sao_Paulo)")
        }
        let simulator = try await EvolutionSimulator.start(.init(
            host: host, port: port, apiKey: apiKey,
            connectAfter: connectAfterMs > 0 ? .milliseconds(connectAfterMs) : nil,
            ackInterval: .milliseconds(max(0, ackIntervalMs)), serverURL: serverURL, timeZone: zone
        ))
        FileHandle.standardOutput.write(Data("waqtor-evolution-sim listening on \(simulator.baseURL)\n".utf8))
        try await simulator.waitUntilClosed()
    }
}
