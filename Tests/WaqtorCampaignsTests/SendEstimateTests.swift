import Foundation
import Testing
import WaqtorCampaigns

@Suite("Send estimates (pure)")
struct SendEstimateTests {
    static let utc = TimeZone(identifier: "UTC")!
    static let cairo = TimeZone(identifier: "Africa/Cairo")!
    /// 2026-01-05 08:00 UTC (10:00 in Cairo), a Monday.
    static let start = Date(timeIntervalSince1970: 1_767_600_000)

    @Test("no pauses: the last send is (count - 1) gaps after the start, shares spread over the numbers")
    func plain() throws {
        let pace = NumberPace(meanGapMs: 6000, dailyCap: nil, quietStartMinute: nil, quietEndMinute: nil)
        let one = try #require(SendEstimate.estimate(recipients: 101, numbers: [pace], start: Self.start, zone: Self.utc))
        #expect(one.finish == Self.start.addingTimeInterval(600) && !one.pausesForQuietHours && !one.pausesForDailyCap)
        // 101 over two numbers: 51 and 50; the slower one ends 50 gaps after the start.
        let two = try #require(SendEstimate.estimate(recipients: 101, numbers: [pace, pace], start: Self.start, zone: Self.utc))
        #expect(two.finish == Self.start.addingTimeInterval(300))
        #expect(SendEstimate.estimate(recipients: 0, numbers: [], start: Self.start, zone: Self.utc)?.finish == Self.start)
        #expect(SendEstimate.estimate(recipients: 5, numbers: [], start: Self.start, zone: Self.utc) == nil)
    }

    @Test("a daily cap moves the rest to the next local midnight")
    func dailyCap() throws {
        let pace = NumberPace(meanGapMs: 60_000, dailyCap: 100, quietStartMinute: nil, quietEndMinute: nil)
        // 250 at one a minute, 100 a day, starting 10:00 Cairo: day 1 sends 100, day 2 100, day 3 50
        // from Cairo midnight: the last at 00:49 on Wednesday, Cairo time.
        let result = try #require(SendEstimate.estimate(recipients: 250, numbers: [pace], start: Self.start, zone: Self.cairo))
        #expect(result.pausesForDailyCap && !result.pausesForQuietHours)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = Self.cairo
        let c = calendar.dateComponents([.weekday, .hour, .minute], from: result.finish)
        #expect(c.weekday == 4 && c.hour == 0 && c.minute == 49, "\(c)")
        #expect(SendEstimate.estimate(recipients: 1, numbers: [NumberPace(meanGapMs: 1000, dailyCap: 0, quietStartMinute: nil, quietEndMinute: nil)],
                                      start: Self.start, zone: Self.utc) == nil)
    }

    @Test("quiet hours are skipped, also when they span midnight")
    func quietHours() throws {
        // Quiet 22:00-07:00 UTC, one an hour from 08:00: sends at 08..21 (14), then 07:00 next day.
        let pace = NumberPace(meanGapMs: 3_600_000, dailyCap: nil, quietStartMinute: 22 * 60, quietEndMinute: 7 * 60)
        let result = try #require(SendEstimate.estimate(recipients: 15, numbers: [pace], start: Self.start, zone: Self.utc))
        #expect(result.pausesForQuietHours)
        #expect(result.finish == Self.start.addingTimeInterval(23 * 3600), "the 15th at 07:00 the next day")
        // Starting inside the quiet hours waits for their end.
        let night = Self.start.addingTimeInterval(15 * 3600)  // 23:00
        let waited = try #require(SendEstimate.estimate(recipients: 1, numbers: [pace], start: night, zone: Self.utc))
        #expect(waited.finish == Self.start.addingTimeInterval(23 * 3600))
        // Quiet 12:00-13:00 (same day): one a minute from 11:30 for 60 sends ends at 13:29.
        let lunch = NumberPace(meanGapMs: 60_000, dailyCap: nil, quietStartMinute: 12 * 60, quietEndMinute: 13 * 60)
        let at1130 = Self.start.addingTimeInterval(3.5 * 3600)
        let r = try #require(SendEstimate.estimate(recipients: 60, numbers: [lunch], start: at1130, zone: Self.utc))
        #expect(r.finish == at1130.addingTimeInterval(119 * 60))
    }

    @Test("the description a person reads")
    func description() {
        let text = SendEstimate.describe(duration: 14 * 3600, numbers: 2, finish: Self.start, zone: Self.cairo, quiet: true, capped: false)
        #expect(text == "about 14 h on 2 numbers, ending Mon 10:00 (Africa/Cairo), with quiet hours")
        #expect(SendEstimate.describe(duration: 20, numbers: 1, finish: Self.start, zone: Self.utc, zoneName: "UTC", quiet: false, capped: false)
                == "under a minute on 1 number, ending Mon 08:00 (UTC)")
    }
}
