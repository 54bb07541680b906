import GRPCCore

/// The echo method: one unary call, its message raw bytes (no protobuf: the request's bytes are the
/// message, and the server answers the same bytes).
enum Echo {
    static let method = MethodDescriptor(fullyQualifiedService: "peer.Echo", method: "Get")
}

/// Messages are `[UInt8]` as they are: serializing copies the bytes into the transport's buffer.
struct RawSerializer: MessageSerializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes {
        Bytes(message)
    }
}

/// Copies the message's bytes out of the transport's buffer.
struct RawDeserializer: MessageDeserializer {
    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
        serializedMessageBytes.withUnsafeBytes { Array($0) }
    }
}

/// The service, registered by hand as generated code registers a unary method: the streaming
/// handler collects the single request and answers a single response from an `async` function.
struct EchoService: RegistrableRPCService {
    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.registerHandler(
            forMethod: Echo.method, deserializer: RawDeserializer(), serializer: RawSerializer()
        ) { request, context in
            let single = try await ServerRequest(stream: request)
            let response = try await self.get(request: single, context: context)
            return StreamingServerResponse(single: response)
        }
    }

    /// The handler: an ordinary `async` function, as a service's method is.
    func get(request: ServerRequest<[UInt8]>, context: ServerContext) async throws -> ServerResponse<[UInt8]> {
        ServerResponse(message: request.message)
    }
}
