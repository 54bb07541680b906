import Foundation
import Testing
import WaqtorTestSupport

/// Privacy by construction: the drafting module cannot reach a customer's data because it does
/// not link anything that holds it. This reads the real package graph (`swift package
/// dump-package`) and the module's own imports, and fails if either changes.
@Suite("WaqtorDrafting's module graph")
struct ModuleGraphTests {
    /// Everything WaqtorDrafting may depend on, directly or through another target of ours.
    static let allowedTargets: Set<String> = ["WaqtorDrafting", "WaqtorCore", "WaqtorOpenRouter", "WaqtorTemplates", "WaqtorHTTP", "CCurl"]
    /// Modules that hold or reach contacts, chats, campaigns' recipients, media or the database.
    static let forbidden: Set<String> = [
        "WaqtorContacts", "WaqtorChat", "WaqtorCampaigns", "WaqtorSendQueue", "WaqtorImport", "WaqtorInstances", "WaqtorTenants",
        "WaqtorPostgres", "WaqtorRedis", "WaqtorWebhooks", "WaqtorWorkers", "WaqtorAPI", "WaqtorApp", "WaqtorPhone", "CPostgres", "CHiredis",
    ]

    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Target name → the names of the package's own targets it depends on.
    static func targetGraph() throws -> [String: [String]] {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // A scratch path of its own: the suite may run while `swift test` holds the package's.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("waqtor-dump-\(UUID().uuidString)")
        process.arguments = ["swift", "package", "--package-path", packageRoot.path, "--scratch-path", scratch.path, "dump-package"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: scratch)
        #expect(process.terminationStatus == 0, "swift package dump-package failed")
        let manifest = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let targets = try #require(manifest["targets"] as? [[String: Any]])
        let names = Set(targets.compactMap { $0["name"] as? String })
        var graph: [String: [String]] = [:]
        for target in targets {
            guard let name = target["name"] as? String else { continue }
            let dependencies = (target["dependencies"] as? [[String: Any]] ?? []).compactMap { dependency -> String? in
                // `byName` and `target` name one of ours; `product` names another package's product.
                let entry = (dependency["byName"] ?? dependency["target"]) as? [Any]
                return (entry?.first as? String).flatMap { names.contains($0) ? $0 : nil }
            }
            graph[name] = dependencies
        }
        return graph
    }

    @Test("WaqtorDrafting reaches only the AI client, the template grammar and the core, never a module holding customer data")
    func dependencyClosure() throws {
        let graph = try Self.targetGraph()
        #expect(graph["WaqtorDrafting"] != nil, "the manifest has no WaqtorDrafting target")
        var closure: Set<String> = []
        var queue = ["WaqtorDrafting"]
        while let next = queue.popLast() {
            guard closure.insert(next).inserted else { continue }
            queue += graph[next] ?? []
        }
        #expect(closure.isDisjoint(with: Self.forbidden), "WaqtorDrafting now reaches \(closure.intersection(Self.forbidden).sorted())")
        #expect(closure.isSubset(of: Self.allowedTargets), "WaqtorDrafting gained dependencies: \(closure.subtracting(Self.allowedTargets).sorted())")
        // The graph read is the real one: the API edge does depend on contacts and chat.
        #expect(graph["WaqtorAPI"]?.contains("WaqtorContacts") == true && graph["WaqtorAPI"]?.contains("WaqtorDrafting") == true)
    }

    @Test("WaqtorDrafting's sources import only what its manifest entry allows")
    func imports() throws {
        let folder = Self.packageRoot.appendingPathComponent("Sources/WaqtorDrafting")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".swift") }
        #expect(!files.isEmpty)
        let allowed: Set<String> = ["Foundation", "Crypto", "Logging", "WaqtorCore", "WaqtorOpenRouter", "WaqtorTemplates"]
        for file in files {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n") where line.hasPrefix("import ") || line.contains(" import ") && line.hasPrefix("@") {
                let module = String(line.split(separator: " ").last ?? "")
                #expect(allowed.contains(module), "\(file) imports \(module)")
            }
        }
    }
}
