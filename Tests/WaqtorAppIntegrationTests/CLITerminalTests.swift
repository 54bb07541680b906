import Foundation
import Testing
@testable import WaqtorApp
import WaqtorTestSupport

/// What only a terminal gets, seen through a pseudo-terminal: tables cut to its width, colours
/// (never with NO_COLOR), progress bars that are erased at the end. The same commands in a pipe
/// get none of it.
@Suite("CLI: terminal output (tables, colours, progress bars)")
struct CLITerminalTests {
    /// The lines a terminal shows: the output split at its line breaks ("\r\n").
    static func lines(_ output: String) -> [String] {
        output.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    static let longEmail = "someone.with.a.really.long.address@example-enterprises-international.com"

    /// A credentials file with two profiles, one of them with a long email.
    static func profiles(_ cli: CLI) throws {
        let text = """
            {"current_profile":"main","profiles":{
              "main":{"email":"\(longEmail)","expire_time":"2099-01-01T00:00:00.000000Z","server":"127.0.0.1:7420","token":"wqs_x"},
              "staging-eu":{"email":"ops@example.com","server":"staging.example.com:7420"}},"version":2}
            """
        #expect(FileManager.default.createFile(atPath: cli.credentialsFile.path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]))
    }

    @Test("a table is cut to the terminal's width (cells end in …); in a pipe it keeps every cell whole")
    func tableWidth() async throws {
        let cli = try CLI(port: nil)
        defer { cli.remove() }
        try Self.profiles(cli)
        let narrow = try await cli.runInTerminal(["config", "list"], columns: 60, server: false)
        #expect(narrow.status == 0, "\(narrow.output)")
        let lines = Self.lines(narrow.output).filter { !$0.isEmpty }
        #expect(lines.count == 3, "\(lines)")
        #expect(lines.allSatisfy { $0.count <= 60 }, "\(lines.map(\.count))")
        #expect(lines.first?.contains("PROFILE") == true)
        #expect(narrow.output.contains("…"))
        #expect(!narrow.output.contains(Self.longEmail))
        #expect(lines.contains { $0.contains("staging-eu") }, "short cells stay whole: \(lines)")

        let wide = try await cli.runInTerminal(["config", "list"], columns: 200, server: false)
        #expect(wide.output.contains(Self.longEmail), "a wide terminal needs no cut")
        #expect(!wide.output.contains("…"))

        let piped = try await cli.run(["config", "list"], server: false)
        #expect(piped.stdout.contains(Self.longEmail))
        #expect(!piped.stdout.contains("…"))
        #expect(!piped.stdout.contains("\u{1B}["))
    }

    @Test("errors in red on a terminal's stderr; never with NO_COLOR set, nor in a pipe; an empty NO_COLOR does not count")
    func colours() async throws {
        let cli = try CLI(port: nil)
        defer { cli.remove() }
        let red = "\u{1B}[1;31merror:\u{1B}[0m not logged in"
        let coloured = try await cli.runInTerminal(["whoami"], columns: 100, server: false)
        #expect(coloured.status == 3)
        #expect(coloured.output.contains(red), "\(coloured.output.debugDescription)")

        let plain = try await cli.runInTerminal(["whoami"], columns: 100, environment: ["NO_COLOR": "1"], server: false)
        #expect(plain.status == 3)
        #expect(plain.output.contains("error: not logged in"))
        #expect(!plain.output.contains("\u{1B}["), "\(plain.output.debugDescription)")

        let empty = try await cli.runInTerminal(["whoami"], columns: 100, environment: ["NO_COLOR": ""], server: false)
        #expect(empty.output.contains(red), "NO_COLOR set to nothing is as if unset (no-color.org)")

        let dumb = try await cli.runInTerminal(["whoami"], columns: 100, environment: ["TERM": "dumb"], server: false)
        #expect(!dumb.output.contains("\u{1B}["))

        let piped = try await cli.run(["whoami"], server: false)
        #expect(piped.stderr.hasPrefix("error: not logged in"), "\(piped)")
    }

    @Test("contact import draws its progress bar on a terminal and erases it before the summary; --quiet and a pipe get no bar")
    func importProgress() async throws {
        try await withApplication(tenantTestConfiguration()) { app, _ in
            let cli = try CLI(app)
            defer { cli.remove() }
            _ = try await cli.signUp()
            // The free plan takes 500 contacts: 400 rows in 8 calls.
            var csv = "phone_number,name\n"
            for i in 0..<400 { csv += "+5511987\(String(format: "%06d", i)),Client \(i)\n" }
            let file = cli.configDirectory.appendingPathComponent("contacts.csv")
            try csv.write(to: file, atomically: true, encoding: .utf8)

            let shown = try await cli.runInTerminal(["contact", "import", file.path, "--batch-size", "50"], columns: 120)
            #expect(shown.status == 0, "\(shown.output)")
            let output = shown.output
            #expect(output.contains("importing") && output.contains("ETA") && output.contains("rows/s"), "\(output.debugDescription)")
            let lastBar = try #require(output.range(of: "importing", options: .backwards))
            let summary = try #require(output.range(of: "imported:"))
            #expect(lastBar.upperBound < summary.lowerBound)
            #expect(output[lastBar.upperBound..<summary.lowerBound].contains("\r\u{1B}[K"), "the bar is erased before the summary")
            // What stays on the screen: each line as the last carriage return left it.
            let screen = Self.lines(output).map { $0.components(separatedBy: "\r").last?.replacingOccurrences(of: "\u{1B}[K", with: "") ?? "" }
            #expect(!screen.contains { $0.contains("importing") }, "\(screen)")
            #expect(screen.contains { $0.hasPrefix("imported:") }, "\(screen)")
            #expect(output.contains("400"))

            let quiet = try await cli.runInTerminal(["contact", "import", file.path, "--quiet"], columns: 120)
            #expect(quiet.status == 0, "\(quiet.output)")
            #expect(!quiet.output.contains("importing"))
            #expect(quiet.output.contains("imported:"))

            let piped = try await cli.run(["contact", "import", file.path, "--batch-size", "50", "--json"])
            #expect(piped.status == 0, "\(piped)")
            #expect(!piped.stderr.contains("importing"))
            #expect(value(try piped.json(), "rows") as? Int == 400)
            #expect(value(try piped.json(), "skipped") as? Int == 400, "every number was imported by the first run")
        }
    }
}
