import ArgumentParser

/// `grpc-peer`: grpc-swift-2's side of the RPC comparison (docs/BENCHMARKS.md, "Peers, in the same
/// run"): `serve` runs a unary echo server, `load` drives it as `waqtor-load ping --async-api`
/// drives WaQtor's server.
@main
struct GRPCPeer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grpc-peer",
        abstract: "grpc-swift-2 (HTTP/2 plaintext over NIOPosix) unary echo: server and closed-loop load client.",
        subcommands: [Serve.self, Load.self]
    )
}
