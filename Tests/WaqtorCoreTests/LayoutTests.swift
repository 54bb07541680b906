import Foundation
import Testing

/// The module arrows of docs/ARCHITECTURE.md, checked on the sources: what each layer may import.
@Suite("Module layout")
struct LayoutTests {
    static let sources = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources")

    /// Every module each target's Swift files import.
    static func imports(of target: String) throws -> Set<String> {
        let directory = sources.appendingPathComponent(target)
        guard let files = FileManager.default.enumerator(atPath: directory.path) else { return [] }
        var modules = Set<String>()
        for case let file as String in files where file.hasSuffix(".swift") {
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n") {
                let words = line.split(separator: " ").map(String.init)
                if let i = words.firstIndex(of: "import"), i + 1 < words.count, words[..<i].allSatisfy({ $0.hasPrefix("@") }) {
                    modules.insert(words[i + 1])
                }
            }
        }
        return modules
    }

    static let rpcLayer: Set<String> = ["WaqtorRPC", "WaqtorProto", "CWaqtorProto"]
    static let edges: Set<String> = ["WaqtorAPI", "WaqtorWebhooks", "WaqtorWorkers", "WaqtorApp"]
    static let doubles: Set<String> = ["EvolutionSimulator", "OpenRouterStandIn"]

    @Test("the core imports nothing of ours")
    func core() throws {
        let ours = try Self.imports(of: "WaqtorCore").filter { $0.hasPrefix("Waqtor") || $0.hasPrefix("C") }
        #expect(ours.isEmpty, "WaqtorCore imports \(ours.sorted())")
    }

    @Test("the template grammar is pure: it imports nothing of ours but the core")
    func templates() throws {
        let ours = try Self.imports(of: "WaqtorTemplates").filter { $0.hasPrefix("Waqtor") || $0.hasPrefix("C") }
        #expect(ours == ["WaqtorCore"], "WaqtorTemplates imports \(ours.sorted())")
    }

    @Test("drivers, integrations and domains never import the RPC layer, an edge or a test double")
    func belowTheEdges() throws {
        let modules = ["WaqtorPostgres", "WaqtorRedis", "WaqtorHTTP", "WaqtorSecurity", "WaqtorPhone", "WaqtorEvolution", "WaqtorSchema",
                       "WaqtorTenants", "WaqtorInstances", "WaqtorContacts", "WaqtorCampaigns", "WaqtorSendQueue", "WaqtorChat", "WaqtorImport", "WaqtorTemplates"]
        for module in modules {
            let found = try Self.imports(of: module).intersection(Self.rpcLayer.union(Self.edges).union(Self.doubles))
            #expect(found.isEmpty, "\(module) imports \(found.sorted())")
        }
    }

    @Test("only waqtor-server, waqtor-evolution-sim and tests link the simulator")
    func simulator() throws {
        let targets = try FileManager.default.contentsOfDirectory(atPath: Self.sources.path)
        #expect(targets.contains("WaqtorApp") && targets.contains("EvolutionSimulator"))
        for target in targets where !["waqtor-server", "waqtor-evolution-sim", "EvolutionSimulator"].contains(target) {
            #expect(!(try Self.imports(of: target)).contains("EvolutionSimulator"), "\(target) imports the simulator")
        }
    }

    @Test("only waqtor-server, waqtor-openrouter-sim and tests link the OpenRouter stand-in")
    func openRouterStandIn() throws {
        let targets = try FileManager.default.contentsOfDirectory(atPath: Self.sources.path)
        #expect(targets.contains("OpenRouterStandIn") && targets.contains("WaqtorDrafting"))
        for target in targets where !["waqtor-server", "waqtor-openrouter-sim", "OpenRouterStandIn"].contains(target) {
            #expect(!(try Self.imports(of: target)).contains("OpenRouterStandIn"), "\(target) imports the stand-in")
        }
    }

    @Test("the RPC runtime knows no product module")
    func runtime() throws {
        for module in ["WaqtorRPC", "WaqtorProto"] {
            let ours = try Self.imports(of: module).filter { $0.hasPrefix("Waqtor") && !Self.rpcLayer.contains($0) }
            #expect(ours.isEmpty, "\(module) imports \(ours.sorted())")
        }
    }
}
