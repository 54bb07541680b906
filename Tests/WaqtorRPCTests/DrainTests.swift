import Logging
import NIOConcurrencyHelpers
import Testing
import WaqtorRPC
import WaqtorTestSupport

@Suite("Graceful shutdown reaches streaming handlers")
struct DrainTests {
    /// A live feed that would run until its client leaves: with `cancelWhenDraining` it ends with OK
    /// as soon as the server begins its graceful shutdown, so the client's stream finishes cleanly
    /// (without the forced close of the grace period, whose streams end with an error).
    @Test("a stream wrapped in cancelWhenDraining ends with OK when the server drains")
    func streamEndsCleanlyOnDrain() async throws {
        let started = Signal()
        let sawDrainFlag = NIOLockedValueBox(false)
        var router = RPCRouter()
        router.registerServerStreaming("test.Service/Feed", request: Echo.self, response: Echo.self) { _, context, stream in
            _ = try await context.cancelWhenDraining {
                try await stream.send(Echo("first"))
                started.fire()
                try await Task.sleep(for: .seconds(3600))  // a feed with nothing more to say
            }
            sawDrainFlag.withLockedValue { $0 = context.isDraining }
        }
        var configuration = RPCServerConfiguration(port: 0)
        configuration.host = "127.0.0.1"
        configuration.shutdownGracePeriod = .seconds(3600)
        let server = RPCServer(configuration: configuration, router: router, logger: testLogger)
        try await server.start()
        let client = RPCClient(host: "127.0.0.1", port: try #require(server.localPort))

        let received = try await withThrowingTaskGroup(of: [String]?.self) { group in
            group.addTask {
                var received: [String] = []
                for try await message in client.serverStreaming(method: "test.Service/Feed", request: Echo(), responseType: Echo.self) {
                    received.append(message.text)
                }
                return received
            }
            group.addTask {
                await started.wait()
                // With an hour of grace, this returns only because the stream ended by itself.
                await server.shutdown()
                return nil
            }
            var received: [String] = []
            for try await result in group { if let result { received = result } }
            return received
        }
        #expect(received == ["first"])
        #expect(sawDrainFlag.withLockedValue { $0 })
        await client.close()
    }

    @Test("cancelWhenDraining returns the body's value when it finishes first, and nil after a drain")
    func cancelWhenDrainingOutcomes() async throws {
        let drain = ServerDrain()
        let context = ServerContext(
            method: "test.Service/X", metadata: [:], deadline: nil, requestID: "r", peer: "p", logger: testLogger, drain: drain)
        #expect(try await context.cancelWhenDraining { 42 } == 42)
        #expect(!context.isDraining)
        drain.begin()
        #expect(context.isDraining)
        #expect(try await context.cancelWhenDraining { try await Task.sleep(for: .seconds(3600)); return 1 } == nil)
    }

    /// A shutdown whose task is cancelled (a second signal) closes the remaining connections at
    /// once instead of waiting out the grace period; it used to hang.
    @Test("a cancelled shutdown closes the connections at once and returns")
    func cancelledShutdownReturns() async throws {
        let running = Signal()
        var router = RPCRouter()
        router.registerUnary("test.Service/Stuck", request: Echo.self, response: Echo.self) { _, _ in
            running.fire()
            try? await Task.sleep(for: .seconds(3600))  // ignores cancellation, as a stuck call would
            return Echo("late")
        }
        var configuration = RPCServerConfiguration(port: 0)
        configuration.host = "127.0.0.1"
        configuration.shutdownGracePeriod = .seconds(3600)
        let server = RPCServer(configuration: configuration, router: router, logger: testLogger)
        try await server.start()
        let client = RPCClient(host: "127.0.0.1", port: try #require(server.localPort))
        async let call: Echo = client.unary(method: "test.Service/Stuck", request: Echo(), responseType: Echo.self)
        await running.wait()
        let shutdown = Task { await server.shutdown() }
        await server.drain.wait()
        shutdown.cancel()
        await shutdown.value
        do {
            _ = try await call
            Issue.record("the stuck call was answered, so the shutdown waited for it")
        } catch {
            #expect((error as? RPCError)?.code == .unavailable, "its connection was closed: \(error)")
        }
        await client.close()
    }
}
