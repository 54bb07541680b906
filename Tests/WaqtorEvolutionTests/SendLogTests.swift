@testable import EvolutionSimulator
import Foundation
import Testing
import WaqtorEvolution
import WaqtorHTTP

/// The simulator's send log (`sends()`, `/_sim/sends`) and its transient `server-error` mode,
/// through the product's client over real HTTP.
@Suite("Simulator send log and server errors")
struct SendLogTests {
    static let json = [(name: "Content-Type", value: "application/json"), (name: "apikey", value: Harness.globalKey)]

    /// An open instance on a fresh simulator.
    static func open() async throws -> (Harness, String) {
        let h = try await Harness.start()
        let name = uniqueInstance()
        _ = try await h.client.createInstance(name: name)
        h.simulator.connect(instance: name)
        return (h, name)
    }

    @Test func logRecordsEachSendWithItsTimes() async throws {
        let (h, name) = try await Self.open()
        let closed = uniqueInstance("closed")
        _ = try await h.client.createInstance(name: closed)

        let first = try await h.client.sendText(instance: name, number: "5511900000001", text: "first")
        let second = try await h.client.sendText(instance: name, number: "5511900000002", text: "second", delay: 150)
        let media = try await h.client.sendMedia(
            instance: name, number: "5511900000003", mediatype: .image, media: .url("https://cdn.example.com/a.jpg"), caption: "photo", delay: 40)
        let bare = try await h.client.sendMedia(instance: name, number: "5511900000004", mediatype: .image, media: .url("https://cdn.example.com/b.jpg"))
        // A send to a closed instance reaches the handler (400 Connection Closed); so does a body
        // without text. An unknown instance or a bad key does not.
        #expect(await gatewayError { try await h.client.sendText(instance: closed, number: "5511900000005", text: "nobody", delay: 30) }?.status == 400)
        #expect(try await h.raw("POST", "/message/sendText/\(name)", headers: Self.json, body: "{\"number\":\"5511900000006\"}").status == 400)
        #expect(await gatewayError { try await h.client.sendText(instance: "nope-\(name)", number: "1", text: "x") }?.status == 404)
        #expect(await gatewayError { try await h.client(apiKey: "wrong").sendText(instance: name, number: "1", text: "x") }?.status == 401)

        let sends = await h.simulator.waitForSends(count: 6, timeout: .seconds(60))
        try #require(sends.count == 6)
        #expect(sends.map(\.instance) == [name, name, name, name, closed, name])
        #expect(sends.map(\.number) == ["5511900000001", "5511900000002", "5511900000003", "5511900000004", "5511900000005", "5511900000006"])
        #expect(sends.map(\.text) == ["first", "second", "photo", nil, "nobody", nil])
        #expect(sends.map(\.isMedia) == [false, false, true, true, false, false])
        #expect(sends.map(\.delay) == [0, 150, 40, 0, 30, 0])
        #expect(sends.map(\.status) == [201, 201, 201, 201, 400, 400])
        #expect(sends.map(\.messageId) == [first.messageId, second.messageId, media.messageId, bare.messageId, nil, nil])
        for send in sends {
            #expect(send.answerWritten)
            #expect(send.arrivedAt >= h.simulator.startedAt)
            #expect(send.arrivedAt <= send.answeredAt)
            #expect(send.answeredAt - send.arrivedAt >= .milliseconds(send.delay), "\(send)")
        }
        // Sequential calls: each arrived after the previous one was answered.
        for (earlier, later) in zip(sends, sends.dropFirst()) { #expect(earlier.answeredAt <= later.arrivedAt) }
        await h.stop()
    }

    @Test func concurrentSendsAreLoggedInArrivalOrder() async throws {
        let (h, name) = try await Self.open()
        let client = h.client
        let texts = (0..<40).map { "m\($0)" }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, text) in texts.enumerated() {
                group.addTask { _ = try await client.sendText(instance: name, number: "55119000\(index)", text: text, delay: index % 3 * 20) }
            }
            try await group.waitForAll()
        }
        let sends = await h.simulator.waitForSends(count: texts.count, timeout: .seconds(60))
        #expect(sends.count == texts.count)
        #expect(Set(sends.compactMap(\.text)) == Set(texts))
        #expect(Set(sends.compactMap(\.messageId)).count == texts.count)
        for (earlier, later) in zip(sends, sends.dropFirst()) { #expect(earlier.arrivedAt <= later.arrivedAt) }
        for send in sends { #expect(send.answeredAt - send.arrivedAt >= .milliseconds(send.delay)) }
        await h.stop()
    }

    @Test func logKeepsTheLatestAndClears() async throws {
        let simulator = try await EvolutionSimulator.start(.init(apiKey: Harness.globalKey, ackInterval: .milliseconds(1), maxRecordedSends: 3))
        let http = HTTPClient()
        let client = EvolutionClient(baseURL: simulator.baseURL, apiKey: Harness.globalKey, http: http, timeout: .seconds(10))
        let name = uniqueInstance()
        _ = try await client.createInstance(name: name)
        simulator.connect(instance: name)
        for index in 1...5 { _ = try await client.sendText(instance: name, number: "5511", text: "t\(index)") }
        #expect(await simulator.waitForSends(count: 3).map(\.text) == ["t3", "t4", "t5"])

        simulator.clearSends()
        #expect(simulator.sends().isEmpty)
        _ = try await client.sendText(instance: name, number: "5511", text: "after")
        #expect(await simulator.waitForSends(count: 1).map(\.text) == ["after"])

        // A send cleared while its answer is delayed is not logged when the answer comes.
        simulator.clearSends()
        async let slow = client.sendText(instance: name, number: "5511", text: "slow", delay: 300)
        while simulator.loggedSendCount == 0 { try await Task.sleep(for: .milliseconds(1)) }  // logged, not answered
        #expect(simulator.sends().isEmpty)
        simulator.clearSends()
        #expect(try await slow.messageId.hasPrefix("3EB0"))
        _ = try await client.sendText(instance: name, number: "5511", text: "next")
        #expect(await simulator.waitForSends(count: 1).map(\.text) == ["next"])
        await http.shutdown()
        await simulator.stop()
    }

    /// A client that gave up still leaves the send logged as done (the gateway sent it). Whether
    /// the answer is marked unwritten depends on the simulator seeing the client's close before it
    /// writes, which a loaded machine can delay: not asserted.
    @Test func sendOfAClientThatLeftIsStillLogged() async throws {
        let (h, name) = try await Self.open()
        h.simulator.setSendFailure(SendFailure(delayMilliseconds: 800), instance: name)
        let impatient = h.client(timeout: .milliseconds(150))
        #expect(await gatewayError { try await impatient.sendText(instance: name, number: "5511", text: "late") }?.kind == .timeout)
        let sends = await h.simulator.waitForSends(count: 1, timeout: .seconds(60))
        try #require(sends.count == 1)
        #expect(sends[0].status == 201 && sends[0].messageId != nil)  // the gateway did send it
        #expect(sends[0].answeredAt - sends[0].arrivedAt >= .milliseconds(800))
        await h.stop()
    }

    @Test func serverErrorWithCountFailsExactlyThatManySends() async throws {
        let (h, name) = try await Self.open()
        let control = try await h.raw("POST", "/_sim/send-failure/\(name)", body: "{\"mode\":\"server-error\",\"count\":3}")
        #expect(control.status == 200)
        let echoed = try #require(control.json as? [String: Any])
        #expect(echoed["mode"] as? String == "server-error" && echoed["count"] as? Int == 3)

        for index in 1...3 {
            let error = try #require(await gatewayError { try await h.client.sendText(instance: name, number: "5511", text: "try \(index)") })
            #expect(error.kind == .server(500) && error.status == 500)
            #expect(error.messages == ["Error: simulated server error"])
            let body = try #require(try JSONSerialization.jsonObject(with: Data(error.body.utf8)) as? [String: Any])
            #expect(body["status"] as? Int == 500 && body["error"] as? String == "Internal Server Error")
            #expect((body["response"] as? [String: Any])?["message"] as? [String] == ["Error: simulated server error"])
        }
        // Back to normal by itself, for text and media alike.
        #expect(try await h.client.sendText(instance: name, number: "5511", text: "try 4").messageId.hasPrefix("3EB0"))
        #expect(try await h.client.sendMedia(instance: name, number: "5511", mediatype: .image, media: .url("https://cdn.example.com/a.jpg")).messageId.hasPrefix("3EB0"))
        let sends = await h.simulator.waitForSends(count: 5)
        #expect(sends.map(\.status) == [500, 500, 500, 201, 201])
        #expect(sends.map(\.messageId).prefix(3).allSatisfy { $0 == nil })

        // Without a count: every send fails until reset; number checks are not affected.
        h.simulator.setSendFailure(SendFailure(mode: .serverError), instance: name)
        for _ in 0..<5 {
            #expect(await gatewayError { try await h.client.sendText(instance: name, number: "5511", text: "x") }?.status == 500)
        }
        #expect(try await h.client.whatsappNumbers(instance: name, numbers: ["5511"]).count == 1)
        #expect(try await h.raw("POST", "/_sim/send-failure/\(name)", body: "{\"mode\":\"none\"}").status == 200)
        #expect(try await h.client.sendText(instance: name, number: "5511", text: "ok").messageId.hasPrefix("3EB0"))
        await h.stop()
    }

    @Test func serverErrorCountIsExactUnderConcurrency() async throws {
        let (h, name) = try await Self.open()
        let other = uniqueInstance()
        _ = try await h.client.createInstance(name: other)
        h.simulator.connect(instance: other)
        // The default (`*`): the next 7 sends to any instance fail.
        #expect(try await h.raw("POST", "/_sim/send-failure/*", body: "{\"mode\":\"server-error\",\"count\":7}").status == 200)
        let client = h.client
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<30 {
                let instance = index.isMultiple(of: 2) ? name : other
                group.addTask {
                    let error = await gatewayError { try await client.sendText(instance: instance, number: "5511", text: "c\(index)") }
                    return error.map { $0.status ?? -1 } ?? 201
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses.filter { $0 == 500 }.count == 7)
        #expect(statuses.filter { $0 == 201 }.count == 23)
        let sends = await h.simulator.waitForSends(count: 30)
        #expect(sends.filter { $0.status == 500 }.count == 7)
        // The first 7 to arrive are the ones that failed.
        #expect(sends.prefix(7).allSatisfy { $0.status == 500 })
        await h.stop()
    }

    @Test func controlRoutes() async throws {
        let (h, name) = try await Self.open()
        _ = try await h.client.sendText(instance: name, number: "5511900000001", text: "hello", delay: 25)
        #expect(try await h.raw("POST", "/_sim/send-failure/\(name)", body: "{\"mode\":\"server-error\",\"count\":1}").status == 200)
        #expect(await gatewayError { try await h.client.sendMedia(instance: name, number: "5511900000002", mediatype: .image, media: .url("https://cdn.example.com/a.jpg"), caption: "cap") }?.status == 500)
        _ = await h.simulator.waitForSends(count: 2)

        let listed = try await h.raw("GET", "/_sim/sends")
        #expect(listed.status == 200)
        let rows = try #require(listed.json as? [[String: Any]])
        try #require(rows.count == 2)
        let keys: Set<String> = ["instance", "route", "number", "text", "delay", "status", "messageId", "arrivedAt", "answeredAt", "answerWritten"]
        #expect(rows.allSatisfy { Set($0.keys) == keys })
        #expect(rows[0]["instance"] as? String == name && rows[0]["route"] as? String == "sendText")
        #expect(rows[0]["number"] as? String == "5511900000001" && rows[0]["text"] as? String == "hello")
        #expect(rows[0]["delay"] as? Int == 25 && rows[0]["status"] as? Int == 201)
        #expect((rows[0]["messageId"] as? String)?.hasPrefix("3EB0") == true)
        #expect(rows[0]["answerWritten"] as? Bool == true)
        #expect(rows[1]["route"] as? String == "sendMedia" && rows[1]["text"] as? String == "cap")
        #expect(rows[1]["status"] as? Int == 500 && rows[1]["messageId"] is NSNull)
        func number(_ value: Any?) -> Double? {
            switch value {
            case let double as Double: double
            case let int as Int: Double(int)
            case let number as NSNumber: number.doubleValue
            default: nil
            }
        }
        let arrived = try rows.map { try #require(number($0["arrivedAt"])) }
        let answered = try rows.map { try #require(number($0["answeredAt"])) }
        #expect(arrived[0] >= 0 && arrived[0] <= answered[0] && answered[0] - arrived[0] >= 25)
        #expect(answered[0] <= arrived[1] && arrived[1] <= answered[1])
        // The same times as the in-process log, in milliseconds since the simulator started.
        let first = h.simulator.sends()[0]
        let expected = Double((first.arrivedAt - h.simulator.startedAt).components.seconds) * 1000
            + Double((first.arrivedAt - h.simulator.startedAt).components.attoseconds) / 1e15
        #expect(abs(arrived[0] - expected) < 0.001)

        let cleared = try await h.raw("DELETE", "/_sim/sends")
        #expect(cleared.status == 200 && (cleared.json as? [String: Any])?["cleared"] as? Int == 2)
        #expect((try await h.raw("GET", "/_sim/sends").json as? [Any])?.isEmpty == true)
        #expect(h.simulator.sends().isEmpty)

        // Refused send-failure bodies.
        #expect(try await h.raw("POST", "/_sim/send-failure/\(name)", body: "{\"mode\":\"server-error\",\"count\":0}").status == 400)
        #expect(try await h.raw("POST", "/_sim/send-failure/\(name)", body: "{\"mode\":\"connection-closed\",\"count\":2}").status == 400)
        let unknownMode = try await h.raw("POST", "/_sim/send-failure/\(name)", body: "{\"mode\":\"teapot\"}")
        #expect(unknownMode.status == 400)
        let message = ((unknownMode.json as? [String: Any])?["response"] as? [String: Any])?["message"] as? [String]
        #expect(message?.first?.contains("server-error") == true)
        let uncounted = try await h.raw("POST", "/_sim/send-failure/\(name)", body: "{\"mode\":\"server-error\"}")
        #expect(uncounted.status == 200 && (uncounted.json as? [String: Any])?["count"] is NSNull)
        await h.stop()
    }
}
