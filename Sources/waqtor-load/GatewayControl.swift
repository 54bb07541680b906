import Foundation
import WaqtorHTTP

/// The gateway as the harness uses it, through WaqtorHTTP: the Evolution API's own
/// `GET /webhook/find/{instance}` (each number's webhook secret is in the headers the server gave
/// the gateway at creation; CreateInstance never returns it) and the simulator's control routes
/// (docs/EVOLUTION.md, "Control routes").
struct GatewayControl: Sendable {
    var baseURL: String
    var apiKey: String
    var http: HTTPClient
    var timeout: Duration

    /// One message the gateway's send handler answered (`GET /_sim/sends`).
    struct Send: Sendable {
        var instance: String
        var number: String
        var text: String
        var status: Int
        /// Milliseconds since the simulator started.
        var arrivedAt: Double
        var answeredAt: Double
        /// The typing delay the server asked for (ms).
        var delay: Int
    }

    private func request(_ method: String, _ path: String, json: [String: Any]? = nil, key: Bool = false) async throws -> (Int, Any?) {
        var headers: [(name: String, value: String)] = [("Accept", "application/json")]
        var body: [UInt8]?
        if let json {
            headers.append(("Content-Type", "application/json"))
            body = [UInt8](try JSONSerialization.data(withJSONObject: json))
        }
        if key { headers.append(("apikey", apiKey)) }
        let response: HTTPResponse
        do {
            response = try await http.execute(HTTPRequest(method: method, url: baseURL + path, headers: headers, body: body, timeout: timeout))
        } catch {
            throw HarnessFailure("cannot reach the gateway at \(baseURL) (--gateway) for \(method) \(path): \(error)")
        }
        let object = response.body.isEmpty ? nil : try? JSONSerialization.jsonObject(with: Data(response.body), options: [.fragmentsAllowed])
        return (response.status, object)
    }

    private static func segment(_ name: String) -> String {
        name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? name
    }

    /// Opens the number now, as if its QR code had been scanned; false when the gateway has no such
    /// route (a real Evolution API) or does not know the number.
    func connect(_ instance: String) async -> Bool {
        let answer = try? await request("POST", "/_sim/connect/\(Self.segment(instance))", json: [:])
        return answer?.0 == 200
    }

    /// A customer's text message to the number, posted by the gateway as `messages.upsert`.
    func injectInbound(_ instance: String, from: String, text: String) async throws {
        let (status, body) = try await request("POST", "/_sim/inbound/\(Self.segment(instance))", json: ["from": from, "text": text])
        guard status == 200 else {
            throw HarnessFailure("the gateway at \(baseURL) refused POST /_sim/inbound/\(instance) with HTTP \(status): \(body ?? "") (is --gateway the simulator?)")
        }
    }

    /// The number's webhook secret (`x-waqtor-webhook-secret` in its webhook's headers).
    func webhookSecret(_ instance: String) async throws -> String {
        let (status, body) = try await request("GET", "/webhook/find/\(Self.segment(instance))", key: true)
        guard status == 200, let headers = (body as? [String: Any])?["headers"] as? [String: Any],
              let secret = headers.first(where: { $0.key.lowercased() == "x-waqtor-webhook-secret" })?.value as? String
        else {
            throw HarnessFailure("cannot read the webhook secret of \(instance) from the gateway at \(baseURL) (GET /webhook/find: HTTP \(status)); check --gateway and --gateway-key")
        }
        return secret
    }

    /// The simulator's send log (`GET /_sim/sends`); nil when the gateway has none.
    func sends() async -> [Send]? {
        guard let answer = try? await request("GET", "/_sim/sends"), answer.0 == 200, let rows = answer.1 as? [[String: Any]] else {
            return nil
        }
        return rows.map { row in
            Send(
                instance: row["instance"] as? String ?? "", number: row["number"] as? String ?? "",
                text: row["text"] as? String ?? "", status: (row["status"] as? NSNumber)?.intValue ?? 0,
                arrivedAt: (row["arrivedAt"] as? NSNumber)?.doubleValue ?? 0,
                answeredAt: (row["answeredAt"] as? NSNumber)?.doubleValue ?? 0,
                delay: (row["delay"] as? NSNumber)?.intValue ?? 0)
        }
    }
}

extension [GatewayControl.Send] {
    /// The gaps a number kept between sends as the gateway saw them (from one send's answer to the
    /// next one's arrival), in ms, over every number.
    var gaps: [Double] {
        var gaps: [Double] = []
        for (_, sends) in Dictionary(grouping: self, by: \.instance) {
            let ordered = sends.sorted { $0.arrivedAt < $1.arrivedAt }
            for (previous, next) in zip(ordered, ordered.dropFirst()) { gaps.append(next.arrivedAt - previous.answeredAt) }
        }
        return gaps.sorted()
    }
}

/// The value at a quantile of sorted values (nil when empty).
func quantile(_ sorted: [Double], _ q: Double) -> Double? {
    sorted.isEmpty ? nil : sorted[min(sorted.count - 1, Int(q * Double(sorted.count)))]
}
