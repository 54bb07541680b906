import Foundation
import Testing
import WaqtorPostgres
import WaqtorTestSupport

@Suite("COPY FROM STDIN (real server)")
struct CopyTests {
    static func pool() -> PostgresPool {
        PostgresPool(configuration: PostgresConfiguration(connectionString: TestEnvironment.databaseURL, poolSize: 2))
    }

    @Test("every byte that COPY's text format escapes comes back as it went in, NULL included")
    func roundTrip() async throws {
        let pool = Self.pool()
        let awkward: [[String?]] = [
            ["tab\there", "new\nline", "back\\slash"],
            ["carriage\rreturn", nil, "\\N is not null here"],
            ["é 中文 🙂", "", "end\\"],
        ]
        let back = try await pool.withTransaction { tx in
            _ = try await tx.query("CREATE TEMP TABLE copy_rt (n serial, a text, b text, c text) ON COMMIT DROP")
            #expect(try await tx.copy(into: "copy_rt (a, b, c)", rows: awkward) == 3)
            return try await tx.query("SELECT a, b, c FROM copy_rt ORDER BY n")
        }
        #expect(back.map { [$0["a"].string, $0["b"].string, $0["c"].string] } == awkward)
        await pool.shutdown()
    }

    @Test("100,000 rows in one COPY; a bad value fails the COPY with the server's error and the connection serves the next call")
    func bulkAndFailure() async throws {
        let pool = Self.pool()
        let rows = (0..<100_000).map { [String($0), "name \($0)"] as [String?] }
        let count = try await pool.withTransaction { tx in
            _ = try await tx.query("CREATE TEMP TABLE copy_bulk (id integer PRIMARY KEY, name text) ON COMMIT DROP")
            #expect(try await tx.copy(into: "copy_bulk (id, name)", rows: rows) == 100_000)
            return try await tx.query("SELECT count(*) AS n, sum(id) AS s FROM copy_bulk").first
        }
        #expect(count?["n"].int == 100_000 && count?["s"].int64 == Int64(99_999) * 100_000 / 2)

        await #expect(throws: PostgresError.self) {
            try await pool.withTransaction { tx in
                _ = try await tx.query("CREATE TEMP TABLE copy_bad (id integer) ON COMMIT DROP")
                _ = try await tx.copy(into: "copy_bad (id)", rows: [["1"], ["not a number"], ["3"]])
            }
        }
        do {
            try await pool.withTransaction { tx in
                _ = try await tx.query("CREATE TEMP TABLE copy_bad2 (id integer) ON COMMIT DROP")
                _ = try await tx.copy(into: "copy_bad2 (id)", rows: [["x"]])
            }
            Issue.record("a bad value was copied")
        } catch let error as PostgresError {
            #expect(error.sqlState == "22P02", "invalid_text_representation: \(error)")
        }
        // Both connections still work.
        for _ in 0..<4 { #expect(try await pool.query("SELECT 1 AS one").first?["one"].int == 1) }
        await pool.shutdown()
    }
}
