/// Limits and addresses of an ``RPCServer``. Every field is documented in docs/CONFIGURATION.md.
public struct RPCServerConfiguration: Sendable {
    /// Address to listen on. Default `127.0.0.1`.
    public var host: String
    /// Port to listen on; 0 picks a free one (see ``RPCServer/localPort``). Default 7420.
    public var port: Int
    /// Largest frame `length` accepted (bytes after the 4-byte prefix). Default 4 MiB.
    public var maxFrameLength: UInt32
    /// Calls a connection may have in flight; one more gets RESOURCE_EXHAUSTED. Default 1024.
    public var maxConcurrentCallsPerConnection: Int
    /// Connections open at once; more are closed on accept. Default 10,000.
    public var maxConnections: Int
    /// Time a new connection has to send its HELLO. Default 10 s.
    public var handshakeTimeout: Duration
    /// Time without calls after which a connection is sent GOAWAY and closed. Default 5 min.
    public var idleTimeout: Duration
    /// On graceful shutdown, how long calls in flight may take before connections are closed.
    /// Default 30 s.
    public var shutdownGracePeriod: Duration

    public init(
        host: String = "127.0.0.1",
        port: Int = 7420,
        maxFrameLength: UInt32 = 4 * 1024 * 1024,
        maxConcurrentCallsPerConnection: Int = 1024,
        maxConnections: Int = 10_000,
        handshakeTimeout: Duration = .seconds(10),
        idleTimeout: Duration = .seconds(300),
        shutdownGracePeriod: Duration = .seconds(30)
    ) {
        self.host = host
        self.port = port
        self.maxFrameLength = maxFrameLength
        self.maxConcurrentCallsPerConnection = maxConcurrentCallsPerConnection
        self.maxConnections = maxConnections
        self.handshakeTimeout = handshakeTimeout
        self.idleTimeout = idleTimeout
        self.shutdownGracePeriod = shutdownGracePeriod
    }
}

extension Duration {
    /// Whole nanoseconds, saturating.
    @usableFromInline
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (ns, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return ns &+ attoseconds / 1_000_000_000
    }
}
