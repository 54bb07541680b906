/// An answer, decided synchronously under the stand-in's lock and written by the HTTP handler
/// (after ``delayMilliseconds`` for a slow fault).
struct StandInResponse: Sendable {
    var status: Int
    var body: [UInt8]
    var contentType = "application/json"
    /// Extra headers (`Retry-After`).
    var headers: [(String, String)] = []
    var delayMilliseconds = 0

    /// A JSON answer.
    static func json(_ status: Int, _ value: JSONText, headers: [(String, String)] = []) -> StandInResponse {
        StandInResponse(status: status, body: value.bytes, headers: headers)
    }

    /// OpenRouter's error envelope, `{"error":{"code","message","metadata"?}}`; metadata is left
    /// out when there is none, as OpenRouter does for auth and credit errors.
    static func error(
        _ status: Int, _ message: String, metadata: [(String, JSONText)] = [], headers: [(String, String)] = []
    ) -> StandInResponse {
        json(status, errorEnvelope(code: status, message: message, metadata: metadata), headers: headers)
    }

    static func errorEnvelope(code: Int, message: String, metadata: [(String, JSONText)] = []) -> JSONText {
        var error: [(String, JSONText)] = [("code", .int(code)), ("message", .string(message))]
        if !metadata.isEmpty { error.append(("metadata", .object(metadata))) }
        return .object([("error", .object(error))])
    }

    /// OpenRouter's blank padding: it writes whitespace while the model works, before the JSON.
    static let padding = Array("\n\n   \n".utf8)
}
