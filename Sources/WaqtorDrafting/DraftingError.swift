import WaqtorCore

/// Why drafting refused or failed, in words a tenant (or, for the provider's account, the
/// operator) can act on. The API edge maps ``category`` to a status in one place.
public struct DraftingError: DomainError, Hashable {
    public var category: DomainErrorCategory
    public var message: String
    public var retryAfterMilliseconds: Int?
    public var details: [String: String]

    public init(_ category: DomainErrorCategory, _ message: String, retryAfterMilliseconds: Int? = nil, details: [String: String] = [:]) {
        self.category = category
        self.message = message
        self.retryAfterMilliseconds = retryAfterMilliseconds
        self.details = details
    }

    /// INVALID_ARGUMENT naming the field (`field` in the details too).
    static func invalid(_ field: String, _ message: String) -> DraftingError {
        DraftingError(.invalidInput, "\(field): \(message)", details: ["field": field])
    }
}
