import ArgumentParser
import Foundation
import WaqtorProto
import WaqtorRPC

/// `waqtor ping`: HealthService.Ping, printing the round-trip time and the server's clock.
struct PingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ping",
        abstract: "Measure round trips to the server (HealthService.Ping).",
        discussion: """
            Prints one line per ping: its round-trip time and the server's clock. The first ping \
            also opens the connection, so it is slower. With --json: one JSON object per line.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: ArgumentHelp("Text sent and echoed back.", valueName: "text"))
    var payload: String = ""

    @Option(name: [.customShort("c"), .long], help: ArgumentHelp("Number of pings, sent one after another.", valueName: "n"))
    var count: Int = 1

    func validate() throws {
        guard count >= 1 else { throw ValidationError("--count must be at least 1, got \(count)") }
    }

    struct PingJSON: Encodable {
        var seq: Int
        var rttMicros: Double
        var serverTime: String?
        var payloadBytes: Int
        var echoed: Bool
        var requestID: String?

        enum CodingKeys: String, CodingKey {
            case seq, echoed
            case rttMicros = "rtt_us"
            case serverTime = "server_time"
            case payloadBytes = "payload_bytes"
            case requestID = "request_id"
        }
    }

    func run() async throws {
        let global = self.global
        let endpoint = try global.endpoint()
        var request = Waqtor_V1_PingRequest()
        request.payload = Array(payload.utf8)
        let options = global.callOptions
        let clock = ContinuousClock()

        let rtts: [UInt64] = try await global.withClient { client in
            var rtts: [UInt64] = []
            var mismatches = 0
            for seq in 1...count {
                let start = clock.now
                let (response, metadata) = try await client.unaryWithMetadata(
                    method: Waqtor_V1_HealthService.Method.ping, request: request,
                    responseType: Waqtor_V1_PingResponse.self, options: options)
                let elapsed = clock.now - start
                let nanos = UInt64(clamping: elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
                rtts.append(nanos)
                let echoed = response.payload == request.payload
                if !echoed { mismatches += 1 }
                let serverTime = response.serverTime.map(Output.rfc3339)
                if global.json {
                    Output.json(PingJSON(
                        seq: seq, rttMicros: (Double(nanos) / 100).rounded() / 10, serverTime: serverTime,
                        payloadBytes: response.payload.count, echoed: echoed, requestID: metadata[Metadata.Keys.requestID]))
                } else {
                    var line = "ping \(endpoint.description): seq=\(seq) time=\(Output.duration(nanos: nanos))"
                    line += " server_time=\(serverTime ?? "-")"
                    if !request.payload.isEmpty || !response.payload.isEmpty { line += " bytes=\(response.payload.count)" }
                    if !echoed { line += " (payload NOT echoed)" }
                    Output.line(line)
                }
            }
            if mismatches > 0 {
                Output.error("\(mismatches) of \(count) answers did not echo the payload")
                throw ExitCode(Output.ExitStatus.checkFailed)
            }
            return rtts
        }
        if !global.json, rtts.count > 1 {
            let total = rtts.reduce(0, +)
            Output.line(
                "\(rtts.count) pings: min \(Output.duration(nanos: rtts.min()!)), "
                    + "avg \(Output.duration(nanos: total / UInt64(rtts.count))), max \(Output.duration(nanos: rtts.max()!))")
        }
    }
}
