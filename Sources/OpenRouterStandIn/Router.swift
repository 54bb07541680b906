import NIOConcurrencyHelpers

extension OpenRouterStandIn {
    /// Picks the route. `/api/v1/…` requests are recorded (even the ones refused); `/_sim/…` ones are
    /// not, so a test's own control calls never show up among what its client sent.
    func respond(to request: RecordedRequest, bodyTooLarge: Bool) -> StandInResponse {
        let path = request.path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        if path == "/_sim" || path.hasPrefix("/_sim/") {
            if bodyTooLarge { return Self.tooLarge }
            return control(request, path: path)
        }
        guard path == "/api/v1" || path.hasPrefix("/api/v1/") else { return .error(404, "Not Found") }
        let limit = configuration.maxRecordedRequests
        state.withLockedValue { $0.record(request, limit: limit) }
        if bodyTooLarge { return Self.tooLarge }
        switch path {
        case "/api/v1/chat/completions":
            return request.method == "POST" ? chatCompletions(request) : Self.methodNotAllowed
        case "/api/v1/models":
            return request.method == "GET" ? models() : Self.methodNotAllowed
        default:
            return .error(404, "Not Found")
        }
    }

    static let tooLarge = StandInResponse.error(413, "Request body too large: the limit is 1 MiB")
    static let methodNotAllowed = StandInResponse.error(405, "Method Not Allowed")
}
