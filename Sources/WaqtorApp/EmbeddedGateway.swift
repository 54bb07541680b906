/// A WhatsApp gateway the server can start inside itself when `gateway.url = embedded` (the
/// Evolution API simulator). The composition root does not link the simulator: the program that
/// offers the embedded default (`waqtor-server`) hands one in, so that the production library
/// holds no test double.
public struct EmbeddedGateway: Sendable {
    /// Where and how to listen.
    public struct Settings: Sendable {
        public var host: String
        public var port: Int
        public var apiKey: String
        /// The simulator "scans" a QR code this long after handing it out (nil: never).
        public var connectAfter: Duration?
    }

    /// A started gateway.
    public struct Running: Sendable {
        public var baseURL: String
        public var stop: @Sendable () async -> Void

        public init(baseURL: String, stop: @escaping @Sendable () async -> Void) {
            self.baseURL = baseURL
            self.stop = stop
        }
    }

    public let start: @Sendable (Settings) async throws -> Running

    public init(start: @escaping @Sendable (Settings) async throws -> Running) {
        self.start = start
    }
}
