// Temporary API surface for the generated code; the real client replaces this file.
import NIOCore

/// A client of one server address (see RPCClient.swift for the real implementation).
public final class RPCClient: Sendable {
    public init(host: String, port: Int) {}

    /// Makes a unary call.
    public func unary<Request: ProtoMessage, Response: ProtoMessage>(
        method: String, request: Request, responseType: Response.Type = Response.self, options: CallOptions = .init()
    ) async throws(RPCError) -> Response {
        fatalError("placeholder")
    }

    /// Makes a server-streaming call; iterate the result for the messages.
    public func serverStreaming<Request: ProtoMessage, Response: ProtoMessage>(
        method: String, request: Request, responseType: Response.Type = Response.self, options: CallOptions = .init()
    ) -> RPCResponseStream<Response> {
        fatalError("placeholder")
    }
}

/// The messages of a server-streaming call.
public struct RPCResponseStream<Element: ProtoMessage>: AsyncSequence, Sendable {
    public typealias Failure = RPCError
    public struct AsyncIterator: AsyncIteratorProtocol {
        public mutating func next() async throws(RPCError) -> Element? { nil }
        public mutating func next(isolation actor: isolated (any Actor)?) async throws(RPCError) -> Element? { nil }
    }
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator() }
}
