import ArgumentParser
import Foundation
import WaqtorProto
import WaqtorRPC

/// Saves a new session into the selected profile of the credentials file (with the server it
/// came from) and prints the outcome. The first profile saved becomes the current one; another
/// one is only named, and `waqtor config use` switches to it.
private func saveSession(
    _ session: Waqtor_V1_Session?, tenant: Waqtor_V1_Tenant?, email: String, endpoint: ServerEndpoint, global: GlobalOptions,
    verb: String
) throws {
    guard let session, !session.token.isEmpty else {
        throw CLIFailure(message: "the server returned no session token", status: 1)
    }
    let expireTime = session.expireTime.map(Output.rfc3339)
    let (name, isCurrent) = try global.runLocal { () throws(CLIFailure) in
        try CredentialStore.modify { (file: inout CredentialFile) throws(CLIFailure) -> (String, Bool) in
            let name = global.profileSelection(file: file).name
            file.profiles[name] = StoredCredentials(
                server: endpoint.description, token: session.token, expireTime: expireTime, email: tenant?.email ?? email)
            if file.currentProfile == nil || file.profiles[file.currentProfile ?? ""] == nil { file.currentProfile = name }
            return (name, file.currentProfile == name)
        }
    }
    if global.json {
        struct Body: Encodable { var tenant: TenantJSON.Tenant?; var session: TenantJSON.Session }
        Output.json(Body(
            tenant: tenant.map(TenantJSON.Tenant.init),
            session: .init(expireTime: expireTime, credentialsFile: CredentialStore.path, profile: name)))
    } else {
        Output.line("\(verb) as \(tenant?.email ?? email) on \(endpoint.description)"
            + (expireTime.map { "; the session expires at \($0)" } ?? ""))
        Output.line("credentials saved to \(CredentialStore.path) (profile \(name))")
        if !isCurrent {
            Output.line("profile \(name) is not the current one: pass --profile \(name), or switch with `waqtor config use \(name)`")
        }
    }
}

/// `waqtor signup`: TenantService.SignUp, then saves the session like `login`.
struct SignUpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signup",
        abstract: "Create a tenant account and log in to it (TenantService.SignUp).",
        discussion: """
            The password is asked on the terminal (twice, without echo), or read from the first \
            line of stdin with --password-stdin. It is never a command-line argument.
            """)

    @OptionGroup var global: GlobalOptions
    @Option(help: ArgumentHelp("The business's display name.", valueName: "name")) var name: String
    @Option(help: ArgumentHelp("The login email.", valueName: "email")) var email: String
    @Option(name: .customLong("time-zone"), help: ArgumentHelp("IANA time zone, e.g. Africa/Cairo.", valueName: "zone"))
    var timeZone: String
    @Flag(name: .customLong("password-stdin"), help: "Read the password from the first line of stdin.")
    var passwordStdin = false

    func run() async throws {
        let global = self.global
        let endpoint = try global.endpoint()
        var request = Waqtor_V1_SignUpRequest()
        request.name = name
        request.email = email
        request.timeZone = timeZone
        try global.runLocal { () throws(CLIFailure) in request.password = try PasswordInput.newPassword(fromStdin: passwordStdin) }
        let sent = request
        try await global.withTenantClient { tenants, options in
            let response = try await tenants.signUp(sent, options: options)
            try saveSession(response.session, tenant: response.tenant, email: sent.email, endpoint: endpoint, global: global, verb: "signed up")
        }
    }
}

/// `waqtor login`: TenantService.Login; saves the session token in the credentials file.
struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Log in and save the session in the credentials file (TenantService.Login).",
        discussion: """
            The password is asked on the terminal without echo, or read from the first line of \
            stdin with --password-stdin. The session token is saved with the server address in \
            the profile (--profile, $WAQTOR_PROFILE, else the current one, else default) of \
            $WAQTOR_CONFIG_DIR/credentials.json (mode 0600); later commands use it. Without \
            --server, the profile's server.
            """)

    @OptionGroup var global: GlobalOptions
    @Option(help: ArgumentHelp("The login email.", valueName: "email")) var email: String
    @Flag(name: .customLong("password-stdin"), help: "Read the password from the first line of stdin.")
    var passwordStdin = false

    func run() async throws {
        let global = self.global
        let endpoint = try global.endpoint()
        var request = Waqtor_V1_LoginRequest()
        request.email = email
        try global.runLocal { () throws(CLIFailure) in request.password = try PasswordInput.existingPassword(fromStdin: passwordStdin) }
        let sent = request
        try await global.withTenantClient { tenants, options in
            let response = try await tenants.login(sent, options: options)
            try saveSession(response.session, tenant: response.tenant, email: sent.email, endpoint: endpoint, global: global, verb: "logged in")
        }
    }
}

/// `waqtor logout`: TenantService.Logout, then removes the session from its profile.
struct LogoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logout",
        abstract: "End the session and remove it from the profile (TenantService.Logout).",
        discussion: """
            The session is removed from the credentials file even when the server cannot be \
            reached or no longer knows it (UNAUTHENTICATED); the error is still reported. The \
            profile keeps its server, for the next `waqtor login`.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var auth: AuthOptions

    func run() async throws {
        let global = self.global
        var failure: Error?
        do {
            try await global.withAuthenticatedClient(auth) { tenants, options in
                _ = try await tenants.logout(Waqtor_V1_LogoutRequest(), options: options)
            }
        } catch {
            failure = error
        }
        // A token given by --token or $WAQTOR_TOKEN is not the saved one: leave the file alone then.
        var removed: String?
        if !auth.isGivenExplicitly {
            removed = try global.runLocal { () throws(CLIFailure) in
                guard CredentialStore.peek() != nil else { return nil }
                return try CredentialStore.modify { (file: inout CredentialFile) throws(CLIFailure) -> String? in
                    let name = global.profileSelection(file: file).name
                    guard file.profiles[name]?.isLoggedIn == true else { return nil }
                    // The profile keeps its server (and email), so that `waqtor login` finds it again.
                    file.profiles[name]?.token = nil
                    file.profiles[name]?.expireTime = nil
                    return name
                }
            }
        }
        if let failure { throw failure }
        if global.json {
            Output.json(TenantJSON.Done())
        } else {
            Output.line(removed.map { "logged out; removed the session of profile \($0) from \(CredentialStore.path)" } ?? "logged out")
        }
    }
}

/// `waqtor whoami`: TenantService.GetProfile.
struct WhoAmICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "whoami", abstract: "Show the tenant you are calling as (TenantService.GetProfile).")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var auth: AuthOptions

    func run() async throws {
        let global = self.global
        let response = try await global.withAuthenticatedClient(auth) { tenants, options in
            try await tenants.getProfile(Waqtor_V1_GetProfileRequest(), options: options)
        }
        printTenant(response.tenant, global: global)
    }
}

/// Prints `{"tenant":…}` or the tenant's fields.
func printTenant(_ tenant: Waqtor_V1_Tenant?, global: GlobalOptions) {
    if global.json {
        struct Body: Encodable { var tenant: TenantJSON.Tenant? }
        Output.json(Body(tenant: tenant.map(TenantJSON.Tenant.init)))
    } else if let tenant {
        Output.tenantFields(tenant)
    }
}

/// `waqtor profile update`.
struct ProfileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile", abstract: "Change your tenant's profile.", subcommands: [Update.self])

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "update", abstract: "Change the name or time zone (TenantService.UpdateProfile).")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @Option(help: ArgumentHelp("The new display name.", valueName: "name")) var name: String?
        @Option(name: .customLong("time-zone"), help: ArgumentHelp("The new IANA time zone.", valueName: "zone"))
        var timeZone: String?

        func validate() throws {
            if name == nil, timeZone == nil { throw ValidationError("give --name, --time-zone or both") }
        }

        func run() async throws {
            let global = self.global
            var request = Waqtor_V1_UpdateProfileRequest()
            if let name { request.name = name; request.updatePaths.append("name") }
            if let timeZone { request.timeZone = timeZone; request.updatePaths.append("time_zone") }
            let sent = request
            let response = try await global.withAuthenticatedClient(auth) { tenants, options in
                try await tenants.updateProfile(sent, options: options)
            }
            printTenant(response.tenant, global: global)
        }
    }
}

/// `waqtor password change`.
struct PasswordCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "password", abstract: "Manage your password.", subcommands: [Change.self])

    struct Change: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "change",
            abstract: "Change the password; your other sessions end (TenantService.ChangePassword).",
            discussion: """
                Asks for the current password and the new one (twice) on the terminal, or reads \
                two stdin lines with --password-stdin: the current password, then the new one.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @Flag(name: .customLong("password-stdin"), help: "Read the current and the new password from two stdin lines.")
        var passwordStdin = false

        func run() async throws {
            let global = self.global
            var request = Waqtor_V1_ChangePasswordRequest()
            request.revokeOtherSessions = true
            try global.runLocal { () throws(CLIFailure) in
                request.currentPassword = try PasswordInput.existingPassword(fromStdin: passwordStdin, what: "current password")
                request.newPassword = try PasswordInput.newPassword(fromStdin: passwordStdin, what: "new password")
            }
            let sent = request
            try await global.withAuthenticatedClient(auth) { tenants, options in
                _ = try await tenants.changePassword(sent, options: options)
            }
            if global.json { Output.json(TenantJSON.Done()) } else { Output.line("password changed; your other sessions ended") }
        }
    }
}

/// `waqtor account delete`.
struct AccountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "account", abstract: "Manage your tenant account.", subcommands: [Delete.self])

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete",
            abstract: "Delete your account and all its data, for good (TenantService.DeleteAccount).",
            discussion: """
                --confirm must be the account's email. The password is asked on the terminal, or \
                read from the first stdin line with --password-stdin. On success its sessions \
                are removed from the profiles too.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @Option(help: ArgumentHelp("The account's email, to confirm.", valueName: "email")) var confirm: String
        @Flag(name: .customLong("password-stdin"), help: "Read the password from the first line of stdin.")
        var passwordStdin = false

        func run() async throws {
            let global = self.global
            var request = Waqtor_V1_DeleteAccountRequest()
            request.confirmEmail = confirm
            try global.runLocal { () throws(CLIFailure) in request.password = try PasswordInput.existingPassword(fromStdin: passwordStdin) }
            let sent = request
            try await global.withAuthenticatedClient(auth) { tenants, options in
                _ = try await tenants.deleteAccount(sent, options: options)
            }
            // The sessions of the deleted account end with it: remove them from its profiles.
            var cleared: [String] = []
            if CredentialStore.peek() != nil {
                cleared = (try? CredentialStore.modify { (file: inout CredentialFile) throws(CLIFailure) -> [String] in
                    let names = file.profiles.filter { $0.value.isLoggedIn && $0.value.email?.lowercased() == confirm.lowercased() }.keys.sorted()
                    for name in names {
                        file.profiles[name]?.token = nil
                        file.profiles[name]?.expireTime = nil
                    }
                    return names
                }) ?? []
            }
            if global.json {
                Output.json(TenantJSON.Done())
            } else {
                Output.line("account \(confirm) deleted"
                    + (cleared.isEmpty ? "" : "; removed its session from profile \(cleared.joined(separator: ", "))"))
            }
        }
    }
}

extension GlobalOptions {
    /// Runs local work (password prompts, file writes); a ``CLIFailure`` is reported and becomes its exit status.
    @discardableResult
    func runLocal<T>(_ body: () throws(CLIFailure) -> T) throws -> T {
        do {
            return try body()
        } catch {
            Output.reportFailure(error, json: json)
            throw ExitCode(error.status)
        }
    }
}
