import ArgumentParser
import Foundation
import WaqtorProto
import WaqtorRPC

/// `--page-size` and `--page-token`, for the listing commands.
struct PageOptions: ParsableArguments {
    @Option(name: .customLong("page-size"), help: ArgumentHelp("At most this many results (0: the server's default, at most 100).", valueName: "n"))
    var pageSize: Int32 = 0
    @Option(name: .customLong("page-token"), help: ArgumentHelp("Continue after an earlier listing (its next page token).", valueName: "token"))
    var pageToken: String = ""

    func validate() throws {
        guard (0...100).contains(pageSize) else { throw ValidationError("--page-size must be from 0 to 100, got \(pageSize)") }
    }
}

/// `waqtor keys create|list|revoke`.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Manage API keys for your services.", subcommands: [Create.self, List.self, Revoke.self])

    enum Scope: String, ExpressibleByArgument, CaseIterable {
        case full
        case sendOnly = "send-only"
        case readOnly = "read-only"

        var proto: Waqtor_V1_ApiKeyScope {
            switch self {
            case .full: .full
            case .sendOnly: .sendOnly
            case .readOnly: .readOnly
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create",
            abstract: "Create an API key and print its secret, once (TenantService.CreateApiKey).",
            discussion: """
                The secret is shown only now: store it (e.g. as WAQTOR_TOKEN of the service that \
                uses it). full: everything except managing the account (profile, password, keys, \
                plan requests, deletion: those need a login session); send-only: sending \
                messages and driving campaigns; read-only: read calls. With --expires-in the \
                key stops working after that time; without it, it works until revoked.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @Option(help: ArgumentHelp("A label for the key.", valueName: "name")) var name: String
        @Option(help: ArgumentHelp("What the key may do: full, send-only or read-only.", valueName: "scope")) var scope: Scope
        @Option(name: .customLong("expires-in"),
                help: ArgumentHelp("Make the key expire after this long: a whole number with m (minutes), h (hours) or d (days), e.g. 90d; at most 3653d (10 years). Default: never.", valueName: "duration"))
        var expiresIn: String?

        func validate() throws {
            if let expiresIn { _ = try Self.seconds(expiresIn) }
        }

        /// `30m`, `12h`, `90d` in seconds.
        static func seconds(_ text: String) throws -> Int64 {
            let units: [Character: Int64] = ["m": 60, "h": 3600, "d": 86_400]
            guard let unit = text.last.flatMap({ units[$0] }), let count = Int64(text.dropLast()), count > 0,
                  count <= 3653 * 86_400 / unit
            else {
                throw ValidationError("--expires-in must be a whole number above 0 with m, h or d, at most 3653d (e.g. 90d, 12h), got '\(text)'")
            }
            return count * unit
        }

        func run() async throws {
            let global = self.global
            var request = Waqtor_V1_CreateApiKeyRequest()
            request.name = name
            request.scope = scope.proto
            if let expiresIn {
                var expiry = Google_Protobuf_Timestamp.now()
                expiry.seconds += try Self.seconds(expiresIn)
                request.expireTime = expiry
            }
            let sent = request
            let response = try await global.withAuthenticatedClient(auth) { tenants, options in
                try await tenants.createApiKey(sent, options: options)
            }
            if global.json {
                struct Body: Encodable {
                    var apiKey: TenantJSON.ApiKey?
                    var secret: String
                    enum CodingKeys: String, CodingKey { case secret, apiKey = "api_key" }
                }
                Output.json(Body(apiKey: response.apiKey.map(TenantJSON.ApiKey.init), secret: response.secret))
            } else {
                if let key = response.apiKey {
                    Output.fields([("id", key.id), ("name", key.name), ("scope", Names.scope(key.scope)), ("prefix", key.secretPrefix),
                                   ("expires", key.expireTime.map(Output.rfc3339) ?? "never")])
                }
                Output.line("secret: \(response.secret)")
            }
            Output.warning("the secret is not shown again; store it now (for scripts: WAQTOR_TOKEN=<secret>)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List your API keys, never their secrets (TenantService.ListApiKeys).")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @OptionGroup var page: PageOptions
        @Flag(name: .customLong("include-revoked"), help: "List revoked keys too.") var includeRevoked = false

        func run() async throws {
            let global = self.global
            var request = Waqtor_V1_ListApiKeysRequest()
            request.pageSize = page.pageSize
            request.pageToken = page.pageToken
            request.includeRevoked = includeRevoked
            let sent = request
            let response = try await global.withAuthenticatedClient(auth) { tenants, options in
                try await tenants.listApiKeys(sent, options: options)
            }
            if global.json {
                struct Body: Encodable {
                    var apiKeys: [TenantJSON.ApiKey]
                    var nextPageToken: String
                    enum CodingKeys: String, CodingKey { case apiKeys = "api_keys", nextPageToken = "next_page_token" }
                }
                Output.json(Body(apiKeys: response.apiKeys.map(TenantJSON.ApiKey.init), nextPageToken: response.nextPageToken))
            } else {
                Output.keyTable(response.apiKeys)
                Output.nextPage(response.nextPageToken)
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "revoke", abstract: "Revoke an API key at once (TenantService.RevokeApiKey).")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @Argument(help: ArgumentHelp("The key's id (see `waqtor keys list`).", valueName: "id")) var id: String

        func run() async throws {
            let global = self.global
            var request = Waqtor_V1_RevokeApiKeyRequest()
            request.apiKeyID = id
            let sent = request
            let response = try await global.withAuthenticatedClient(auth) { tenants, options in
                try await tenants.revokeApiKey(sent, options: options)
            }
            if global.json {
                struct Body: Encodable {
                    var apiKey: TenantJSON.ApiKey?
                    enum CodingKeys: String, CodingKey { case apiKey = "api_key" }
                }
                Output.json(Body(apiKey: response.apiKey.map(TenantJSON.ApiKey.init)))
            } else {
                Output.line("revoked key \(id)" + (response.apiKey.map { " (\($0.name))" } ?? ""))
            }
        }
    }
}
