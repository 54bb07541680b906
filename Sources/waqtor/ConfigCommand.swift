import ArgumentParser
import Foundation

/// `waqtor config list|show|use|delete`: the profiles of the credentials file (no call is made).
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "See and switch profiles: several servers or accounts in the credentials file.",
        discussion: """
            A profile is a server and the login on it, saved by `waqtor login --profile NAME` (or \
            signup). Commands use --profile NAME, else $WAQTOR_PROFILE, else the current profile \
            (`waqtor config use NAME`), else the profile named default. Tokens are never printed.
            """,
        subcommands: [List.self, Show.self, Use.self, Delete.self],
        defaultSubcommand: List.self)

    /// A profile as `config list --json` and `config show --json` print it (never its token).
    struct ProfileJSON: Encodable {
        var name, server, session: String
        var email, expireTime: String?
        var current, loggedIn: Bool
        enum CodingKeys: String, CodingKey {
            case name, server, session, email, current
            case expireTime = "expire_time", loggedIn = "logged_in"
        }
        init(name: String, profile: StoredCredentials?, current: Bool) {
            self.name = name
            server = profile?.server ?? ""
            session = profile?.sessionState ?? "logged out"
            email = profile?.email
            expireTime = profile?.isLoggedIn == true ? profile?.expireTime : nil
            self.current = current
            loggedIn = profile?.isLoggedIn == true && profile?.isExpired == false
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List the profiles; * marks the one commands use now. The default.")

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let global = self.global
            let file = try global.runLocal { () throws(CLIFailure) in try CredentialStore.read() } ?? CredentialFile()
            let selection = global.profileSelection(file: file)
            let names = file.profiles.keys.sorted()
            if global.json {
                struct Body: Encodable {
                    var currentProfile: String?
                    var selected: String
                    var profiles: [ProfileJSON]
                    var credentialsFile: String
                    enum CodingKeys: String, CodingKey {
                        case selected, profiles
                        case currentProfile = "current_profile", credentialsFile = "credentials_file"
                    }
                }
                Output.json(Body(
                    currentProfile: file.currentProfile, selected: selection.name,
                    profiles: names.map { ProfileJSON(name: $0, profile: file.profiles[$0], current: $0 == selection.name) },
                    credentialsFile: CredentialStore.path))
                return
            }
            guard !names.isEmpty else {
                Output.line("no profiles yet: `waqtor login` (or `waqtor login --profile NAME --server HOST:PORT`) saves one")
                return
            }
            Output.table(["", "PROFILE", "SERVER", "EMAIL", "SESSION", "EXPIRES"], names.map { name in
                let profile = file.profiles[name]
                return [name == selection.name ? "*" : "", name, profile?.server ?? "", profile?.email ?? "",
                        profile?.sessionState ?? "", profile?.isLoggedIn == true ? profile?.expireTime ?? "" : ""]
            })
            if selection.source == .flag || selection.source == .environment {
                Output.stderr("(* chosen by \(selection.source.rawValue); the current profile is \(file.currentProfile ?? CredentialFile.defaultProfile))")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Show the profile commands use now (or NAME): its server, login and session, and why it is the one.")

        @OptionGroup var global: GlobalOptions
        @Argument(
            help: ArgumentHelp("The profile (default: the one in use).", valueName: "name"),
            completion: .custom { _, _, _ in CredentialStore.peek().map { $0.profiles.keys.sorted() } ?? [] })
        var name: String?

        func run() async throws {
            let global = self.global
            let file = try global.runLocal { () throws(CLIFailure) in try CredentialStore.read() } ?? CredentialFile()
            var selection = global.profileSelection(file: file)
            if let name { selection = ProfileSelection(name: name, source: .flag) }
            let profile = file.profiles[selection.name]
            if name != nil, profile == nil {
                try global.runLocal { () throws(CLIFailure) in throw ConfigCommand.unknown(selection.name, file) }
            }
            // The server and the credential a command would use now.
            let explicit = (try? global.explicitEndpoint()) ?? nil
            let server = explicit?.description ?? profile?.server ?? GlobalOptions.defaultServer
            let serverSource = explicit != nil ? (global.server != nil ? "--server" : "$\(GlobalOptions.serverEnvironmentVariable)")
                : profile != nil ? "profile" : "default"
            let environment = ProcessInfo.processInfo.environment
            let tokenSource = !(environment[AuthOptions.tokenEnvironmentVariable] ?? "").isEmpty ? "$\(AuthOptions.tokenEnvironmentVariable)"
                : profile?.isLoggedIn == true ? "profile" : "none"
            if global.json {
                struct Body: Encodable {
                    var profile: ProfileJSON
                    var selectedBy, server, serverSource, tokenSource, credentialsFile: String
                    enum CodingKeys: String, CodingKey {
                        case profile, server
                        case selectedBy = "selected_by", serverSource = "server_source", tokenSource = "token_source"
                        case credentialsFile = "credentials_file"
                    }
                }
                Output.json(Body(
                    profile: ProfileJSON(name: selection.name, profile: profile, current: file.currentProfile == selection.name),
                    selectedBy: name != nil ? "argument" : selection.source.rawValue, server: server, serverSource: serverSource,
                    tokenSource: tokenSource, credentialsFile: CredentialStore.path))
                return
            }
            Output.fields([
                ("profile", selection.name + (name != nil ? "" : " (\(selection.source.rawValue))")),
                ("server", "\(server) (\(serverSource))"),
                ("email", profile?.email ?? ""),
                ("session", (profile?.sessionState ?? "none") + (profile?.isLoggedIn == true ? profile?.expireTime.map { ", expires \($0)" } ?? "" : "")),
                ("token from", tokenSource),
                ("credentials", CredentialStore.path),
            ])
        }
    }

    struct Use: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "use", abstract: "Make NAME the current profile: commands use it from now on.")

        @OptionGroup var global: GlobalOptions
        @Argument(
            help: ArgumentHelp("The profile (see `waqtor config list`).", valueName: "name"),
            completion: .custom { _, _, _ in CredentialStore.peek().map { $0.profiles.keys.sorted() } ?? [] })
        var name: String

        func run() async throws {
            let global = self.global
            let name = self.name
            let profile = try global.runLocal { () throws(CLIFailure) in
                guard let existing = try CredentialStore.read(), existing.profiles[name] != nil else {
                    throw ConfigCommand.unknown(name, try CredentialStore.read())
                }
                return try CredentialStore.modify { (file: inout CredentialFile) throws(CLIFailure) -> StoredCredentials in
                    guard let profile = file.profiles[name] else { throw ConfigCommand.unknown(name, file) }
                    file.currentProfile = name
                    return profile
                }
            }
            let overridden = ProcessInfo.processInfo.environment[ProfileSelection.environmentVariable].flatMap { $0.isEmpty || $0 == name ? nil : $0 }
            if global.json {
                struct Body: Encodable {
                    var currentProfile: String
                    var profile: ProfileJSON
                    enum CodingKeys: String, CodingKey { case profile, currentProfile = "current_profile" }
                }
                Output.json(Body(currentProfile: name, profile: ProfileJSON(name: name, profile: profile, current: true)))
            } else {
                Output.line("now using profile \(name): \(profile.server)" + (profile.email.map { ", \($0)" } ?? "") + " (\(profile.sessionState))")
            }
            if let overridden {
                Output.warning("$\(ProfileSelection.environmentVariable)=\(overridden) still chooses another profile in this shell; unset it to use \(name)")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete",
            abstract: "Forget a profile and its saved session (no call: `waqtor logout --profile NAME` ends the session first).")

        @OptionGroup var global: GlobalOptions
        @Argument(
            help: ArgumentHelp("The profile.", valueName: "name"),
            completion: .custom { _, _, _ in CredentialStore.peek().map { $0.profiles.keys.sorted() } ?? [] })
        var name: String

        func run() async throws {
            let global = self.global
            let name = self.name
            try global.runLocal { () throws(CLIFailure) in
                guard let existing = try CredentialStore.read(), existing.profiles[name] != nil else {
                    throw ConfigCommand.unknown(name, try CredentialStore.read())
                }
                try CredentialStore.modify { (file: inout CredentialFile) throws(CLIFailure) in
                    file.profiles[name] = nil
                    if file.currentProfile == name { file.currentProfile = nil }
                }
            }
            if global.json { Output.json(TenantJSON.Done()) } else { Output.line("deleted profile \(name)") }
        }
    }

    /// No such profile: exit 64, with the names there are.
    static func unknown(_ name: String, _ file: CredentialFile?) -> CLIFailure {
        let names = file?.profiles.keys.sorted() ?? []
        return CLIFailure(
            message: "there is no profile \(name) in \(CredentialStore.path)",
            status: Output.ExitStatus.usage,
            hint: (names.isEmpty ? "there are no profiles yet" : "the profiles are \(names.joined(separator: ", "))")
                + "; create one: waqtor login --profile \(name) --server HOST:PORT --email …")
    }
}
