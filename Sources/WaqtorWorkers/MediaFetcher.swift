import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import WaqtorChat
import WaqtorCore
import WaqtorEvolution

/// Fetches inbound media (docs/CHAT.md, "Media"): from the webhook's own `base64` when the
/// gateway sent it, else through the gateway (`getBase64FromMediaMessage`, given the whole
/// message), and stores it once per tenant by content hash. A failed fetch is retried with
/// backoff (the message shows its media as PENDING meanwhile), then marked FAILED; media over its
/// kind's limit is TOO_LARGE. Every `api` and `all` process runs one (the files are served by
/// the API); several share the work.
public struct MediaFetcher: Service {
    let chat: ChatStore
    let files: MediaFiles
    let gateway: EvolutionClient
    let live: LiveFeed?
    let clock: any WaqtorClock
    let interval: Duration
    let logger: Logger
    /// Attempts before a fetch is given up.
    let maxAttempts: Int
    let concurrency: Int
    /// The first retry's delay (doubling, at most 10 min).
    let baseBackoff: Duration
    /// Only these tenants' media (nil: every tenant's).
    let tenants: Set<TenantID>?

    public init(chat: ChatStore, files: MediaFiles, gateway: EvolutionClient, live: LiveFeed?, clock: any WaqtorClock,
                interval: Duration = .milliseconds(500), maxAttempts: Int = 8, concurrency: Int = 4, baseBackoff: Duration = .seconds(5),
                tenants: Set<TenantID>? = nil, logger: Logger) {
        self.tenants = tenants
        self.baseBackoff = baseBackoff
        self.chat = chat
        self.files = files
        self.gateway = gateway
        self.live = live
        self.clock = clock
        self.interval = interval
        self.maxAttempts = maxAttempts
        self.concurrency = concurrency
        self.logger = logger
    }

    public func run() async throws {
        await Rounds.run(logger: logger, failure: "chat media: fetching failed", pause: { try await Task.sleep(for: self.interval) }) {
            try await self.runOnce() > 0
        }
    }

    /// One round: the media due now, `concurrency` at a time. Returns how many were tried.
    @discardableResult
    public func runOnce() async throws -> Int {
        let due: [(TenantID, ChatMessageID)]
        if let tenants { due = try await chat.mediaDue(tenants: tenants, limit: 32) } else { due = try await chat.mediaDue(limit: 32) }
        guard !due.isEmpty else { return 0 }
        await withTaskGroup(of: Void.self) { group in
            var iterator = due.makeIterator()
            func next() -> Bool {
                guard let (tenant, id) = iterator.next() else { return false }
                group.addTask { await self.fetch(tenant: tenant, id: id) }
                return true
            }
            for _ in 0..<concurrency where next() {}
            while await group.next() != nil { _ = next() }
        }
        return due.count
    }

    /// The delay before attempt `attempt + 1` (the base doubling, at most 10 min).
    func backoff(afterAttempt attempt: Int) -> Duration {
        min(.seconds(600), baseBackoff * (1 << min(max(attempt - 1, 0), 10)))
    }

    func fetch(tenant: TenantID, id: ChatMessageID) async {
        let job: MediaJob
        do {
            guard let taken = try await chat.takeMediaJob(tenantID: tenant, id: id) else { return }
            job = taken
        } catch {
            logger.warning("chat media: taking a fetch failed", metadata: ["error": "\(error)"])
            return
        }
        let kind = job.message.media?.kind ?? job.message.kind
        let limit = MediaLimits.maximum(for: kind)
        let result: ChatMessage?
        do {
            if let announced = job.message.media?.sizeBytes, announced > limit {
                result = try await chat.mediaNotStored(tenantID: tenant, id: id, error: "the \(kind.rawValue) is \(announced) bytes; at most \(limit) are stored",
                                                      retryAfter: nil, tooLarge: true)
            } else {
                result = try await download(job, limit: limit)
            }
        } catch {
            logger.warning("chat media: recording a fetch failed", metadata: ["error": "\(error)"])
            return
        }
        if let result, let live {
            try? await live.publish(tenantID: tenant, [.media(result)])
        }
    }

    func download(_ job: MediaJob, limit: Int64) async throws -> ChatMessage? {
        let tenant = job.tenantID, id = job.message.id
        let data = job.eventData.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) } as? [String: Any]
        var base64 = (data?["message"] as? [String: Any])?["base64"] as? String
        var declaredMime = job.message.media?.mimeType ?? ""
        if base64 == nil {
            guard let data else {
                return try await chat.mediaNotStored(tenantID: tenant, id: id, error: "the message's webhook event is gone; its media cannot be fetched", retryAfter: nil)
            }
            do {
                var message: [String: Any] = [:]
                message["key"] = data["key"]
                message["message"] = data["message"]
                message["messageType"] = data["messageType"]
                message["messageTimestamp"] = data["messageTimestamp"]
                let fetched = try await gateway.mediaOfMessage(instance: job.gatewayName, message: message)
                base64 = fetched.base64
                if declaredMime.isEmpty { declaredMime = fetched.mimeType }
            } catch {
                let attempt = job.attempts + 1
                let why = "the gateway could not give the media: \(error)"
                if attempt >= maxAttempts {
                    return try await chat.mediaNotStored(tenantID: tenant, id: id, error: "\(why) (gave up after \(attempt) attempts)", retryAfter: nil)
                }
                return try await chat.mediaNotStored(tenantID: tenant, id: id, error: why, retryAfter: self.backoff(afterAttempt: attempt))
            }
        }
        guard let base64, let bytes = Data(base64Encoded: base64, options: .ignoreUnknownCharacters) else {
            return try await chat.mediaNotStored(tenantID: tenant, id: id, error: "the gateway's media is not valid base64", retryAfter: self.backoff(afterAttempt: job.attempts + 1))
        }
        guard Int64(bytes.count) <= limit else {
            return try await chat.mediaNotStored(tenantID: tenant, id: id, error: "the media is \(bytes.count) bytes; at most \(limit) are stored", retryAfter: nil, tooLarge: true)
        }
        let content = [UInt8](bytes)
        let mime = MediaSniffer.mimeType(of: Array(content.prefix(64))) ?? (declaredMime.isEmpty ? "application/octet-stream" : declaredMime)
        let hash = try await files.write(tenantID: tenant, bytes: content)
        return try await chat.mediaStored(tenantID: tenant, id: id, sha256: hash, mimeType: mime, size: Int64(content.count))
    }
}
