import WaqtorSchema
import Testing
@testable import WaqtorPostgres

/// Databases already record these checksums (`schema_migrations.checksum`); if the hash behind
/// ``Migration/checksum`` ever changed, `migrate()` would refuse every existing database. The
/// values are what `sha256sum` prints for the shipped files, and what the databases hold.
@Suite("Migration checksums (pure)")
struct MigrationChecksumTests {
    static let recorded: [Int: String] = [
        1: "fe3d8394ebe41383f301ac036d6356e8e66879929fb539a818e59b6801af1e1c",
        2: "6c525e5e47757e3c786bb546f93367e814b941a0657ff2878560d9bbb149a3e2",
        3: "d45e47be17d189da9b3ac10e0d1ada07614899564c1781ffd0e8ae009547d79f",
        4: "8072ca67830e10b3bcf877de80370ae61a04b17028f56fa0055c24233b9d3eaa",
        5: "05d1652b32e47f2c4094bb1dc56864ffe22972ae798e528acc5ea13bbdf0e7f0",
        6: "57bc27beafbf69cb0b2204a53debe2dc09015cd3a0e438ac75f15cc7720b0a28",
        7: "cdf88ab1b805e3b629d49de15fa9319e8c8fd260537f8c74ee58ac964c8f6cc1",
        8: "1daceb0b44ceae4b2faac58b5017a78f6d125b216d82a15bfa3d34b561ec93f2",
        9: "5730ddc22b05466463ca87fd04d1f61560cefa180aca7c9362d96b61b58d60f0",
        10: "d1f437acd43b68655d41c9c0f816aa6f080f8e6541529a6b94a9df667b8938b1",
        11: "8ec32bb5b0ee9cfeab4473792326e8ed985c4be7d3eafa425c6e721c251dd517",
        12: "ca84af9ec52b6c6795975cb72e94f31b9abfcf75c249e1da2b028138de677a6b",
        13: "0b298a91d81f5e988c7c29fee24403422ddcaa0c012d67ad1fa1b428e7544ce4",
        14: "84709c8ff98683c99d7c24400463e4d0e0bede50fe99d72a616128bbd3325d14",
        15: "2ab08893e06c9efb5fb24ae8b05f2dfe769a162af63253e0414fe429363f838f",
        16: "854e59ed02bb7f4e0c5e129629edb7e21e1b2eeccf5f6a08f37f410d231521f1",
        17: "cd7a7a714820bc8f53c04f6419b66ad5758bc248a95ff4a70ecefea37329a908",
    ]

    @Test func appliedMigrationsKeepTheirChecksums() throws {
        let bundled = Dictionary(uniqueKeysWithValues: try WaqtorSchema.migrations().map { ($0.version, $0.checksum) })
        for (version, checksum) in Self.recorded {
            #expect(bundled[version] == checksum, "migration \(version)")
        }
    }

    @Test func checksumIsLowercaseHexSHA256OfTheScript() {
        #expect(Migration(version: 1, name: "x", sql: "abc").checksum == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Migration(version: 1, name: "x", sql: "").checksum == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }
}
