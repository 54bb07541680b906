import Foundation
import Testing
@testable import WaqtorPostgres

@Suite("Value coding (pure)")
struct ValueCodingTests {
    @Test func timestampRoundTrip() {
        let dates = [
            Date(timeIntervalSince1970: 0),
            Date(timeIntervalSince1970: 1_700_000_000.123456),
            Date(timeIntervalSince1970: -86_400 * 365.25 * 100 + 0.5),
            Date(timeIntervalSince1970: 951_782_400),  // 2000-02-29
        ]
        for date in dates {
            let text = PostgresTimestamp.format(date)
            let parsed = try! #require(PostgresTimestamp.parse(text))
            #expect(abs(parsed.timeIntervalSince1970 - date.timeIntervalSince1970) < 0.000_001, "\(text)")
        }
        #expect(PostgresTimestamp.format(Date(timeIntervalSince1970: 951_782_400)) == "2000-02-29 00:00:00.000000+00")
    }

    @Test func timestampParsesOffsetsAndShortFractions() {
        let a = PostgresTimestamp.parse("2024-03-01 12:00:00.5+02")
        let b = PostgresTimestamp.parse("2024-03-01 10:00:00.500+00")
        let c = PostgresTimestamp.parse("2024-03-01 15:30:00.5+05:30")
        #expect(a != nil && a == b && b == c)
        #expect(PostgresTimestamp.parse("infinity") == nil)
    }

    @Test func byteaHexDecoding() {
        #expect(PostgresCell.decodeHex(Array("\\x00ff10Ab".utf8)) == [0x00, 0xff, 0x10, 0xab])
        #expect(PostgresCell.decodeHex(Array("\\x".utf8)) == [])
        #expect(PostgresCell.decodeHex(Array("00ff".utf8)) == nil)
    }

    @Test func configurationNeverShowsPassword() {
        let url = PostgresConfiguration(connectionString: "postgresql://app:s3cret@db:5432/x?sslmode=require&password=other")
        #expect(!url.description.contains("s3cret"))
        #expect(!url.description.contains("other"))
        #expect(url.redactedConnectionString == "postgresql://app:***@db:5432/x?sslmode=require&password=***")
        let kv = PostgresConfiguration(connectionString: "host=db user=app password=s3cret dbname=x")
        #expect(kv.redactedConnectionString == "host=db user=app password=*** dbname=x")
    }

    @Test func errorDescriptionHidesServerText() {
        let error = PostgresError(.queryFailed, sqlState: "23505", serverMessage: "duplicate key", serverDetail: "Key (email)=(a@b.c) already exists.")
        #expect(error.isUniqueViolation)
        #expect(error.description == "PostgreSQL statement failed with SQLSTATE 23505 (unique_violation)")
        #expect(!error.description.contains("a@b.c"))
    }
}
