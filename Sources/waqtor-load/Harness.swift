import ArgumentParser
import Foundation
import WaqtorHTTP
import WaqtorProto
import WaqtorRPC

/// What a scenario run holds: its options, its id (in every email, message id and text it makes,
/// so that runs never collide and their traces can be found), one RPC client per connection, the
/// HTTP client (webhook posts, the gateway's routes).
final class Harness: Sendable {
    let options: LoadOptions
    let runID: String
    let clients: [RPCClient]
    let http: HTTPClient
    let gateway: GatewayControl

    init(options: LoadOptions, httpConnections: Int) throws {
        self.options = options
        runID = String(UInt64.random(in: 0..<UInt64.max) % 2_821_109_907_456, radix: 36)  // 8 base-36 digits at most
        let (host, port) = try options.endpoint()
        let timeout = options.callTimeout
        // No default timeout: unary calls carry --timeout in their options, streams (Live) none.
        clients = (0..<options.connections).map { _ in
            RPCClient(host: host, port: port, configuration: RPCClientConfiguration(connectTimeout: timeout, defaultTimeout: nil))
        }
        http = HTTPClient(configuration: HTTPClientConfiguration(
            maxConnectionsPerHost: max(16, httpConnections), maxConnections: max(64, httpConnections + 16),
            timeout: timeout, userAgent: "waqtor-load"))
        gateway = GatewayControl(
            baseURL: LoadOptions.trimmed(options.gateway), apiKey: options.gatewayKey, http: http, timeout: timeout)
    }

    /// Options of a unary call: --timeout, and the account's session when given.
    func callOptions(_ token: String? = nil) -> CallOptions {
        var options = CallOptions(timeout: self.options.callTimeout)
        if let token { options.metadata.add(Metadata.Keys.authorization, "Bearer \(token)") }
        return options
    }

    func note(_ text: String) { Console.note(text, chatty: options.chatty) }

    func close() async {
        for client in clients { await client.close() }
        await http.shutdown()
    }

    /// Every connection answers a Ping before set-up (connecting is not part of any figure).
    func connect() async throws {
        let options = callOptions()
        let failures: [RPCError] = await withTaskGroup(of: RPCError?.self) { group in
            for client in clients {
                group.addTask {
                    do throws(RPCError) {
                        _ = try await Waqtor_V1_HealthServiceClient(client: client).ping(Waqtor_V1_PingRequest(), options: options)
                        return nil
                    } catch { return error }
                }
            }
            var failures: [RPCError] = []
            for await failure in group { if let failure { failures.append(failure) } }
            return failures
        }
        if let first = failures.first {
            throw HarnessFailure("\(failures.count) of \(clients.count) connections failed: \(first.code.name): \(first.message)")
        }
    }
}

/// What a scenario's set-up hands the driver: the call, and what to add to the report afterwards.
struct PreparedScenario: Sendable {
    var call: LoadCall
    /// The scenario's own figures, read after the run (e.g. what reached the gateway).
    var outcome: @Sendable (DriverResult) async -> [String: ScenarioReport.Value] = { _ in [:] }
    /// What bounds the figure, in words (may use what the run measured).
    var limits: @Sendable (DriverResult) -> [String] = { _ in [] }
    /// `mixed`: the weight of each operation.
    var weights: [String: Int]?
    /// Stops what set-up started (Live streams).
    var teardown: @Sendable () async -> Void = {}
}

/// The run every product scenario shares: connect, set up, drive, report.
enum ScenarioRunner {
    static func run(
        _ options: LoadOptions, scenario: String, call: String, unit: String, defaultWarmup: Double = 1,
        defaultRequests: Int? = nil, httpConnections: Int = 0,
        setup: @escaping @Sendable (Harness) async throws -> PreparedScenario
    ) async throws {
        let harness = try Harness(options: options, httpConnections: httpConnections)
        let warmup = options.warmup ?? defaultWarmup
        let prepared: PreparedScenario
        let setupStart = monotonicNanos()
        do {
            try await harness.connect()
            harness.note("\(scenario): setting up (run \(harness.runID))…")
            prepared = try await setup(harness)
        } catch {
            Console.error(Self.describe(error))
            await harness.close()
            throw ExitCode(2)
        }
        let setupTime = Double(monotonicNanos() - setupStart) / 1e9
        harness.note("\(scenario): set up in \(String(format: "%.1f", setupTime)) s; running")
        let plan = DriverPlan(
            connections: options.connections, inFlight: options.inFlight, warmup: warmup, duration: options.duration,
            requests: options.requests ?? (options.duration == nil ? defaultRequests : nil), rate: options.rate,
            timeline: options.timeline != nil)
        if let path = options.readyFile {
            guard FileManager.default.createFile(atPath: path, contents: Data("\(wallMilliseconds())\n".utf8)) else {
                Console.error("--ready-file \(path): cannot create it")
                await harness.close()
                throw ExitCode(2)
            }
        }
        let progress = ProgressLine(label: scenario, enabled: options.chatty)
        let result = await LoadDriver.run(plan, progress: progress, call: prepared.call)
        if let path = options.timeline {
            do { try TimelineEntry.write(result.timeline, to: path) } catch { Console.error("--timeline \(path): \(error)") }
        }
        let outcome = await prepared.outcome(result)
        await prepared.teardown()
        await harness.close()
        let report = ScenarioReport(
            scenario: scenario, call: call, unit: unit, options: options, warmup: warmup, result: result,
            setup: setupTime, weights: prepared.weights, outcome: outcome, limits: prepared.limits(result))
        try report.print(json: options.json)
        if report.ok == 0 {
            let last = result.operations.values.compactMap(\.lastError).first ?? "no call was measured"
            Console.error("every measured call failed; last: \(last)")
            throw ExitCode(1)
        }
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as RPCError: "\(error.code.name): \(error.message)"
        case let error as HarnessFailure: error.description
        case let error as HTTPClientError: error.description
        default: "\(error)"
        }
    }
}

/// Times an RPC and turns its result into a call outcome.
func timedRPC<T>(
    _ operation: String, stage: String? = nil, _ body: () async throws(RPCError) -> T
) async -> (CallOutcome, T?) {
    let start = monotonicNanos()
    do {
        let value = try await body()
        let stages = stage.map { [CallOutcome.Stage(name: $0, nanoseconds: monotonicNanos() - start)] } ?? []
        return (.success(operation, stages: stages), value)
    } catch {
        return (.failure(operation, error.code.name, error.message), nil)
    }
}
