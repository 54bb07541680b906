import Foundation
import Logging
import WaqtorChat
import WaqtorCore
import WaqtorEvolution
import WaqtorProto
import WaqtorRPC
import WaqtorSendQueue
import WaqtorTemplates
import WaqtorTenants

/// `waqtor.v1.ChatService`: conversations projected from the gateway's webhooks, replies through
/// the send queue's reply lanes, and the live feed (docs/CHAT.md).
public struct ChatService: Waqtor_V1_ChatServiceHandler {
    let store: ChatStore
    let lanes: SendLanes
    let live: LiveFeed
    let files: MediaFiles
    let gateway: EvolutionClient
    let clock: any WaqtorClock
    /// The largest media a reply may carry in `Media.data`, in bytes.
    let maxInlineMediaBytes: Int

    public init(store: ChatStore, lanes: SendLanes, live: LiveFeed, files: MediaFiles, gateway: EvolutionClient,
                clock: any WaqtorClock = SystemClock(), maxInlineMediaBytes: Int = 3 << 20) {
        self.store = store
        self.lanes = lanes
        self.live = live
        self.files = files
        self.gateway = gateway
        self.clock = clock
        self.maxInlineMediaBytes = maxInlineMediaBytes
    }

    // MARK: Reading

    public func listConversations(_ request: Waqtor_V1_ListConversationsRequest, context: ServerContext) async throws -> Waqtor_V1_ListConversationsResponse {
        let caller = try Caller.require()
        let size = try ContactValidate.pageSize(request.pageSize, maximum: 100)
        var cursor: PageCursor?
        if !request.pageToken.isEmpty {
            guard let parsed = PageCursor(token: request.pageToken, kind: "conversations", count: 3) else {
                throw RPCError(code: .invalidArgument, message: "page_token is not one this server issued for this listing; start again without it")
            }
            cursor = parsed
        }
        let instance: InstanceID? = request.instanceID.isEmpty ? nil : try Validate.id(request.instanceID, field: "instance_id")
        guard request.query.count <= 100 else { throw RPCError(code: .invalidArgument, message: "query is longer than 100 characters") }
        let page = try await store.listConversations(
            tenantID: caller.tenantID, instanceID: instance, unreadOnly: request.unreadOnly, unreadFirst: request.unreadFirst,
            query: request.query, after: cursor, limit: size)
        var response = Waqtor_V1_ListConversationsResponse()
        response.conversations = page.items.map(ChatConvert.conversation)
        response.nextPageToken = page.next?.token ?? ""
        return response
    }

    public func getMessageHistory(_ request: Waqtor_V1_GetMessageHistoryRequest, context: ServerContext) async throws -> Waqtor_V1_GetMessageHistoryResponse {
        let caller = try Caller.require()
        let conversation: ConversationID = try Validate.id(request.conversationID, field: "conversation_id")
        guard request.pageSize >= 0 else { throw RPCError(code: .invalidArgument, message: "page_size must not be negative") }
        let size = request.pageSize == 0 ? 50 : min(Int(request.pageSize), 200)
        var position = ChatStore.HistoryPosition.newest
        if !request.pageToken.isEmpty {
            guard let cursor = PageCursor(token: request.pageToken, kind: "history", count: 2), let id = ChatMessageID(validating: cursor.fields[1]),
                  ["older", "newer"].contains(cursor.fields[0]) else {
                throw RPCError(code: .invalidArgument, message: "page_token is not one this server issued for this listing; start again without it")
            }
            position = cursor.fields[0] == "newer" ? .newerThan(id) : .olderThan(id)
        } else if !request.anchorMessageID.isEmpty {
            let id: ChatMessageID = try Validate.id(request.anchorMessageID, field: "anchor_message_id")
            position = request.newer ? .newerThan(id) : .olderThan(id)
        } else if let before = request.beforeTime {
            guard (0..<1_000_000_000).contains(before.nanos) else {
                throw RPCError(code: .invalidArgument, message: "before_time: nanos must be from 0 to 999999999")
            }
            position = .before(before.date)
        } else if request.newer {
            throw RPCError(code: .invalidArgument, message: "newer needs anchor_message_id (the message to page forward from)")
        }
        guard let page = try await store.history(tenantID: caller.tenantID, conversation: conversation, from: position, limit: size) else {
            if case .olderThan(let id) = position { throw RPCError(code: .notFound, message: "no message \(id) in conversation \(conversation)") }
            if case .newerThan(let id) = position { throw RPCError(code: .notFound, message: "no message \(id) in conversation \(conversation)") }
            throw Self.noConversation(conversation)
        }
        var response = Waqtor_V1_GetMessageHistoryResponse()
        response.messages = page.items.map(ChatConvert.message)
        response.nextPageToken = page.next.map(Self.token) ?? ""
        response.previousPageToken = page.previous.map(Self.token) ?? ""
        return response
    }

    static func token(_ position: ChatStore.HistoryPosition) -> String {
        switch position {
        case .olderThan(let id): PageCursor(kind: "history", fields: ["older", id.rawValue]).token
        case .newerThan(let id): PageCursor(kind: "history", fields: ["newer", id.rawValue]).token
        default: ""
        }
    }

    static func noConversation(_ id: ConversationID) -> RPCError {
        RPCError(code: .notFound, message: "no conversation \(id) in this account")
    }

    // MARK: Replies

    public func sendTextReply(_ request: Waqtor_V1_SendTextReplyRequest, context: ServerContext) async throws -> Waqtor_V1_SendTextReplyResponse {
        let caller = try Caller.require()
        let conversation: ConversationID = try Validate.id(request.conversationID, field: "conversation_id")
        let text = request.text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw RPCError(code: .invalidArgument, message: "text is required") }
        guard text.count <= TemplateLimits.textBody else {
            throw RPCError(code: .invalidArgument, message: "text is longer than WhatsApp's \(TemplateLimits.textBody) characters (\(text.count)); split it")
        }
        let message = try await queueReply(caller: caller, context: context, conversation: conversation, text: text,
                                           quoted: request.quotedMessageID, key: request.idempotencyKey, media: nil)
        var response = Waqtor_V1_SendTextReplyResponse()
        response.message = ChatConvert.message(message)
        return response
    }

    public func sendMediaReply(_ request: Waqtor_V1_SendMediaReplyRequest, context: ServerContext) async throws -> Waqtor_V1_SendMediaReplyResponse {
        let caller = try Caller.require()
        let conversation: ConversationID = try Validate.id(request.conversationID, field: "conversation_id")
        guard let media = request.media else { throw RPCError(code: .invalidArgument, message: "media is required") }
        let caption = media.caption.trimmingCharacters(in: .whitespacesAndNewlines)
        guard caption.count <= 1024 else { throw RPCError(code: .invalidArgument, message: "media.caption is longer than 1024 characters") }
        guard media.fileName.count <= 255 else { throw RPCError(code: .invalidArgument, message: "media.file_name is longer than 255 characters") }
        let mime = media.mimeType.trimmingCharacters(in: .whitespaces).lowercased()
        guard mime.count <= 100, mime.isEmpty || mime.contains("/") else {
            throw RPCError(code: .invalidArgument, message: "media.mime_type '\(mime.prefix(100))' is not a MIME type (e.g. image/jpeg)")
        }
        let kind = try ChatConvert.kind(media.kind, mime: mime)
        var reply: ReplyMedia
        switch media.source {
        case .url(let url)?:
            guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""), parsed.host != nil, url.count <= 2048 else {
                throw RPCError(code: .invalidArgument, message: "media.url must be an http(s) URL (at most 2048 characters)")
            }
            reply = ReplyMedia(kind: kind, mimeType: mime, fileName: media.fileName, url: url)
        case .data(let data)?:
            guard !data.isEmpty else { throw RPCError(code: .invalidArgument, message: "media.data is empty") }
            // Nothing is written for a conversation that is not there.
            guard try await store.conversation(tenantID: caller.tenantID, id: conversation) != nil else { throw Self.noConversation(conversation) }
            guard data.count <= maxInlineMediaBytes else {
                throw RPCError(code: .invalidArgument, message: "media.data is \(data.count) bytes; at most \(maxInlineMediaBytes) inline: upload larger files with CreateUpload")
            }
            let sniffed = MediaSniffer.mimeType(of: Array(data.prefix(64))) ?? (mime.isEmpty ? "application/octet-stream" : mime)
            if kind == .document, media.fileName.isEmpty {
                throw RPCError(code: .invalidArgument, message: "media.file_name is required for a document")
            }
            let hash = try await files.write(tenantID: caller.tenantID, bytes: Array(data))
            try await store.registerFile(tenantID: caller.tenantID, sha256: hash, mimeType: sniffed, size: Int64(data.count))
            reply = ReplyMedia(kind: kind, mimeType: sniffed, fileName: media.fileName, sha256: hash, sizeBytes: Int64(data.count))
        case .mediaID(let raw)?:
            let id: UploadID = try Validate.id(raw, field: "media.media_id")
            guard var uploaded = try await store.uploadedMedia(tenantID: caller.tenantID, id: id) else {
                throw RPCError(code: .notFound, message: "no completed upload \(id) in this account (complete it with CompleteUpload; uploads expire after 24 hours)")
            }
            if !media.fileName.isEmpty { uploaded.fileName = media.fileName }
            reply = uploaded
        case nil:
            throw RPCError(code: .invalidArgument, message: "media needs a source: url or data")
        }
        let message = try await queueReply(caller: caller, context: context, conversation: conversation, text: caption,
                                           quoted: request.quotedMessageID, key: request.idempotencyKey, media: reply)
        var response = Waqtor_V1_SendMediaReplyResponse()
        response.message = ChatConvert.message(message)
        return response
    }

    /// Stores a PENDING reply, pushes it to its number's reply lane and publishes it. A reply whose
    /// push failed is still accepted: the queue's sweep pushes it within seconds.
    func queueReply(caller: Principal, context: ServerContext, conversation: ConversationID, text: String, quoted rawQuoted: String,
                    key rawKey: String, media: ReplyMedia?) async throws -> ChatMessage {
        let quoted: ChatMessageID? = rawQuoted.isEmpty ? nil : try Validate.id(rawQuoted, field: "quoted_message_id")
        let key = rawKey.trimmingCharacters(in: .whitespaces)
        guard key.count <= 128 else { throw RPCError(code: .invalidArgument, message: "idempotency_key is longer than 128 characters") }
        guard let (message, created) = try await store.createReply(
            tenantID: caller.tenantID, conversation: conversation, text: text, quoted: quoted, idempotencyKey: key.isEmpty ? nil : key, media: media) else {
            throw Self.noConversation(conversation)
        }
        guard created else { return message }
        do {
            try await lanes.pushReplies([(instance: message.instanceID, tenant: caller.tenantID, id: message.id)], now: clock.now())
        } catch {
            context.logger.warning("chat: a reply could not be queued at once; the queue's sweep queues it", metadata: ["error": "\(error)"])
        }
        try? await live.publish(tenantID: caller.tenantID, [.message(message)])
        return message
    }

    public func markConversationRead(_ request: Waqtor_V1_MarkConversationReadRequest, context: ServerContext) async throws -> Waqtor_V1_MarkConversationReadResponse {
        let caller = try Caller.require()
        let conversation: ConversationID = try Validate.id(request.conversationID, field: "conversation_id")
        let upTo: ChatMessageID? = request.upToMessageID.isEmpty ? nil : try Validate.id(request.upToMessageID, field: "up_to_message_id")
        guard let (updated, read) = try await store.markRead(tenantID: caller.tenantID, conversation: conversation, upTo: upTo) else {
            if let upTo { throw RPCError(code: .notFound, message: "no message \(upTo) in conversation \(conversation)") }
            throw Self.noConversation(conversation)
        }
        try? await live.publish(tenantID: caller.tenantID, [.read(conversationID: updated.id, instanceID: updated.instanceID, unreadCount: updated.unreadCount)])
        if !read.isEmpty, try await store.settings(tenantID: caller.tenantID).sendReadReceipts,
           let gatewayName = try await store.gatewayName(tenantID: caller.tenantID, instance: updated.instanceID) {
            let jid = String(updated.phoneNumber.dropFirst()) + "@s.whatsapp.net"
            do {
                try await gateway.markMessagesRead(instance: gatewayName, messages: read.compactMap { m in m.waMessageID.map { (jid, $0) } })
            } catch {
                // The conversation is read here either way; the blue ticks are best effort.
                context.logger.notice("chat: read receipts could not be sent", metadata: ["error": "\(error)"])
            }
        }
        var response = Waqtor_V1_MarkConversationReadResponse()
        response.conversation = ChatConvert.conversation(updated)
        return response
    }

    public func deleteConversation(_ request: Waqtor_V1_DeleteConversationRequest, context: ServerContext) async throws -> Waqtor_V1_DeleteConversationResponse {
        let caller = try Caller.require()
        let conversation: ConversationID = try Validate.id(request.conversationID, field: "conversation_id")
        guard let (count, orphans) = try await store.deleteConversation(tenantID: caller.tenantID, id: conversation) else {
            throw Self.noConversation(conversation)
        }
        await files.remove(tenantID: caller.tenantID, sha256s: orphans)
        var response = Waqtor_V1_DeleteConversationResponse()
        response.deletedMessages = Int64(count)
        return response
    }

    // MARK: Live

    public func live(_ request: Waqtor_V1_LiveRequest, context: ServerContext, stream: ServerStreamWriter<Waqtor_V1_LiveResponse>) async throws {
        let caller = try Caller.require()
        guard request.instanceIds.count <= 100 else { throw RPCError(code: .invalidArgument, message: "instance_ids: at most 100") }
        let instances = try Set(request.instanceIds.enumerated().map { index, raw -> InstanceID in try Validate.id(raw, field: "instance_ids[\(index)]") })
        let conversation: ConversationID? = request.conversationID.isEmpty ? nil : try Validate.id(request.conversationID, field: "conversation_id")
        if let conversation, try await store.conversation(tenantID: caller.tenantID, id: conversation) == nil { throw Self.noConversation(conversation) }
        let resume = request.resumeAfterEventID.trimmingCharacters(in: .whitespaces)
        let subscription: LiveSubscription
        do {
            subscription = try await live.subscribe(LiveFilter(tenantID: caller.tenantID, instances: instances, conversation: conversation),
                                                    resumeAfter: resume.isEmpty ? nil : resume)
        } catch LiveEnd.resumeTooOld(let id) {
            throw RPCError(code: .outOfRange, message: "the events after \(id) are no longer kept: catch up with GetMessageHistory, then call Live without resume_after_event_id")
        }
        defer { subscription.cancel() }
        let drained = try await context.cancelWhenDraining {
            while true {
                let envelope: LiveEnvelope
                do {
                    envelope = try await subscription.next()
                } catch LiveEnd.tooSlow(let last, let buffer) {
                    var metadata = Metadata()
                    if let last { metadata.add("last-event-id", last) }
                    throw RPCError(code: .resourceExhausted, message: "the stream fell more than \(buffer) events behind and was ended: "
                        + (last.map { "call Live again with resume_after_event_id \($0)" } ?? "call Live again")
                        + " or catch up with GetMessageHistory", metadata: metadata)
                } catch LiveEnd.stopped {
                    if Task.isCancelled { throw CancellationError() }
                    throw RPCError(code: .unavailable, message: "the server is stopping; call Live again (on another server)",
                                   metadata: [Metadata.Keys.retryAfterMilliseconds: "1000"])
                }
                try await stream.send(ChatConvert.live(envelope))
            }
        }
        if drained == nil {
            throw RPCError(code: .unavailable, message: "the server is draining; call Live again on another server",
                           metadata: [Metadata.Keys.retryAfterMilliseconds: "1000"])
        }
    }

    // MARK: Media

    public func getMessageMedia(_ request: Waqtor_V1_GetMessageMediaRequest, context: ServerContext, stream: ServerStreamWriter<Waqtor_V1_GetMessageMediaResponse>) async throws {
        let caller = try Caller.require()
        let id: ChatMessageID = try Validate.id(request.messageID, field: "message_id")
        guard request.chunkSize >= 0, request.chunkSize <= 1 << 20 else {
            throw RPCError(code: .invalidArgument, message: "chunk_size must be from 0 (262144) to 1048576")
        }
        let chunk = request.chunkSize == 0 ? 256 << 10 : max(1024, Int(request.chunkSize))
        guard let message = try await store.message(tenantID: caller.tenantID, id: id) else {
            throw RPCError(code: .notFound, message: "no message \(id) in this account")
        }
        guard let media = message.media else { throw RPCError(code: .failedPrecondition, message: "message \(id) has no media") }
        switch media.state {
        case nil: throw RPCError(code: .failedPrecondition, message: "message \(id)'s media was sent by URL and is not stored on this server")
        case .stored: break
        case .pending: throw RPCError(code: .failedPrecondition, message: "message \(id)'s media is still being fetched from WhatsApp; try again shortly",
                                      metadata: [Metadata.Keys.retryAfterMilliseconds: "2000"])
        case .failed: throw RPCError(code: .failedPrecondition, message: "message \(id)'s media could not be fetched: \(message.error)")
        case .tooLarge: throw RPCError(code: .failedPrecondition, message: "message \(id)'s media is larger than the limit for its kind and was not stored")
        }
        guard let hash = media.sha256, let size = media.sizeBytes else { throw RPCError(code: .failedPrecondition, message: "message \(id) has no stored file") }
        var first = Waqtor_V1_GetMessageMediaResponse()
        first.media = ChatConvert.media(media, caption: message.body)
        first.sha256 = hash
        try await stream.send(first)
        var offset: Int64 = 0
        while offset < size {
            let bytes = try await files.read(tenantID: caller.tenantID, sha256: hash, offset: offset, count: chunk)
            guard !bytes.isEmpty else { break }
            var part = Waqtor_V1_GetMessageMediaResponse()
            part.data = bytes
            part.offset = offset
            try await stream.send(part)
            offset += Int64(bytes.count)
        }
    }

    /// The largest chunk UploadChunk takes (well under the frame limit).
    static let maxChunkBytes = 1 << 20

    public func createUpload(_ request: Waqtor_V1_CreateUploadRequest, context: ServerContext) async throws -> Waqtor_V1_CreateUploadResponse {
        let caller = try Caller.require()
        let mime = request.mimeType.trimmingCharacters(in: .whitespaces).lowercased()
        guard !mime.isEmpty, mime.count <= 100, mime.contains("/") else {
            throw RPCError(code: .invalidArgument, message: "mime_type must be a MIME type such as image/jpeg")
        }
        let kind = try ChatConvert.kind(request.kind, mime: mime)
        let limit = MediaLimits.maximum(for: kind)
        guard request.sizeBytes > 0, request.sizeBytes <= limit else {
            throw RPCError(code: .invalidArgument, message: "size_bytes must be from 1 to \(limit) for a \(kind.rawValue) (\(request.sizeBytes) given)")
        }
        let hash = request.sha256.lowercased()
        guard hash.count == 64, hash.allSatisfy({ $0.isHexDigit }) else {
            throw RPCError(code: .invalidArgument, message: "sha256 must be the content's SHA-256 as 64 hex digits")
        }
        let fileName = request.fileName.trimmingCharacters(in: .whitespaces)
        guard fileName.count <= 255, !fileName.contains("/") else { throw RPCError(code: .invalidArgument, message: "file_name must be at most 255 characters, without '/'") }
        if kind == .document, fileName.isEmpty { throw RPCError(code: .invalidArgument, message: "file_name is required for a document") }
        let upload = try await store.createUpload(tenantID: caller.tenantID, kind: kind, mimeType: mime, fileName: fileName, size: request.sizeBytes, sha256: hash)
        var response = Waqtor_V1_CreateUploadResponse()
        response.uploadID = upload.id.rawValue
        response.maxChunkBytes = Int32(Self.maxChunkBytes)
        response.expireTime = Google_Protobuf_Timestamp(date: upload.expiresAt)
        return response
    }

    public func uploadChunk(_ request: Waqtor_V1_UploadChunkRequest, context: ServerContext) async throws -> Waqtor_V1_UploadChunkResponse {
        let caller = try Caller.require()
        let id: UploadID = try Validate.id(request.uploadID, field: "upload_id")
        guard !request.data.isEmpty else { throw RPCError(code: .invalidArgument, message: "data is empty") }
        guard request.data.count <= Self.maxChunkBytes else {
            throw RPCError(code: .invalidArgument, message: "data is \(request.data.count) bytes; a chunk holds at most \(Self.maxChunkBytes)")
        }
        guard request.offset >= 0 else { throw RPCError(code: .invalidArgument, message: "offset must not be negative") }
        let files = self.files, now = clock.now()
        let received = try await store.withUpload(tenantID: caller.tenantID, id: id) { upload in
            guard !upload.completed else { throw RPCError(code: .failedPrecondition, message: "upload \(id) is complete already: send its media_id") }
            guard upload.expiresAt > now else { throw RPCError(code: .failedPrecondition, message: "upload \(id) expired; start a new one") }
            let end = request.offset + Int64(request.data.count)
            guard end <= upload.sizeBytes else {
                throw RPCError(code: .invalidArgument, message: "the chunk ends at byte \(end), past the upload's size_bytes \(upload.sizeBytes)")
            }
            if end <= upload.receivedBytes { return upload.receivedBytes }  // a retried chunk already written
            guard request.offset == upload.receivedBytes else {
                throw RPCError(code: .failedPrecondition, message: "the upload has \(upload.receivedBytes) bytes; send the chunk at offset \(upload.receivedBytes)",
                               metadata: ["received-bytes": String(upload.receivedBytes)])
            }
            try await files.writeChunk(tenantID: caller.tenantID, upload: id, offset: request.offset, bytes: request.data)
            return end
        }
        guard let received else { throw RPCError(code: .notFound, message: "no upload \(id) in this account") }
        var response = Waqtor_V1_UploadChunkResponse()
        response.receivedBytes = received
        return response
    }

    public func completeUpload(_ request: Waqtor_V1_CompleteUploadRequest, context: ServerContext) async throws -> Waqtor_V1_CompleteUploadResponse {
        let caller = try Caller.require()
        let id: UploadID = try Validate.id(request.uploadID, field: "upload_id")
        let files = self.files, now = clock.now()
        guard let upload = try await store.completeUpload(tenantID: caller.tenantID, id: id, finish: { upload in
            guard upload.expiresAt > now else { throw RPCError(code: .failedPrecondition, message: "upload \(id) expired; start a new one") }
            guard upload.receivedBytes == upload.sizeBytes else {
                throw RPCError(code: .failedPrecondition, message: "upload \(id) has \(upload.receivedBytes) of its \(upload.sizeBytes) bytes; send the rest first",
                               metadata: ["received-bytes": String(upload.receivedBytes)])
            }
            let head = try await files.finishUpload(tenantID: caller.tenantID, upload: id, sha256: upload.sha256, size: upload.sizeBytes)
            return MediaSniffer.mimeType(of: head) ?? upload.mimeType
        }) else { throw RPCError(code: .notFound, message: "no upload \(id) in this account") }
        let mime = try await store.uploadedMedia(tenantID: caller.tenantID, id: id)?.mimeType ?? upload.mimeType
        var response = Waqtor_V1_CompleteUploadResponse()
        response.mediaID = id.rawValue
        var media = Waqtor_V1_Media()
        media.kind = ChatConvert.mediaKind(upload.kind)
        media.mimeType = mime
        media.fileName = upload.fileName
        media.sizeBytes = upload.sizeBytes
        response.media = media
        return response
    }

    // MARK: Settings

    public func getChatSettings(_ request: Waqtor_V1_GetChatSettingsRequest, context: ServerContext) async throws -> Waqtor_V1_GetChatSettingsResponse {
        let caller = try Caller.require()
        var response = Waqtor_V1_GetChatSettingsResponse()
        response.settings = ChatConvert.settings(try await store.settings(tenantID: caller.tenantID))
        return response
    }

    public func updateChatSettings(_ request: Waqtor_V1_UpdateChatSettingsRequest, context: ServerContext) async throws -> Waqtor_V1_UpdateChatSettingsResponse {
        let caller = try Caller.require()
        let known = ["opt_out_words", "opt_in_words", "opt_out_reply", "opt_in_reply", "send_read_receipts"]
        for path in request.updatePaths where !known.contains(path) {
            throw RPCError(code: .invalidArgument, message: "update_paths: unknown field '\(path.prefix(60))' (known: \(known.joined(separator: ", ")))")
        }
        let paths = request.updatePaths.isEmpty ? Set(known) : Set(request.updatePaths)
        let new = request.settings ?? Waqtor_V1_ChatSettings()
        for (field, words) in [("opt_out_words", new.optOutWords), ("opt_in_words", new.optInWords)] where paths.contains(field) {
            if let problem = ConsentWords.problem(in: words, field: "settings.\(field)") { throw RPCError(code: .invalidArgument, message: problem) }
        }
        for (field, text) in [("opt_out_reply", new.optOutReply), ("opt_in_reply", new.optInReply)] where paths.contains(field) {
            guard text.count <= 1024 else { throw RPCError(code: .invalidArgument, message: "settings.\(field) is longer than 1024 characters") }
        }
        if paths.contains("opt_out_words"), paths.contains("opt_in_words") {
            let outs = Set(new.optOutWords.map(ConsentWords.normalise)), ins = Set(new.optInWords.map(ConsentWords.normalise))
            if let both = outs.intersection(ins).first { throw RPCError(code: .invalidArgument, message: "'\(both)' is both an opt-out and an opt-in word") }
        }
        var settings = try await store.settings(tenantID: caller.tenantID)
        // An empty word list means the defaults when the whole settings are replaced; listed in
        // update_paths it means none.
        if paths.contains("opt_out_words") { settings.optOutWords = new.optOutWords.isEmpty && request.updatePaths.isEmpty ? nil : new.optOutWords }
        if paths.contains("opt_in_words") { settings.optInWords = new.optInWords.isEmpty && request.updatePaths.isEmpty ? nil : new.optInWords }
        if paths.contains("opt_out_reply") { settings.optOutReply = new.optOutReply.trimmingCharacters(in: .whitespacesAndNewlines) }
        if paths.contains("opt_in_reply") { settings.optInReply = new.optInReply.trimmingCharacters(in: .whitespacesAndNewlines) }
        if paths.contains("send_read_receipts") { settings.sendReadReceipts = new.sendReadReceipts }
        var response = Waqtor_V1_UpdateChatSettingsResponse()
        response.settings = ChatConvert.settings(try await store.setSettings(tenantID: caller.tenantID, settings))
        return response
    }
}
