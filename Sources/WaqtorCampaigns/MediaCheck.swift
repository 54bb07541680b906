import Foundation
import WaqtorCore
import WaqtorHTTP

/// A campaign's attachment checked where it lives, before the campaign starts: the URL answers, the
/// file is of the kind the campaign says, and not larger than WhatsApp takes for that kind (the
/// gateway would fail every message otherwise). One `HEAD` request.
public struct MediaCheck: Sendable {
    let http: HTTPClient
    let timeout: Duration

    public init(http: HTTPClient, timeout: Duration = .seconds(10)) {
        self.http = http
        self.timeout = timeout
    }

    /// WhatsApp's size limits per kind, in bytes.
    public static let limits: [String: Int] = ["image": 5 << 20, "video": 16 << 20, "audio": 16 << 20, "document": 100 << 20]

    /// Throws ``CampaignError`` (FAILED_PRECONDITION) saying what is wrong with the attachment.
    public func check(_ media: CampaignMedia) async throws {
        let response: HTTPResponse
        do {
            response = try await http.execute(HTTPRequest(method: "HEAD", url: media.url, timeout: timeout))
        } catch {
            throw CampaignError(.failedPrecondition, "media: \(media.url) cannot be fetched (\(error)); fix campaign.media.url")
        }
        try Self.judge(media, status: response.status, contentType: response.header("Content-Type"),
                       contentLength: response.header("Content-Length").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) })
    }

    /// The verdict on a `HEAD` answer (pure, for tests).
    static func judge(_ media: CampaignMedia, status: Int, contentType: String?, contentLength: Int?) throws {
        guard (200..<300).contains(status) else {
            throw CampaignError(.failedPrecondition, "media: \(media.url) answered HTTP \(status); fix campaign.media.url")
        }
        if let type = contentType?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased(), !type.isEmpty,
           media.kind != "document", !type.hasPrefix(media.kind + "/"), type != "application/ogg" || media.kind != "audio" {
            throw CampaignError(.failedPrecondition, "media: \(media.url) serves \(type), not \(media.kind == "image" ? "an" : "a") \(media.kind); fix campaign.media")
        }
        if let size = contentLength, let limit = limits[media.kind], size > limit {
            throw CampaignError(.failedPrecondition, "media: the \(media.kind) is \(describe(size)); WhatsApp takes at most \(describe(limit)) for \(media.kind == "image" ? "an" : "a") \(media.kind)")
        }
    }

    static func describe(_ bytes: Int) -> String {
        let mb = Double(bytes) / Double(1 << 20)
        return mb >= 10 ? "\(Int(mb.rounded())) MB" : String(format: "%.1f MB", mb)
    }
}
