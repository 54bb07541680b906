import ArgumentParser
import Foundation
import WaqtorRPC

/// The options every subcommand accepts. Later subcommands (`signup`, `login`, `instance …`)
/// include them with `@OptionGroup var global: GlobalOptions` and call ``withClient(_:)``.
/// The server is --server, else $WAQTOR_SERVER, else the server of the profile (``ProfileSelection``),
/// else 127.0.0.1:7420.
struct GlobalOptions: ParsableArguments {
    static let defaultServer = "127.0.0.1:7420"
    static let defaultTimeout: Double = 10
    static let serverEnvironmentVariable = "WAQTOR_SERVER"

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Server address as host:port ([v6-address]:port for IPv6).",
            discussion: "Default: $WAQTOR_SERVER, else the server of the profile, else 127.0.0.1:7420.",
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

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The profile of the credentials file: a server and its login (see `waqtor config list`).",
            discussion: "Default: $WAQTOR_PROFILE, else the current profile (`waqtor config use`), else default.",
            valueName: "name"),
        completion: .custom { _, _, _ in CredentialStore.peek().map { $0.profiles.keys.sorted() } ?? [] })
    var profile: String?

    @Flag(name: [.customShort("q"), .long], help: "No progress bars or spinners on stderr (campaign watch: only the summary).")
    var quiet = false

    /// Whether progress may be drawn: stderr is a terminal, and neither --quiet nor --json.
    var showsProgress: Bool { !quiet && !json && Terminal.isTerminal(2) }

    func validate() throws {
        _ = try explicitEndpoint()
        if let profile, !CredentialFile.isValidName(profile) {
            throw ValidationError("--profile must be a name of letters, digits, '.', '_' or '-' (at most 64, starting with a letter or digit), got '\(profile)'")
        }
        if profile == nil, let name = ProcessInfo.processInfo.environment[ProfileSelection.environmentVariable], !name.isEmpty,
           !CredentialFile.isValidName(name) {
            throw ValidationError("$\(ProfileSelection.environmentVariable) must be a profile name of letters, digits, '.', '_' or '-', got '\(name)'")
        }
        if let timeout, !(timeout.isFinite && timeout > 0) {
            throw ValidationError("--timeout must be a positive number of seconds, got \(timeout)")
        }
        if let requestID, requestID.isEmpty || !requestID.allSatisfy({ $0.isASCII && !$0.isWhitespace }) {
            throw ValidationError("--request-id must be non-empty printable ASCII without spaces")
        }
    }

    /// The server's host and port: --server, else $WAQTOR_SERVER, else the profile's server, else
    /// the default.
    func endpoint() throws -> ServerEndpoint {
        if let explicit = try explicitEndpoint() { return explicit }
        let file = CredentialStore.peek()
        let selection = profileSelection(file: file)
        if let saved = file?.profiles[selection.name]?.server, !saved.isEmpty {
            return try ServerEndpoint.parse(saved, source: "the server of profile \(selection.name) in \(CredentialStore.path)")
        }
        return try ServerEndpoint.parse(Self.defaultServer, source: "default")
    }

    /// The server given by --server or $WAQTOR_SERVER, if any.
    func explicitEndpoint() throws -> ServerEndpoint? {
        if let server {
            return try ServerEndpoint.parse(server, source: "--server")
        }
        if let value = ProcessInfo.processInfo.environment[Self.serverEnvironmentVariable], !value.isEmpty {
            return try ServerEndpoint.parse(value, source: "$\(Self.serverEnvironmentVariable)")
        }
        return nil
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
        // What the hints of this command's errors may name.
        Hints.update { context in
            context.server = endpoint.description
            context.timeoutSeconds = seconds
            context.requestID = requestID
            context.profile = profile.flatMap { $0.isEmpty ? nil : $0 }
        }
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
