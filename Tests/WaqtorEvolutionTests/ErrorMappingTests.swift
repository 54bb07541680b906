import EvolutionSimulator
import Foundation
import Testing
@testable import WaqtorEvolution
import WaqtorHTTP

@Suite("Gateway errors mapped to EvolutionError")
struct ErrorMappingTests {
    @Test func badKeyUnknownInstanceAndDuplicate() async throws {
        let h = try await Harness.start()
        let name = uniqueInstance()
        _ = try await h.client.createInstance(name: name)
        let wrong = h.client(apiKey: "wrong-key")

        let unauthorized = try #require(await gatewayError { try await wrong.connectionState(instance: name) })
        #expect(unauthorized.kind == .unauthorized && unauthorized.status == 401)
        #expect(unauthorized.messages == ["Unauthorized"])  // plain-string message
        #expect(await gatewayError { try await wrong.createInstance(name: uniqueInstance()) }?.kind == .unauthorized)

        // Unknown instance: 404 before the key check.
        let missing = try #require(await gatewayError { try await wrong.sendText(instance: "nope-\(name)", number: "1", text: "x") })
        #expect(missing.kind == .instanceNotFound && missing.status == 404)
        #expect(missing.message == "The \"nope-\(name)\" instance does not exist")

        // Duplicate: 403, also before the key check.
        let duplicate = try #require(await gatewayError { try await wrong.createInstance(name: name) })
        #expect(duplicate.kind == .alreadyExists && duplicate.status == 403)
        #expect(duplicate.message.contains("already in use"))

        // Logout of a closed instance: 400.
        let notConnected = try #require(await gatewayError { try await h.client.logout(instance: name) })
        #expect(notConnected.kind == .badRequest(["The \"\(name)\" instance is not connected"]) && notConnected.status == 400)
        await h.stop()
    }

    @Test func unknownNumber() async throws {
        let h = try await Harness.start()
        let name = uniqueInstance()
        _ = try await h.client.createInstance(name: name)
        h.simulator.connect(instance: name)
        h.simulator.addUnknownNumbers(["5511000001111"])
        let error = try #require(await gatewayError { try await h.client.sendText(instance: name, number: "5511000001111", text: "hi") })
        #expect(error.kind == .unknownNumber && error.status == 400)
        #expect(error.unknownNumbers == ["5511000001111"])

        h.simulator.setSendFailure(SendFailure(mode: .unknownNumber), instance: name)
        let media = try #require(await gatewayError { try await h.client.sendMedia(instance: name, number: "5511222", mediatype: .image, media: .url("https://cdn.example.com/a.jpg")) })
        #expect(media.kind == .unknownNumber && media.unknownNumbers == ["5511222"])
        await h.stop()
    }

    @Test func connectionClosedInAllThreeShapes() async throws {
        let h = try await Harness.start()
        let name = uniqueInstance()
        _ = try await h.client.createInstance(name: name)

        // Each route's own shape while the socket is down.
        let text = try #require(await gatewayError { try await h.client.sendText(instance: name, number: "5511", text: "x") })
        #expect(text.kind == .connectionClosed && text.status == 400 && text.messages == ["Error: Connection Closed"])
        let media = try #require(await gatewayError { try await h.client.sendMedia(instance: name, number: "5511", mediatype: .image, media: .url("https://cdn.example.com/a.jpg")) })
        #expect(media.kind == .connectionClosed && media.status == 500 && media.messages == ["Error: Connection Closed"])
        let numbers = try #require(await gatewayError { try await h.client.whatsappNumbers(instance: name, numbers: ["5511"]) })
        #expect(numbers.kind == .connectionClosed && numbers.status == 400 && numbers.messages == ["Connection Closed"])
        #expect(!numbers.body.contains("\"response\""))  // no wrapper on this route: the raw Boom

        // Forced shapes on an open instance (the state says open, the socket is dead).
        h.simulator.connect(instance: name)
        for shape in [SendFailure.ClosedShape.text400, .media500, .string500, .boom400] {
            let control = try await h.raw("POST", "/_sim/send-failure/\(name)", body: "{\"mode\":\"connection-closed\",\"shape\":\"\(shape.rawValue)\"}")
            #expect(control.status == 200)
            let error = try #require(await gatewayError { try await h.client.sendText(instance: name, number: "5511", text: "x") })
            #expect(error.kind == .connectionClosed, "\(shape)")
            #expect(error.status == (shape == .text400 || shape == .boom400 ? 400 : 500))
            switch shape {
            case .string500: #expect(error.body.contains("\"message\":\"Error: Connection Closed\""))
            case .boom400: #expect(error.body.contains("\"isBoom\":true"))
            default: #expect(error.body.contains("[\"Error: Connection Closed\"]"))
            }
        }
        h.simulator.setSendFailure(SendFailure(), instance: name)
        #expect(try await h.client.sendText(instance: name, number: "5511", text: "back").messageId.hasPrefix("3EB0"))
        await h.stop()
    }

    @Test func slowGatewayTimesOutAndDeadPortIsTransport() async throws {
        let h = try await Harness.start()
        let name = uniqueInstance()
        _ = try await h.client.createInstance(name: name)
        h.simulator.connect(instance: name)
        h.simulator.setSendFailure(SendFailure(delayMilliseconds: 1500), instance: name)
        let impatient = h.client(timeout: .milliseconds(200))
        // A timeout (not an answer, which comes after 1.5 s) shows the client gave up first; no
        // wall-clock bound, which a loaded machine can break.
        let error = try #require(await gatewayError { try await impatient.sendText(instance: name, number: "5511", text: "x") })
        #expect(error.kind == .timeout && error.status == nil)

        let dead = EvolutionClient(baseURL: "http://127.0.0.1:1", apiKey: "k", http: h.http, timeout: .seconds(2))
        #expect(await gatewayError { try await dead.connectionState(instance: "x") }?.kind == .transport)
        await h.stop()
    }

    /// The simulator's own answers to requests the client never makes (order of checks, §7).
    @Test func simulatorErrorEnvelopes() async throws {
        let h = try await Harness.start()
        let json = [(name: "Content-Type", value: "application/json"), (name: "apikey", value: Harness.globalKey)]
        let malformed = try await h.raw("POST", "/instance/create", headers: json, body: "{\"instanceName\":")
        #expect(malformed.status == 400)
        #expect((malformed.json as? [String: Any])?["error"] as? String == "Internal Server Error")
        #expect(((malformed.json as? [String: Any])?["response"] as? [String: Any])?["message"] is String)

        let noHeader = try await h.raw("POST", "/instance/create", headers: [("apikey", Harness.globalKey)], body: "{\"instanceName\":\"x\",\"integration\":\"WHATSAPP-BAILEYS\"}")
        #expect(noHeader.status == 400)
        #expect(EvolutionError.classify(status: 400, body: Array(try JSONSerialization.data(withJSONObject: noHeader.json!))).messages == ["instance requires property \"instanceName\""])

        let badIntegration = try await h.raw("POST", "/instance/create", headers: json, body: "{\"instanceName\":\"x\",\"integration\":\"BAILEYS\"}")
        #expect(badIntegration.status == 400)
        let noEvents = try await h.raw("POST", "/instance/create", headers: json, body: "{\"instanceName\":\"x\",\"integration\":\"WHATSAPP-BAILEYS\",\"webhook\":{\"url\":\"http://127.0.0.1:9\"}}")
        #expect(noEvents.status == 400)
        #expect(((noEvents.json as? [String: Any])?["response"] as? [String: Any])?["message"] as? [String] == ["Cannot read properties of undefined (reading 'length')"])
        #expect(try await h.client.fetchInstances(instanceName: "x").isEmpty)  // not created

        let unknownRoute = try await h.raw("POST", "/instance/explode", headers: json, body: "{}")
        #expect(unknownRoute.status == 404)
        #expect(((unknownRoute.json as? [String: Any])?["response"] as? [String: Any])?["message"] as? [String] == ["Cannot POST /instance/explode"])

        // Media checks: localhost URLs and data: prefixes are refused; 127.0.0.1 is accepted.
        _ = try await h.client.createInstance(name: "m")
        h.simulator.connect(instance: "m")
        let localhost = try #require(await gatewayError { try await h.client.sendMedia(instance: "m", number: "5511", mediatype: .image, media: .url("http://localhost/a.png")) })
        #expect(localhost.kind == .badRequest(["Owned media must be a url or base64"]))
        let prefixed = try await h.raw("POST", "/message/sendMedia/m", headers: json, body: "{\"number\":\"5511\",\"mediatype\":\"image\",\"media\":\"data:image/png;base64,iVBORw0KGgo=\"}")
        #expect(prefixed.status == 400)
        let noFileName = try #require(await gatewayError { try await h.client.sendMedia(instance: "m", number: "5511", mediatype: .document, media: .base64("JVBERi0=")) })
        #expect(noFileName.status == 400)
        await h.stop()
    }

    /// Shapes parsed without a server: both message forms, the unwrapped route, 200 with error:true.
    @Test func classifierParsesEveryShape() {
        func classify(_ status: Int, _ body: String, create: Bool = false) -> EvolutionError {
            EvolutionError.classify(status: status, body: Array(body.utf8), isCreate: create)
        }
        #expect(classify(401, #"{"status":401,"error":"Unauthorized","response":{"message":"Unauthorized"}}"#).kind == .unauthorized)
        #expect(classify(404, #"{"status":404,"error":"Not Found","response":{"message":["The \"a\" instance does not exist"]}}"#).kind == .instanceNotFound)
        #expect(classify(404, #"{"status":404,"error":"Not Found","response":{"message":["Cannot GET /x"]}}"#).kind == .badRequest(["Cannot GET /x"]))
        #expect(classify(403, #"{"status":403,"error":"Forbidden","response":{"message":["This name \"a\" is already in use."]}}"#, create: true).kind == .alreadyExists)
        #expect(classify(500, #"{"status":500,"error":"Internal Server Error","response":{"message":"Error: Connection Closed"}}"#).kind == .connectionClosed)
        #expect(classify(400, #"{"status":400,"error":"Bad Request","message":["Error: Connection Closed"]}"#).kind == .connectionClosed)
        let unknown = classify(400, #"{"status":400,"error":"Bad Request","response":{"message":[{"jid":"1@s.whatsapp.net","exists":false,"number":"1"}]}}"#)
        #expect(unknown.kind == .unknownNumber && unknown.unknownNumbers == ["1"])
        let unwrapped = classify(400, #"{"status":400,"error":"Bad Request","message":"numbers must be an array"}"#)
        #expect(unwrapped.kind == .badRequest(["numbers must be an array"]))
        #expect(classify(502, "<html>bad gateway</html>").kind == .server(502))
        #expect(classify(200, #"{"error":true,"message":"Error: boom"}"#).kind == .server(200))
        #expect(classify(400, #"{"status":400,"error":"Internal Server Error","response":{"message":"Unexpected token } in JSON at position 5"}}"#).messages == ["Unexpected token } in JSON at position 5"])
    }

    @Test func messageTimestampForms() {
        #expect(EvolutionClient.timestamp(1717689097) == 1717689097)
        #expect(EvolutionClient.timestamp("1717689097") == 1717689097)
        #expect(EvolutionClient.timestamp(["low": 1717689097, "high": 0, "unsigned": true]) == 1717689097)
        #expect(EvolutionClient.timestamp(nil) == nil)
    }
}
