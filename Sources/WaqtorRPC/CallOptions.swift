/// Per-call settings on the client side.
public struct CallOptions: Sendable {
    /// How long the caller waits; sent to the server, which stops the handler when it passes.
    /// `nil` uses the client's default timeout.
    public var timeout: Duration?
    /// Metadata sent with the call (for example `authorization`, `request-id`).
    public var metadata: Metadata

    public init(timeout: Duration? = nil, metadata: Metadata = [:]) {
        self.timeout = timeout
        self.metadata = metadata
    }
}
