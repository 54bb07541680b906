extension OpenRouterStandIn {
    /// The `/_sim/` routes: the same controls as the methods, for a stand-in run as a separate
    /// process (`waqtor-openrouter-sim`). JSON in and out; errors use OpenRouter's envelope.
    func control(_ request: RecordedRequest, path: String) -> StandInResponse {
        switch (request.method, path) {
        case ("GET", "/_sim/requests"):
            return .json(200, .array(requests().map(Self.json)))
        case ("DELETE", "/_sim/requests"):
            clearRequests()
            return Self.done
        case ("POST", "/_sim/faults"):
            do {
                let faults = try FaultJSON.faults(from: request.body)
                inject(faults)
                return .json(200, .object([("queued", .int(faults.count))]))
            } catch {
                return .error(400, error.message)
            }
        case ("POST", "/_sim/unavailable"):
            guard let object = JSONText.parse(request.body) as? [String: Any], let model = object["model"] as? String else {
                return .error(400, #"expected {"model":"<id>","unavailable":true|false}"#)
            }
            let unavailable = object["unavailable"] as? Bool ?? true
            setUnavailable(model, unavailable)
            return .json(200, .object([("model", .string(model)), ("unavailable", .bool(unavailable))]))
        case ("POST", "/_sim/reset"):
            reset()
            return Self.done
        case (_, "/_sim/requests"), (_, "/_sim/faults"), (_, "/_sim/unavailable"), (_, "/_sim/reset"):
            return Self.methodNotAllowed
        default:
            return .error(404, "Not Found")
        }
    }

    static let done = StandInResponse.json(200, .object([("ok", .bool(true))]))

    /// `{"method","path","headers":{name:value},"body"}`; repeated headers are joined with ", " as
    /// HTTP allows.
    private static func json(_ request: RecordedRequest) -> JSONText {
        var headers: [(String, String)] = []
        for (name, value) in request.headers {
            if let index = headers.firstIndex(where: { $0.0.lowercased() == name.lowercased() }) {
                headers[index].1 += ", " + value
            } else {
                headers.append((name, value))
            }
        }
        return .object([
            ("method", .string(request.method)),
            ("path", .string(request.path)),
            ("headers", .object(headers.map { ($0.0, .string($0.1)) })),
            ("body", .string(request.bodyString)),
        ])
    }
}
