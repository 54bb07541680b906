import ArgumentParser
import Foundation
import WaqtorRPC

/// The options every subcommand accepts. Later subcommands (`signup`, `login`, `instance …`)
/// include them with `@OptionGroup var global: GlobalOptions` and call ``withClient(_:)``.
struct GlobalOptions: ParsableArguments {
    static let defaultServer = "127.0.0.1:7420"
    static let defaultTimeout: Double = 10
    static let serverEnvironmentVariable = "WAQTOR_SERVER"

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Server address as host:port ([v6-address]:port for IPv6).",
            discussion: "Default: $WAQTOR_SERVER, else the server of the saved login (authenticated commands), else 127.0.0.1:7420.",
            valueName: "host:port"))
    var server: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Seconds to wait for connecting and for each call.",
            discussion: "Default: 10 (`ai draft`: 90 for the drafting call).",
            valueName: "seconds"))
    var timeout: Double?

    /// --timeout, else ``defaultTimeout``.
    var seconds: Double { timeout ?? Self.defaultTimeout }

    @Flag(name: .long, help: "Machine-readable JSON output on stdout.")
    var json = false

    @Option(name: .customLong("request-id"), help: ArgumentHelp("Request id sent with every call (appears in server logs).", valueName: "id"))
    var requestID: String?

    func validate() throws {
        _ = try endpoint()
        if let timeout, !(timeout.isFinite && timeout > 0) {
            throw ValidationError("--timeout must be a positive number of seconds, got \(timeout)")
        }
        if let requestID, requestID.isEmpty || !requestID.allSatisfy({ $0.isASCII && !$0.isWhitespace }) {
            throw ValidationError("--request-id must be non-empty printable ASCII without spaces")
        }
    }

    /// The server's host and port, from --server, $WAQTOR_SERVER or the default.
    func endpoint() throws -> ServerEndpoint {
        if let server {
            return try ServerEndpoint.parse(server, source: "--server")
        }
        if let value = ProcessInfo.processInfo.environment[Self.serverEnvironmentVariable], !value.isEmpty {
            return try ServerEndpoint.parse(value, source: "$\(Self.serverEnvironmentVariable)")
        }
        return try ServerEndpoint.parse(Self.defaultServer, source: "default")
    }

    var callTimeout: Duration { .milliseconds(Int64((seconds * 1000).rounded(.up))) }

    /// Options for one call: the timeout and, when given, the request id.
    var callOptions: CallOptions {
        var options = CallOptions(timeout: callTimeout)
        if let requestID { options.metadata[Metadata.Keys.requestID] = requestID }
        return options
    }

    /// Runs `body` with a client of the server (`endpoint`, else ``endpoint()``) and closes it
    /// afterwards. An ``RPCError`` thrown by `body` is reported (stderr, and stdout with --json) and
    /// becomes exit status 2; a ``CLIFailure`` is reported likewise with its own status.
    /// With `streaming`, calls have no default timeout (--timeout only bounds connecting), for
    /// streams that last as long as what they watch.
    func withClient<T>(endpoint: ServerEndpoint? = nil, streaming: Bool = false, _ body: (RPCClient) async throws -> T) async throws -> T {
        let endpoint = try endpoint ?? self.endpoint()
        let client = RPCClient(
            host: endpoint.host, port: endpoint.port,
            configuration: RPCClientConfiguration(connectTimeout: callTimeout, defaultTimeout: streaming ? nil : callTimeout))
        do {
            let result = try await body(client)
            await client.close()
            return result
        } catch let error as RPCError {
            await client.close()
            Output.reportError(error, json: json)
            throw ExitCode(Output.ExitStatus.rpcError)
        } catch let error as CLIFailure {
            await client.close()
            Output.reportFailure(error, json: json)
            throw ExitCode(error.status)
        } catch {
            await client.close()
            throw error
        }
    }
}

/// A parsed `host:port`.
struct ServerEndpoint: Equatable {
    var host: String
    var port: Int

    static func parse(_ text: String, source: String) throws -> ServerEndpoint {
        func invalid(_ why: String) -> ValidationError {
            ValidationError("\(source): \(why) (got '\(text)'; expected host:port, e.g. 127.0.0.1:7420 or [::1]:7420)")
        }
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw invalid("missing ']' after the IPv6 address") }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw invalid("missing ':port' after the IPv6 address") }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw invalid("missing ':port'") }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") { throw invalid("an IPv6 address must be written in brackets") }
        }
        guard !host.isEmpty else { throw invalid("missing host") }
        guard !host.contains(where: { $0.isWhitespace || $0 == "/" }) else { throw invalid("invalid host") }
        guard let port = Int(portText), (1...65535).contains(port) else {
            throw invalid("the port must be a number from 1 to 65535")
        }
        return ServerEndpoint(host: String(host), port: port)
    }

    var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
