/// Key/value pairs sent with a call and with its answer (see docs/PROTOCOL.md, "Metadata").
///
/// Keys are ASCII and compared case-insensitively (they are lower-cased on insert); a key may occur
/// more than once. Values are UTF-8 strings.
public struct Metadata: Hashable, Sendable, Sequence, ExpressibleByDictionaryLiteral {
    /// One entry.
    public struct Entry: Hashable, Sendable {
        public var key: String
        public var value: String
    }

    /// The well-known keys.
    public enum Keys {
        /// The caller's credential: `Bearer <session token or API key>` (`ApiKey <key>` is accepted too).
        public static let authorization = "authorization"
        /// A caller-chosen id that follows the call through every log line; the server makes one
        /// when it is absent and returns it in the answer's metadata.
        public static let requestID = "request-id"
        /// On RESOURCE_EXHAUSTED or UNAVAILABLE: how long to wait before retrying, in milliseconds.
        public static let retryAfterMilliseconds = "retry-after-ms"
    }

    public private(set) var entries: [Entry]

    public init() { entries = [] }

    public init(dictionaryLiteral elements: (String, String)...) {
        entries = elements.map { Entry(key: $0.0.lowercased(), value: $0.1) }
    }

    /// Appends an entry (the key is lower-cased).
    public mutating func add(_ key: String, _ value: String) {
        let hasUpper = key.utf8.contains { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }
        entries.append(Entry(key: hasUpper ? key.lowercased() : key, value: value))
    }

    mutating func reserveCapacity(_ count: Int) {
        entries.reserveCapacity(count)
    }

    /// Replaces every entry for `key` with one entry, or removes them when `value` is nil.
    public subscript(key: String) -> String? {
        get {
            let k = key.lowercased()
            return entries.first(where: { $0.key == k })?.value
        }
        set {
            let k = key.lowercased()
            entries.removeAll(where: { $0.key == k })
            if let newValue { entries.append(Entry(key: k, value: newValue)) }
        }
    }

    /// Every value for `key`, in order.
    public func values(for key: String) -> [String] {
        let k = key.lowercased()
        return entries.filter { $0.key == k }.map(\.value)
    }

    public var isEmpty: Bool { entries.isEmpty }
    public var count: Int { entries.count }

    public func makeIterator() -> IndexingIterator<[Entry]> { entries.makeIterator() }
}
