import Foundation
import Testing
import WaqtorHTTP
import WaqtorTestSupport

/// Against a real HTTP/1.1 server (SwiftNIO) over loopback sockets.
@Suite("HTTPClient (real sockets)")
struct HTTPClientTests {
    @Test func getAndPostRoundTripHeadersAndBodies() async throws {
        let server = try await EchoServer.start()
        let client = HTTPClient(configuration: .init(userAgent: "waqtor-tests"))

        let get = try await client.execute(HTTPRequest(url: server.url("/hello?x=1"), headers: [("X-Trace", "abc 123")]))
        #expect(get.status == 200)
        #expect(get.header("x-echo-method") == "GET")
        #expect(get.header("X-Echo-Path") == "/hello?x=1")
        #expect(get.header("x-echo-header-x-trace") == "abc 123")
        #expect(get.header("x-echo-header-user-agent") == "waqtor-tests")
        #expect(get.body.isEmpty)

        let payload: [UInt8] = Array("{\"text\":\"olá 🌍\"}".utf8) + [0, 255, 10]
        let post = try await client.execute(HTTPRequest(method: "POST", url: server.url("/send"), headers: [("Content-Type", "application/json")], body: payload))
        #expect(post.status == 200)
        #expect(post.header("x-echo-method") == "POST")
        #expect(post.header("x-echo-header-content-type") == "application/json")
        #expect(post.header("x-echo-header-content-length") == String(payload.count))
        #expect(post.header("x-echo-header-expect") == nil)
        #expect(post.body == payload)

        let put = try await client.execute(HTTPRequest(method: "PUT", url: server.url("/put"), body: [1, 2, 3]))
        #expect(put.header("x-echo-method") == "PUT" && put.body == [1, 2, 3])
        let delete = try await client.execute(HTTPRequest(method: "DELETE", url: server.url("/thing/1")))
        #expect(delete.header("x-echo-method") == "DELETE")

        await client.shutdown()
        try await server.stop()
    }

    @Test func sequentialRequestsReuseOneConnection() async throws {
        let server = try await EchoServer.start()
        let client = HTTPClient()
        for i in 0..<10 {
            let response = try await client.execute(HTTPRequest(url: server.url("/seq/\(i)")))
            #expect(response.header("x-echo-path") == "/seq/\(i)")
        }
        #expect(server.acceptedConnections == 1)
        await client.shutdown()
        try await server.stop()
    }

    @Test func fiftyConcurrentRequestsAllSucceed() async throws {
        let server = try await EchoServer.start()
        let client = HTTPClient(configuration: .init(maxConnectionsPerHost: 8))
        let paths = try await withThrowingTaskGroup(of: String?.self) { group in
            for i in 0..<50 {
                group.addTask {
                    try await client.execute(HTTPRequest(method: "POST", url: server.url("/c/\(i)"), body: Array("\(i)".utf8))).bodyString
                }
            }
            return try await group.reduce(into: [String]()) { $0.append($1 ?? "") }
        }
        #expect(Set(paths) == Set((0..<50).map(String.init)))
        #expect(server.acceptedConnections <= 8, "limited by maxConnectionsPerHost")
        await client.shutdown()
        try await server.stop()
    }

    @Test func slowResponseTimesOut() async throws {
        let server = try await EchoServer.start()
        let client = HTTPClient()
        let clock = ContinuousClock()
        let start = clock.now
        await #expect(throws: HTTPClientError.timeout) {
            _ = try await client.execute(HTTPRequest(url: server.url("/delay/3000"), timeout: .milliseconds(300)))
        }
        let elapsed = clock.now - start
        // Not early; and the timeout error (not the answer, which comes after 3 s) shows it did not wait.
        #expect(elapsed >= .milliseconds(280), "\(elapsed)")
        await client.shutdown()
        try await server.stop()
    }

    @Test func closedPortFailsToConnect() async throws {
        let port = try TestNetwork.freeLocalPort()
        let client = HTTPClient()
        do {
            _ = try await client.execute(HTTPRequest(url: "http://127.0.0.1:\(port)/"))
            Issue.record("a closed port answered")
        } catch {
            guard case .connectionFailed(let message) = error else {
                Issue.record("expected connectionFailed, got \(error)")
                return
            }
            #expect(message.contains("\(port)"), "\(message)")
        }
        await #expect(throws: HTTPClientError.invalidURL) {
            _ = try await client.execute(HTTPRequest(url: "ftp://127.0.0.1/"))
        }
        await client.shutdown()
    }

    @Test func cancellingTheTaskEndsTheTransferPromptly() async throws {
        let server = try await EchoServer.start()
        let client = HTTPClient()
        var arrivals = server.requests.makeAsyncIterator()
        let task = Task { try await client.execute(HTTPRequest(url: server.url("/delay/10000"), timeout: .seconds(30))) }
        #expect(await arrivals.next() == "/delay/10000")  // the request reached the server
        task.cancel()
        // Cancelled, not answered: the answer would come only after 10 s.
        let result = await task.result
        #expect(throws: HTTPClientError.cancelled) { try result.get() }
        // The client still works afterwards.
        #expect(try await client.execute(HTTPRequest(url: server.url("/after"))).status == 200)
        await client.shutdown()
        try await server.stop()
    }

    @Test func shutdownFailsLaterRequests() async throws {
        let server = try await EchoServer.start()
        let client = HTTPClient()
        var arrivals = server.requests.makeAsyncIterator()
        let inFlight = Task { try await client.execute(HTTPRequest(url: server.url("/delay/10000"))) }
        _ = await arrivals.next()
        await client.shutdown()
        let result = await inFlight.result
        #expect(throws: HTTPClientError.shutdown) { try result.get() }
        await #expect(throws: HTTPClientError.shutdown) {
            _ = try await client.execute(HTTPRequest(url: server.url("/late")))
        }
        try await server.stop()
    }
}
