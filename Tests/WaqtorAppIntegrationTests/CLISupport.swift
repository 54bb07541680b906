import Foundation
import NIOConcurrencyHelpers
import Testing
import WaqtorApp
import WaqtorTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The `waqtor` executable, built beside the test bundle (`swift build --build-tests` builds it).
func cliExecutable() throws -> URL {
    let bundleDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for candidate in [bundleDirectory, bundleDirectory.deletingLastPathComponent()] {
        let url = candidate.appendingPathComponent("waqtor")
        if FileManager.default.isExecutableFile(atPath: url.path) { return url }
    }
    throw TestSupportError("waqtor not found next to \(CommandLine.arguments[0]); build it with `swift build --build-tests`")
}

/// What a `waqtor` run gave.
struct CLIResult: CustomStringConvertible {
    var status: Int32
    var stdout: String
    var stderr: String

    /// Each line of stdout parsed as a JSON object (NDJSON).
    func objects() throws -> [[String: Any]] {
        try stdout.split(separator: "\n").map { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw TestSupportError("not a JSON object: \(line)")
            }
            return object
        }
    }

    /// The one JSON object on stdout.
    func json() throws -> [String: Any] {
        let all = try objects()
        guard all.count == 1, let only = all.first else { throw TestSupportError("expected one JSON line on stdout, got:\n\(self)") }
        return only
    }

    /// `{"error":{…}}` of a failed run.
    func error() throws -> [String: Any] {
        guard let error = try json()["error"] as? [String: Any] else { throw TestSupportError("no error object in:\n\(self)") }
        return error
    }

    var description: String { "exit \(status)\n--- stdout\n\(stdout)\n--- stderr\n\(stderr)" }
}

/// `waqtor` as a user runs it: its own configuration directory (a new temporary one, removed by
/// ``remove()``), a clean environment (nothing of the test run's WAQTOR_* variables), and
/// `--server 127.0.0.1:<port>` after the command's words when a port is given.
struct CLI: Sendable {
    let configDirectory: URL
    var port: Int?
    var environment: [String: String] = [:]

    /// A CLI for the server `app` runs.
    init(_ app: WaqtorApplication) throws {
        guard let port = app.rpcPort else { throw TestSupportError("the application listens on no port") }
        try self.init(port: port)
    }

    init(port: Int?) throws {
        self.port = port
        configDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("waqtor-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: configDirectory, withIntermediateDirectories: true)
    }

    var server: String { "127.0.0.1:\(port ?? 7420)" }
    var credentialsFile: URL { configDirectory.appendingPathComponent("credentials.json") }

    func remove() { try? FileManager.default.removeItem(at: configDirectory) }

    /// The process environment: a bare one, with this CLI's config directory.
    func processEnvironment(_ extra: [String: String]) -> [String: String] {
        var environment = ["PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": configDirectory.path, "LANG": "C.UTF-8",
                           "WAQTOR_CONFIG_DIR": configDirectory.path]
        environment.merge(self.environment) { $1 }
        environment.merge(extra) { $1 }
        return environment
    }

    /// The arguments with `--server` added (unless `server` is false or the port is unknown), and
    /// `--timeout 60` unless the test gives one: a loaded machine (tests run in parallel, password
    /// hashing is slow on purpose) must not fail a call that would succeed.
    func arguments(_ arguments: [String], server: Bool) -> [String] {
        var all = arguments
        if server && port != nil { all += ["--server", self.server] }
        if !arguments.contains("--timeout"), !["completion", "config"].contains(arguments.first ?? ""), !arguments.contains("--generate-completion-script") {
            all += ["--timeout", "60"]
        }
        return all
    }

    /// Runs `waqtor arguments…` to completion, `stdin` as its standard input.
    func run(_ arguments: [String], stdin: String? = nil, environment extra: [String: String] = [:], server: Bool = true,
             directory: URL? = nil) async throws -> CLIResult {
        let process = ChildProcess()
        process.executableURL = try cliExecutable()
        process.arguments = self.arguments(arguments, server: server)
        process.environment = processEnvironment(extra)
        process.currentDirectoryURL = directory ?? configDirectory
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        return await withCheckedContinuation { continuation in
            let output = NIOLockedValueBox(Data())
            let group = DispatchGroup()
            group.enter()
            DispatchQueue.global().async {
                let data = out.fileHandleForReading.readDataToEndOfFile()
                output.withLockedValue { $0 = data }
                group.leave()
            }
            DispatchQueue.global().async {
                let errors = err.fileHandleForReading.readDataToEndOfFile()
                group.wait()
                process.waitUntilExit()
                continuation.resume(returning: CLIResult(
                    status: process.terminationStatus, stdout: String(decoding: output.withLockedValue { $0 }, as: UTF8.self),
                    stderr: String(decoding: errors, as: UTF8.self)))
            }
        }
    }

    /// Starts `waqtor arguments…` without waiting: for commands that run until something else
    /// happens (`campaign watch`, `chat tail`).
    func spawn(_ arguments: [String], environment extra: [String: String] = [:]) throws -> RunningCLI {
        try RunningCLI(executable: try cliExecutable(), arguments: self.arguments(arguments, server: true),
                       environment: processEnvironment(extra), directory: configDirectory)
    }

    /// Signs up a new account with the CLI (the session saved in the profile) and returns its email.
    @discardableResult
    func signUp(name: String = "Acme", password: String = "correct horse battery", profile: String? = nil) async throws -> String {
        let email = TestEnvironment.uniqueName("cli") + "@example.com"
        var arguments = ["signup", "--name", name, "--email", email, "--time-zone", "Africa/Cairo", "--password-stdin", "--json"]
        if let profile { arguments += ["--profile", profile] }
        let result = try await run(arguments, stdin: password + "\n")
        #expect(result.status == 0, "\(result)")
        return email
    }
}

/// A `waqtor` process still running; its stdout is read line by line as it comes.
final class RunningCLI: Sendable {
    let process: ChildProcess
    private let lines = NIOLockedValueBox<(lines: [String], partial: String, ended: Bool)>(([], "", false))
    private let errors = NIOLockedValueBox(Data())
    private let readers = DispatchGroup()

    init(executable: URL, arguments: [String], environment: [String: String], directory: URL) throws {
        process = ChildProcess()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        process.currentDirectoryURL = directory
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let lines = self.lines, errors = self.errors
        readers.enter()
        DispatchQueue.global().async { [readers] in
            let handle = out.fileHandleForReading
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                lines.withLockedValue { state in
                    state.partial += String(decoding: data, as: UTF8.self)
                    while let newline = state.partial.firstIndex(of: "\n") {
                        state.lines.append(String(state.partial[..<newline]))
                        state.partial = String(state.partial[state.partial.index(after: newline)...])
                    }
                }
            }
            lines.withLockedValue { $0.ended = true }
            readers.leave()
        }
        readers.enter()
        DispatchQueue.global().async { [readers] in
            let data = err.fileHandleForReading.readDataToEndOfFile()
            errors.withLockedValue { $0 = data }
            readers.leave()
        }
    }

    /// The stdout lines so far.
    var output: [String] { lines.withLockedValue { $0.lines } }

    /// Waits (polling, at most 60 s) until a stdout line satisfies `predicate`; returns it.
    @discardableResult
    func waitForLine(_ what: String, _ predicate: @escaping @Sendable (String) -> Bool) async throws -> String {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let line = lines.withLockedValue({ $0.lines.first(where: predicate) }) { return line }
            if lines.withLockedValue({ $0.ended }) { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestSupportError("waqtor printed no line with \(what); stdout so far:\n\(output.joined(separator: "\n"))")
    }

    /// Waits for the process to end and returns what it printed.
    func finish() async -> CLIResult {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { [self] in
                readers.wait()
                process.waitUntilExit()
                let state = lines.withLockedValue { $0 }
                continuation.resume(returning: CLIResult(
                    status: process.terminationStatus, stdout: (state.lines + (state.partial.isEmpty ? [] : [state.partial])).joined(separator: "\n"),
                    stderr: String(decoding: errors.withLockedValue { $0 }, as: UTF8.self)))
            }
        }
    }

    /// Sends SIGINT (Ctrl-C), as a person at the terminal would.
    func interrupt() { kill(process.processIdentifier, SIGINT) }

    /// Ends the process if it still runs (SIGTERM).
    func stop() {
        if process.isRunning { process.terminate() }
    }
}

/// JSON values by path, for short assertions: `value(json, "tenant", "email") as? String`.
func value(_ object: Any?, _ path: String...) -> Any? {
    var current = object
    for key in path {
        if let index = Int(key), let array = current as? [Any] {
            current = index < array.count ? array[index] : nil
        } else {
            current = (current as? [String: Any])?[key]
        }
    }
    return current
}

func string(_ object: Any?, _ path: String...) -> String? {
    var current = object
    for key in path { current = value(current, key) }
    return current as? String
}

extension CLI {
    /// Runs `waqtor arguments…` with stdout and stderr on a pseudo-terminal `columns` wide (as in
    /// a terminal window), so that what only a terminal gets (progress bars, cut tables, colours)
    /// can be seen; returns the exit status and everything written, escapes included (the
    /// terminal turns "\n" into "\r\n").
    func runInTerminal(_ arguments: [String], columns: Int, environment extra: [String: String] = [:], server: Bool = true)
        async throws -> (status: Int32, output: String)
    {
        let master = PseudoTerminal.openMaster(O_RDWR | O_NOCTTY)
        guard master >= 0, PseudoTerminal.grant(master) == 0, PseudoTerminal.unlock(master) == 0, let name = PseudoTerminal.name(master) else {
            throw TestSupportError("no pseudo-terminal: \(errno)")
        }
        let slave = open(String(cString: name), O_RDWR | O_NOCTTY)
        guard slave >= 0 else { throw TestSupportError("cannot open \(String(cString: name)): \(errno)") }
        var size = winsize(ws_row: 40, ws_col: UInt16(columns), ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(master, UInt(TIOCSWINSZ), &size)
        let process = ChildProcess()
        process.executableURL = try cliExecutable()
        process.arguments = self.arguments(arguments, server: server)
        process.environment = processEnvironment(["TERM": "xterm-256color"].merging(extra) { $1 })
        process.currentDirectoryURL = configDirectory
        let terminal = FileHandle(fileDescriptor: slave, closeOnDealloc: false)
        process.standardOutput = terminal
        process.standardError = terminal
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            close(slave)
            close(master)
            throw error
        }
        // Only the child keeps the terminal open: its end reads as EIO on the master.
        close(slave)
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var output = Data()
                var buffer = [UInt8](repeating: 0, count: 4096)
                while true {
                    let n = read(master, &buffer, buffer.count)
                    if n < 0, errno == EINTR { continue }
                    if n <= 0 { break }
                    output.append(contentsOf: buffer[0..<n])
                }
                process.waitUntilExit()
                close(master)
                continuation.resume(returning: (process.terminationStatus, String(decoding: output, as: UTF8.self)))
            }
        }
    }
}

/// posix_openpt(3) and its companions, looked up in the C library at run time: Glibc's Swift module
/// leaves them out (they need _XOPEN_SOURCE).
enum PseudoTerminal {
    private static func function<T>(_ name: String, as type: T.Type) -> T {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), name) else { fatalError("\(name) is not in the C library") }
        return unsafeBitCast(symbol, to: type)
    }

    static let openMaster = function("posix_openpt", as: (@convention(c) (Int32) -> Int32).self)
    static let grant = function("grantpt", as: (@convention(c) (Int32) -> Int32).self)
    static let unlock = function("unlockpt", as: (@convention(c) (Int32) -> Int32).self)
    static let name = function("ptsname", as: (@convention(c) (Int32) -> UnsafeMutablePointer<CChar>?).self)
}
