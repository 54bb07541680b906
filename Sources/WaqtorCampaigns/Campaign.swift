import Foundation
import WaqtorCore

/// What a campaign does with the unsent recipients of a number that drops out.
public enum NumberDropPolicy: String, Sendable, Hashable, CaseIterable {
    /// They wait for it (a contact keeps its number).
    case wait
    /// They move to the campaign's other connected numbers.
    case reassign
}

/// An attachment sent with the text as its caption.
public struct CampaignMedia: Sendable, Hashable, Codable {
    /// image, video, audio or document.
    public var kind: String
    /// An http(s) URL the gateway fetches.
    public var url: String
    public var mimeType: String
    public var fileName: String

    public init(kind: String, url: String, mimeType: String, fileName: String) {
        self.kind = kind
        self.url = url
        self.mimeType = mimeType
        self.fileName = fileName
    }

    enum CodingKeys: String, CodingKey { case kind, url, mimeType = "mime_type", fileName = "file_name" }
}

/// Pacing for one campaign instead of its numbers'.
public struct CampaignPacing: Sendable, Hashable {
    public var minDelayMs: Int
    public var maxDelayMs: Int
    /// nil: the number's cap.
    public var dailyCap: Int?

    public init(minDelayMs: Int, maxDelayMs: Int, dailyCap: Int?) {
        self.minDelayMs = minDelayMs
        self.maxDelayMs = maxDelayMs
        self.dailyCap = dailyCap
    }
}

/// When a campaign starts: the instant, and the wall time and zone it was given in (if it was).
public struct CampaignSchedule: Sendable, Hashable {
    public var time: Date
    public var local: String?
    public var zone: String?

    public init(time: Date, local: String? = nil, zone: String? = nil) {
        self.time = time
        self.local = local
        self.zone = zone
    }
}

/// Everything the tenant sets on a campaign.
public struct CampaignSettings: Sendable, Hashable {
    public var name: String
    public var templateText: String
    public var media: CampaignMedia?
    public var listIDs: [ContactListID]
    public var contactIDs: [ContactID]
    /// The numbers it sends from, in order.
    public var instanceIDs: [InstanceID]
    public var onNumberUnavailable: NumberDropPolicy
    public var schedule: CampaignSchedule?
    public var pacing: CampaignPacing?

    public init(name: String, templateText: String, media: CampaignMedia? = nil, listIDs: [ContactListID] = [],
                contactIDs: [ContactID] = [], instanceIDs: [InstanceID], onNumberUnavailable: NumberDropPolicy = .wait,
                schedule: CampaignSchedule? = nil, pacing: CampaignPacing? = nil) {
        self.name = name
        self.templateText = templateText
        self.media = media
        self.listIDs = listIDs
        self.contactIDs = contactIDs
        self.instanceIDs = instanceIDs
        self.onNumberUnavailable = onNumberUnavailable
        self.schedule = schedule
        self.pacing = pacing
    }
}

/// A stored campaign.
public struct Campaign: Sendable, Hashable {
    public var id: CampaignID
    public var tenantID: TenantID
    public var settings: CampaignSettings
    public var lifecycle: CampaignLifecycle
    public var createdAt: Date
    public var updatedAt: Date
    public var startTime: Date?
    public var finishTime: Date?
}

/// Which campaigns a listing returns.
public struct CampaignFilter: Sendable, Hashable {
    public var state: CampaignState?
    public var instanceID: InstanceID?

    public init(state: CampaignState? = nil, instanceID: InstanceID? = nil) {
        self.state = state
        self.instanceID = instanceID
    }
}

/// A campaign store refusal a person can act on.
public struct CampaignError: DomainError, Hashable {
    public var category: DomainErrorCategory
    public var message: String

    public init(_ category: DomainErrorCategory, _ message: String) {
        self.category = category
        self.message = message
    }
}
