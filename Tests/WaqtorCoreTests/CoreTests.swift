import Foundation
import Testing
import WaqtorCore
import WaqtorTestSupport

@Suite("Typed ids")
struct TypedIDTests {
    @Test("an id parses any case of a UUID, prints it lowercase, and refuses anything else")
    func parsing() throws {
        let id = try #require(TenantID(validating: "0F8FAD5B-D9CB-469F-A165-70867728950E"))
        #expect(id.rawValue == "0f8fad5b-d9cb-469f-a165-70867728950e")
        #expect(id.description == id.rawValue)
        #expect(TenantID(validating: "not-a-uuid") == nil)
        #expect(TenantID(validating: "") == nil)
        #expect(InstanceID(validating: "0f8fad5b-d9cb-469f-a165-70867728950e'; DROP TABLE x") == nil)
    }

    @Test("random ids differ and round-trip through JSON as plain strings")
    func json() throws {
        let a = InstanceID.random(), b = InstanceID.random()
        #expect(a != b)
        let data = try JSONEncoder().encode([a])
        #expect(String(decoding: data, as: UTF8.self) == "[\"\(a.rawValue)\"]")
        #expect(try JSONDecoder().decode([InstanceID].self, from: data) == [a])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([InstanceID].self, from: Data("[\"nope\"]".utf8)) }
    }
}

@Suite("Page cursors")
struct PageCursorTests {
    @Test("a cursor round-trips, and a token of another listing, arity or an edited one is refused")
    func roundTrip() throws {
        let cursor = PageCursor(kind: "contacts", fields: ["Zoë, \"the\" first", "2026-01-05T09:00:00Z", ""])
        let token = cursor.token
        #expect(!token.contains("+") && !token.contains("/") && !token.contains("="))
        #expect(PageCursor(token: token, kind: "contacts", count: 3) == cursor)
        #expect(PageCursor(token: token, kind: "campaigns", count: 3) == nil)
        #expect(PageCursor(token: token, kind: "contacts", count: 2) == nil)
        #expect(PageCursor(token: "%%%", kind: "contacts", count: 3) == nil)
        #expect(PageCursor(token: String(token.dropLast(5)), kind: "contacts", count: 3) == nil)
    }
}

@Suite("Clocks")
struct ClockTests {
    @Test("the test clock stands still, and wakes sleepers in deadline order when moved")
    func testClockOrder() async throws {
        let clock = TestClock()
        let start = clock.now()
        #expect(clock.now() == start)
        let order = Order()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await clock.sleep(for: .seconds(30)); await order.append(30) }
            group.addTask { try await clock.sleep(for: .seconds(10)); await order.append(10) }
            group.addTask { try await clock.sleep(for: .seconds(90)); await order.append(90) }
            await clock.waitForSleepers(3)
            clock.advance(by: .seconds(20))
            await order.waitFor(count: 1)
            #expect(await order.values == [10])
            #expect(clock.sleepers == 2)
            clock.advance(by: .seconds(100))
            try await group.waitForAll()
        }
        let values = await order.values
        #expect(values.first == 10 && Set(values) == [10, 30, 90])
        #expect(clock.now() == start.addingTimeInterval(120))
    }

    @Test("a sleep whose deadline has passed returns at once; a cancelled sleeper throws")
    func pastAndCancelled() async throws {
        let clock = TestClock()
        try await clock.sleep(until: clock.now().addingTimeInterval(-1))
        let task = Task { try await clock.sleep(for: .seconds(60)) }
        await clock.waitForSleepers(1)
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(clock.sleepers == 0)
    }

    @Test("the system clock reads the wall time and returns from a past deadline")
    func system() async throws {
        let clock = SystemClock()
        let before = Date()
        let now = clock.now()
        #expect(now >= before && now <= Date())
        try await clock.sleep(until: before)
        #expect(Duration.milliseconds(1500).milliseconds == 1500)
        #expect(Duration.milliseconds(1500).timeInterval == 1.5)
    }
}

/// Values appended by concurrent tasks, awaitable by count.
actor Order {
    private(set) var values: [Int] = []
    private var waiters: [(Int, CheckedContinuation<Void, Never>)] = []

    func append(_ value: Int) {
        values.append(value)
        let ready = waiters.filter { $0.0 <= values.count }
        waiters.removeAll { $0.0 <= values.count }
        for (_, waiter) in ready { waiter.resume() }
    }

    func waitFor(count: Int) async {
        if values.count >= count { return }
        await withCheckedContinuation { waiters.append((count, $0)) }
    }
}
