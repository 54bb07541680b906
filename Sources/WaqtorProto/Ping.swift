extension Waqtor_V1_PingResponse {
    /// The answer to a Ping: its payload back, with the server's clock.
    public init(answering request: Waqtor_V1_PingRequest) {
        self.init()
        payload = request.payload
        serverTime = .now()
    }
}
