import ArgumentParser
import Foundation

/// The options every product scenario shares (`waqtor-load login|profile|send-reply|campaign|webhook|mixed`).
struct LoadOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("RPC server address.", valueName: "host:port"))
    var server: String = "127.0.0.1:7420"

    @Option(name: .long, help: ArgumentHelp("The server's webhook listener (webhook.port).", valueName: "http://host:port"))
    var webhook: String = "http://127.0.0.1:7421"

    @Option(name: .long, help: ArgumentHelp("The gateway (the Evolution API simulator; its /_sim/ control routes connect numbers, inject customers' messages and list what was sent).", valueName: "http://host:port"))
    var gateway: String = "http://127.0.0.1:7422"

    @Option(name: .customLong("gateway-key"), help: ArgumentHelp("The gateway's API key (gateway.api_key), to read each number's webhook secret.", valueName: "key"))
    var gatewayKey: String = "waqtor-dev-gateway-key"

    @Option(name: [.customShort("c"), .long], help: "Connections (one RPCClient and one account each).")
    var connections: Int = 1

    @Option(name: [.customShort("m"), .customLong("in-flight")], help: "Calls in flight per connection (closed loops per connection; with --rate, schedules per connection).")
    var inFlight: Int = 1

    @Option(name: [.customShort("d"), .long], help: ArgumentHelp("Measure for this many seconds after the warm-up.", valueName: "seconds"))
    var duration: Double?

    @Option(name: [.customShort("n"), .long], help: ArgumentHelp("Measure this many calls after the warm-up (split evenly across the loops).", valueName: "n"))
    var requests: Int?

    @Option(name: .long, help: ArgumentHelp("Warm-up seconds: calls started before are made but not recorded (default 1; campaign: 0).", valueName: "seconds"))
    var warmup: Double?

    @Option(name: .long, help: ArgumentHelp("Open loop: start calls at this total rate, each at its scheduled time, and measure latency from that time (wrk2's correction for coordinated omission). Without it: closed loops.", valueName: "calls/s"))
    var rate: Double?

    @Option(name: .long, help: ArgumentHelp("Per-call timeout (send-reply: also the wait for SENT).", valueName: "seconds"))
    var timeout: Double = 10

    @Option(name: .customLong("setup-timeout"), help: ArgumentHelp("How long set-up may wait for a number to connect or a conversation to appear.", valueName: "seconds"))
    var setupTimeout: Double = 60

    @Option(name: .long, help: ArgumentHelp("Use these existing accounts instead of signing up: a file with one 'email password' per line (connection i uses line i modulo their count). For servers whose workers serve only some tenants (send.tenants, chat.tenants).", valueName: "file"))
    var accounts: String?

    @Option(name: .long, help: ArgumentHelp("Also write every call (warm-up included) to this CSV file: start_ms,began_ms,end_ms,operation,status,detail, in wall-clock ms since the epoch (open loop: start is the scheduled time, began when the call really began); status is OK or the error's name, detail what it said. tools/faults.sh reads it.", valueName: "file"))
    var timeline: String?

    @Option(name: .customLong("ready-file"), help: ArgumentHelp("Create this file when set-up is done and the calls start (a script waits for it before injecting a fault).", valueName: "file"))
    var readyFile: String?

    @Flag(name: .long, help: "Print one JSON object instead of the table.")
    var json = false

    @Flag(name: .long, help: "No progress line or set-up messages on stderr.")
    var quiet = false

    /// Checks the values; each scenario's `validate()` calls it (`defaultRequests`: the scenario
    /// has its own default when neither --duration nor --requests is given).
    func check(defaultRequests: Bool = false) throws {
        _ = try endpoint()
        for (name, url) in [("--webhook", webhook), ("--gateway", gateway)] {
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw ValidationError("\(name): expected http://host:port, got '\(url)'")
            }
        }
        guard connections >= 1 else { throw ValidationError("--connections must be at least 1") }
        guard inFlight >= 1 else { throw ValidationError("--in-flight must be at least 1") }
        switch (duration, requests) {
        case (nil, nil): if !defaultRequests { throw ValidationError("give --duration SECONDS or --requests N") }
        case (.some, .some): throw ValidationError("give either --duration or --requests, not both")
        case (let d?, nil): guard d > 0, d.isFinite else { throw ValidationError("--duration must be positive") }
        case (nil, let n?): guard n >= 1 else { throw ValidationError("--requests must be at least 1") }
        }
        if let warmup { guard warmup >= 0, warmup.isFinite else { throw ValidationError("--warmup must be zero or positive") } }
        if let rate { guard rate > 0, rate.isFinite else { throw ValidationError("--rate must be positive") } }
        guard timeout > 0, timeout.isFinite else { throw ValidationError("--timeout must be positive") }
        guard setupTimeout > 0, setupTimeout.isFinite else { throw ValidationError("--setup-timeout must be positive") }
    }

    /// `--server` split into host and port.
    func endpoint() throws -> (host: String, port: Int) {
        guard let colon = server.lastIndex(of: ":"),
              let port = Int(server[server.index(after: colon)...]), (1...65535).contains(port)
        else { throw ValidationError("--server: expected host:port, e.g. 127.0.0.1:7420; got '\(server)'") }
        var host = String(server[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw ValidationError("--server: missing host in '\(server)'") }
        return (host, port)
    }

    /// Whether the progress line and set-up messages go to stderr: only to a terminal, and not with --quiet.
    var chatty: Bool { !quiet && isatty(STDERR_FILENO) == 1 }

    var callTimeout: Duration { .milliseconds(Int64(timeout * 1000)) }

    /// The base URL without a trailing slash.
    static func trimmed(_ url: String) -> String {
        url.hasSuffix("/") ? String(url.dropLast()) : url
    }
}

/// Set-up or run failures that end the harness with a message (exit 2: nothing was measured).
struct HarnessFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Messages for the person running the harness.
enum Console {
    /// Always printed: errors and warnings.
    static func error(_ text: String) {
        FileHandle.standardError.write(Data("error: \(text)\n".utf8))
    }

    static func warning(_ text: String) {
        FileHandle.standardError.write(Data("warning: \(text)\n".utf8))
    }

    /// Set-up steps, only when `chatty`.
    static func note(_ text: String, chatty: Bool) {
        guard chatty else { return }
        FileHandle.standardError.write(Data("\(text)\n".utf8))
    }
}
