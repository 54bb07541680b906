import ArgumentParser
import Foundation
import Histogram
import NIOPosix
import WaqtorProto
import WaqtorRPC

/// `waqtor-load ping`: C connections × M concurrent call loops of HealthService.Ping.
struct PingLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ping",
        abstract: "Closed-loop Ping load: C connections, M calls in flight on each.",
        discussion: """
            Opens C clients (one TCP connection each); on each, M loops each await one Ping, record \
            its latency and send the next. Latencies of successful calls after the warm-up go into \
            per-loop HdrHistograms (nanoseconds, 3 significant digits), merged at the end. Errors are \
            counted by status; the exit status is 1 only when every measured call failed.
            """
    )

    @Option(name: .long, help: ArgumentHelp("Server address.", valueName: "host:port"))
    var server: String = "127.0.0.1:7420"

    @Option(name: [.customShort("c"), .long], help: "Connections (one RPCClient each).")
    var connections: Int = 1

    @Option(name: [.customShort("m"), .customLong("in-flight")], help: "Concurrent call loops per connection.")
    var inFlight: Int = 1

    @Option(name: [.customShort("d"), .long], help: ArgumentHelp("Measure for this many seconds after the warm-up.", valueName: "seconds"))
    var duration: Double?

    @Option(name: [.customShort("n"), .long], help: ArgumentHelp("Measure this many calls after the warm-up (split evenly across loops).", valueName: "n"))
    var requests: Int?

    @Option(name: .long, help: ArgumentHelp("Warm-up seconds (calls made, not recorded).", valueName: "seconds"))
    var warmup: Double = 1

    @Option(name: .customLong("payload-size"), help: ArgumentHelp("Bytes of payload in each Ping.", valueName: "bytes"))
    var payloadSize: Int = 0

    @Option(name: .long, help: ArgumentHelp("Per-call timeout.", valueName: "seconds"))
    var timeout: Double = 10

    @Flag(name: .long, help: "Print one JSON object instead of text.")
    var json = false

    @Flag(name: .long, help: "Pipeline like redis-benchmark -P M: each connection sends its M calls together and sends the next M once all M are answered (instead of M independent loops, each sending its next call as soon as its answer arrives).")
    var pipeline = false

    @Flag(name: .long, help: "Speak the protocol directly over one NIO channel per connection, as redis-benchmark speaks RESP (the request encoded once, every answer checked and decoded), instead of through RPCClient; keeps the load generator's own cost per call small.")
    var raw = false

    @Flag(name: .customLong("async-api"), help: "Drive each loop as a Swift task awaiting RPCClient.unary (the API services use) instead of chaining RPCClient.startUnary callbacks on the event loop (the default, which keeps the load generator's own cost low).")
    var asyncAPI = false

    @Flag(name: .customLong("on-loop"), help: "With --async-api: run each connection's tasks with its client's executor preference (RPCClient.taskExecutor), so that they run on the connection's event loop instead of the global executor.")
    var onLoop = false

    func validate() throws {
        _ = try parseServer()
        guard connections >= 1 else { throw ValidationError("--connections must be at least 1") }
        guard inFlight >= 1 else { throw ValidationError("--in-flight must be at least 1") }
        switch (duration, requests) {
        case (nil, nil): throw ValidationError("give --duration SECONDS or --requests N")
        case (.some, .some): throw ValidationError("give either --duration or --requests, not both")
        case (let d?, nil): guard d > 0, d.isFinite else { throw ValidationError("--duration must be positive") }
        case (nil, let n?): guard n >= connections * inFlight else {
            throw ValidationError("--requests must be at least connections × in-flight (\(connections * inFlight))")
        }
        }
        guard warmup >= 0, warmup.isFinite else { throw ValidationError("--warmup must be zero or positive") }
        guard payloadSize >= 0 else { throw ValidationError("--payload-size must be zero or positive") }
        guard timeout > 0, timeout.isFinite else { throw ValidationError("--timeout must be positive") }
        guard !onLoop || (asyncAPI && !pipeline && !raw) else { throw ValidationError("--on-loop goes with --async-api (without --pipeline or --raw)") }
    }

    func parseServer() throws -> (host: String, port: Int) {
        guard let colon = server.lastIndex(of: ":"),
              let port = Int(server[server.index(after: colon)...]), (1...65535).contains(port)
        else { throw ValidationError("--server: expected host:port, e.g. 127.0.0.1:7420; got '\(server)'") }
        var host = String(server[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw ValidationError("--server: missing host in '\(server)'") }
        return (host, port)
    }

    /// What one call loop measured.
    struct LoopResult: Sendable {
        /// Sized up front for latencies up to an hour: an auto-resizing histogram starts at 2 ns
        /// and grows (copying its counts through unspecialized generic code) at every new
        /// power of two, which cost the load generator seconds of CPU per run when every loop
        /// had one.
        var histogram: Histogram<UInt64> = {
            var h = Histogram<UInt64>(highestTrackableValue: 3_600_000_000_000, numberOfSignificantValueDigits: .three)
            h.autoResize = true
            return h
        }()
        var ok: UInt64 = 0
        var errors: [String: UInt64] = [:]
        var lastError: RPCError?
        var finishedAt: UInt64 = 0

        /// Counts `count` calls that failed with `error`.
        mutating func recordError(_ error: RPCError, count: UInt64 = 1) {
            errors[error.code.name, default: 0] += count
            lastError = error
        }

        /// Counts one measured call: its latency when it succeeded, its error otherwise.
        mutating func record<Response>(_ outcome: Result<Response, RPCError>, latency: UInt64) {
            switch outcome {
            case .success:
                ok += 1
                histogram.record(latency)
            case .failure(let error):
                recordError(error)
            }
        }
    }

    enum Stop: Sendable {
        case at(UInt64)
        case count(Int)
    }

    /// One closed loop of the `--async-api` engine: a task awaiting `RPCClient.unary` (through the
    /// generated client) call after call. Records into its connection's recorder, as the callback
    /// engine does: a histogram per loop (1,600 at 50 × 32) costs memory and cache misses.
    static func loop(
        client: Waqtor_V1_HealthServiceClient, request: Waqtor_V1_PingRequest, options: CallOptions,
        measureFrom: UInt64, stop: Stop, recorder: ConnectionRecorder
    ) async {
        var remaining: Int
        let stopAt: UInt64
        switch stop {
        case .at(let t): stopAt = t; remaining = .max
        case .count(let n): stopAt = .max; remaining = n
        }
        // One clock read per call: a call starts when the previous one ended (what runs in
        // between, recording the previous latency, never suspends and takes well under a µs).
        var start = monotonicNanos()
        while true {
            let outcome: Result<Waqtor_V1_PingResponse, RPCError>
            do {
                outcome = .success(try await client.ping(request, options: options))
            } catch {
                outcome = .failure(error)
            }
            let end = monotonicNanos()
            if start >= measureFrom {
                recorder.record(outcome, latency: end - start)
                remaining -= 1
                if remaining == 0 { break }
            }
            if end >= stopAt { break }
            if Task.isCancelled { break }
            start = end
        }
        recorder.finished(at: monotonicNanos())
    }

    func run() async throws {
        let (host, port) = try parseServer()
        let callTimeout = Duration.milliseconds(Int64(timeout * 1000))
        if raw {
            try await runRaw(host: host, port: port)
            return
        }
        let clients = (0..<connections).map { _ in
            RPCClient(
                host: host, port: port,
                configuration: RPCClientConfiguration(connectTimeout: callTimeout, defaultTimeout: callTimeout))
        }
        let request = {
            var request = Waqtor_V1_PingRequest()
            request.payload = [UInt8](repeating: 0x61, count: payloadSize)
            return request
        }()
        let connections = self.connections, inFlight = self.inFlight
        let options = CallOptions(timeout: callTimeout)

        // Open every connection first, so that connecting is not part of the warm-up or the figures.
        let connectErrors: [RPCError] = await withTaskGroup(of: RPCError?.self) { group in
            for client in clients {
                group.addTask {
                    do throws(RPCError) { _ = try await Waqtor_V1_HealthServiceClient(client: client).ping(request, options: options); return nil }
                    catch { return error }
                }
            }
            var errors: [RPCError] = []
            for await error in group { if let error { errors.append(error) } }
            return errors
        }
        if connectErrors.count == clients.count {
            for client in clients { await client.close() }
            let error = connectErrors[0]
            FileHandle.standardError.write(Data("error: \(error.code.name): \(error.message)\n".utf8))
            throw ExitCode(2)
        }

        let perLoopRequests: [Int]? = requests.map { total in
            let loops = connections * inFlight
            return (0..<loops).map { total / loops + ($0 < total % loops ? 1 : 0) }
        }
        let begin = monotonicNanos()
        let measureFrom = begin + UInt64(warmup * 1e9)
        let stopAt = duration.map { measureFrom + UInt64($0 * 1e9) }

        let results: [LoopResult]
        if pipeline {
            results = await withTaskGroup(of: LoopResult.self) { group in
                for (c, client) in clients.enumerated() {
                    let stop: Stop = stopAt.map { .at($0) } ?? .count((0..<inFlight).map { perLoopRequests![c * inFlight + $0] }.reduce(0, +))
                    group.addTask {
                        await withCheckedContinuation { continuation in
                            BatchLoop(client: client, request: request, options: options, batch: inFlight, measureFrom: measureFrom, stop: stop) {
                                continuation.resume(returning: $0)
                            }.fire()
                        }
                    }
                }
                var all: [LoopResult] = []
                for await result in group { all.append(result) }
                return all
            }
        } else if !asyncAPI {
            let recorders = clients.map { _ in ConnectionRecorder() }
            await withTaskGroup(of: Void.self) { group in
                for (c, client) in clients.enumerated() {
                    for m in 0..<inFlight {
                        let stop: Stop = stopAt.map { .at($0) } ?? .count(perLoopRequests![c * inFlight + m])
                        group.addTask {
                            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                                CallbackLoop(
                                    client: client, request: request, options: options, measureFrom: measureFrom, stop: stop,
                                    recorder: recorders[c]
                                ) {
                                    continuation.resume()
                                }.fire()
                            }
                        }
                    }
                }
                await group.waitForAll()
            }
            results = recorders.map(\.snapshot)
        } else {
            let recorders = clients.map { _ in ConnectionRecorder() }
            await withTaskGroup(of: Void.self) { group in
                for (c, client) in clients.enumerated() {
                    let health = Waqtor_V1_HealthServiceClient(client: client)
                    // With --on-loop, each task prefers its connection's event loop (nil: the global executor).
                    let executor: EventLoopTaskExecutor? = onLoop ? client.taskExecutor : nil
                    for m in 0..<inFlight {
                        let stop: Stop = stopAt.map { .at($0) } ?? .count(perLoopRequests![c * inFlight + m])
                        group.addTask(executorPreference: executor) {
                            await Self.loop(
                                client: health, request: request, options: options, measureFrom: measureFrom, stop: stop,
                                recorder: recorders[c])
                        }
                    }
                }
                await group.waitForAll()
            }
            results = recorders.map(\.snapshot)
        }
        for client in clients { await client.close() }
        try report(results, measureFrom: measureFrom)
    }

    /// The `--raw` engine (``RawLoad``): each connection opens, warms up and measures on its own.
    func runRaw(host: String, port: Int) async throws {
        let perConnection: [Int]? = requests.map { total in
            (0..<connections).map { total / connections + ($0 < total % connections ? 1 : 0) }
        }
        let begin = monotonicNanos()
        let measureFrom = begin + UInt64(warmup * 1e9)
        let stopAt = duration.map { measureFrom + UInt64($0 * 1e9) }
        let base = RawLoad.Settings(
            host: host, port: port, inFlight: inFlight, pipeline: pipeline, payloadSize: payloadSize,
            timeoutMicros: UInt64(timeout * 1e6), measureFrom: measureFrom, stop: .count(0),
            giveUpAfter: (stopAt ?? .max / 2) + UInt64(timeout * 1e9))
        let results: [LoopResult] = await withTaskGroup(of: LoopResult.self) { group in
            for c in 0..<connections {
                var settings = base
                settings.stop = stopAt.map { .at($0) } ?? .count(perConnection![c])
                group.addTask { [settings] in await RawLoad.run(settings, group: MultiThreadedEventLoopGroup.singleton) }
            }
            var all: [LoopResult] = []
            for await result in group { all.append(result) }
            return all
        }
        if results.allSatisfy({ $0.ok == 0 && $0.errors["UNAVAILABLE"] != nil }), let error = results.first?.lastError {
            FileHandle.standardError.write(Data("error: \(error.code.name): \(error.message)\n".utf8))
            throw ExitCode(2)
        }
        try report(results, measureFrom: measureFrom)
    }

    func report(_ results: [LoopResult], measureFrom: UInt64) throws {
        var histogram = LoopResult().histogram
        var ok: UInt64 = 0
        var errors: [String: UInt64] = [:]
        var finishedAt = measureFrom
        var lastError: RPCError?
        for result in results {
            histogram.add(result.histogram)
            ok += result.ok
            for (name, n) in result.errors { errors[name, default: 0] += n }
            finishedAt = max(finishedAt, result.finishedAt)
            lastError = result.lastError ?? lastError
        }
        let errorCount = errors.values.reduce(0, +)
        let elapsed = Double(finishedAt - measureFrom) / 1e9
        let report = Report(
            server: server, connections: connections, inFlight: inFlight, payloadSize: payloadSize,
            warmup: warmup, calls: ok + errorCount, ok: ok, errors: errors, elapsed: elapsed,
            throughput: elapsed > 0 ? Double(ok) / elapsed : 0,
            latency: .init(histogram))
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.text)
        }
        if ok == 0 {
            if let lastError {
                FileHandle.standardError.write(Data("error: every call failed; last: \(lastError.code.name): \(lastError.message)\n".utf8))
            }
            throw ExitCode(1)
        }
    }
}

struct Report: Encodable {
    struct Latency: Encodable {
        var p50: Double, p90: Double, p99: Double, p999: Double, max: Double, mean: Double
        enum CodingKeys: String, CodingKey { case p50, p90, p99, p999 = "p99_9", max, mean }

        init(_ h: Histogram<UInt64>) {
            func us(_ ns: UInt64) -> Double { (Double(ns) / 100).rounded() / 10 }
            let empty = h.totalCount == 0
            p50 = empty ? 0 : us(h.valueAtPercentile(50))
            p90 = empty ? 0 : us(h.valueAtPercentile(90))
            p99 = empty ? 0 : us(h.valueAtPercentile(99))
            p999 = empty ? 0 : us(h.valueAtPercentile(99.9))
            max = empty ? 0 : us(h.max)
            mean = empty ? 0 : (h.mean / 100).rounded() / 10
        }
    }
    var server: String
    var connections: Int
    var inFlight: Int
    var payloadSize: Int
    var warmup: Double
    var calls: UInt64
    var ok: UInt64
    var errors: [String: UInt64]
    var elapsed: Double
    var throughput: Double
    var latency: Latency

    enum CodingKeys: String, CodingKey {
        case server, connections, calls, ok, errors, latency
        case inFlight = "in_flight"
        case payloadSize = "payload_size"
        case warmup = "warmup_s"
        case elapsed = "elapsed_s"
        case throughput = "calls_per_s"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(server, forKey: .server)
        try c.encode(connections, forKey: .connections)
        try c.encode(inFlight, forKey: .inFlight)
        try c.encode(payloadSize, forKey: .payloadSize)
        try c.encode(warmup, forKey: .warmup)
        try c.encode(calls, forKey: .calls)
        try c.encode(ok, forKey: .ok)
        try c.encode(errors, forKey: .errors)
        try c.encode((elapsed * 1000).rounded() / 1000, forKey: .elapsed)
        try c.encode(throughput.rounded(), forKey: .throughput)
        try c.encode(latency, forKey: .latency)
    }

    var text: String {
        let errorText = errors.isEmpty ? "0" : errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        return """
            server      \(server)  (\(connections) connections × \(inFlight) in flight, payload \(payloadSize) B, warm-up \(warmup) s)
            calls       \(calls)  (ok \(ok), errors: \(errorText))
            elapsed     \(String(format: "%.3f", elapsed)) s
            throughput  \(String(format: "%.0f", throughput)) calls/s
            latency µs  p50 \(latency.p50)  p90 \(latency.p90)  p99 \(latency.p99)  p99.9 \(latency.p999)  max \(latency.max)  (mean \(latency.mean))
            """
    }
}

/// One closed call loop driven by completions instead of a task: each answer records its latency
/// and sends the next Ping from the connection's event loop, with no thread hop in between.
final class CallbackLoop: @unchecked Sendable {
    // Invariant for @unchecked Sendable: a loop has at most one call in flight, and its fields are
    // touched only before the first call, by the completion of the current call (which then starts
    // the next one), and by `finish`, so no two threads ever touch them at the same time; the
    // connection's lock orders each hand-over.
    private let client: RPCClient
    private let request: Waqtor_V1_PingRequest
    private let options: CallOptions
    private let measureFrom: UInt64
    private let stopAt: UInt64
    private var remaining: Int
    private var started: UInt64 = 0
    /// Shared by the connection's loops: one histogram per connection rather than per loop keeps
    /// the load generator's memory (and cache misses) small.
    private let recorder: ConnectionRecorder
    private let done: @Sendable () -> Void

    init(
        client: RPCClient, request: Waqtor_V1_PingRequest, options: CallOptions, measureFrom: UInt64,
        stop: PingLoad.Stop, recorder: ConnectionRecorder, done: @escaping @Sendable () -> Void
    ) {
        self.recorder = recorder
        self.client = client
        self.request = request
        self.options = options
        self.measureFrom = measureFrom
        switch stop {
        case .at(let t): stopAt = t; remaining = .max
        case .count(let n): stopAt = .max; remaining = n
        }
        self.done = done
    }

    func fire() {
        started = monotonicNanos()
        client.startUnary(
            method: "waqtor.v1.HealthService/Ping", request: request, responseType: Waqtor_V1_PingResponse.self,
            options: options
        ) { outcome in
            self.completed(outcome)
        }
    }

    private func completed(_ outcome: Result<Waqtor_V1_PingResponse, RPCError>) {
        let end = monotonicNanos()
        var failed = false
        if case .failure = outcome { failed = true }
        if started >= measureFrom {
            recorder.record(outcome, latency: end - started)
            remaining -= 1
        }
        if remaining == 0 || end >= stopAt {
            recorder.finished(at: monotonicNanos())
            done()
        } else if failed {
            // A failure may be reported on this very stack; start over from a fresh one.
            Task { self.fire() }
        } else {
            fire()
        }
    }
}

/// One connection's calls in batches, as `redis-benchmark -P` does: `batch` calls are started
/// together (they leave in one write), and the next batch starts once every call of this one has
/// been answered. Each call's latency runs from its batch's start to its own answer.
final class BatchLoop: @unchecked Sendable {
    // Invariant for @unchecked Sendable: all fields are touched under `lock` (completions of one
    // batch may run on the connection's event loop and, for failures, on other threads).
    private let lock = NSLock()
    private let client: RPCClient
    private let request: Waqtor_V1_PingRequest
    private let options: CallOptions
    private let batch: Int
    private let measureFrom: UInt64
    private let stopAt: UInt64
    private var remaining: Int
    private var started: UInt64 = 0
    private var outstanding = 0
    @exclusivity(unchecked) private var result = PingLoad.LoopResult()  // under `lock`: no dynamic tracking
    private let done: @Sendable (PingLoad.LoopResult) -> Void

    init(
        client: RPCClient, request: Waqtor_V1_PingRequest, options: CallOptions, batch: Int, measureFrom: UInt64,
        stop: PingLoad.Stop, done: @escaping @Sendable (PingLoad.LoopResult) -> Void
    ) {
        self.client = client
        self.request = request
        self.options = options
        self.batch = batch
        self.measureFrom = measureFrom
        switch stop {
        case .at(let t): stopAt = t; remaining = .max
        case .count(let n): stopAt = .max; remaining = n
        }
        self.done = done
    }

    func fire() {
        lock.lock()
        started = monotonicNanos()
        outstanding = batch
        lock.unlock()
        for _ in 0..<batch {
            client.startUnary(
                method: "waqtor.v1.HealthService/Ping", request: request, responseType: Waqtor_V1_PingResponse.self,
                options: options
            ) { outcome in
                self.completed(outcome)
            }
        }
    }

    private func completed(_ outcome: Result<Waqtor_V1_PingResponse, RPCError>) {
        let end = monotonicNanos()
        lock.lock()
        if started >= measureFrom {
            result.record(outcome, latency: end - started)
            if remaining != .max { remaining -= 1 }
        }
        outstanding -= 1
        let batchDone = outstanding == 0
        let finished = batchDone && (remaining <= 0 || end >= stopAt)
        if finished { result.finishedAt = monotonicNanos() }
        let snapshot = finished ? result : nil
        lock.unlock()
        if let snapshot {
            done(snapshot)
        } else if batchDone {
            // Start the next batch from a fresh stack (a failure may be reported on the caller's).
            if case .failure = outcome { Task { self.fire() } } else { fire() }
        }
    }
}

/// What the call loops of one connection measured (they share it; a lock orders their records,
/// which mostly come from the connection's one event loop).
final class ConnectionRecorder: @unchecked Sendable {
    // Invariant for @unchecked Sendable: `result` is touched only under `lock`.
    private let lock = NSLock()
    @exclusivity(unchecked) private var result = PingLoad.LoopResult()  // under `lock`: no dynamic tracking

    func record(_ outcome: Result<Waqtor_V1_PingResponse, RPCError>, latency: UInt64) {
        lock.lock()
        defer { lock.unlock() }
        result.record(outcome, latency: latency)
    }

    func finished(at time: UInt64) {
        lock.lock()
        result.finishedAt = max(result.finishedAt, time)
        lock.unlock()
    }

    var snapshot: PingLoad.LoopResult {
        lock.lock()
        defer { lock.unlock() }
        return result
    }
}
