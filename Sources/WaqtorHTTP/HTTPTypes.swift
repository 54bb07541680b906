/// An HTTP request for ``HTTPClient``.
public struct HTTPRequest: Sendable {
    /// The method, e.g. `"GET"`, `"POST"`, `"PATCH"`.
    public var method: String
    /// An absolute `http://` or `https://` URL.
    public var url: String
    /// Header fields in order (a name may repeat).
    public var headers: [(name: String, value: String)]
    /// The body, if any; sent as-is with a `Content-Length`.
    public var body: [UInt8]?
    /// The whole transfer's limit (connect, send, wait, receive); nil uses the client's default.
    public var timeout: Duration?
    /// The connect phase's limit; nil uses the client's default.
    public var connectTimeout: Duration?

    /// Creates a request.
    public init(method: String = "GET", url: String, headers: [(name: String, value: String)] = [], body: [UInt8]? = nil, timeout: Duration? = nil, connectTimeout: Duration? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.connectTimeout = connectTimeout
    }
}

/// An HTTP response: any status (4xx/5xx are responses, not errors).
public struct HTTPResponse: Sendable {
    /// The status code, e.g. 200.
    public var status: Int
    /// Header fields of the final response, in order, names as sent.
    public var headers: [(name: String, value: String)]
    /// The body bytes.
    public var body: [UInt8]

    /// The first value of a header, case-insensitively.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }

    /// The body decoded as UTF-8.
    public var bodyString: String { String(decoding: body, as: UTF8.self) }
}

/// Why a request produced no response.
public enum HTTPClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The request's timeout (or connect timeout) passed.
    case timeout
    /// No connection could be made (refused, unreachable, DNS); the text says which.
    case connectionFailed(String)
    /// The URL is malformed or not http/https.
    case invalidURL
    /// Another libcurl failure (`CURLcode` and its message).
    case transport(code: Int, message: String)
    /// The client was shut down before the request finished.
    case shutdown
    /// The awaiting task was cancelled; the transfer was stopped.
    case cancelled

    /// A message a person can act on.
    public var description: String {
        switch self {
        case .timeout: "HTTP request timed out (raise the request's timeout, or check that the server answers)"
        case .connectionFailed(let message): "HTTP connection failed: \(message) (is the server running and reachable?)"
        case .invalidURL: "invalid URL: expected an absolute http:// or https:// URL"
        case .transport(let code, let message): "HTTP transfer failed (curl error \(code)): \(message)"
        case .shutdown: "HTTP client is shut down"
        case .cancelled: "HTTP request cancelled"
        }
    }
}

/// Settings for ``HTTPClient``.
public struct HTTPClientConfiguration: Sendable {
    /// Most simultaneous connections to one host (`CURLMOPT_MAX_HOST_CONNECTIONS`); more
    /// transfers queue inside libcurl.
    public var maxConnectionsPerHost: Int
    /// Most simultaneous connections overall (`CURLMOPT_MAX_TOTAL_CONNECTIONS`), also the size of
    /// the idle-connection cache.
    public var maxConnections: Int
    /// Default whole-request timeout.
    public var timeout: Duration
    /// Default connect timeout.
    public var connectTimeout: Duration
    /// The `User-Agent` header.
    public var userAgent: String
    /// Responses with a larger body fail with a transport error instead of filling memory.
    public var maxResponseBodySize: Int

    /// Creates a configuration.
    public init(maxConnectionsPerHost: Int = 16, maxConnections: Int = 64, timeout: Duration = .seconds(30), connectTimeout: Duration = .seconds(10), userAgent: String = "waqtor", maxResponseBodySize: Int = 64 << 20) {
        self.maxConnectionsPerHost = maxConnectionsPerHost
        self.maxConnections = maxConnections
        self.timeout = timeout
        self.connectTimeout = connectTimeout
        self.userAgent = userAgent
        self.maxResponseBodySize = maxResponseBodySize
    }
}
