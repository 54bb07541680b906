/// Consistent hashing of keys onto shards: a ring of 64-bit points with virtual nodes.
///
/// Each shard puts `virtualNodes` points on the ring at `hash("<name>#<i>")`, where the name is
/// its logical name (`shard-0`, `shard-1`, …), not its address, so moving a shard to another
/// host does not move keys. A key belongs to the first point at or after `hash(key)` (wrapping).
/// Adding a shard only takes over the arcs in front of its new points: about 1/(n+1) of the keys
/// move, all of them to the new shard.
///
/// Keys with a hash tag hash only the tag, as in Redis Cluster: in `instance:{42}:queue` only
/// `42` is hashed, so `instance:{42}:queue` and `instance:{42}:leases` land on the same shard. The
/// tag is the text between the first `{` and the first `}` after it, if non-empty.
///
/// The hash is 64-bit FNV-1a followed by MurmurHash3's `fmix64` finalizer (FNV alone spreads
/// similar short keys poorly). It is fixed forever: changing it moves every key.
public struct HashRing: Sendable {
    /// Points on the ring per shard.
    public let virtualNodes: Int
    /// The shards' logical names, in shard-index order.
    public let shardNames: [String]
    private let points: [UInt64]
    private let owners: [Int]

    /// Builds a ring for shards named `shard-0` … `shard-(count-1)`.
    public init(shardCount: Int, virtualNodes: Int = 160) {
        self.init(shardNames: (0..<shardCount).map { "shard-\($0)" }, virtualNodes: virtualNodes)
    }

    /// Builds a ring for the given logical shard names (index = position in the array).
    public init(shardNames: [String], virtualNodes: Int = 160) {
        precondition(!shardNames.isEmpty, "a ring needs at least one shard")
        precondition(virtualNodes > 0, "a ring needs at least one point per shard")
        self.shardNames = shardNames
        self.virtualNodes = virtualNodes
        var entries: [(point: UInt64, owner: Int)] = []
        entries.reserveCapacity(shardNames.count * virtualNodes)
        for (index, name) in shardNames.enumerated() {
            for node in 0..<virtualNodes {
                entries.append((Self.hash("\(name)#\(node)".utf8), index))
            }
        }
        // Ties (astronomically unlikely) are broken by shard index so the ring is deterministic.
        entries.sort { $0.point != $1.point ? $0.point < $1.point : $0.owner < $1.owner }
        self.points = entries.map(\.point)
        self.owners = entries.map(\.owner)
    }

    /// The shard index for a key (its hash tag only, if it has one).
    public func shardIndex(for key: String) -> Int {
        let h = Self.hash(Self.hashedPart(of: key))
        // Binary search for the first point >= h.
        var low = 0, high = points.count
        while low < high {
            let mid = (low + high) / 2
            if points[mid] < h { low = mid + 1 } else { high = mid }
        }
        return owners[low == points.count ? 0 : low]
    }

    /// The bytes of `key` that are hashed: the hash tag's content, or the whole key.
    public static func hashedPart(of key: String) -> Substring.UTF8View {
        let utf8 = key.utf8
        if let open = utf8.firstIndex(of: UInt8(ascii: "{")) {
            let afterOpen = utf8.index(after: open)
            if let close = utf8[afterOpen...].firstIndex(of: UInt8(ascii: "}")), close > afterOpen {
                return key[afterOpen..<close].utf8
            }
        }
        return key[...].utf8
    }

    /// The ring's 64-bit hash: FNV-1a, then the fmix64 avalanche step.
    public static func hash(_ bytes: some Sequence<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            h ^= UInt64(byte)
            h &*= 0x0000_0100_0000_01b3
        }
        h ^= h >> 33
        h &*= 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        h &*= 0xc4ce_b9fe_1a85_ec53
        h ^= h >> 33
        return h
    }
}
