/// What kind of failure a domain error is, in the domain's words. The API edge (WaqtorAPI,
/// `ErrorStatus.swift`) turns each category into a wire status in one place; workers read it to
/// decide between retrying, pausing and giving up. Domain modules never import the RPC layer.
public enum DomainErrorCategory: Sendable, Hashable {
    /// The input is wrong; the same input will always fail.
    case invalidInput
    /// The thing named does not exist (or belongs to another tenant).
    case notFound
    /// The thing to create exists already.
    case alreadyExists
    /// The system is not in a state where this can be done (pair the number first, log it out
    /// first, ...); it can work once that changes.
    case failedPrecondition
    /// A plan limit or a rate limit is reached; `retryAfterMilliseconds` says when a retry can
    /// succeed, if it can by waiting.
    case limitReached
    /// The caller may not do this.
    case permissionDenied
    /// A dependency (the gateway, a database) cannot do it now; a retry later can succeed.
    case unavailable
    /// A conflict with concurrent work; nothing was done, a retry at once can succeed.
    case aborted
}

/// An error a domain module throws for a reason a person can act on. The message is for the
/// caller: it says what happened and what to do, and never carries secrets, SQL, another
/// tenant's data or a server address.
public protocol DomainError: Error, Sendable, CustomStringConvertible {
    var category: DomainErrorCategory { get }
    /// For the caller: what happened and what to do.
    var message: String { get }
    /// When a retry can succeed by waiting, how long to wait.
    var retryAfterMilliseconds: Int? { get }
    /// Machine-readable details (e.g. `limit: contacts`), answered as metadata.
    var details: [String: String] { get }
}

extension DomainError {
    public var retryAfterMilliseconds: Int? { nil }
    public var details: [String: String] { [:] }
    public var description: String { "\(category): \(message)" }
}

/// A domain error without a type of its own.
public struct DomainFailure: DomainError, Hashable {
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
}
