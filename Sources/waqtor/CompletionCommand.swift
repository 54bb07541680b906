import ArgumentParser

/// `waqtor completion bash|zsh|fish`: the shell completion script, the same as
/// `waqtor --generate-completion-script SHELL` (swift-argument-parser writes both), under a name
/// people look for.
struct CompletionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "completion",
        abstract: "Print the shell completion script for bash, zsh or fish.",
        discussion: """
            Install it once (see docs/CLI.md, Shell completions):
              bash: waqtor completion bash > ~/.local/share/bash-completion/completions/waqtor
              zsh:  waqtor completion zsh > ~/.zfunc/_waqtor   (with fpath=(~/.zfunc $fpath) before compinit in ~/.zshrc)
              fish: waqtor completion fish > ~/.config/fish/completions/waqtor.fish
            Profile names (--profile, config use) are completed from the credentials file; the \
            script calls `waqtor` for them, so it must be on PATH under that name.
            """)

    enum Shell: String, ExpressibleByArgument, CaseIterable {
        case bash, zsh, fish
        var completionShell: CompletionShell {
            switch self {
            case .bash: .bash
            case .zsh: .zsh
            case .fish: .fish
            }
        }
    }

    @OptionGroup var global: GlobalOptions
    @Argument(help: ArgumentHelp("The shell.", valueName: "bash|zsh|fish")) var shell: Shell

    func run() async throws {
        let script = Waqtor.completionScript(for: shell.completionShell)
        if global.json {
            struct Body: Encodable { var shell, script: String }
            Output.json(Body(shell: shell.rawValue, script: script))
        } else {
            print(script, terminator: script.hasSuffix("\n") ? "" : "\n")
        }
    }
}
