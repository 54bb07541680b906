/// One page of a listing, with the total number of matches.
public struct Page<Item: Sendable & Hashable>: Sendable, Hashable {
    public var items: [Item]
    public var total: Int

    public init(items: [Item], total: Int) {
        self.items = items
        self.total = total
    }
}

/// One page of a keyset listing: the items and the cursor after the last one (nil at the end).
public struct KeysetPage<Item: Sendable & Hashable>: Sendable, Hashable {
    public var items: [Item]
    public var next: PageCursor?

    public init(items: [Item], next: PageCursor?) {
        self.items = items
        self.next = next
    }
}
