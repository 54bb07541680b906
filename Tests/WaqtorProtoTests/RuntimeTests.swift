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

    @Test("the UTF-8 error names the field, nested and repeated ones by their path")
    func invalidUTF8NamesTheField() {
        #expect(refusal(Waqtor_V1_LoginRequest.self, field(1, [0xFF, 0xFE])) == .init(fieldPath: "email", problem: .notUTF8))
        let plans = field(1, field(1, Array("free".utf8))) + field(1, field(1, [0xC3, 0x28]))
        #expect(refusal(Waqtor_V1_ListPlansResponse.self, plans) == .init(fieldPath: "plans[1].id", problem: .notUTF8))
        let error = ProtoDecodingError(messageName: "m", byteCount: 1, invalidString: .init(fieldPath: "email", problem: .notUTF8))
        #expect(error.rpcError.code == .invalidArgument)
        #expect(error.rpcError.message == "email is not valid UTF-8")
    }

    @Test("a string holding U+0000 is refused with the field named, at any depth, not cut at the NUL")
    func nulRefused() {
        let nul = Array("Bad\u{0}Inc".utf8)
        // A top-level string: SignUpRequest.name (protobuf-c alone would give "Bad").
        let signUp = field(1, nul) + field(2, Array("a@example.com".utf8))
        #expect(refusal(Waqtor_V1_SignUpRequest.self, signUp) == .init(fieldPath: "name", problem: .containsNUL))
        // After the real value: LoginRequest.password followed by "\0anything".
        let login = field(1, Array("a@example.com".utf8)) + field(2, Array("correct horse\u{0}anything".utf8))
        #expect(refusal(Waqtor_V1_LoginRequest.self, login) == .init(fieldPath: "password", problem: .containsNUL))
        // The NUL as the first or the last byte.
        #expect(refusal(Waqtor_V1_GetInstanceRequest.self, field(1, [0, 0x61])) == .init(fieldPath: "instance_id", problem: .containsNUL))
        #expect(refusal(Waqtor_V1_GetInstanceRequest.self, field(1, [0x61, 0])) == .init(fieldPath: "instance_id", problem: .containsNUL))
        // A repeated string: UpdatePacingRequest.update_paths (field 15), second element.
        let paths = field(15, Array("daily_cap".utf8)) + field(15, Array("x\u{0}y".utf8))
        #expect(refusal(Waqtor_V1_UpdatePacingRequest.self, paths) == .init(fieldPath: "update_paths[1]", problem: .containsNUL))
        // A string in a repeated message in a message: CreateContactRequest.contact.attributes[1].value.
        let attributes = field(4, field(1, Array("k".utf8)) + field(2, Array("v".utf8)))
            + field(4, field(1, Array("city".utf8)) + field(2, Array("Ca\u{0}iro".utf8)))
        let contact = field(1, field(3, Array("Ana".utf8)) + attributes)
        #expect(refusal(Waqtor_V1_CreateContactRequest.self, contact) == .init(fieldPath: "contact.attributes[1].value", problem: .containsNUL))
        // A oneof member: Media.url (field 10).
        #expect(refusal(Waqtor_V1_Media.self, field(10, Array("https://x\u{0}.example".utf8))) == .init(fieldPath: "url", problem: .containsNUL))
        // What the server answers.
        let error = ProtoDecodingError(messageName: "waqtor.v1.SignUpRequest", byteCount: 9, invalidString: .init(fieldPath: "name", problem: .containsNUL))
        #expect(error.rpcError.code == .invalidArgument)
        #expect(error.rpcError.message == "name must not contain a NUL character (U+0000)")
    }

    @Test("zero bytes outside strings are not mistaken for a NUL in a string")
    func zeroBytesElsewhere() throws {
        // Media: bytes data with zeros (field 11) and a caption (field 4).
        let media = try Waqtor_V1_Media(serializedBytes: field(4, Array("hi".utf8)) + field(11, [0, 1, 0]))
        #expect(media.caption == "hi" && media.data == [0, 1, 0])
        // An empty message element (length byte 0) next to a string: ListPlansResponse.
        let plans = try Waqtor_V1_ListPlansResponse(serializedBytes: field(1, []) + field(1, field(1, Array("pro".utf8))))
        #expect(plans.plans.map(\.id) == ["", "pro"])
        // An empty string (length byte 0) and a zero-length repeated element.
        let paths = try Waqtor_V1_UpdatePacingRequest(serializedBytes: field(1, []) + field(15, []) + field(15, Array("daily_cap".utf8)))
        #expect(paths.updatePaths == ["", "daily_cap"])
        // An unknown length-delimited field holding zeros (field 9 of GetInstanceRequest) is skipped.
        let unknown = try Waqtor_V1_GetInstanceRequest(serializedBytes: field(9, [0, 0]) + field(1, Array("ins_1".utf8)))
        #expect(unknown.instanceID == "ins_1")
        // A message without strings is not walked at all.
        let ping = try Waqtor_V1_PingRequest(serializedBytes: field(1, [0, 0, 0]))
        #expect(ping.payload == [0, 0, 0])
    }

    /// A length-delimited field (lengths below 128).
    private func field(_ number: UInt8, _ value: [UInt8]) -> [UInt8] {
        precondition(value.count < 128 && number < 16)
        return [number << 3 | 2, UInt8(value.count)] + value
    }

    /// What decoding `bytes` as `type` says about its strings (nil: it decoded, or failed otherwise).
    private func refusal<M: ProtoMessage>(_ type: M.Type, _ bytes: [UInt8]) -> ProtoDecodingError.InvalidString? {
        do throws(ProtoDecodingError) {
            _ = try M(serializedBytes: bytes)
            Issue.record("\(M.protoMessageName) decoded")
            return nil
        } catch {
            return error.invalidString
        }
    }
}
