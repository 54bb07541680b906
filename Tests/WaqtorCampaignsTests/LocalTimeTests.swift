import Foundation
import Testing
@testable import WaqtorCampaigns

@Suite("Schedules in the tenant's time zone (pure)")
struct LocalTimeTests {
    static func utc(_ text: String) -> Date {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: text)!
    }

    @Test("an ordinary wall time is one instant")
    func ordinary() throws {
        let cairo = try #require(TimeZone(identifier: "Africa/Cairo"))
        let t = try #require(LocalDateTime(parsing: "2026-01-15T09:30"))
        #expect(t.resolve(in: cairo) == .unique(Self.utc("2026-01-15T07:30:00Z")))
        let saoPaulo = try #require(TimeZone(identifier: "America/Sao_Paulo"))
        #expect(LocalDateTime(parsing: "2026-07-01 18:00:05")!.resolve(in: saoPaulo).instant == Self.utc("2026-07-01T21:00:05Z"))
    }

    @Test("spring forward: a time inside the gap never happened and is read as shifted forward by the gap")
    func springForwardGap() throws {
        // Europe/Berlin, 2026-03-29: 02:00 CET becomes 03:00 CEST.
        let berlin = try #require(TimeZone(identifier: "Europe/Berlin"))
        let inGap = try #require(LocalDateTime(parsing: "2026-03-29T02:30"))
        #expect(inGap.resolve(in: berlin) == .gap(shifted: Self.utc("2026-03-29T01:30:00Z")))
        #expect(LocalDateTime(inGap.resolve(in: berlin).instant, in: berlin).description == "2026-03-29T03:30:00")
        // Either side of the gap is ordinary.
        #expect(LocalDateTime(parsing: "2026-03-29T01:59")!.resolve(in: berlin) == .unique(Self.utc("2026-03-29T00:59:00Z")))
        #expect(LocalDateTime(parsing: "2026-03-29T03:00")!.resolve(in: berlin) == .unique(Self.utc("2026-03-29T01:00:00Z")))
        // America/New_York, 2026-03-08: 02:00 EST becomes 03:00 EDT.
        let newYork = try #require(TimeZone(identifier: "America/New_York"))
        #expect(LocalDateTime(parsing: "2026-03-08T02:15")!.resolve(in: newYork) == .gap(shifted: Self.utc("2026-03-08T07:15:00Z")))
    }

    @Test("fall back: a time inside the overlap happened twice and the first is used")
    func fallBackOverlap() throws {
        // Europe/Berlin, 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:30 happens twice.
        let berlin = try #require(TimeZone(identifier: "Europe/Berlin"))
        let twice = try #require(LocalDateTime(parsing: "2026-10-25T02:30"))
        #expect(twice.resolve(in: berlin) == .overlap(earlier: Self.utc("2026-10-25T00:30:00Z"), later: Self.utc("2026-10-25T01:30:00Z")))
        #expect(twice.resolve(in: berlin).instant == Self.utc("2026-10-25T00:30:00Z"))
        // America/Sao_Paulo has had no DST since 2019: nothing doubles there.
        let saoPaulo = try #require(TimeZone(identifier: "America/Sao_Paulo"))
        #expect(LocalDateTime(parsing: "2026-02-15T23:30")!.resolve(in: saoPaulo) == .unique(Self.utc("2026-02-16T02:30:00Z")))
    }

    @Test("malformed or impossible wall times are refused")
    func parsing() {
        for bad in ["", "2026-02-30T10:00", "2026-13-01T10:00", "2026-01-01", "2026-01-01T24:00", "2026-1-01T10:00",
                    "2026-01-01T10:60", "tomorrow 9am", "2026-01-01T10:00Z", "2025-02-29T00:00"] {
            #expect(LocalDateTime(parsing: bad) == nil, "\(bad)")
        }
        #expect(LocalDateTime(parsing: "2028-02-29T00:00") != nil, "a leap day")
        #expect(LocalDateTime(parsing: " 2026-01-01T10:00:59 ")?.description == "2026-01-01T10:00:59")
    }
}

@Suite("MediaCheck's verdict on a HEAD answer")
struct MediaCheckTests {
    let video = CampaignMedia(kind: "video", url: "https://example.com/v.mp4", mimeType: "video/mp4", fileName: "")

    @Test func verdicts() throws {
        try MediaCheck.judge(video, status: 200, contentType: "video/mp4", contentLength: 16 << 20)
        try MediaCheck.judge(video, status: 200, contentType: nil, contentLength: nil)
        #expect(throws: CampaignError.self) { try MediaCheck.judge(video, status: 200, contentType: "video/mp4", contentLength: (16 << 20) + 1) }
        #expect(throws: CampaignError.self) { try MediaCheck.judge(video, status: 404, contentType: nil, contentLength: nil) }
        #expect(throws: CampaignError.self) { try MediaCheck.judge(video, status: 200, contentType: "text/html; charset=utf-8", contentLength: 10) }
        let document = CampaignMedia(kind: "document", url: "https://example.com/p.pdf", mimeType: "application/pdf", fileName: "p.pdf")
        try MediaCheck.judge(document, status: 200, contentType: "application/pdf", contentLength: 99 << 20)
        #expect(throws: CampaignError.self) { try MediaCheck.judge(document, status: 200, contentType: "application/pdf", contentLength: 101 << 20) }
        let audio = CampaignMedia(kind: "audio", url: "https://example.com/a.ogg", mimeType: "audio/ogg", fileName: "")
        try MediaCheck.judge(audio, status: 200, contentType: "application/ogg", contentLength: 1000)
    }
}
