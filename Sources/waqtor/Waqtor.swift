import ArgumentParser
import Foundation

/// `waqtor`: the command-line client of a WaQtor server.
///
/// Every subcommand takes the shared ``GlobalOptions`` (`--server`, `--timeout`, `--json`,
/// `--request-id`, `--profile`, `--quiet`) after its name, e.g. `waqtor ping --server 10.0.0.5:7420 --json`.
@main
struct Waqtor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "waqtor",
        abstract: "Command-line client of a WaQtor server.",
        discussion: """
            The server address comes from --server, else from the WAQTOR_SERVER environment \
            variable, else the server of the profile, else 127.0.0.1:7420.

            Commands that act as a tenant or administrator send the credential from --token, else \
            $WAQTOR_TOKEN, else the session of the profile saved by `waqtor login` \
            ($WAQTOR_CONFIG_DIR/credentials.json, default ~/.config/waqtor/credentials.json). The \
            profile is --profile, else $WAQTOR_PROFILE, else the current one (`waqtor config`).

            Errors are followed by a hint of what to do. Colours only on a terminal, never with \
            NO_COLOR set. Shell completions: `waqtor completion bash|zsh|fish`.

            Exit status: 0 success; 1 the command's check failed (e.g. `health` when not ready); \
            2 the call failed (an RPC error); 3 not logged in; 64 invalid command line.
            """,
        version: "0.1.0",
        subcommands: [
            PingCommand.self, HealthCommand.self,
            SignUpCommand.self, LoginCommand.self, LogoutCommand.self, WhoAmICommand.self,
            ProfileCommand.self, PasswordCommand.self, KeysCommand.self, PlanCommand.self, UsageCommand.self,
            AccountCommand.self, InstanceCommand.self, ContactCommand.self, ListCommand.self, CampaignCommand.self, AICommand.self, ChatCommand.self,
            AdminCommand.self, ConfigCommand.self, CompletionCommand.self,
        ]
    )

    /// ArgumentParser's own main, except that with --json a command line it refuses (exit 64) or
    /// an unexpected error also gives the JSON error object on stdout, like every other failure.
    static func main() async {
        do {
            var command = try await asyncParseAsRoot(nil)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            reportUnreported(error, arguments: CommandLine.arguments)
            exit(withError: error)
        }
    }

    /// `{"error":{"exit_status":…,"message":…,"hint":…}}` for an error nothing printed yet (a
    /// command's own failures were reported and come as ``ExitCode``), when --json was given.
    static func reportUnreported(_ error: any Error, arguments: [String]) {
        guard !(error is ExitCode), arguments.dropFirst().contains("--json") else { return }
        let status = exitCode(for: error)
        guard status != .success else { return }  // --help, --version
        let command = "waqtor " + Hints.commandName(HintContext(command: HintContext.commandWords(arguments)))
        struct Body: Encodable {
            struct Inner: Encodable { var message: String; var exit_status: Int32; var hint: String }
            var error: Inner
        }
        Output.json(Body(error: .init(
            message: message(for: error), exit_status: status.rawValue,
            hint: "see `\(command) --help`")))
    }
}
