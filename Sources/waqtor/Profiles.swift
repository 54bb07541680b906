import ArgumentParser
import Foundation
import WaqtorProto
import WaqtorRPC

/// The profile a command uses: `--profile`, else `$WAQTOR_PROFILE`, else the file's current
/// profile (`waqtor config use`), else `default`.
struct ProfileSelection: Equatable {
    static let environmentVariable = "WAQTOR_PROFILE"

    enum Source: String {
        case flag = "--profile"
        case environment = "$WAQTOR_PROFILE"
        case current = "current profile"
        case fallback = "default"
    }

    var name: String
    var source: Source

    static func select(flag: String?, environment: [String: String], file: CredentialFile?) -> ProfileSelection {
        if let flag, !flag.isEmpty { return ProfileSelection(name: flag, source: .flag) }
        if let value = environment[environmentVariable], !value.isEmpty { return ProfileSelection(name: value, source: .environment) }
        if let current = file?.currentProfile, !current.isEmpty { return ProfileSelection(name: current, source: .current) }
        return ProfileSelection(name: CredentialFile.defaultProfile, source: .fallback)
    }

    /// The `--profile NAME` commands in messages must repeat: only when --profile chose it (the
    /// environment and the current profile choose it again by themselves).
    var flagInCommands: String { source == .flag ? " --profile \(name)" : "" }
}

/// `--token`, for every command that acts as a tenant or administrator.
struct AuthOptions: ParsableArguments {
    static let tokenEnvironmentVariable = "WAQTOR_TOKEN"

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Session token (wqs_…) or API key (wqk_…) to call with.",
            discussion: "Default: $WAQTOR_TOKEN, else the session of the profile (`waqtor login`).",
            valueName: "token"))
    var token: String?

    /// Where the credential came from, and the server the saved one belongs to.
    struct Credential {
        var token: String
        var source: HintContext.TokenSource
        /// For a saved credential: the server it was issued by.
        var server: String?
    }

    /// Whether the credential comes from --token or $WAQTOR_TOKEN rather than a profile.
    var isGivenExplicitly: Bool {
        !(token ?? "").isEmpty || !(ProcessInfo.processInfo.environment[Self.tokenEnvironmentVariable] ?? "").isEmpty
    }

    /// The credential: --token, else $WAQTOR_TOKEN, else the session of the selected profile.
    func credential(_ global: GlobalOptions) throws(CLIFailure) -> Credential {
        if let token, !token.isEmpty { return Credential(token: token, source: .flag) }
        if let value = ProcessInfo.processInfo.environment[Self.tokenEnvironmentVariable], !value.isEmpty {
            return Credential(token: value, source: .environment)
        }
        let file = try CredentialStore.read()
        let selection = global.profileSelection(file: file)
        let named = selection.source == .fallback ? "" : " (profile \(selection.name))"
        guard let stored = file?.profiles[selection.name] else {
            if selection.source == .flag || selection.source == .environment {
                throw CLIFailure(
                    message: "there is no profile \(selection.name) in \(CredentialStore.path)",
                    status: Output.ExitStatus.notLoggedIn,
                    hint: "create it: waqtor login\(selection.flagInCommands) --server HOST:PORT --email …; waqtor config list shows the profiles")
            }
            throw CLIFailure(
                message: "not logged in\(named): run `waqtor login\(selection.flagInCommands)` or set \(Self.tokenEnvironmentVariable)",
                status: Output.ExitStatus.notLoggedIn)
        }
        guard let token = stored.token, !token.isEmpty else {
            throw CLIFailure(
                message: "not logged in\(named): run `waqtor login\(selection.flagInCommands)` or set \(Self.tokenEnvironmentVariable)",
                status: Output.ExitStatus.notLoggedIn)
        }
        if stored.isExpired {
            throw CLIFailure(
                message: "the session of \(stored.email ?? "the profile")\(named) expired at \(stored.expireTime ?? "?"): "
                    + "run `waqtor login\(selection.flagInCommands)` again",
                status: Output.ExitStatus.notLoggedIn)
        }
        return Credential(token: token, source: .profile, server: stored.server)
    }
}

extension GlobalOptions {
    /// The profile this command uses, given the credentials file's content.
    func profileSelection(file: CredentialFile?) -> ProfileSelection {
        ProfileSelection.select(flag: profile, environment: ProcessInfo.processInfo.environment, file: file)
    }

    /// Whether --server or $WAQTOR_SERVER chose the server (rather than the profile or the default).
    var serverIsExplicit: Bool {
        server != nil || !(ProcessInfo.processInfo.environment[Self.serverEnvironmentVariable] ?? "").isEmpty
    }

    /// Runs `body` as the caller named by `auth`, with call options that carry
    /// `authorization: Bearer <token>`. A saved credential is used with the server it was issued by
    /// (unless --server or $WAQTOR_SERVER names another one, which is refused: the token is not sent
    /// elsewhere). Missing credentials: message and exit status 3.
    func withAuthenticatedClient<T>(
        _ auth: AuthOptions, _ body: (Waqtor_V1_TenantServiceClient, CallOptions) async throws -> T
    ) async throws -> T {
        try await withAuthenticatedRPCClient(auth) { client, options in
            try await body(Waqtor_V1_TenantServiceClient(client: client), options)
        }
    }

    /// Like ``withAuthenticatedClient(_:_:)``, for the instance service.
    func withInstanceClient<T>(
        _ auth: AuthOptions, _ body: (Waqtor_V1_InstanceServiceClient, CallOptions) async throws -> T
    ) async throws -> T {
        try await withAuthenticatedRPCClient(auth) { client, options in
            try await body(Waqtor_V1_InstanceServiceClient(client: client), options)
        }
    }

    /// Like ``withAuthenticatedClient(_:_:)``, for the campaign service (contacts, lists and
    /// campaigns). With `streaming`, the call options carry no timeout (see ``withClient``).
    func withCampaignClient<T>(
        _ auth: AuthOptions, streaming: Bool = false, _ body: (Waqtor_V1_CampaignServiceClient, CallOptions) async throws -> T
    ) async throws -> T {
        try await withAuthenticatedRPCClient(auth, streaming: streaming) { client, options in
            try await body(Waqtor_V1_CampaignServiceClient(client: client), options)
        }
    }

    /// Resolves the credential of `auth` and runs `body` with a client of the right server and
    /// call options that carry the `authorization` metadata.
    func withAuthenticatedRPCClient<T>(
        _ auth: AuthOptions, streaming: Bool = false, _ body: (RPCClient, CallOptions) async throws -> T
    ) async throws -> T {
        let credential: AuthOptions.Credential
        var endpointOverride: ServerEndpoint?
        do {
            credential = try auth.credential(self)
            if let saved = credential.server {
                let savedEndpoint = try? ServerEndpoint.parse(saved, source: CredentialStore.path)
                if serverIsExplicit {
                    let chosen = try? endpoint()
                    if let savedEndpoint, let chosen, savedEndpoint != chosen {
                        let selection = profileSelection(file: CredentialStore.peek())
                        throw CLIFailure(
                            message: "the saved login is for \(savedEndpoint.description), not \(chosen.description): "
                                + "run `waqtor login --server \(chosen.description)` or pass --token",
                            status: Output.ExitStatus.notLoggedIn,
                            hint: "keep a profile per server: waqtor login --profile NAME --server \(chosen.description), "
                                + "then --profile NAME (profile \(selection.name) stays for \(savedEndpoint.description))")
                    }
                } else {
                    endpointOverride = savedEndpoint
                }
            }
        } catch let error as CLIFailure {
            Output.reportFailure(error, json: json)
            throw ExitCode(error.status)
        }
        Hints.update { $0.tokenSource = credential.source }
        var options = callOptions
        options.metadata[Metadata.Keys.authorization] = "Bearer \(credential.token)"
        if streaming { options.timeout = nil }
        let callOptions = options
        return try await withClient(endpoint: endpointOverride, streaming: streaming) { client in
            try await body(client, callOptions)
        }
    }

    /// Runs `body` with an unauthenticated tenant client (sign-up and login).
    func withTenantClient<T>(_ body: (Waqtor_V1_TenantServiceClient, CallOptions) async throws -> T) async throws -> T {
        let options = callOptions
        return try await withClient { client in
            try await body(Waqtor_V1_TenantServiceClient(client: client), options)
        }
    }
}
