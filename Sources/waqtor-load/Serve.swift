import ArgumentParser
import Dispatch
import Foundation
import Logging
import WaqtorProto
import WaqtorRPC

/// `waqtor-load serve`: an in-process RPCServer with only HealthService, for measuring the RPC
/// runtime itself (docs/BENCHMARKS.md). Hidden: a stand-in until `waqtor-server` is complete.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve HealthService only (benchmark target).",
        shouldDisplay: false
    )

    @Option(name: .long, help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(name: .long, help: "Port to listen on (0: any free port, printed on stdout).")
    var port: Int = 7420

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "warning"

    @Flag(name: .customLong("async-ping"), help: "Serve Ping as an ordinary async handler (a Swift task per call) instead of inline, as waqtor-server does.")
    var asyncPing = false

    struct Health: Waqtor_V1_HealthServiceHandler {
        func ping(_ request: Waqtor_V1_PingRequest, context: ServerContext) async throws -> Waqtor_V1_PingResponse {
            Waqtor_V1_PingResponse(answering: request)
        }

        func readiness(_ request: Waqtor_V1_ReadinessRequest, context: ServerContext) async throws -> Waqtor_V1_ReadinessResponse {
            var response = Waqtor_V1_ReadinessResponse()
            response.ready = true
            var rpc = Waqtor_V1_ComponentHealth()
            rpc.name = "rpc"
            rpc.ready = true
            rpc.detail = "in-process benchmark server (waqtor-load serve)"
            response.components = [rpc]
            return response
        }
    }

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level: unknown level '\(logLevel)'")
        }
        var logger = Logger(label: "waqtor-load.serve")
        logger.logLevel = level

        var router = RPCRouter()
        Health().register(into: &router)
        if !asyncPing {
            // As waqtor-server does: Ping needs no I/O, so it is answered inline.
            router.registerInlineUnary("waqtor.v1.HealthService/Ping") { (request: Waqtor_V1_PingRequest, _) in
                Waqtor_V1_PingResponse(answering: request)
            }
        }
        let server = RPCServer(configuration: RPCServerConfiguration(host: host, port: port), router: router, logger: logger)

        // Install the signal sources before listening, so a signal right after start-up is not lost.
        let (signals, continuation) = AsyncStream.makeStream(of: Int32.self)
        var sources: [any DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { continuation.yield(sig) }
            source.resume()
            sources.append(source)
        }

        try await server.start()
        // Written unbuffered: scripts wait for this line.
        FileHandle.standardOutput.write(Data("listening on \(host):\(server.localPort ?? port)\n".utf8))

        var iterator = signals.makeAsyncIterator()
        _ = await iterator.next()
        await server.shutdown()
        for source in sources { source.cancel() }
    }
}
