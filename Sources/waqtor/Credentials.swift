import ArgumentParser
import Foundation
import WaqtorProto
import WaqtorRPC

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What `waqtor login` / `signup` remember: `$WAQTOR_CONFIG_DIR/credentials.json`.
struct StoredCredentials: Codable, Equatable {
    var server: String
    var token: String
    var expireTime: String?
    var email: String

    enum CodingKeys: String, CodingKey {
        case server, token, email
        case expireTime = "expire_time"
    }

    /// Whether `expire_time` is set and already passed.
    var isExpired: Bool {
        guard let expireTime else { return false }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plain = ISO8601DateFormatter()
        guard let date = formatter.date(from: expireTime) ?? plain.date(from: expireTime) else { return false }
        return date <= Date()
    }
}

/// A failure of the CLI itself (not of a call): printed as `error: …`, exits with `status`.
struct CLIFailure: Error {
    var message: String
    var status: Int32
}

/// The credentials file: `$WAQTOR_CONFIG_DIR/credentials.json`, else
/// `$XDG_CONFIG_HOME/waqtor/credentials.json`, else `~/.config/waqtor/credentials.json`.
/// The directory is created with mode 0700 and the file with mode 0600 (set when they are created,
/// never loosened afterwards); the file is replaced atomically.
enum CredentialStore {
    static let configDirectoryVariable = "WAQTOR_CONFIG_DIR"
    static let fileName = "credentials.json"

    static var directory: String {
        let environment = ProcessInfo.processInfo.environment
        if let dir = environment[configDirectoryVariable], !dir.isEmpty { return dir }
        if let xdg = environment["XDG_CONFIG_HOME"], !xdg.isEmpty { return xdg + "/waqtor" }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.config/waqtor"
    }

    static var path: String { directory + "/" + fileName }

    /// The stored credentials, or nil when there is no file.
    static func load() throws(CLIFailure) -> StoredCredentials? {
        let path = self.path
        guard let data = FileManager.default.contents(atPath: path) else {
            if FileManager.default.fileExists(atPath: path) {
                throw CLIFailure(message: "cannot read \(path)", status: Output.ExitStatus.notLoggedIn)
            }
            return nil
        }
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & 0o077 != 0 {
            Output.stderr("warning: \(path) is readable by other users; run `chmod 600 \(path)`")
        }
        do {
            return try JSONDecoder().decode(StoredCredentials.self, from: data)
        } catch {
            throw CLIFailure(
                message: "\(path) is not a valid credentials file: run `waqtor login` again",
                status: Output.ExitStatus.notLoggedIn)
        }
    }

    /// Writes `credentials` to a new file created with mode 0600 and renames it over the old one.
    static func save(_ credentials: StoredCredentials) throws(CLIFailure) {
        let directory = self.directory
        try makeDirectory(directory)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let data: Data
        do { data = try encoder.encode(credentials) + Data("\n".utf8) } catch {
            throw CLIFailure(message: "cannot encode the credentials: \(error)", status: 1)
        }
        let temporary = "\(directory)/.\(fileName).\(getpid()).tmp"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure("cannot create \(temporary)") }
        var ok = fchmod(fd, 0o600) == 0
        data.withUnsafeBytes { buffer in
            var offset = 0
            while ok, offset < buffer.count {
                let written = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    ok = false
                } else {
                    offset += written
                }
            }
        }
        ok = ok && fsync(fd) == 0
        let writeErrno = errno
        close(fd)
        guard ok, rename(temporary, path) == 0 else {
            errno = ok ? errno : writeErrno
            let error = failure("cannot write \(path)")
            unlink(temporary)
            throw error
        }
    }

    /// Deletes the file; true when there was one.
    @discardableResult
    static func delete() throws(CLIFailure) -> Bool {
        if unlink(path) == 0 { return true }
        if errno == ENOENT { return false }
        throw failure("cannot delete \(path)")
    }

    private static func makeDirectory(_ directory: String) throws(CLIFailure) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw CLIFailure(message: "\(directory) exists and is not a directory", status: 1)
            }
            return
        }
        // mkdir -p, each missing directory created with mode 0700 (never wider, even briefly).
        var path = directory.hasPrefix("/") ? "" : "."
        for component in directory.split(separator: "/", omittingEmptySubsequences: true) {
            path += "/" + component
            if mkdir(path, 0o700) != 0, errno != EEXIST { throw failure("cannot create \(path)") }
        }
    }

    private static func failure(_ what: String) -> CLIFailure {
        CLIFailure(message: "\(what): \(String(cString: strerror(errno)))", status: 1)
    }
}

/// `--token`, for every command that acts as a tenant or administrator.
struct AuthOptions: ParsableArguments {
    static let tokenEnvironmentVariable = "WAQTOR_TOKEN"

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Session token (wqs_…) or API key (wqk_…) to call with.",
            discussion: "Default: $WAQTOR_TOKEN, else the credentials saved by `waqtor login`.",
            valueName: "token"))
    var token: String?

    /// Where the credential came from, and the server the saved one belongs to.
    struct Credential {
        var token: String
        var source: String
        /// For a saved credential: the server it was issued by.
        var server: String?
    }

    /// The credential: --token, else $WAQTOR_TOKEN, else the credentials file.
    func credential() throws(CLIFailure) -> Credential {
        if let token, !token.isEmpty { return Credential(token: token, source: "--token") }
        if let value = ProcessInfo.processInfo.environment[Self.tokenEnvironmentVariable], !value.isEmpty {
            return Credential(token: value, source: "$\(Self.tokenEnvironmentVariable)")
        }
        guard let stored = try CredentialStore.load(), !stored.token.isEmpty else {
            throw CLIFailure(
                message: "not logged in: run `waqtor login` or set \(Self.tokenEnvironmentVariable)",
                status: Output.ExitStatus.notLoggedIn)
        }
        if stored.isExpired {
            throw CLIFailure(
                message: "the session of \(stored.email) expired at \(stored.expireTime ?? "?"): run `waqtor login` again",
                status: Output.ExitStatus.notLoggedIn)
        }
        return Credential(token: stored.token, source: CredentialStore.path, server: stored.server)
    }
}

extension GlobalOptions {
    /// Whether --server or $WAQTOR_SERVER chose the server (rather than the default).
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
            credential = try auth.credential()
            if let saved = credential.server {
                let savedEndpoint = try? ServerEndpoint.parse(saved, source: CredentialStore.path)
                if serverIsExplicit {
                    let chosen = try? endpoint()
                    if let savedEndpoint, let chosen, savedEndpoint != chosen {
                        throw CLIFailure(
                            message: "the saved login is for \(savedEndpoint.description), not \(chosen.description): "
                                + "run `waqtor login --server \(chosen.description)` or pass --token",
                            status: Output.ExitStatus.notLoggedIn)
                    }
                } else {
                    endpointOverride = savedEndpoint
                }
            }
        } catch let error as CLIFailure {
            Output.reportFailure(error, json: json)
            throw ExitCode(error.status)
        }
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
