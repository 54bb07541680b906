import Foundation
import Testing
@testable import WaqtorApp
import WaqtorProto
import WaqtorRPC
import WaqtorTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Profiles (`--profile`, `$WAQTOR_PROFILE`, `waqtor config`) and shell completions.
@Suite("CLI: profiles and shell completions")
struct CLIConfigTests {
    /// The file's mode bits (permissions only).
    static func mode(_ path: String) -> mode_t {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_mode & 0o777 : 0
    }

    @Test("a single-login credentials file is read as the profile default; a second account in a profile; config list, show, use and delete; logout keeps the profile's server; 0600 and 0700 throughout")
    func profiles() async throws {
        try await withApplication(tenantTestConfiguration()) { app, client in
            let port = app.rpcPort ?? 0
            let cli = try CLI(port: port)
            defer { cli.remove() }
            // The format of earlier versions: one login, no profiles.
            let first = try await signUp(Waqtor_V1_TenantServiceClient(client: client), name: "First")
            let old = #"{"email":"\#(first.email)","server":"127.0.0.1:\#(port)","token":"\#(first.token)"}"# + "\n"
            #expect(FileManager.default.createFile(atPath: cli.credentialsFile.path, contents: Data(old.utf8), attributes: [.posixPermissions: 0o600]))

            // No --server: the profile's server.
            let migrated = try await cli.run(["whoami", "--json"], server: false)
            #expect(string(try migrated.json(), "tenant", "email") == first.email, "\(migrated)")
            let listed = try await cli.run(["config", "list", "--json"], server: false)
            #expect(string(try listed.json(), "current_profile") == "default", "\(listed)")
            #expect(string(try listed.json(), "profiles", "0", "name") == "default")
            #expect(value(try listed.json(), "profiles", "0", "logged_in") as? Bool == true)
            #expect(!listed.stdout.contains(first.token), "never the token")

            // A second account in its own profile; the current profile stays.
            let secondEmail = try await cli.signUp(name: "Second", profile: "work")
            let file = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: cli.credentialsFile)) as? [String: Any])
            #expect(value(file, "version") as? Int == 2)
            #expect(string(file, "current_profile") == "default")
            #expect(string(file, "profiles", "default", "token") == first.token, "the old login became the profile default")
            #expect(string(file, "profiles", "work", "email") == secondEmail)
            #expect(string(file, "profiles", "work", "server") == "127.0.0.1:\(port)")
            #expect(Self.mode(cli.credentialsFile.path) == 0o600)

            #expect(string(try await cli.run(["whoami", "--json"], server: false).json(), "tenant", "email") == first.email)
            #expect(string(try await cli.run(["whoami", "--json", "--profile", "work"], server: false).json(), "tenant", "email") == secondEmail)
            let byEnvironment = try await cli.run(["whoami", "--json"], environment: ["WAQTOR_PROFILE": "work"], server: false)
            #expect(string(try byEnvironment.json(), "tenant", "email") == secondEmail, "\(byEnvironment)")

            let use = try await cli.run(["config", "use", "work", "--json"], server: false)
            #expect(string(try use.json(), "current_profile") == "work", "\(use)")
            #expect(string(try await cli.run(["whoami", "--json"], server: false).json(), "tenant", "email") == secondEmail)
            let show = try await cli.run(["config", "show", "--json"], server: false)
            #expect(string(try show.json(), "profile", "name") == "work", "\(show)")
            #expect(string(try show.json(), "selected_by") == "current profile")
            #expect(string(try show.json(), "server") == "127.0.0.1:\(port)")
            #expect(string(try show.json(), "token_source") == "profile")
            let text = try await cli.run(["config", "list"], server: false)
            #expect(text.stdout.split(separator: "\n").contains { $0.hasPrefix("*  work") }, "\(text)")

            // Logging out of a profile keeps its server, so that `waqtor login --profile` finds it.
            let logout = try await cli.run(["logout", "--profile", "default", "--json"], server: false)
            #expect(value(try logout.json(), "ok") as? Bool == true, "\(logout)")
            let after = try await cli.run(["config", "show", "default", "--json"], server: false)
            #expect(value(try after.json(), "profile", "logged_in") as? Bool == false, "\(after)")
            #expect(string(try after.json(), "profile", "server") == "127.0.0.1:\(port)")
            let notLoggedIn = try await cli.run(["whoami", "--profile", "default", "--json"], server: false)
            #expect(notLoggedIn.status == 3, "\(notLoggedIn)")
            #expect(string(try notLoggedIn.error(), "message") == "not logged in (profile default): run `waqtor login --profile default` or set WAQTOR_TOKEN")
            let relogin = try await cli.run(["login", "--profile", "default", "--email", first.email, "--password-stdin", "--json"],
                                            stdin: first.password + "\n", server: false)
            #expect(string(try relogin.json(), "session", "profile") == "default", "logged in again on the profile's server: \(relogin)")

            // Another server than the profile's: refused (the token is not sent elsewhere), with the way out.
            let elsewhere = try await cli.run(["whoami", "--json", "--server", "127.0.0.1:\(try TestNetwork.freeLocalPort())"], server: false)
            #expect(elsewhere.status == 3, "\(elsewhere)")
            #expect(string(try elsewhere.error(), "hint")?.contains("waqtor login --profile NAME --server") == true)

            let unknown = try await cli.run(["config", "use", "nope", "--json"], server: false)
            #expect(unknown.status == 64, "\(unknown)")
            #expect(string(try unknown.error(), "hint")?.hasPrefix("the profiles are default, work") == true, "\(unknown)")
            let missing = try await cli.run(["whoami", "--profile", "nope", "--json"], server: false)
            #expect(missing.status == 3, "\(missing)")
            #expect(string(try missing.error(), "message")?.contains("there is no profile nope") == true)
            let invalid = try await cli.run(["whoami", "--profile", "no good", "--json"], server: false)
            #expect(invalid.status == 64, "\(invalid)")

            let deleted = try await cli.run(["config", "delete", "default", "--json"], server: false)
            #expect(value(try deleted.json(), "ok") as? Bool == true, "\(deleted)")
            let remaining = try await cli.run(["config", "list", "--json"], server: false)
            #expect((value(try remaining.json(), "profiles") as? [[String: Any]])?.map { $0["name"] as? String } == ["work"])
        }

        // A new configuration directory is made 0700, the file 0600.
        try await withApplication(tenantTestConfiguration()) { app, _ in
            var cli = try CLI(app)
            defer { cli.remove() }
            let nested = cli.configDirectory.appendingPathComponent("a/b")
            cli.environment["WAQTOR_CONFIG_DIR"] = nested.path
            _ = try await cli.signUp()
            #expect(Self.mode(nested.path) == 0o700)
            #expect(Self.mode(nested.deletingLastPathComponent().path) == 0o700)
            #expect(Self.mode(nested.appendingPathComponent("credentials.json").path) == 0o600)
        }
    }

    @Test("completion scripts for bash, zsh and fish; bash completes subcommands and the profiles' names")
    func completions() async throws {
        let cli = try CLI(port: nil)
        defer { cli.remove() }
        for shell in ["bash", "zsh", "fish"] {
            let script = try await cli.run(["completion", shell], server: false)
            #expect(script.status == 0, "\(script)")
            let builtIn = try await cli.run(["--generate-completion-script", shell], server: false)
            #expect(script.stdout == builtIn.stdout, "waqtor completion \(shell) is ArgumentParser's script")
            let json = try await cli.run(["completion", shell, "--json"], server: false)
            #expect(string(try json.json(), "shell") == shell)
            let scriptInJSON = string(try json.json(), "script")
            #expect(scriptInJSON.map { $0.hasSuffix("\n") ? $0 : $0 + "\n" } == script.stdout, "the same script, ending in a line break on stdout")
        }
        #expect(try await cli.run(["completion", "zsh"], server: false).stdout.hasPrefix("#compdef waqtor"))
        #expect(try await cli.run(["completion", "fish"], server: false).stdout.contains("complete -c 'waqtor'"))
        let refused = try await cli.run(["completion", "tcsh", "--json"], server: false)
        #expect(refused.status == 64, "\(refused)")

        // bash, as a person's shell would load it: subcommands, and the profile names from the file.
        let profiles = #"{"current_profile":"alpha","profiles":{"alpha":{"server":"127.0.0.1:1"},"beta":{"server":"127.0.0.1:2"}},"version":2}"#
        #expect(FileManager.default.createFile(atPath: cli.credentialsFile.path, contents: Data(profiles.utf8), attributes: [.posixPermissions: 0o600]))
        let scriptPath = cli.configDirectory.appendingPathComponent("waqtor.bash").path
        try await cli.run(["completion", "bash"], server: false).stdout.write(toFile: scriptPath, atomically: true, encoding: .utf8)
        func complete(_ words: [String]) async throws -> [String] {
            let line = words.joined(separator: " ")
            let quoted = words.map { "'\($0)'" }.joined(separator: " ")
            let program = """
                source '\(scriptPath)'
                COMP_WORDS=(\(quoted)); COMP_CWORD=\(words.count - 1); COMP_LINE='\(line)'; COMP_POINT=${#COMP_LINE}
                _waqtor waqtor '\(words.last ?? "")' '\(words.dropLast().last ?? "")'
                printf '%s\\n' "${COMPREPLY[@]}"
                """
            let bash = ChildProcess()
            bash.executableURL = URL(fileURLWithPath: "/bin/bash")
            bash.arguments = ["-c", program]
            var environment = cli.processEnvironment([:])
            environment["PATH"] = (try cliExecutable()).deletingLastPathComponent().path + ":" + (environment["PATH"] ?? "")
            bash.environment = environment
            let out = Pipe()
            bash.standardOutput = out
            bash.standardError = FileHandle.nullDevice
            try bash.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            bash.waitUntilExit()
            return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
        }
        let subcommands = try await complete(["waqtor", "con"])
        #expect(Set(subcommands) == ["config", "contact"], "\(subcommands)")
        let names = try await complete(["waqtor", "whoami", "--profile", ""])
        #expect(names == ["alpha", "beta"], "\(names)")
        let configUse = try await complete(["waqtor", "config", "use", "b"])
        #expect(configUse == ["beta"], "\(configUse)")
    }
}
