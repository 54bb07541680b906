import ArgumentParser
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import WaqtorProto
import WaqtorRPC

/// `waqtor chat …`: conversations, replies and the live feed (ChatService).
struct ChatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Read and answer your WhatsApp conversations (ChatService).",
        discussion: """
            `waqtor chat list` shows conversations, `history ID` a conversation's messages, \
            `reply ID "text"` answers (ahead of campaign traffic), `send-media ID FILE` sends a file, \
            `read ID` marks it read, `tail` follows new messages live (like tail -f), \
            `media MESSAGE_ID -o FILE` saves a message's media.
            """,
        subcommands: [List.self, History.self, Reply.self, SendMedia.self, Read.self, Tail.self, Media.self, Delete.self, Settings.self])

    struct ConversationID: ParsableArguments {
        @Argument(help: ArgumentHelp("The conversation's id (see `waqtor chat list`).", valueName: "conversation-id")) var id: String

        func validate() throws {
            if id.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("the conversation id is empty") }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List conversations by last activity (ChatService.ListConversations).")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @OptionGroup var page: PageOptions
        @Option(help: ArgumentHelp("Only this number's conversations.", valueName: "instance-id")) var instance: String?
        @Flag(help: "Only conversations with unread messages.") var unread = false
        @Flag(name: .customLong("unread-first"), help: "Conversations with unread messages first.") var unreadFirst = false
        @Option(help: ArgumentHelp("Search by name or number.", valueName: "text")) var search: String?

        func run() async throws {
            var request = Waqtor_V1_ListConversationsRequest()
            request.pageSize = page.pageSize
            request.pageToken = page.pageToken
            request.instanceID = instance ?? ""
            request.unreadOnly = unread
            request.unreadFirst = unreadFirst
            request.query = search ?? ""
            let sent = request
            let response = try await global.withChatClient(auth) { chat, options in try await chat.listConversations(sent, options: options) }
            if global.json {
                Output.json(ChatJSON.ConversationPage(conversations: response.conversations.map(ChatJSON.Conversation.init), nextPageToken: response.nextPageToken))
                return
            }
            Output.table(["ID", "NUMBER", "NAME", "UNREAD", "LAST", "TEXT"], response.conversations.map { c in
                [c.id, c.phoneNumber, c.displayName, String(c.unreadCount), c.lastMessageTime.map(Output.rfc3339) ?? "",
                 ChatJSON.preview(c.lastMessage)]
            })
            Output.nextPage(response.nextPageToken)
        }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "history", abstract: "Show a conversation's messages, newest first (ChatService.GetMessageHistory).")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @OptionGroup var conversation: ConversationID
        @Option(name: .customLong("page-size"), help: ArgumentHelp("At most this many (0: 50, at most 200).", valueName: "n")) var pageSize: Int32 = 0
        @Option(name: .customLong("page-token"), help: ArgumentHelp("Continue from an earlier page's token.", valueName: "token")) var pageToken = ""
        @Option(help: ArgumentHelp("Page from this message (older ones; with --newer, newer ones).", valueName: "message-id")) var from: String?
        @Flag(help: "With --from: the messages newer than it, oldest first.") var newer = false

        func validate() throws {
            guard (0...200).contains(pageSize) else { throw ValidationError("--page-size must be from 0 to 200, got \(pageSize)") }
            if newer, from == nil { throw ValidationError("--newer needs --from MESSAGE_ID") }
        }

        func run() async throws {
            var request = Waqtor_V1_GetMessageHistoryRequest()
            request.conversationID = conversation.id
            request.pageSize = pageSize
            request.pageToken = pageToken
            request.anchorMessageID = from ?? ""
            request.newer = newer
            let sent = request
            let response = try await global.withChatClient(auth) { chat, options in try await chat.getMessageHistory(sent, options: options) }
            if global.json {
                Output.json(ChatJSON.HistoryPage(messages: response.messages.map(ChatJSON.Message.init), nextPageToken: response.nextPageToken,
                                                 previousPageToken: response.previousPageToken))
                return
            }
            Output.table(["TIME", "DIR", "STATUS", "KIND", "TEXT", "ID"], response.messages.map { m in
                [m.createTime.map(Output.rfc3339) ?? "", m.direction == .inbound ? "in" : "out", ChatJSON.status(m.status),
                 ChatJSON.kind(m.kind), ChatJSON.preview(m), m.id]
            })
            Output.nextPage(response.nextPageToken)
        }
    }

    struct Reply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reply", abstract: "Send a text reply, ahead of campaign traffic (ChatService.SendTextReply).")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @OptionGroup var conversation: ConversationID
        @Argument(help: ArgumentHelp("The text.", valueName: "text")) var text: String
        @Option(help: ArgumentHelp("Quote this message.", valueName: "message-id")) var quote: String?
        @Option(name: .customLong("idempotency-key"), help: ArgumentHelp("Retrying with the same key does not send twice (default: a new key).", valueName: "key"))
        var idempotencyKey: String?

        func run() async throws {
            var request = Waqtor_V1_SendTextReplyRequest()
            request.conversationID = conversation.id
            request.text = text
            request.quotedMessageID = quote ?? ""
            request.idempotencyKey = idempotencyKey ?? UUID().uuidString
            let sent = request
            let response = try await global.withChatClient(auth) { chat, options in try await chat.sendTextReply(sent, options: options) }
            ChatCommand.printQueued(response.message, json: global.json)
        }
    }

    struct SendMedia: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "send-media",
            abstract: "Send a file as a reply (uploaded in chunks, then ChatService.SendMediaReply).")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @OptionGroup var conversation: ConversationID
        @Argument(help: ArgumentHelp("The file to send.", valueName: "file"), completion: .file()) var file: String
        @Option(help: ArgumentHelp("A caption.", valueName: "text")) var caption: String?
        @Option(help: ArgumentHelp("image, video, audio or document (default: from the type).", valueName: "kind")) var kind: String?
        @Option(name: .customLong("mime-type"), help: ArgumentHelp("The MIME type (default: from the file's extension).", valueName: "type")) var mimeType: String?

        func validate() throws {
            if let kind, !["image", "video", "audio", "document"].contains(kind) { throw ValidationError("--kind must be image, video, audio or document") }
        }

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: file) else {
                try global.runLocal { () throws(CLIFailure) in
                    throw CLIFailure(message: "cannot read \(file)", status: Output.ExitStatus.usage, hint: "check the file's path and permissions")
                }
                return
            }
            let bytes = [UInt8](data)
            let name = (file as NSString).lastPathComponent
            let mime = mimeType ?? ChatCommand.mimeType(forExtension: (name as NSString).pathExtension)
            var create = Waqtor_V1_CreateUploadRequest()
            create.kind = ChatCommand.mediaKind(kind)
            create.mimeType = mime
            create.fileName = name
            create.sizeBytes = Int64(bytes.count)
            create.sha256 = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
            let (createSent, conversationID, caption) = (create, conversation.id, self.caption ?? "")
            let progress = ProgressLine("uploading", unit: .bytes, total: Int64(bytes.count), enabled: global.showsProgress)
            let response: Waqtor_V1_SendMediaReplyResponse
            do {
                response = try await global.withChatClient(auth) { chat, options -> Waqtor_V1_SendMediaReplyResponse in
                    let upload = try await chat.createUpload(createSent, options: options)
                    let step = max(1, Int(upload.maxChunkBytes))
                    var offset = 0
                    progress.update(0, force: true)
                    while offset < bytes.count {
                        var chunk = Waqtor_V1_UploadChunkRequest()
                        chunk.uploadID = upload.uploadID
                        chunk.offset = Int64(offset)
                        chunk.data = Array(bytes[offset..<min(bytes.count, offset + step)])
                        offset = Int(try await chat.uploadChunk(chunk, options: options).receivedBytes)
                        progress.update(Int64(offset))
                    }
                    progress.clear()
                    var complete = Waqtor_V1_CompleteUploadRequest()
                    complete.uploadID = upload.uploadID
                    let completed = try await chat.completeUpload(complete, options: options)
                    var request = Waqtor_V1_SendMediaReplyRequest()
                    request.conversationID = conversationID
                    var media = Waqtor_V1_Media()
                    media.caption = caption
                    media.source = .mediaID(completed.mediaID)
                    request.media = media
                    request.idempotencyKey = UUID().uuidString
                    return try await chat.sendMediaReply(request, options: options)
                }
            } catch {
                progress.clear()
                throw error
            }
            ChatCommand.printQueued(response.message, json: global.json)
        }
    }

    struct Read: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "read", abstract: "Mark a conversation read (ChatService.MarkConversationRead).")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @OptionGroup var conversation: ConversationID
        @Option(name: .customLong("up-to"), help: ArgumentHelp("Only up to this message.", valueName: "message-id")) var upTo: String?

        func run() async throws {
            var request = Waqtor_V1_MarkConversationReadRequest()
            request.conversationID = conversation.id
            request.upToMessageID = upTo ?? ""
            let sent = request
            let response = try await global.withChatClient(auth) { chat, options in try await chat.markConversationRead(sent, options: options) }
            if global.json {
                struct Body: Encodable { var conversation: ChatJSON.Conversation? }
                Output.json(Body(conversation: response.conversation.map(ChatJSON.Conversation.init)))
            } else {
                Output.line("unread: \(response.conversation?.unreadCount ?? 0)")
            }
        }
    }

    struct Tail: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "tail",
            abstract: "Follow new messages and status changes live, like tail -f (ChatService.Live).",
            discussion: "Ctrl-C ends it. With --json, one event per line (NDJSON). --timeout only bounds connecting.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @Option(help: ArgumentHelp("Only this number's events (repeatable).", valueName: "instance-id")) var instance: [String] = []
        @Option(help: ArgumentHelp("Only this conversation's events.", valueName: "conversation-id")) var conversation: String?
        @Option(name: .customLong("resume-after"), help: ArgumentHelp("Resume after this event id.", valueName: "event-id")) var resumeAfter: String?

        func run() async throws {
            var request = Waqtor_V1_LiveRequest()
            request.instanceIds = instance
            request.conversationID = conversation ?? ""
            request.resumeAfterEventID = resumeAfter ?? ""
            let (sent, json) = (request, global.json)
            try await global.withChatClient(auth, streaming: true) { chat, options in
                for try await event in chat.live(sent, options: options) {
                    // Each event is written at once, also into a pipe or a file.
                    defer { fflush(nil) }
                    if json {
                        Output.json(ChatJSON.Event(event))
                        continue
                    }
                    let time = event.eventTime.map(Output.rfc3339) ?? ""
                    switch event.event {
                    case .message(let m)?:
                        Output.line("\(time) \(m.direction == .inbound ? "<" : ">") [\(m.conversationID)] \(ChatJSON.preview(m))  (\(m.id))")
                    case .statusUpdate(let u)?:
                        Output.line("\(time) status \(ChatJSON.status(u.status)) \(u.messageID)\(u.error.isEmpty ? "" : ": " + u.error)")
                    case .readUpdate(let u)?:
                        Output.line("\(time) unread \(u.unreadCount) [\(u.conversationID)]")
                    case .instanceUpdate(let u)?:
                        Output.line("\(time) number \(u.instanceID) is \(u.state)\(u.reason.isEmpty ? "" : " (\(u.reason))")")
                    case .mediaUpdate(let u)?:
                        Output.line("\(time) media of \(u.messageID): \(ChatJSON.mediaState(u.mediaState))")
                    case nil:
                        break
                    }
                }
            }
        }
    }

    struct Media: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "media", abstract: "Save a message's media to a file (ChatService.GetMessageMedia).",
            discussion: """
                The file is streamed in chunks to FILE.part, checked against the server's SHA-256, \
                and renamed to FILE at the end (nothing is left behind when it fails). A progress \
                bar with the time left is drawn on a terminal's stderr (not with --quiet or --json).
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @Argument(help: ArgumentHelp("The message's id.", valueName: "message-id")) var message: String
        @Option(name: .customShort("o"), help: ArgumentHelp("Where to write it.", valueName: "file"), completion: .file()) var output: String

        func run() async throws {
            var request = Waqtor_V1_GetMessageMediaRequest()
            request.messageID = message
            let (sent, path) = (request, output)
            let progress = ProgressLine("downloading", unit: .bytes, enabled: global.showsProgress)
            let download = MediaDownload(path: path)
            let media: Waqtor_V1_Media?
            do {
                media = try await global.withChatClient(auth, streaming: true) { chat, options -> Waqtor_V1_Media? in
                    var media: Waqtor_V1_Media?
                    var expected = ""
                    var first = true
                    progress.update(0, force: true)
                    for try await part in chat.getMessageMedia(sent, options: options) {
                        if first {
                            // The first message describes the file; the data follows.
                            media = part.media
                            expected = part.sha256
                            progress.setTotal(part.media?.sizeBytes)
                            try download.open()
                            first = false
                        } else {
                            try download.append(part.data)
                            progress.update(download.size)
                        }
                    }
                    progress.clear()
                    try download.finish(sha256: expected)
                    return media
                }
            } catch {
                progress.clear()
                download.discard()
                throw error
            }
            if global.json {
                struct Body: Encodable { var file: String; var mimeType: String; var sizeBytes: Int64
                    enum CodingKeys: String, CodingKey { case file, mimeType = "mime_type", sizeBytes = "size_bytes" } }
                Output.json(Body(file: path, mimeType: media?.mimeType ?? "", sizeBytes: download.size))
            } else {
                Output.line("wrote \(download.size) bytes (\(media?.mimeType ?? "")) to \(path)")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete", abstract: "Delete a conversation and its messages (ChatService.DeleteConversation).")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @OptionGroup var conversation: ConversationID

        func run() async throws {
            var request = Waqtor_V1_DeleteConversationRequest()
            request.conversationID = conversation.id
            let sent = request
            let response = try await global.withChatClient(auth) { chat, options in try await chat.deleteConversation(sent, options: options) }
            if global.json {
                struct Body: Encodable { var deletedMessages: Int64; enum CodingKeys: String, CodingKey { case deletedMessages = "deleted_messages" } }
                Output.json(Body(deletedMessages: response.deletedMessages))
            } else {
                Output.line("deleted \(response.deletedMessages) messages")
            }
        }
    }

    struct Settings: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "settings",
            abstract: "Show or change the chat settings: opt-out words, confirmation replies, read receipts (ChatService.Get/UpdateChatSettings).")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @Option(name: .customLong("opt-out-words"), help: ArgumentHelp("Opt-out words, separated by commas (empty: none).", valueName: "words")) var optOutWords: String?
        @Option(name: .customLong("opt-in-words"), help: ArgumentHelp("Opt-in words, separated by commas (empty: none).", valueName: "words")) var optInWords: String?
        @Option(name: .customLong("opt-out-reply"), help: ArgumentHelp("Reply sent when a contact opts out (empty: none).", valueName: "text")) var optOutReply: String?
        @Option(name: .customLong("opt-in-reply"), help: ArgumentHelp("Reply sent when a contact opts back in (empty: none).", valueName: "text")) var optInReply: String?
        @Option(name: .customLong("read-receipts"), help: ArgumentHelp("Send WhatsApp read receipts when marking read: on or off.", valueName: "on|off")) var readReceipts: String?

        func validate() throws {
            if let readReceipts, !["on", "off"].contains(readReceipts) { throw ValidationError("--read-receipts must be on or off") }
        }

        func run() async throws {
            var update = Waqtor_V1_UpdateChatSettingsRequest()
            var settings = Waqtor_V1_ChatSettings()
            func words(_ text: String) -> [String] { text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
            if let optOutWords { settings.optOutWords = words(optOutWords); update.updatePaths.append("opt_out_words") }
            if let optInWords { settings.optInWords = words(optInWords); update.updatePaths.append("opt_in_words") }
            if let optOutReply { settings.optOutReply = optOutReply; update.updatePaths.append("opt_out_reply") }
            if let optInReply { settings.optInReply = optInReply; update.updatePaths.append("opt_in_reply") }
            if let readReceipts { settings.sendReadReceipts = readReceipts == "on"; update.updatePaths.append("send_read_receipts") }
            update.settings = settings
            let sent = update
            let result = try await global.withChatClient(auth) { chat, options -> Waqtor_V1_ChatSettings? in
                if sent.updatePaths.isEmpty { return try await chat.getChatSettings(Waqtor_V1_GetChatSettingsRequest(), options: options).settings }
                return try await chat.updateChatSettings(sent, options: options).settings
            }
            let value = result ?? Waqtor_V1_ChatSettings()
            if global.json {
                Output.json(ChatJSON.Settings(value))
            } else {
                Output.fields([
                    ("opt-out words", value.optOutWords.joined(separator: ", ")), ("opt-in words", value.optInWords.joined(separator: ", ")),
                    ("opt-out reply", value.optOutReply), ("opt-in reply", value.optInReply), ("read receipts", value.sendReadReceipts ? "on" : "off"),
                ])
            }
        }
    }

    static func printQueued(_ message: Waqtor_V1_ChatMessage?, json: Bool) {
        if json {
            struct Body: Encodable { var message: ChatJSON.Message? }
            Output.json(Body(message: message.map(ChatJSON.Message.init)))
        } else if let message {
            Output.fields([("id", message.id), ("status", ChatJSON.status(message.status)), ("conversation", message.conversationID)])
        }
    }

    static func mediaKind(_ name: String?) -> Waqtor_V1_MediaKind {
        switch name {
        case "image": .image
        case "video": .video
        case "audio": .audio
        case "document": .document
        default: .unspecified
        }
    }

    static func mimeType(forExtension ext: String) -> String {
        switch ext.lowercased() {
        case "jpg", "jpeg": "image/jpeg"
        case "png": "image/png"
        case "webp": "image/webp"
        case "gif": "image/gif"
        case "mp4": "video/mp4"
        case "mp3": "audio/mpeg"
        case "ogg", "opus": "audio/ogg"
        case "m4a": "audio/mp4"
        case "pdf": "application/pdf"
        case "txt": "text/plain"
        case "csv": "text/csv"
        default: "application/octet-stream"
        }
    }
}

extension GlobalOptions {
    /// Like ``withAuthenticatedClient(_:_:)``, for the chat service.
    func withChatClient<T>(
        _ auth: AuthOptions, streaming: Bool = false, _ body: (Waqtor_V1_ChatServiceClient, CallOptions) async throws -> T
    ) async throws -> T {
        try await withAuthenticatedRPCClient(auth, streaming: streaming) { client, options in
            try await body(Waqtor_V1_ChatServiceClient(client: client), options)
        }
    }
}

/// JSON shapes of the chat messages (snake_case, as the proto names them).
enum ChatJSON {
    static func status(_ s: Waqtor_V1_MessageStatus) -> String {
        switch s {
        case .pending: "PENDING"
        case .sent: "SENT"
        case .delivered: "DELIVERED"
        case .read: "READ"
        case .failed: "FAILED"
        case .received: "RECEIVED"
        default: "UNSPECIFIED"
        }
    }

    static func kind(_ k: Waqtor_V1_MessageKind) -> String {
        switch k {
        case .text: "TEXT"
        case .image: "IMAGE"
        case .video: "VIDEO"
        case .audio: "AUDIO"
        case .voice: "VOICE"
        case .document: "DOCUMENT"
        case .sticker: "STICKER"
        case .location: "LOCATION"
        case .contact: "CONTACT"
        case .reaction: "REACTION"
        case .unsupported: "UNSUPPORTED"
        default: "UNSPECIFIED"
        }
    }

    static func mediaState(_ s: Waqtor_V1_MediaState) -> String {
        switch s {
        case .pending: "PENDING"
        case .stored: "STORED"
        case .failed: "FAILED"
        case .tooLarge: "TOO_LARGE"
        default: "NONE"
        }
    }

    /// One line of a message for tables.
    static func preview(_ m: Waqtor_V1_ChatMessage?) -> String {
        guard let m else { return "" }
        var text = m.text
        switch m.kind {
        case .text: break
        case .location: text = "[location] \(m.location?.name ?? "")"
        case .contact: text = "[contact] \(m.contacts.first?.displayName ?? "")"
        case .reaction: text = "[reaction] \(m.text)"
        case .unsupported: text = "[\(m.unsupportedType)]"
        default: text = "[\(kind(m.kind).lowercased())] \(m.text)"
        }
        let line = text.replacingOccurrences(of: "\n", with: " ")
        return line.count > 60 ? String(line.prefix(59)) + "…" : line
    }

    struct Message: Encodable {
        var id, conversationID, instanceID, direction, status, kind, text, gatewayMessageID, campaignID, quotedMessageID: String
        var mediaState, mediaMimeType, mediaFileName, error, createTime: String
        var mediaSizeBytes: Int64
        enum CodingKeys: String, CodingKey {
            case id, conversationID = "conversation_id", instanceID = "instance_id", direction, status, kind, text
            case gatewayMessageID = "gateway_message_id", campaignID = "campaign_id", quotedMessageID = "quoted_message_id"
            case mediaState = "media_state", mediaMimeType = "media_mime_type", mediaFileName = "media_file_name", error
            case createTime = "create_time", mediaSizeBytes = "media_size_bytes"
        }
        init(_ m: Waqtor_V1_ChatMessage) {
            id = m.id; conversationID = m.conversationID; instanceID = m.instanceID
            direction = m.direction == .inbound ? "INBOUND" : "OUTBOUND"; status = ChatJSON.status(m.status); kind = ChatJSON.kind(m.kind)
            text = m.text; gatewayMessageID = m.gatewayMessageID; campaignID = m.campaignID; quotedMessageID = m.quotedMessageID
            mediaState = ChatJSON.mediaState(m.mediaState); mediaMimeType = m.media?.mimeType ?? ""; mediaFileName = m.media?.fileName ?? ""
            mediaSizeBytes = m.media?.sizeBytes ?? 0; error = m.error; createTime = m.createTime.map(Output.rfc3339) ?? ""
        }
    }

    struct Conversation: Encodable {
        var id, instanceID, phoneNumber, contactID, displayName, lastMessageTime: String
        var unreadCount: Int32
        var optedOut: Bool
        var lastMessage: Message?
        enum CodingKeys: String, CodingKey {
            case id, instanceID = "instance_id", phoneNumber = "phone_number", contactID = "contact_id", displayName = "display_name"
            case lastMessageTime = "last_message_time", unreadCount = "unread_count", optedOut = "opted_out", lastMessage = "last_message"
        }
        init(_ c: Waqtor_V1_Conversation) {
            id = c.id; instanceID = c.instanceID; phoneNumber = c.phoneNumber; contactID = c.contactID; displayName = c.displayName
            lastMessageTime = c.lastMessageTime.map(Output.rfc3339) ?? ""; unreadCount = c.unreadCount; optedOut = c.optedOut
            lastMessage = c.lastMessage.map(Message.init)
        }
    }

    struct ConversationPage: Encodable {
        var conversations: [Conversation]
        var nextPageToken: String
        enum CodingKeys: String, CodingKey { case conversations, nextPageToken = "next_page_token" }
    }

    struct HistoryPage: Encodable {
        var messages: [Message]
        var nextPageToken, previousPageToken: String
        enum CodingKeys: String, CodingKey { case messages, nextPageToken = "next_page_token", previousPageToken = "previous_page_token" }
    }

    struct Settings: Encodable {
        var optOutWords, optInWords: [String]
        var optOutReply, optInReply: String
        var sendReadReceipts: Bool
        enum CodingKeys: String, CodingKey {
            case optOutWords = "opt_out_words", optInWords = "opt_in_words", optOutReply = "opt_out_reply", optInReply = "opt_in_reply"
            case sendReadReceipts = "send_read_receipts"
        }
        init(_ s: Waqtor_V1_ChatSettings) {
            optOutWords = s.optOutWords; optInWords = s.optInWords; optOutReply = s.optOutReply; optInReply = s.optInReply
            sendReadReceipts = s.sendReadReceipts
        }
    }

    struct Event: Encodable {
        var eventID, eventTime, type: String
        var message: Message?
        var messageID, conversationID, instanceID, status, state, reason, error: String?
        var unreadCount: Int32?
        enum CodingKeys: String, CodingKey {
            case eventID = "event_id", eventTime = "event_time", type, message, messageID = "message_id", conversationID = "conversation_id"
            case instanceID = "instance_id", status, state, reason, error, unreadCount = "unread_count"
        }
        init(_ e: Waqtor_V1_LiveResponse) {
            eventID = e.eventID
            eventTime = e.eventTime.map(Output.rfc3339) ?? ""
            switch e.event {
            case .message(let m)?: type = "message"; message = Message(m)
            case .statusUpdate(let u)?:
                type = "status"; messageID = u.messageID; conversationID = u.conversationID; instanceID = u.instanceID
                status = ChatJSON.status(u.status); error = u.error
            case .readUpdate(let u)?: type = "read"; conversationID = u.conversationID; instanceID = u.instanceID; unreadCount = u.unreadCount
            case .instanceUpdate(let u)?: type = "instance"; instanceID = u.instanceID; state = u.state; reason = u.reason
            case .mediaUpdate(let u)?: type = "media"; messageID = u.messageID; conversationID = u.conversationID; state = ChatJSON.mediaState(u.mediaState)
            case nil: type = "unknown"
            }
        }
    }
}
