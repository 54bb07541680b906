import NIOCore
import Testing
import WaqtorTestSupport

@testable import WaqtorRPC

/// Calls made from tasks that prefer the client's executor (``RPCClient/withPreferredExecutor(_:)``).
@Suite struct TaskExecutorTests {
    @Test func optedInCallsResumeOnTheConnectionsEventLoop() async throws {
        let service = TestService()
        try await withServer(service.router) { _, port in
            let client = RPCClient(host: "127.0.0.1", port: port)
            // Many concurrent tasks (children inherit the preference), several calls each: every
            // call completes with its own answer, and every task resumes on the client's loop.
            let tasks = 200, callsPerTask = 5
            let outcomes: [(answered: Int, onLoop: Bool)] = try await client.withPreferredExecutor {
                #expect(client.eventLoop.inEventLoop)
                return try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
                    for task in 0..<tasks {
                        group.addTask {
                            var answered = 0
                            var onLoop = client.eventLoop.inEventLoop
                            for call in 0..<callsPerTask {
                                let answer = try await client.unary(
                                    method: "test.Service/Echo", request: Echo("\(task)-\(call)"), responseType: Echo.self)
                                if answer.text == "\(task)-\(call)" { answered += 1 }
                                onLoop = onLoop && client.eventLoop.inEventLoop
                            }
                            return (answered, onLoop)
                        }
                    }
                    var all: [(answered: Int, onLoop: Bool)] = []
                    for try await outcome in group { all.append(outcome) }
                    return all
                }
            }
            #expect(outcomes.count == tasks)
            #expect(outcomes.allSatisfy { $0.answered == callsPerTask })
            #expect(outcomes.allSatisfy { $0.onLoop })

            // A task that does not opt in is resumed off the loop, as before, and works as before.
            let answer = try await client.unary(method: "test.Service/Echo", request: Echo("plain"), responseType: Echo.self)
            #expect(answer.text == "plain")
            #expect(!client.eventLoop.inEventLoop)
            await client.close()
        }
    }

    @Test func optedInFailuresAndTimeoutsResumeOnTheLoop() async throws {
        let service = TestService()
        try await withServer(service.router) { _, port in
            let client = RPCClient(host: "127.0.0.1", port: port)
            try await client.withPreferredExecutor {
                await #expect(throws: RPCError.self) {
                    _ = try await client.unary(method: "test.Service/Fail", request: Echo("x"), responseType: Echo.self)
                }
                #expect(client.eventLoop.inEventLoop)
                await #expect(throws: RPCError.self) {
                    _ = try await client.unary(
                        method: "test.Service/Forever", request: Echo(), responseType: Echo.self,
                        options: CallOptions(timeout: .milliseconds(50)))
                }
                #expect(client.eventLoop.inEventLoop)
                let answer = try await client.unary(method: "test.Service/Echo", request: Echo("after"), responseType: Echo.self)
                #expect(answer.text == "after")
            }
            await client.close()
        }
    }
}
