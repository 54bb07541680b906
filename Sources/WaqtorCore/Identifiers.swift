import Foundation

/// A typed identifier: the raw value is a lowercase UUID string (as PostgreSQL prints it), and the
/// type keeps a tenant's id from being passed where an instance's is meant. The rest of the code
/// never builds one from an unchecked string: ``init(validating:)`` parses what callers send, and
/// ``init(trusted:)`` is for values read back from the database.
public protocol TypedID: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    /// The lowercase UUID text.
    var rawValue: String { get }
    /// A value known to be a UUID (read from PostgreSQL, or made by ``init(validating:)``).
    init(trusted rawValue: String)
}

extension TypedID {
    /// Parses a UUID in any case; nil for anything else.
    public init?(validating text: String) {
        guard let uuid = UUID(uuidString: text) else { return nil }
        self.init(trusted: uuid.uuidString.lowercased())
    }

    /// A new random id (version 4).
    public static func random() -> Self { Self(trusted: UUID().uuidString.lowercased()) }

    public var description: String { rawValue }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let id = Self(validating: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a UUID: \(text)"))
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// A tenant (an account): the owner of every other row.
public struct TenantID: TypedID {
    public let rawValue: String
    public init(trusted rawValue: String) { self.rawValue = rawValue }
}

/// A WhatsApp number connected through the gateway.
public struct InstanceID: TypedID {
    public let rawValue: String
    public init(trusted rawValue: String) { self.rawValue = rawValue }
}

/// A contact (a person a tenant can message).
public struct ContactID: TypedID {
    public let rawValue: String
    public init(trusted rawValue: String) { self.rawValue = rawValue }
}

/// A named set of contacts.
public struct ContactListID: TypedID {
    public let rawValue: String
    public init(trusted rawValue: String) { self.rawValue = rawValue }
}

/// A campaign.
public struct CampaignID: TypedID {
    public let rawValue: String
    public init(trusted rawValue: String) { self.rawValue = rawValue }
}

/// A conversation: one contact's phone number on one of the tenant's numbers.
public struct ConversationID: TypedID {
    public let rawValue: String
    public init(trusted rawValue: String) { self.rawValue = rawValue }
}

/// A chat message (WaQtor's id, not WhatsApp's).
public struct ChatMessageID: TypedID {
    public let rawValue: String
    public init(trusted rawValue: String) { self.rawValue = rawValue }
}

/// A media upload (ChatService.CreateUpload).
public struct UploadID: TypedID {
    public let rawValue: String
    public init(trusted rawValue: String) { self.rawValue = rawValue }
}
