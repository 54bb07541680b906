import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Histogram
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Monotonic time in nanoseconds (as waqtor-load's clock).
@inline(__always)
func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// `grpc-peer load`: C connections (one GRPCClient each, so one HTTP/2 connection each) × M closed
/// loops per connection, each a Swift task awaiting `GRPCClient.unary` call after call: what
/// `waqtor-load ping --async-api` does with `RPCClient.unary`. Same warm-up, duration, histograms
/// and JSON fields as `waqtor-load ping --json`.
struct Load: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Closed-loop unary echo load: C connections (GRPCClient each), M calls in flight on each.",
        discussion: """
            Each loop sends the payload, awaits the echo, checks it (same bytes), records its latency \
            and sends the next. Latencies of successful calls started after the warm-up go into \
            HdrHistograms (nanoseconds, 3 significant digits; one per connection), merged at the end. \
            Errors are counted by status; the exit status is 1 only when every measured call failed.
            """)

    @Option(name: .long, help: ArgumentHelp("Server address.", valueName: "host:port"))
    var server: String = "127.0.0.1:7430"

    @Option(name: [.customShort("c"), .long], help: "Connections (one GRPCClient each).")
    var connections: Int = 1

    @Option(name: [.customShort("m"), .customLong("in-flight")], help: "Concurrent call loops per connection.")
    var inFlight: Int = 1

    @Option(name: [.customShort("d"), .long], help: ArgumentHelp("Measure for this many seconds after the warm-up.", valueName: "seconds"))
    var duration: Double = 10

    @Option(name: .long, help: ArgumentHelp("Warm-up seconds (calls made, not recorded).", valueName: "seconds"))
    var warmup: Double = 1

    @Option(name: .customLong("payload-size"), help: ArgumentHelp("Bytes of payload in each call.", valueName: "bytes"))
    var payloadSize: Int = 64

    @Option(name: .long, help: ArgumentHelp("Per-call timeout (0: none).", valueName: "seconds"))
    var timeout: Double = 10

    @Flag(name: .long, help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        _ = try endpoint()
        guard connections >= 1 else { throw ValidationError("--connections must be at least 1") }
        guard inFlight >= 1 else { throw ValidationError("--in-flight must be at least 1") }
        guard duration > 0, duration.isFinite else { throw ValidationError("--duration must be positive") }
        guard warmup >= 0, warmup.isFinite else { throw ValidationError("--warmup must be zero or positive") }
        guard payloadSize >= 0 else { throw ValidationError("--payload-size must be zero or positive") }
        guard timeout >= 0, timeout.isFinite else { throw ValidationError("--timeout must be zero or positive") }
    }

    func endpoint() throws -> (host: String, port: Int) {
        guard let colon = server.lastIndex(of: ":"),
              let port = Int(server[server.index(after: colon)...]), (1...65535).contains(port),
              colon > server.startIndex
        else { throw ValidationError("--server: expected host:port, e.g. 127.0.0.1:7430; got '\(server)'") }
        return (String(server[..<colon]), port)
    }

    func run() async throws {
        let (host, port) = try endpoint()
        let payload = [UInt8](repeating: 0x61, count: payloadSize)
        let options = {
            var options = CallOptions.defaults
            options.timeout = timeout > 0 ? .milliseconds(Int64(timeout * 1000)) : nil
            return options
        }()
        let clients = try (0..<connections).map { _ in
            GRPCClient(transport: try .http2NIOPosix(
                target: .ipv4(address: host, port: port), transportSecurity: .plaintext))
        }
        let recorders = clients.map { _ in Recorder() }
        let connections = self.connections, inFlight = self.inFlight, warmup = self.warmup, duration = self.duration

        let measured: (measureFrom: UInt64, connectFailures: Int, lastConnectError: String?) = try await withThrowingTaskGroup(
            of: Void.self
        ) { group in
            for client in clients {
                group.addTask { try await client.runConnections() }
            }
            // Open every connection first (one call each), so that connecting is not measured.
            let failures: [String] = await withTaskGroup(of: String?.self) { connect in
                for client in clients {
                    connect.addTask {
                        do {
                            _ = try await Self.call(client, payload, options)
                            return nil
                        } catch {
                            return Self.describe(error)
                        }
                    }
                }
                var failures: [String] = []
                for await failure in connect { if let failure { failures.append(failure) } }
                return failures
            }
            let measureFrom = monotonicNanos() + UInt64(warmup * 1e9)
            if failures.count < clients.count {
                let stopAt = measureFrom + UInt64(duration * 1e9)
                await withTaskGroup(of: Void.self) { loops in
                    for c in 0..<connections {
                        for _ in 0..<inFlight {
                            loops.addTask {
                                await Self.loop(
                                    client: clients[c], payload: payload, options: options,
                                    measureFrom: measureFrom, stopAt: stopAt, recorder: recorders[c])
                            }
                        }
                    }
                }
            }
            for client in clients { client.beginGracefulShutdown() }
            try await group.waitForAll()
            return (measureFrom, failures.count, failures.first)
        }
        if measured.connectFailures == clients.count {
            FileHandle.standardError.write(Data("error: \(measured.lastConnectError ?? "cannot connect")\n".utf8))
            throw ExitCode(2)
        }
        try report(recorders.map(\.snapshot), measureFrom: measured.measureFrom)
    }

    /// One unary call; the answer must be the payload.
    static func call(_ client: GRPCClient<HTTP2ClientTransport.Posix>, _ payload: [UInt8], _ options: CallOptions) async throws -> Int {
        let answer = try await client.unary(
            request: ClientRequest(message: payload), descriptor: Echo.method,
            serializer: RawSerializer(), deserializer: RawDeserializer(), options: options
        ) { response in
            try response.message
        }
        guard answer == payload else { throw RPCError(code: .dataLoss, message: "the echo differs from the request") }
        return answer.count
    }

    /// One closed loop: a call starts when the previous one ended; calls started before
    /// `measureFrom` are made but not recorded; the loop stops after the first call ending at or
    /// after `stopAt`.
    static func loop(
        client: GRPCClient<HTTP2ClientTransport.Posix>, payload: [UInt8], options: CallOptions,
        measureFrom: UInt64, stopAt: UInt64, recorder: Recorder
    ) async {
        var start = monotonicNanos()
        while true {
            var failure: String?
            do {
                _ = try await call(client, payload, options)
            } catch {
                failure = errorName(error)
            }
            let end = monotonicNanos()
            if start >= measureFrom { recorder.record(failure: failure, latency: end - start) }
            if end >= stopAt || Task.isCancelled { break }
            start = end
        }
        recorder.finished(at: monotonicNanos())
    }

    static func errorName(_ error: any Error) -> String {
        if let error = error as? RPCError { return String(describing: error.code).uppercased() }
        if let error = error as? RuntimeError { return "RUNTIME_" + String(describing: error.code).uppercased() }
        return "OTHER"
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? RPCError { return "\(String(describing: error.code).uppercased()): \(error.message)" }
        return "\(error)"
    }

    func report(_ results: [Recorder.Result], measureFrom: UInt64) throws {
        var histogram = Recorder.Result().histogram
        var ok: UInt64 = 0
        var errors: [String: UInt64] = [:]
        var finishedAt = measureFrom
        for result in results {
            histogram.add(result.histogram)
            ok += result.ok
            for (name, n) in result.errors { errors[name, default: 0] += n }
            finishedAt = max(finishedAt, result.finishedAt)
        }
        let errorCount = errors.values.reduce(0, +)
        let elapsed = Double(finishedAt - measureFrom) / 1e9
        let report = Report(
            server: server, connections: connections, inFlight: inFlight, payloadSize: payloadSize, warmup: warmup,
            calls: ok + errorCount, ok: ok, errors: errors, elapsed: elapsed,
            throughput: elapsed > 0 ? Double(ok) / elapsed : 0, latency: .init(histogram))
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.text)
        }
        if ok == 0 {
            FileHandle.standardError.write(Data("error: every measured call failed\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// What the loops of one connection measured (they share it under a lock, as waqtor-load's
/// loops share their connection's recorder: a histogram per loop, 1,600 at 50 × 32, costs memory).
final class Recorder: Sendable {
    struct Result: Sendable {
        /// Sized up front for latencies up to an hour (no resizing while recording).
        var histogram: Histogram<UInt64> = {
            var h = Histogram<UInt64>(highestTrackableValue: 3_600_000_000_000, numberOfSignificantValueDigits: .three)
            h.autoResize = true
            return h
        }()
        var ok: UInt64 = 0
        var errors: [String: UInt64] = [:]
        var finishedAt: UInt64 = 0
    }

    private let state = Mutex(Result())

    func record(failure: String?, latency: UInt64) {
        state.withLock { result in
            if let failure {
                result.errors[failure, default: 0] += 1
            } else {
                result.ok += 1
                result.histogram.record(latency)
            }
        }
    }

    func finished(at time: UInt64) {
        state.withLock { $0.finishedAt = max($0.finishedAt, time) }
    }

    var snapshot: Result { state.withLock { $0 } }
}

/// The fields and names of `waqtor-load ping --json`'s report (latencies in µs, one decimal), plus
/// `client`, naming the library measured.
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
    var client = "grpc-swift-2 2.4.3, grpc-swift-nio-transport 2.9.2 (HTTP/2 plaintext, NIOPosix), GRPCClient.unary from tasks"
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
        case client, server, connections, calls, ok, errors, latency
        case inFlight = "in_flight"
        case payloadSize = "payload_size"
        case warmup = "warmup_s"
        case elapsed = "elapsed_s"
        case throughput = "calls_per_s"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(client, forKey: .client)
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
            client      \(client)
            server      \(server)  (\(connections) connections × \(inFlight) in flight, payload \(payloadSize) B, warm-up \(warmup) s)
            calls       \(calls)  (ok \(ok), errors: \(errorText))
            elapsed     \(String(format: "%.3f", elapsed)) s
            throughput  \(String(format: "%.0f", throughput)) calls/s
            latency µs  p50 \(latency.p50)  p90 \(latency.p90)  p99 \(latency.p99)  p99.9 \(latency.p999)  max \(latency.max)  (mean \(latency.mean))
            """
    }
}
