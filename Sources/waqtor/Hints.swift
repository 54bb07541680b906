import Foundation
import Synchronization
import WaqtorRPC

/// What a hint may name beyond the error itself: the command, the profile and where the
/// credential came from, the timeout, the server, the numbers involved. Gathered as the command
/// runs; a process runs one command, so one shared value serves.
struct HintContext: Sendable {
    enum TokenSource: Sendable { case none, flag, environment, profile }

    /// The command's words before its arguments' options, e.g. `["instance", "qr", "ID"]`.
    var command: [String] = HintContext.commandWords(CommandLine.arguments)
    /// The profile in use, when it is not `default` (the hint's commands then name it).
    var profile: String?
    var tokenSource: TokenSource = .none
    var timeoutSeconds: Double = GlobalOptions.defaultTimeout
    var server: String?
    var requestID: String?
    /// The WhatsApp numbers (instance ids) the failed call was about, when the command knows them.
    var instanceIDs: [String] = []

    /// The words after the program's name up to the first option.
    static func commandWords(_ arguments: [String]) -> [String] {
        Array(arguments.dropFirst().prefix { !$0.hasPrefix("-") })
    }

    /// `waqtor login` as the user should type it again (with `--profile` for another profile).
    var loginCommand: String { "waqtor login" + (profile.map { " --profile \($0)" } ?? "") }
}

/// What to do about an error: one line, printed as `hint: …` after the error and sent as the
/// JSON error object's `hint`.
enum Hints {
    private static let shared = Mutex(HintContext())

    static var context: HintContext { shared.withLock { $0 } }

    static func update(_ body: (inout HintContext) -> Void) {
        shared.withLock { value in
            var copy = value
            body(&copy)
            value = copy
        }
    }

    /// `retry-after-ms` of the error, when the server sent a number.
    static func retryAfter(_ error: RPCError) -> Int64? {
        error.metadata[Metadata.Keys.retryAfterMilliseconds].flatMap { Int64($0.trimmingCharacters(in: .whitespaces)) }
    }

    /// The hint for a failed call, from its status, its message and metadata, and the context; nil
    /// when there is nothing to add (a cancelled call).
    static func hint(for error: RPCError, context: HintContext) -> String? {
        let message = error.message.lowercased()
        let family = context.command.first ?? ""
        let wait = retryAfter(error).map(Output.retryDescription(milliseconds:))
        switch error.code {
        case .unauthenticated:
            if family == "login" { return "check the email and the password" }
            if message.contains("api key expired") { return "create a new API key: waqtor keys create" }
            switch context.tokenSource {
            case .flag, .environment:
                return "check --token / $WAQTOR_TOKEN (revoked or expired?), or log in again: \(context.loginCommand)"
            case .none, .profile:
                return "log in again: \(context.loginCommand)"
            }
        case .resourceExhausted:
            if let limit = error.metadata["limit"] {
                let upgrade = "upgrade your plan: waqtor plan upgrade"
                if let wait { return "wait \(wait) (the daily counter resets at midnight in your time zone), or \(upgrade)" }
                switch limit {
                case "contacts": return "delete some contacts, or \(upgrade)"
                case "whatsapp_instances": return "delete a number you no longer use (waqtor instance delete), or \(upgrade)"
                default: return upgrade
                }
            }
            if let wait { return "wait \(wait), then retry" }
            return "slow down, then retry"
        case .failedPrecondition:
            if message.contains("not connected") || message.contains("connection is down") || message.contains("pair") {
                return "pair the number first: " + pairCommands(context.instanceIDs)
            }
            if message.contains("operator") { return "ask the server's operator: it is the server's configuration" }
            if message.contains("not stored") || message.contains("could not be fetched") {
                return "the server does not have the file: open it on the phone, or ask for it again"
            }
            if let wait { return "retry in \(wait)" }
            return "the current state does not allow this: do what the message says first, then retry"
        case .unavailable:
            if let wait { return "retry in \(wait)" }
            if message.hasPrefix("cannot connect to the server") {
                return "is the server running at \(context.server ?? "that address")? check --server, $WAQTOR_SERVER or the profile (waqtor config show)"
            }
            return "retry in a moment"
        case .permissionDenied:
            if message.contains("administrators only") {
                return "log in with an administrator's account (the operator makes one: waqtor-server make-admin --email …)"
            }
            if message.contains("scope") { return "use an API key whose scope allows it (waqtor keys create --scope full), or log in: \(context.loginCommand)" }
            if message.contains("needs a session") { return "log in (\(context.loginCommand)) instead of using an API key for this" }
            if message.contains("suspended") { return "ask the administrator to reactivate the account" }
            if message.contains("password is not correct") { return "check the password" }
            return "this account may not do this: use another one (waqtor config list shows your profiles)"
        case .deadlineExceeded:
            let now = context.timeoutSeconds
            return "raise --timeout (now \(seconds(now)) s), e.g. --timeout \(seconds(max(now * 3, 30)))"
        case .invalidArgument:
            return "fix the value the message names (waqtor \(commandName(context)) --help lists the options)"
        case .notFound:
            if let listing = listing(family) { return "check the id: \(listing) shows them" }
            return "check the id"
        case .alreadyExists:
            if family == "signup" { return "that email has an account already: waqtor login --email …" }
            return "it exists already: use the existing one (the message names it), or choose another name"
        case .aborted:
            return "another change got there first: retry"
        case .outOfRange:
            return "a value is out of range: check it (a --page-token from another listing?)"
        case .unimplemented:
            return "the server does not know this call: it is older than this client; upgrade the server"
        case .internalError, .unknown, .dataLoss:
            let id = error.metadata[Metadata.Keys.requestID] ?? context.requestID
            return "the server failed: retry; if it keeps failing, tell the operator" + (id.map { " (request id \($0))" } ?? "")
        default:
            return nil
        }
    }

    /// `waqtor instance qr ID` for each number, or a placeholder and where to find it.
    static func pairCommands(_ ids: [String]) -> String {
        guard !ids.isEmpty else { return "waqtor instance qr <instance-id> (waqtor instance list shows which numbers are not open)" }
        return ids.map { "waqtor instance qr \($0)" }.joined(separator: ", or ")
    }

    /// The listing that shows the ids a command family takes.
    static func listing(_ family: String) -> String? {
        switch family {
        case "instance": "waqtor instance list"
        case "contact": "waqtor contact list"
        case "list": "waqtor list ls"
        case "campaign": "waqtor campaign list"
        case "chat": "waqtor chat list"
        case "keys": "waqtor keys list"
        case "plan": "waqtor plan"
        case "admin": "waqtor admin tenants (or admin requests)"
        default: nil
        }
    }

    /// The command's name for `--help`: its subcommand words (not its arguments).
    static func commandName(_ context: HintContext) -> String {
        let words = context.command.prefix(2)
        // A second word that looks like an id is an argument, not a subcommand.
        if words.count == 2, let second = words.last, second.contains(where: { $0.isNumber || $0 == "_" }) || second.count > 12 {
            return String(words.first!)
        }
        return words.isEmpty ? "<command>" : words.joined(separator: " ")
    }

    /// `10`, `0.5`.
    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%g", value)
    }
}
