import ArgumentParser

/// `waqtor-load`: load generator for a WaQtor server (see docs/BENCHMARKS.md): `ping` measures the
/// RPC runtime; the product scenarios (`login`, `profile`, `send-reply`, `campaign`, `webhook`,
/// `mixed`) measure what the product's calls cost end to end.
@main
struct WaqtorLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "waqtor-load",
        abstract: "Load generator for a WaQtor server.",
        subcommands: [
            PingLoad.self, LoginScenario.self, ProfileScenario.self, SendReplyScenario.self, CampaignScenario.self,
            WebhookScenario.self, MixedScenario.self, Serve.self,
        ]
    )
}
