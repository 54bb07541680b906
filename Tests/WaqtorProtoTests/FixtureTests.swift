import Foundation
import Testing
import WaqtorProto
import WaqtorRPC

/// Cross-implementation fixtures: `.bin` files encoded by Google's protoc from the `.txtpb` next to
/// them (tools/make-proto-fixtures.sh). Each must decode to the hand-written value below and
/// re-encode to exactly the same bytes.
@Suite("protoc fixtures")
struct FixtureTests {
    static func fixture(_ name: String) throws -> [UInt8] {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "bin", subdirectory: "Fixtures"))
        return [UInt8](try Data(contentsOf: url))
    }

    func check<M: ProtoMessage>(_ name: String, _ expected: M) throws {
        let bytes = try Self.fixture(name)
        let decoded = try M(serializedBytes: bytes)
        #expect(decoded == expected)
        #expect(expected.serializedBytes() == bytes, "Swift encoding of \(name) differs from protoc's")
        #expect(decoded.serializedBytes() == bytes)
    }

    @Test func pingResponse() throws {
        var m = Waqtor_V1_PingResponse()
        m.payload = [0, 1, 0xFF] + Array("hello".utf8)
        m.serverTime = Google_Protobuf_Timestamp(seconds: 1_735_689_600, nanos: 123_456_789)
        try check("PingResponse", m)
    }

    @Test func readinessResponse() throws {
        var m = Waqtor_V1_ReadinessResponse()
        m.ready = false
        var pg = Waqtor_V1_ComponentHealth()
        pg.name = "postgres"
        pg.ready = true
        pg.latencyMicros = 812
        var redis = Waqtor_V1_ComponentHealth()
        redis.name = "redis-shard-0"
        redis.detail = "connection refused"
        redis.latencyMicros = 5_000_000_000
        m.components = [pg, redis]
        try check("ReadinessResponse", m)
    }

    @Test func campaign() throws {
        var m = Waqtor_V1_Campaign()
        m.id = "cmp_01HZX"
        m.name = "Ramadan offers 🌙"
        m.state = .scheduled
        m.templateText = "مرحبا {{name}}! Olá, 你好 — 20% off until {{end_date}}"
        var media = Waqtor_V1_Media()
        media.kind = .image
        media.mimeType = "image/jpeg"
        media.caption = "{{name}}, see the offer"
        media.source = .url("https://cdn.example.com/offer.jpg")
        m.media = media
        var audience = Waqtor_V1_CampaignAudience()
        audience.contactListIds = ["lst_a", "lst_b"]
        audience.contactIds = ["ct_1"]
        m.audience = audience
        m.instanceID = "ins_9"
        m.scheduleTime = Google_Protobuf_Timestamp(seconds: 1_741_000_000, nanos: 0)
        var pacing = Waqtor_V1_PacingSettings()
        pacing.minDelayMs = 3000
        pacing.maxDelayMs = 9000
        pacing.dailyCap = 500
        pacing.quietHoursEnabled = true
        pacing.quietHoursStartMinute = 1320
        pacing.quietHoursEndMinute = 480
        pacing.warmupEnabled = true
        pacing.warmupDays = 14
        m.pacingOverride = pacing
        m.createTime = Google_Protobuf_Timestamp(seconds: 1_740_000_000, nanos: 5)
        try check("Campaign", m)
    }

    @Test func liveResponse() throws {
        var message = Waqtor_V1_ChatMessage()
        message.id = "msg_1"
        message.conversationID = "cnv_1"
        message.instanceID = "ins_9"
        message.direction = .inbound
        message.status = .received
        message.text = "Ça marche? 👍"
        var media = Waqtor_V1_Media()
        media.kind = .document
        media.mimeType = "application/pdf"
        media.fileName = "menü.pdf"
        media.sizeBytes = 4
        media.data = Array("%PDF".utf8)
        message.media = media
        message.createTime = Google_Protobuf_Timestamp(seconds: 1_741_234_560, nanos: 0)
        var m = Waqtor_V1_LiveResponse()
        m.eventTime = Google_Protobuf_Timestamp(seconds: 1_741_234_567, nanos: 999_999_999)
        m.event = .message(message)
        try check("LiveResponse", m)
    }

    @Test func importContactsRequest() throws {
        var joao = Waqtor_V1_Contact()
        joao.phoneNumber = "+5511987654321"
        joao.name = "João Silva"
        joao.attributes = [.init(key: "city", value: "São Paulo"), .init(key: "tier", value: "gold")]
        var ahmed = Waqtor_V1_Contact()
        ahmed.phoneNumber = "+201001234567"
        ahmed.name = "أحمد"
        ahmed.optedOut = true
        var rows = Waqtor_V1_ContactRows()
        rows.contacts = [joao, ahmed]
        var m = Waqtor_V1_ImportContactsRequest()
        m.source = .rows(rows)
        m.listID = "lst_a"
        m.updateExisting = true
        m.defaultCountryCode = "55"
        try check("ImportContactsRequest", m)
    }

    @Test func listRecipientResultsResponse() throws {
        var first = Waqtor_V1_RecipientResult()
        first.contactID = "ct_1"
        first.phoneNumber = "+15551234567"
        first.state = .delivered
        first.messageID = "msg_7"
        first.attemptCount = 1
        first.sendTime = Google_Protobuf_Timestamp(seconds: 1_741_000_100, nanos: 0)
        var second = Waqtor_V1_RecipientResult()
        second.contactID = "ct_2"
        second.phoneNumber = "+15557654321"
        second.state = .UNRECOGNIZED(42)
        second.error = "future state"
        second.attemptCount = 3
        var m = Waqtor_V1_ListRecipientResultsResponse()
        m.results = [first, second]
        m.nextPageToken = "cGFnZTI="
        try check("ListRecipientResultsResponse", m)
        let decoded = try Waqtor_V1_ListRecipientResultsResponse(serializedBytes: try Self.fixture("ListRecipientResultsResponse"))
        #expect(decoded.results[1].state.rawValue == 42)
        if case .UNRECOGNIZED(42) = decoded.results[1].state {} else { Issue.record("expected UNRECOGNIZED(42)") }
    }

    @Test func draftTemplatesResponse() throws {
        var a = Waqtor_V1_Draft()
        a.text = "Hi {{name}}, our summer sale starts {{date}}!"
        a.variables = ["name", "date"]
        var b = Waqtor_V1_Draft()
        b.text = "{{name}}, ☀️ −30% this week only."
        b.variables = ["name"]
        var m = Waqtor_V1_DraftTemplatesResponse()
        m.drafts = [a, b]
        m.model = "google/gemini-2.5-flash"
        var usage = Waqtor_V1_TokenUsage()
        usage.promptTokens = 120
        usage.completionTokens = 80
        usage.totalTokens = 200
        m.usage = usage
        try check("DraftTemplatesResponse", m)
    }
}

extension Google_Protobuf_Timestamp {
    init(seconds: Int64, nanos: Int32) {
        self.init()
        self.seconds = seconds
        self.nanos = nanos
    }
}

extension Waqtor_V1_KeyValue {
    init(key: String, value: String) {
        self.init()
        self.key = key
        self.value = value
    }
}
