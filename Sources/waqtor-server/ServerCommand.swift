import ArgumentParser
import Foundation
import Logging
import WaqtorApp

/// Options shared by every subcommand.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "A JSON configuration file (also WAQTOR_CONFIG).")
    var config: String?

    @Option(name: .customLong("set"), help: ArgumentHelp("Override one key, e.g. --set rpc.port=7420 (repeatable).", valueName: "key=value"))
    var overrides: [String] = []

    @Option(name: .long, help: "Shorthand for --set role=…: api, worker or all.")
    var role: String?

    @Option(name: .long, help: "Shorthand for --set rpc.port=….")
    var port: Int?

    func load() throws -> WaqtorConfiguration {
        var all = overrides
        if let role { all.append("role=\(role)") }
        if let port { all.append("rpc.port=\(port)") }
        do {
            return try ConfigurationLoader.load(file: config, overrides: all)
        } catch {
            throw ValidationError(error.description)
        }
    }
}

@main
struct WaqtorServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "waqtor-server",
        abstract: "The WaQtor core server: RPC API and send-queue workers.",
        subcommands: [Serve.self, Migrate.self, MakeAdmin.self, PrintConfig.self],
        defaultSubcommand: Serve.self)
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply migrations, start the server's role, and run until SIGTERM or SIGINT.",
        discussion: "A first SIGTERM or SIGINT drains (calls in flight finish, up to rpc.shutdown_grace); a second one stops at once.")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let configuration = try options.load()
        WaqtorLogging.bootstrap(level: configuration.logLevel, format: configuration.logFormat)
        let logger = Logger(label: "waqtor.server")
        let app = try WaqtorApplication(configuration: configuration, logger: logger, embeddedGateway: .simulator, embeddedAIProvider: .standIn)
        // Runs the role's services until SIGTERM or SIGINT (a graceful drain); a second signal
        // ends at once. See WaqtorApplication+Lifecycle.swift.
        do {
            try await app.run()
        } catch {
            logger.critical("server failed", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
        logger.info("stopped")
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending database migrations and exit.")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let configuration = try options.load()
        WaqtorLogging.bootstrap(level: configuration.logLevel, format: configuration.logFormat)
        let app = try WaqtorApplication(configuration: configuration, logger: Logger(label: "waqtor.migrate"))
        try await app.migrate()
        await app.shutdown()
    }
}

struct MakeAdmin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make-admin",
        abstract: "Make an existing account (signed up with `waqtor signup`) an administrator, and exit.",
        discussion: "Administrators grant plan upgrades and suspend accounts. This runs as the database owner role (database.migration_url), since the server's own role cannot grant it.")

    @Option(name: .long, help: "The account's email.")
    var email: String

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let configuration = try options.load()
        WaqtorLogging.bootstrap(level: configuration.logLevel, format: configuration.logFormat)
        let app = try WaqtorApplication(configuration: configuration, logger: Logger(label: "waqtor.admin"))
        if configuration.databaseMigrate { try await app.migrate() }
        let done = try await app.makeAdministrator(email: email)
        await app.shutdown()
        guard done else {
            print("error: no account with email \(email); sign up first (waqtor signup)")
            throw ExitCode(1)
        }
        print("\(email) is now an administrator")
    }
}

struct PrintConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "print-config", abstract: "Print the effective configuration (passwords hidden) and exit.")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let configuration = try options.load()
        print(ConfigurationDescription.lines(configuration).joined(separator: "\n"))
    }
}
