/// One request the stand-in received on `/api/v1/…` (control routes under `/_sim/` are not
/// recorded), so tests can check what a client really sent.
public struct RecordedRequest: Sendable {
    /// The HTTP method (`POST`).
    public var method: String
    /// The request target as sent, query string included.
    public var path: String
    /// In arrival order, names as sent.
    public var headers: [(name: String, value: String)]
    /// The body as received (empty when it was over the 1 MiB limit and answered 413).
    public var body: [UInt8]

    /// A recorded request.
    public init(method: String, path: String, headers: [(name: String, value: String)], body: [UInt8]) {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
    }

    /// The body decoded as UTF-8 (invalid bytes replaced).
    public var bodyString: String { String(decoding: body, as: UTF8.self) }

    /// The first header with this name, compared case-insensitively as HTTP names are.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }
}
