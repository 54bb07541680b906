import EvolutionSimulator
import Foundation
import WaqtorEvolution
import WaqtorHTTP

/// A simulator on 127.0.0.1 and a kernel-chosen port, with a client pointed at it.
struct Harness {
    static let globalKey = "test-global-key"
    let simulator: EvolutionSimulator
    let http: HTTPClient
    let client: EvolutionClient

    static func start(timeout: Duration = .seconds(10), connectAfter: Duration? = nil) async throws -> Harness {
        let simulator = try await EvolutionSimulator.start(.init(apiKey: globalKey, connectAfter: connectAfter, ackInterval: .milliseconds(2)))
        let http = HTTPClient()
        let client = EvolutionClient(baseURL: simulator.baseURL + "/", apiKey: globalKey, http: http, timeout: timeout)
        return Harness(simulator: simulator, http: http, client: client)
    }

    /// A client with another key (or timeout) on the same simulator.
    func client(apiKey: String = Harness.globalKey, timeout: Duration = .seconds(10)) -> EvolutionClient {
        EvolutionClient(baseURL: simulator.baseURL, apiKey: apiKey, http: http, timeout: timeout)
    }

    /// A raw request to the simulator (control routes, or shapes the client never sends).
    func raw(_ method: String, _ path: String, headers: [(name: String, value: String)] = [], body: String? = nil) async throws -> (status: Int, json: Any?) {
        let response = try await http.execute(HTTPRequest(method: method, url: simulator.baseURL + path, headers: headers, body: body.map { Array($0.utf8) }))
        return (response.status, try? JSONSerialization.jsonObject(with: Data(response.body), options: [.fragmentsAllowed]))
    }

    func stop() async {
        await http.shutdown()
        await simulator.stop()
    }
}

/// Runs a client call and returns the error it threw (nil when it succeeded).
/// Runs a client call and returns the EvolutionError it threw (nil when it succeeded or threw
/// something else, which the client never does).
func gatewayError<T>(_ operation: () async throws -> T) async -> EvolutionError? {
    do {
        _ = try await operation()
        return nil
    } catch {
        return error as? EvolutionError
    }
}

func uniqueInstance(_ prefix: String = "t") -> String {
    "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
}
