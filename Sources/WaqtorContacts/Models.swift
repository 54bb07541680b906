import Foundation
import WaqtorCore

/// Where a contact's consent state last came from.
public enum ConsentSource: String, Sendable, Hashable, CaseIterable {
    /// Set by a person through the API or the CLI.
    case manual
    /// Set by a bulk import.
    case `import`
    /// The contact itself wrote an opt-out (or opt-in) word.
    case inbound
}

/// A number as libphonenumber read it: E.164, its type and region.
public struct ContactNumber: Sendable, Hashable {
    /// E.164, e.g. "+5511987654321".
    public var e164: String
    /// libphonenumber's type, snake case ("mobile", "fixed_line", "fixed_line_or_mobile", ...).
    public var type: String
    /// ISO 3166-1 alpha-2 region ("" for numbers of no region).
    public var region: String

    public init(e164: String, type: String, region: String) {
        self.e164 = e164
        self.type = type
        self.region = region
    }
}

/// A person a tenant can message.
public struct Contact: Sendable, Hashable {
    public var id: ContactID
    public var tenantID: TenantID
    public var number: ContactNumber
    public var name: String
    /// Custom attributes ({{key}} template variables).
    public var attributes: [String: String]
    public var optedOut: Bool
    public var optOutTime: Date?
    public var consentSource: ConsentSource
    /// The lists it belongs to, sorted.
    public var listIDs: [ContactListID]
    public var createdAt: Date
    public var updatedAt: Date
}

/// What to change in a contact (nil: leave as is).
public struct ContactChanges: Sendable, Hashable {
    public var number: ContactNumber?
    public var name: String?
    public var attributes: [String: String]?
    public var optedOut: Bool?
    /// Recorded with a change of `optedOut`.
    public var consentSource: ConsentSource

    public init(number: ContactNumber? = nil, name: String? = nil, attributes: [String: String]? = nil,
                optedOut: Bool? = nil, consentSource: ConsentSource = .manual) {
        self.number = number
        self.name = name
        self.attributes = attributes
        self.optedOut = optedOut
        self.consentSource = consentSource
    }
}

/// Which contacts a listing returns.
public struct ContactFilter: Sendable, Hashable {
    /// Case-insensitive substring of the name, or digits of the number ("" : any).
    public var text: String
    /// Only members of this list.
    public var listID: ContactListID?
    /// Only contacts whose attribute `attributeKey` equals `attributeValue` (case-insensitively).
    public var attributeKey: String?
    public var attributeValue: String
    public var includeOptedOut: Bool

    public init(text: String = "", listID: ContactListID? = nil, attributeKey: String? = nil, attributeValue: String = "",
                includeOptedOut: Bool = true) {
        self.text = text
        self.listID = listID
        self.attributeKey = attributeKey
        self.attributeValue = attributeValue
        self.includeOptedOut = includeOptedOut
    }
}

/// A named set of contacts.
public struct ContactList: Sendable, Hashable {
    public var id: ContactListID
    public var name: String
    public var description: String
    public var contactCount: Int
    public var createdAt: Date
}

/// A contact store refusal a person can act on.
public struct ContactError: DomainError, Hashable {
    public var category: DomainErrorCategory
    public var message: String

    public init(_ category: DomainErrorCategory, _ message: String) {
        self.category = category
        self.message = message
    }
}
