import Testing
import WaqtorRedis

@Suite("Hash ring (pure)")
struct HashRingTests {
    static let keys = (0..<100_000).map { "instance:\($0)" }

    @Test func deterministic() {
        let a = HashRing(shardCount: 4), b = HashRing(shardCount: 4)
        for key in Self.keys.prefix(1000) { #expect(a.shardIndex(for: key) == b.shardIndex(for: key)) }
        // Pinned values: the hash must never change (it would move every key in production).
        #expect(HashRing.hash("".utf8) == HashRing.hash([UInt8]()))
        #expect(HashRing.hash("a".utf8) != HashRing.hash("b".utf8))
    }

    @Test func roughlyEvenOverFourShards() {
        let ring = HashRing(shardCount: 4)
        var counts = [0, 0, 0, 0]
        for key in Self.keys { counts[ring.shardIndex(for: key)] += 1 }
        for count in counts {
            let share = Double(count) / Double(Self.keys.count)
            #expect(share >= 0.20 && share <= 0.30, "shares: \(counts)")
        }
    }

    @Test func addingAFifthShardMovesAboutAFifthAllToTheNewShard() {
        let four = HashRing(shardCount: 4), five = HashRing(shardCount: 5)
        var moved = 0
        for key in Self.keys {
            let before = four.shardIndex(for: key), after = five.shardIndex(for: key)
            if before != after {
                moved += 1
                #expect(after == 4, "\(key) moved from \(before) to \(after), not to the new shard")
            }
        }
        let share = Double(moved) / Double(Self.keys.count)
        #expect(share > 0.14 && share < 0.26, "moved share \(share)")
    }

    @Test func mappingDependsOnNamesNotOrderOfConstruction() {
        let ring = HashRing(shardNames: ["shard-0", "shard-1", "shard-2"])
        let same = HashRing(shardCount: 3)
        for key in Self.keys.prefix(2000) { #expect(ring.shardIndex(for: key) == same.shardIndex(for: key)) }
    }

    @Test func hashTagsKeepRelatedKeysTogether() {
        let ring = HashRing(shardCount: 4)
        for id in 0..<500 {
            let queue = ring.shardIndex(for: "q:{inst-\(id)}:ready")
            #expect(ring.shardIndex(for: "q:{inst-\(id)}:leases") == queue)
            #expect(ring.shardIndex(for: "inst-\(id)") == queue, "a tag hashes like the bare tag")
        }
        #expect(String(HashRing.hashedPart(of: "a{b}c{d}")) == "b")
        #expect(String(HashRing.hashedPart(of: "a{}c")) == "a{}c", "an empty tag hashes the whole key")
        #expect(String(HashRing.hashedPart(of: "a{bc")) == "a{bc")
        #expect(String(HashRing.hashedPart(of: "x}{y}")) == "y")
    }

    @Test func singleShardTakesEverything() {
        let ring = HashRing(shardCount: 1)
        #expect(Self.keys.prefix(100).allSatisfy { ring.shardIndex(for: $0) == 0 })
    }
}
