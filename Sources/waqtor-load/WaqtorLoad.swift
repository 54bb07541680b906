import ArgumentParser

/// `waqtor-load`: load generator for the WaQtor RPC runtime (see docs/BENCHMARKS.md).
@main
struct WaqtorLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "waqtor-load",
        abstract: "Load generator for a WaQtor RPC server.",
        subcommands: [PingLoad.self, Serve.self]
    )
}
