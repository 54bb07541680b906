import Foundation
import WaqtorCampaigns
import WaqtorContacts
import WaqtorCore
import WaqtorInstances
import WaqtorProto
import WaqtorRPC
import WaqtorTemplates
import WaqtorTenants

/// The campaign settings of a request: every field checked, by name.
enum CampaignValidate {
    static let paths: Set<String> = [
        "name", "template_text", "media", "audience", "instance_id", "instance_ids", "on_number_unavailable",
        "schedule_time", "schedule_local_time", "pacing_override",
    ]

    /// Builds settings from `input`: every field (paths nil), or only the listed ones over `base`.
    static func settings(_ input: Waqtor_V1_Campaign, paths: Set<String>?, base: CampaignSettings?, timeZone: String) throws -> CampaignSettings {
        if let paths {
            for path in paths where !Self.paths.contains(path) {
                throw RPCError(code: .invalidArgument, message: "update_paths: '\(path)' cannot be changed; fields: \(Self.paths.sorted().joined(separator: ", "))")
            }
        }
        func has(_ path: String) -> Bool { paths?.contains(path) ?? true }
        var s = base ?? CampaignSettings(name: "", templateText: "", instanceIDs: [])
        if has("name") { s.name = try Validate.label(input.name, field: "campaign.name") }
        if has("media") { s.media = try media(input.media) }
        if has("template_text") {
            s.templateText = input.templateText
            guard !s.templateText.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw RPCError(code: .invalidArgument, message: "campaign.template_text is required")
            }
        }
        if has("audience") {
            let audience = input.audience ?? Waqtor_V1_CampaignAudience()
            guard audience.contactListIds.count <= 100 else { throw RPCError(code: .invalidArgument, message: "campaign.audience: at most 100 contact lists") }
            guard audience.contactIds.count <= 1000 else {
                throw RPCError(code: .invalidArgument, message: "campaign.audience: at most 1000 individual contacts; put more in a contact list")
            }
            s.listIDs = try unique(audience.contactListIds.enumerated().map { i, id in try Validate.id(id, field: "campaign.audience.contact_list_ids[\(i)]") })
            s.contactIDs = try unique(audience.contactIds.enumerated().map { i, id in try Validate.id(id, field: "campaign.audience.contact_ids[\(i)]") })
        }
        if has("instance_ids") || has("instance_id") {
            var raw = input.instanceIds
            if raw.isEmpty, !input.instanceID.isEmpty { raw = [input.instanceID] }
            guard !raw.isEmpty else { throw RPCError(code: .invalidArgument, message: "campaign.instance_ids: give at least one WhatsApp number to send from") }
            guard raw.count <= 20 else { throw RPCError(code: .invalidArgument, message: "campaign.instance_ids: at most 20 numbers") }
            s.instanceIDs = try unique(raw.enumerated().map { i, id in try Validate.id(id, field: "campaign.instance_ids[\(i)]") })
        }
        if has("on_number_unavailable") {
            switch input.onNumberUnavailable {
            case .unspecified, .wait: s.onNumberUnavailable = .wait
            case .reassign: s.onNumberUnavailable = .reassign
            case .UNRECOGNIZED(let value):
                throw RPCError(code: .invalidArgument, message: "campaign.on_number_unavailable: \(value) is not a policy")
            }
        }
        if has("schedule_time") || has("schedule_local_time") {
            s.schedule = try schedule(input, timeZone: timeZone)
        }
        if has("pacing_override") {
            if let given = input.pacingOverride {
                let pacing = try InstanceValidate.pacing(given, paths: nil, base: InstancePacing())
                s.pacing = CampaignPacing(minDelayMs: pacing.minDelayMs, maxDelayMs: pacing.maxDelayMs, dailyCap: pacing.dailyCap)
            } else {
                s.pacing = nil
            }
        }
        return s
    }

    static func unique<ID: TypedID>(_ ids: [ID]) -> [ID] {
        var seen = Set<ID>()
        return ids.filter { seen.insert($0).inserted }
    }

    static func schedule(_ input: Waqtor_V1_Campaign, timeZone: String) throws -> CampaignSchedule? {
        let local = input.scheduleLocalTime.trimmingCharacters(in: .whitespaces)
        if !local.isEmpty {
            guard input.scheduleTime == nil else {
                throw RPCError(code: .invalidArgument, message: "campaign: give schedule_time or schedule_local_time, not both")
            }
            guard let wall = LocalDateTime(parsing: local) else {
                throw RPCError(code: .invalidArgument, message: "campaign.schedule_local_time '\(local)' is not a wall time such as 2026-03-29T09:00")
            }
            guard let zone = TimeZone(identifier: timeZone) else {
                throw RPCError(code: .failedPrecondition, message: "the account's time zone '\(timeZone)' is unknown to this server; set it again")
            }
            return CampaignSchedule(time: wall.resolve(in: zone).instant, local: wall.description, zone: timeZone)
        }
        guard let time = input.scheduleTime else { return nil }
        guard (0..<1_000_000_000).contains(time.nanos) else {
            throw RPCError(code: .invalidArgument, message: "campaign.schedule_time: nanos must be from 0 to 999999999")
        }
        // Shown back as a wall time in the account's zone too.
        let wall = TimeZone(identifier: timeZone).map { LocalDateTime(time.date, in: $0).description }
        return CampaignSchedule(time: time.date, local: wall, zone: wall == nil ? nil : timeZone)
    }

    static func media(_ media: Waqtor_V1_Media?) throws -> CampaignMedia? {
        guard let media else { return nil }
        let url: String
        switch media.source {
        case .url(let given): url = given.trimmingCharacters(in: .whitespaces)
        case .data, .mediaID: throw RPCError(code: .invalidArgument, message: "campaign.media: give the media as an http(s) url; uploaded media is not accepted for campaigns")
        case nil: throw RPCError(code: .invalidArgument, message: "campaign.media.url is required")
        }
        guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""), parsed.host != nil else {
            throw RPCError(code: .invalidArgument, message: "campaign.media.url '\(url)' is not an http(s) URL")
        }
        let mime = media.mimeType.trimmingCharacters(in: .whitespaces).lowercased()
        let kind: String
        switch media.kind {
        case .image: kind = "image"
        case .video: kind = "video"
        case .audio: kind = "audio"
        case .document: kind = "document"
        case .unspecified:
            kind = mime.hasPrefix("image/") ? "image" : mime.hasPrefix("video/") ? "video" : mime.hasPrefix("audio/") ? "audio" : "document"
        case .sticker, .UNRECOGNIZED:
            throw RPCError(code: .invalidArgument, message: "campaign.media.kind: campaigns send images, videos, audio or documents")
        }
        let allowed: [String: Set<String>] = [
            "image": ["image/jpeg", "image/png", "image/webp"], "video": ["video/mp4", "video/3gpp"],
            "audio": ["audio/mpeg", "audio/ogg", "audio/mp4", "audio/aac", "audio/amr"],
        ]
        if let types = allowed[kind] {
            guard types.contains(mime) else {
                throw RPCError(code: .invalidArgument, message: "campaign.media.mime_type '\(media.mimeType)' is not sent as \(kind) by WhatsApp; use one of \(types.sorted().joined(separator: ", "))")
            }
        } else if mime.isEmpty || !mime.contains("/") {
            throw RPCError(code: .invalidArgument, message: "campaign.media.mime_type is required for a document, e.g. application/pdf")
        }
        let fileName = try Validate.text(media.fileName, field: "campaign.media.file_name", max: 255, required: false)
        return CampaignMedia(kind: kind, url: url, mimeType: mime, fileName: fileName)
    }

    /// The template checked against what the audience's contacts have now.
    static func template(_ text: String, media: Bool, known: Set<String>) throws -> Template {
        let template = try Template.parse(text)
        try template.validate(knownVariables: known.union(["name", "phone_number"]),
                              maxLength: media ? TemplateLimits.mediaCaption : TemplateLimits.textBody)
        return template
    }
}

/// Campaign values to API messages.
enum CampaignConvert {
    static func state(_ state: CampaignState) -> Waqtor_V1_CampaignState {
        switch state {
        case .draft: .draft
        case .scheduled: .scheduled
        case .running: .running
        case .paused: .paused
        case .completed: .completed
        case .cancelled: .cancelled
        case .failed: .failed
        }
    }

    static func state(_ state: Waqtor_V1_CampaignState) throws -> CampaignState? {
        switch state {
        case .unspecified: nil
        case .draft: .draft
        case .scheduled: .scheduled
        case .running: .running
        case .paused: .paused
        case .completed: .completed
        case .cancelled: .cancelled
        case .failed: .failed
        case .UNRECOGNIZED(let value): throw RPCError(code: .invalidArgument, message: "state: \(value) is not a campaign state")
        }
    }

    static func recipientState(_ state: Waqtor_V1_RecipientState) throws -> RecipientState? {
        switch state {
        case .unspecified: nil
        case .pending: .pending
        case .queued: .queued
        case .sent: .sent
        case .delivered: .delivered
        case .read: .read
        case .failed: .failed
        case .skipped: .skipped
        case .cancelled: .cancelled
        case .UNRECOGNIZED(let value): throw RPCError(code: .invalidArgument, message: "state: \(value) is not a recipient state")
        }
    }

    static func result(_ r: RecipientResult) -> Waqtor_V1_RecipientResult {
        var value = Waqtor_V1_RecipientResult()
        value.contactID = r.contactID.rawValue
        value.phoneNumber = r.phoneNumber
        value.state = switch r.state {
        case .pending: .pending
        case .queued: .queued
        case .sent: .sent
        case .delivered: .delivered
        case .read: .read
        case .failed: .failed
        case .skipped: .skipped
        case .cancelled: .cancelled
        }
        value.messageID = r.messageID ?? ""
        value.error = r.error
        value.attemptCount = Int32(clamping: r.attempts)
        value.updateTime = Google_Protobuf_Timestamp(date: r.updatedAt)
        value.sendTime = r.sentAt.map { Google_Protobuf_Timestamp(date: $0) }
        return value
    }

    static func campaign(_ c: Campaign) -> Waqtor_V1_Campaign {
        var value = Waqtor_V1_Campaign()
        value.id = c.id.rawValue
        value.name = c.settings.name
        value.state = state(c.lifecycle.state)
        value.stateDetail = c.lifecycle.detail
        value.templateText = c.settings.templateText
        if let media = c.settings.media {
            var m = Waqtor_V1_Media()
            m.kind = switch media.kind {
            case "image": .image
            case "video": .video
            case "audio": .audio
            default: .document
            }
            m.mimeType = media.mimeType
            m.fileName = media.fileName
            m.url = media.url
            value.media = m
        }
        var audience = Waqtor_V1_CampaignAudience()
        audience.contactListIds = c.settings.listIDs.map(\.rawValue)
        audience.contactIds = c.settings.contactIDs.map(\.rawValue)
        value.audience = audience
        value.instanceIds = c.settings.instanceIDs.map(\.rawValue)
        value.instanceID = c.settings.instanceIDs.first?.rawValue ?? ""
        value.onNumberUnavailable = c.settings.onNumberUnavailable == .wait ? .wait : .reassign
        if let schedule = c.settings.schedule {
            value.scheduleTime = Google_Protobuf_Timestamp(date: schedule.time)
            if let local = schedule.local { value.scheduleLocalTime = local }
        }
        if let pacing = c.settings.pacing {
            var p = Waqtor_V1_PacingSettings()
            p.minDelayMs = Int32(clamping: pacing.minDelayMs)
            p.maxDelayMs = Int32(clamping: pacing.maxDelayMs)
            p.dailyCap = Int32(clamping: pacing.dailyCap ?? 0)
            value.pacingOverride = p
        }
        value.createTime = Google_Protobuf_Timestamp(date: c.createdAt)
        value.updateTime = Google_Protobuf_Timestamp(date: c.updatedAt)
        value.startTime = c.startTime.map { Google_Protobuf_Timestamp(date: $0) }
        value.finishTime = c.finishTime.map { Google_Protobuf_Timestamp(date: $0) }
        return value
    }
}
