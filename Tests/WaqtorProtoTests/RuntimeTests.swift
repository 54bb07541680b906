import Foundation
import Logging
import NIOCore
import Testing
import WaqtorProto
import WaqtorRPC

@Suite("WaqtorProto runtime")
struct RuntimeTests {
    /// Invalid wire bytes throw ProtoDecodingError for every message type (no crash, no partial value).
    @Test(arguments: [
        [0xFF] as [UInt8],  // a truncated tag varint
        [0x0A, 0x05, 0x01],  // field 1, length 5, one byte present
        [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],  // an overlong varint
        [0x0F, 0x00],  // wire type 7
        [0x08],  // field 1 varint without its value
    ])
    func garbageThrows(bytes: [UInt8]) {
        for type in waqtorAllMessageTypes {
            do {
                _ = try type.init(serializedBytes: bytes)
                Issue.record("\(type.protoMessageName) accepted \(bytes)")
            } catch {
                #expect(error.messageName == type.protoMessageName)
                #expect(error.byteCount == bytes.count)
            }
        }
    }

    @Test func randomBytesNeverCrash() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let count = Int.random(in: 0..<64, using: &generator)
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            for type in waqtorAllMessageTypes {
                _ = try? type.init(serializedBytes: bytes)
            }
        }
    }

    @Test func unknownEnumNumberIsPreserved() throws {
        var m = Waqtor_V1_Instance()
        m.state = Waqtor_V1_ConnectionState(rawValue: 1234)
        #expect(m.state == .UNRECOGNIZED(1234))
        let decoded = try Waqtor_V1_Instance(serializedBytes: m.serializedBytes())
        #expect(decoded.state.rawValue == 1234)
        #expect(Waqtor_V1_ConnectionState(rawValue: 5) == .needsRepairing)
        #expect(Waqtor_V1_ApiKeyScope.allCases.map(\.rawValue) == [0, 1, 2, 3])
        #expect(Waqtor_V1_ApiKeyScope.sendOnly.rawValue == 2)
    }

    @Test func oneofAccessors() throws {
        var media = Waqtor_V1_Media()
        #expect(media.source == nil)
        #expect(media.url == "")
        media.url = "https://x"
        #expect(media.source == .url("https://x"))
        media.data = []
        #expect(media.source == .data([]))
        #expect(media.url == "")
        // An empty member of a oneof is still "set" on the wire.
        let decoded = try Waqtor_V1_Media(serializedBytes: media.serializedBytes())
        #expect(decoded.source == .data([]))
    }

    @Test func serializeAppendsToTheBuffer() throws {
        var buffer = ByteBufferAllocator().buffer(capacity: 4)
        buffer.writeBytes([1, 2, 3])
        var ping = Waqtor_V1_PingRequest()
        ping.payload = Array(repeating: 7, count: 5000)  // larger than the arena's stack buffer
        ping.serialize(into: &buffer)
        #expect(buffer.readBytes(length: 3) == [1, 2, 3])
        let decoded = try Waqtor_V1_PingRequest(buffer: buffer)
        #expect(decoded == ping)
    }

    @Test func largeMessageSpillsOutOfTheStackArena() throws {
        var list = Waqtor_V1_ListContactsResponse()
        list.contacts = (0..<500).map { i in
            var c = Waqtor_V1_Contact()
            c.id = "ct_\(i)"
            c.phoneNumber = "+1555\(1_000_000 + i)"
            c.name = String(repeating: "名", count: i % 40)
            c.attributes = [.init(key: "k\(i)", value: "v\(i)")]
            return c
        }
        let decoded = try Waqtor_V1_ListContactsResponse(serializedBytes: list.serializedBytes())
        #expect(decoded == list)
    }

    @Test func timestampDate() {
        let date = Date(timeIntervalSince1970: 1_700_000_000.25)
        let ts = Google_Protobuf_Timestamp(date: date)
        #expect(ts.seconds == 1_700_000_000)
        #expect(ts.nanos == 250_000_000)
        #expect(ts.date == date)
        let before = Google_Protobuf_Timestamp(timeIntervalSince1970: -1.5)
        #expect(before.seconds == -2)
        #expect(before.nanos == 500_000_000)
    }

    @Test func serviceMetadata() {
        #expect(Waqtor_V1_HealthService.name == "waqtor.v1.HealthService")
        #expect(Waqtor_V1_HealthService.methodNames == ["waqtor.v1.HealthService/Ping", "waqtor.v1.HealthService/Readiness"])
        #expect(Waqtor_V1_CampaignService.Method.watchProgress == "waqtor.v1.CampaignService/WatchProgress")
        #expect(WaqtorAllMethods.names.contains("waqtor.v1.ChatService/Live"))
        #expect(WaqtorAllMethods.names.contains("waqtor.v1.AIService/DraftTemplates"))
        #expect(Set(WaqtorAllMethods.names).count == WaqtorAllMethods.names.count)
        let names = waqtorAllMessageTypes.map { $0.protoMessageName }
        #expect(names.contains("google.protobuf.Timestamp"))
        #expect(Set(names).count == names.count)
    }

    struct Health: Waqtor_V1_HealthServiceHandler {
        func ping(_ request: Waqtor_V1_PingRequest, context: ServerContext) async throws -> Waqtor_V1_PingResponse {
            var response = Waqtor_V1_PingResponse()
            response.payload = request.payload
            response.serverTime = .now()
            return response
        }
        func readiness(_ request: Waqtor_V1_ReadinessRequest, context: ServerContext) async throws -> Waqtor_V1_ReadinessResponse {
            var response = Waqtor_V1_ReadinessResponse()
            response.ready = true
            return response
        }
    }

    @Test func handlerRegistersAndServes() async throws {
        var router = RPCRouter()
        Health().register(into: &router)
        #expect(router.methods == ["waqtor.v1.HealthService/Ping", "waqtor.v1.HealthService/Readiness"])
        guard case .unary(let handler)? = router.handlers["waqtor.v1.HealthService/Ping"] else {
            Issue.record("Ping not registered as unary")
            return
        }
        var request = Waqtor_V1_PingRequest()
        request.payload = [1, 2, 3]
        var bytes = ByteBuffer()
        request.serialize(into: &bytes)
        let context = ServerContext(
            method: "waqtor.v1.HealthService/Ping", metadata: Metadata(), deadline: nil, requestID: "r1",
            peer: "test", logger: .init(label: "test"))
        let out = try await handler(bytes, context)
        let response = try Waqtor_V1_PingResponse(buffer: out)
        #expect(response.payload == [1, 2, 3])
        #expect(response.serverTime != nil)
    }
}

@Suite("String validation")
struct StringValidationTests {
    @Test("a string field that is not valid UTF-8 makes the message invalid; valid UTF-8 passes")
    func invalidUTF8() throws {
        // LoginRequest.email (field 1, a string) holding the bytes FF FE.
        #expect(throws: ProtoDecodingError.self) {
            _ = try Waqtor_V1_LoginRequest(serializedBytes: [0x0A, 0x02, 0xFF, 0xFE])
        }
        // The same inside a nested, repeated message: ListPlansResponse.plans[0].id.
        #expect(throws: ProtoDecodingError.self) {
            _ = try Waqtor_V1_ListPlansResponse(serializedBytes: [0x0A, 0x04, 0x0A, 0x02, 0xC3, 0x28])
        }
        let valid = try Waqtor_V1_LoginRequest(serializedBytes: [0x0A, 0x02, 0xC3, 0xA9])
        #expect(valid.email == "é")
    }
}
