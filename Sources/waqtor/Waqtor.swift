import ArgumentParser

/// `waqtor`: the command-line client of a WaQtor server.
///
/// Every subcommand takes the shared ``GlobalOptions`` (`--server`, `--timeout`, `--json`,
/// `--request-id`) after its name, e.g. `waqtor ping --server 10.0.0.5:7420 --json`.
@main
struct Waqtor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "waqtor",
        abstract: "Command-line client of a WaQtor server.",
        discussion: """
            The server address comes from --server, else from the WAQTOR_SERVER environment \
            variable, else the server of the saved login, else 127.0.0.1:7420.

            Commands that act as a tenant or administrator send the credential from --token, else \
            $WAQTOR_TOKEN, else the credentials saved by `waqtor login` \
            ($WAQTOR_CONFIG_DIR/credentials.json, default ~/.config/waqtor/credentials.json).

            Exit status: 0 success; 1 the command's check failed (e.g. `health` when not ready); \
            2 the call failed (an RPC error); 3 not logged in; 64 invalid command line.
            """,
        version: "0.1.0",
        subcommands: [
            PingCommand.self, HealthCommand.self,
            SignUpCommand.self, LoginCommand.self, LogoutCommand.self, WhoAmICommand.self,
            ProfileCommand.self, PasswordCommand.self, KeysCommand.self, PlanCommand.self, UsageCommand.self,
            AccountCommand.self, InstanceCommand.self, ContactCommand.self, ListCommand.self, CampaignCommand.self, AICommand.self, ChatCommand.self,
            AdminCommand.self,
        ]
    )
}
