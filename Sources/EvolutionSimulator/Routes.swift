import NIOConcurrencyHelpers
import Foundation
import WaqtorSecurity

struct SimResponse: Sendable {
    var status: Int
    var body: [UInt8]
    var delay: Duration = .zero
    /// For a send: its place in the send log, settled when the answer is written.
    var sendSequence: Int?
    /// Another content type than JSON (the sample media route).
    var contentType: String?
    /// A HEAD answer's Content-Length (no body is written).
    var headLength: Int?
}

extension EvolutionSimulator {
    func handle(_ request: RecordedRequest) async -> SimResponse {
        let response = route(request)
        if response.delay > .zero { try? await Task.sleep(for: response.delay) }
        return response
    }

    /// The record keeps the most recent requests only (a long local run stays bounded).
    static let maxRecordedRequests = 10_000

    // MARK: Envelopes

    static func reason(_ status: Int) -> String {
        switch status {
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        default: "Internal Server Error"
        }
    }

    /// `{"status","error","response":{"message":…}}`, or without the `response` wrapper.
    static func fail(_ status: Int, _ message: Any, wrapped: Bool = true, error: String? = nil) -> SimResponse {
        var object: [String: Any] = ["status": status, "error": error ?? reason(status)]
        if wrapped { object["response"] = ["message": message] } else { object["message"] = message }
        return SimResponse(status: status, body: SimJSON.encode(object))
    }

    /// A Boom error serialised by `JSON.stringify`: its own `message` and `stack` are not
    /// enumerable, so only `output.payload` says what happened.
    static func boom(_ statusCode: Int, _ error: String, _ message: String) -> [String: Any] {
        ["data": NSNull(), "isBoom": true, "isServer": statusCode >= 500,
         "output": ["statusCode": statusCode, "payload": ["statusCode": statusCode, "error": error, "message": message], "headers": [String: Any]()]]
    }

    static func ok(_ status: Int = 200, _ object: Any) -> SimResponse {
        SimResponse(status: status, body: SimJSON.encode(object))
    }

    static func notFound(_ name: String) -> SimResponse {
        fail(404, ["The \"\(name)\" instance does not exist"])
    }

    static let unauthorized = fail(401, "Unauthorized")

    static func closed(_ shape: SendFailure.ClosedShape, wrapped: Bool = true) -> SimResponse {
        switch shape {
        case .boom400: SimResponse(status: 400, body: SimJSON.encode(Self.boom(428, "Precondition Required", "Connection Closed")))
        case .text400: fail(400, ["Error: Connection Closed"], wrapped: wrapped)
        case .media500: fail(500, ["Error: Connection Closed"], wrapped: wrapped)
        case .string500: fail(500, "Error: Connection Closed", wrapped: wrapped)
        }
    }

    static func split(_ target: String) -> (path: String, segments: [String], query: [String: String]) {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = String(parts.first ?? "")
        let segments = path.split(separator: "/").map { String($0).removingPercentEncoding ?? String($0) }
        var query: [String: String] = [:]
        if parts.count > 1 {
            for pair in parts[1].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let key = String(kv[0]).removingPercentEncoding ?? String(kv[0])
                let value = kv.count > 1 ? (String(kv[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(kv[1])) : ""
                query[key] = value
            }
        }
        return (path, segments, query)
    }

    // MARK: Routing

    func route(_ request: RecordedRequest) -> SimResponse {
        let (path, segments, query) = Self.split(request.path)
        if segments.first == "_sim" { return control(request, Array(segments.dropFirst()), path: path) }
        state.withLockedValue { state in
            state.requests.append(request)
            if state.requests.count > Self.maxRecordedRequests { state.requests.removeFirst(state.requests.count - Self.maxRecordedRequests) }
        }

        // Bodies are JSON only with the header; malformed JSON fails before routing.
        var body: [String: Any] = [:]
        let isJSON = request.header("content-type")?.lowercased().contains("application/json") ?? false
        if isJSON, !request.body.isEmpty {
            guard let parsed = try? JSONSerialization.jsonObject(with: Data(request.body)) else {
                return Self.fail(400, "Unexpected token in JSON at position 0", error: "Internal Server Error")
            }
            body = parsed as? [String: Any] ?? [:]
        }
        let method = request.method.uppercased()
        let key = request.header("apikey")
        let globalKey = configuration.apiKey
        func isGlobal() -> Bool { Self.keyMatches(key, globalKey) }

        switch (method, segments.count >= 2 ? segments[0] + "/" + segments[1] : "", segments.count) {
        case ("GET", "", 0):
            // 2.3.6's index route: no key needed (it comes before the auth guard).
            return SimResponse(status: 200, body: SimJSON.encode([
                "status": 200, "message": "Welcome to the Evolution API, it is working!", "version": "2.3.6",
                "clientName": "evolution_exchange", "manager": "", "documentation": "https://doc.evolution-api.com",
            ] as [String: Any]))
        case ("POST", "instance/create", 2):
            return create(body: body, isGlobal: isGlobal())
        case ("GET", "instance/fetchInstances", 2):
            return fetchInstances(key: key, query: query)
        case ("GET", "instance/connect", 3), ("GET", "instance/connectionState", 3), ("POST", "instance/restart", 3),
             ("DELETE", "instance/logout", 3), ("DELETE", "instance/delete", 3), ("POST", "webhook/set", 3),
             ("GET", "webhook/find", 3), ("POST", "message/sendText", 3), ("POST", "message/sendMedia", 3),
             ("POST", "chat/whatsappNumbers", 3), ("POST", "chat/findMessages", 3), ("POST", "chat/getBase64FromMediaMessage", 3),
             ("POST", "chat/markMessageAsRead", 3):
            let name = segments[2]
            return state.withLockedValue { state -> SimResponse in
                // Unknown instance: 404 before the key is checked.
                guard var record = state.instances[name] else { return Self.notFound(name) }
                guard isGlobal() || Self.keyMatches(key, record.token) else { return Self.unauthorized }
                let action = segments[0] + "/" + segments[1]
                let response = instanceRoute(action, &record, &state, body: body, query: query)
                if state.instances[name] != nil, action != "instance/delete" { state.instances[name] = record }
                return response
            }
        default:
            return Self.fail(404, ["Cannot \(method) \(path)"])
        }
    }

    private func create(body: [String: Any], isGlobal: Bool) -> SimResponse {
        state.withLockedValue { state -> SimResponse in
            let name = SimJSON.string(body["instanceName"]) ?? ""
            if !name.isEmpty, state.instances[name] != nil {
                return Self.fail(403, ["This name \"\(name)\" is already in use."])
            }
            guard isGlobal else { return Self.unauthorized }
            guard !name.isEmpty else { return Self.fail(400, ["instance requires property \"instanceName\""]) }
            let integration = SimJSON.string(body["integration"]) ?? ""
            guard ["WHATSAPP-BAILEYS", "WHATSAPP-BUSINESS", "EVOLUTION"].contains(integration) else {
                return Self.fail(400, ["Invalid integration"])
            }
            var webhook: SimWebhook?
            if let object = body["webhook"] as? [String: Any] {
                guard let events = object["events"] as? [Any] else {
                    return Self.fail(400, ["Cannot read properties of undefined (reading 'length')"])
                }
                webhook = SimWebhook(
                    enabled: (SimJSON.string(object["url"]) ?? "").isEmpty == false,
                    url: SimJSON.string(object["url"]) ?? "",
                    byEvents: SimJSON.bool(object["byEvents"]) ?? false,
                    base64: SimJSON.bool(object["base64"]) ?? false,
                    headers: Self.stringMap(object["headers"]),
                    events: events.compactMap { SimJSON.string($0) }
                )
            }
            let token = SimJSON.string(body["token"]).flatMap { $0.isEmpty ? nil : $0 } ?? UUID().uuidString
            let wantsQR = SimJSON.bool(body["qrcode"]) ?? false
            var record = SimInstance(
                name: name, id: UUID().uuidString.lowercased(), token: token, integration: integration,
                number: SimJSON.string(body["number"]).map(SimState.digits), state: wantsQR ? "connecting" : "close",
                webhook: webhook, createdAt: SimState.timestamp()
            )
            var response: [String: Any] = [
                "instance": [
                    "instanceName": name, "instanceId": record.id, "integration": integration,
                    "webhookWaBusiness": NSNull(), "accessTokenWaBusiness": "", "status": record.state,
                ],
                "hash": token,
                "webhook": [
                    "webhookUrl": webhook?.url ?? "", "webhookHeaders": webhook?.headers ?? [:],
                    "webhookByEvents": webhook?.byEvents ?? false, "webhookBase64": webhook?.base64 ?? false,
                ],
                "websocket": [:], "rabbitmq": [:], "nats": [:], "sqs": [:],
                "settings": [
                    "rejectCall": false, "msgCall": "", "groupsIgnore": false, "alwaysOnline": false,
                    "readMessages": false, "readStatus": false, "syncFullHistory": false, "wavoipToken": "",
                ],
            ]
            if wantsQR {
                record.state = "close"
                response["qrcode"] = startSessionLocked(&record, number: record.number)
            }
            state.instances[name] = record
            return Self.ok(201, response)
        }
    }

    /// Whether a presented `apikey` header is `secret`. API keys are secrets even in a stand-in:
    /// compared through their SHA-256 digests, which swift-crypto compares in constant time.
    static func keyMatches(_ presented: String?, _ secret: String) -> Bool {
        guard let presented else { return false }
        return Hashing.secretsEqual(presented, secret)
    }

    private func fetchInstances(key: String?, query: [String: String]) -> SimResponse {
        state.withLockedValue { state -> SimResponse in
            let global = Self.keyMatches(key, configuration.apiKey)
            var rows: [SimInstance] = state.instances.values.sorted { $0.createdAt < $1.createdAt }
            if !global {
                rows = rows.filter { Self.keyMatches(key, $0.token) }
                if rows.isEmpty { return Self.unauthorized }
            }
            if let name = query["instanceName"] { rows = rows.filter { $0.name == name } }
            return Self.ok(200, rows.map { record -> [String: Any] in
                [
                    "id": record.id, "name": record.name, "connectionStatus": record.state,
                    "ownerJid": record.ownerJid.map { $0 as Any } ?? NSNull(),
                    "profileName": record.state == "open" ? record.profileName as Any : NSNull(),
                    "profilePicUrl": NSNull(), "integration": record.integration,
                    "number": record.number.map { $0 as Any } ?? NSNull(), "businessId": NSNull(),
                    "token": record.token, "clientName": "evolution_exchange",
                    "disconnectionReasonCode": record.disconnectionReasonCode.map { $0 as Any } ?? NSNull(),
                    "disconnectionObject": NSNull(), "disconnectionAt": NSNull(),
                    "createdAt": record.createdAt, "updatedAt": record.createdAt,
                    "_count": ["Message": 0, "Contact": 0, "Chat": 0],
                ]
            })
        }
    }

    private func instanceRoute(_ action: String, _ record: inout SimInstance, _ state: inout SimState, body: [String: Any], query: [String: String]) -> SimResponse {
        switch action {
        case "instance/connect":
            if record.state == "open" {
                return Self.ok(200, ["instance": ["instanceName": record.name, "state": "open"]])
            }
            switch record.connectMode {
            case "no-qr":
                record.state = "connecting"
                return Self.ok(200, ["count": 0])
            case "error":
                return Self.ok(200, ["error": true, "message": "Error: Connection Failure"])
            default:
                break
            }
            let slowQR: Duration? = record.connectMode == "slow-qr" ? .milliseconds(300) : nil
            // 2.3.6: while connecting, the session's cached QR code (and the pairing code it was
            // started for), whatever `number` is given now; only a closed instance starts a session
            // for `number`.
            if record.state == "connecting" {
                return Self.ok(200, record.qr?.object ?? ["count": record.qrCount])
            }
            return Self.ok(200, startSessionLocked(&record, number: query["number"], slowQR: slowQR))

        case "instance/connectionState":
            return Self.ok(200, ["instance": ["instanceName": record.name, "state": record.state]])

        case "instance/restart":
            switch record.state {
            case "open":
                // The socket is ended and reopened: connecting, then open again.
                reconnectLocked(&record)
                return Self.ok(200, ["instance": ["instanceName": record.name, "state": "open"]])
            case "connecting":
                // A new session for the same number; the answer is the cached QR code.
                let cached = record.qr?.object ?? ["count": record.qrCount]
                startSessionLocked(&record, number: record.pairingNumber)
                return Self.ok(200, cached)
            default:
                // 2.3.6 catches its own BadRequestException and answers 200 with it stringified.
                return Self.ok(200, ["error": true, "message": "[object Object]"])
            }

        case "instance/logout":
            // Refused only when closed: a connecting session is logged out too (the way to end a
            // pending pairing), with the same logged-out close events.
            guard record.state != "close" else {
                return Self.fail(400, ["The \"\(record.name)\" instance is not connected"])
            }
            closeLocked(&record, statusReason: 401)
            return Self.ok(200, ["status": "SUCCESS", "error": false, "response": ["message": "Instance logged out"]])

        case "instance/delete":
            if record.state == "open" || record.state == "connecting" { closeLocked(&record, statusReason: 401) }
            emit("remove.instance", record, nil)
            state.instances[record.name] = nil
            return Self.ok(200, ["status": "SUCCESS", "error": false, "response": ["message": "Instance deleted"]])

        case "webhook/set":
            guard let object = body["webhook"] as? [String: Any] else {
                return Self.fail(400, ["instance requires property \"webhook\""])
            }
            guard let enabled = SimJSON.bool(object["enabled"]) else {
                return Self.fail(400, ["instance.webhook requires property \"enabled\""])
            }
            guard let url = SimJSON.string(object["url"]) else {
                return Self.fail(400, ["instance.webhook requires property \"url\""])
            }
            guard let events = object["events"] as? [Any] else {
                return Self.fail(500, ["Cannot read properties of undefined (reading 'length')"])
            }
            let webhook = SimWebhook(
                enabled: enabled, url: url, byEvents: SimJSON.bool(object["byEvents"]) ?? false,
                base64: SimJSON.bool(object["base64"]) ?? false, headers: Self.stringMap(object["headers"]),
                events: events.compactMap { SimJSON.string($0) }
            )
            record.webhook = webhook
            return Self.ok(201, Self.webhookRow(webhook, record))

        case "webhook/find":
            guard let webhook = record.webhook else { return Self.ok(200, NSNull()) }
            return Self.ok(200, Self.webhookRow(webhook, record))

        case "message/sendText", "message/sendMedia":
            return send(action == "message/sendText", &record, &state, body: body)

        case "chat/getBase64FromMediaMessage":
            return mediaOfMessage(&state, body: body)

        case "chat/markMessageAsRead":
            return markRead(&state, body: body)

        case "chat/findMessages":
            return findMessages(record, body: body)

        case "chat/whatsappNumbers":
            guard let numbers = body["numbers"] as? [Any] else {
                return Self.fail(400, ["instance requires property \"numbers\""])
            }
            let failure = state.failure(for: record.name)
            var response: SimResponse
            if record.state != "open" || failure.mode == .connectionClosed {
                // 2.3.6's route answers 400 with whatever was thrown, as-is: Baileys' Boom.
                response = Self.closed(failure.shape ?? .boom400, wrapped: false)
            } else {
                response = Self.ok(200, numbers.compactMap { SimJSON.string($0) }.map { number -> [String: Any] in
                    let digits = SimState.digits(number)
                    let exists = failure.mode != .unknownNumber && !state.unknownNumbers.contains(digits)
                    var row: [String: Any] = ["jid": SimState.jid(number), "exists": exists, "number": digits]
                    if exists { row["name"] = "Contact \(digits.suffix(4))" }
                    return row
                })
            }
            response.delay = .milliseconds(failure.delayMilliseconds)
            return response

        default:
            return Self.fail(404, ["Cannot \(action)"])
        }
    }

    /// `POST /chat/findMessages/{i}`: the gateway's store of messages, here the instance's
    /// successful sends that were answered (what the gateway had sent), newest first, filtered by
    /// `where.key.{id, remoteJid, fromMe}`, paged by `page` (1-based) and `offset` (page size, 50).
    private func findMessages(_ record: SimInstance, body: [String: Any]) -> SimResponse {
        let key = ((body["where"] as? [String: Any])?["key"] as? [String: Any]) ?? [:]
        let wantedID = SimJSON.string(key["id"])
        let wantedJid = SimJSON.string(key["remoteJid"])
        let wantedFromMe = SimJSON.bool(key["fromMe"])
        let perPage = max(1, SimJSON.int(body["offset"]) ?? 50)
        let page = max(1, SimJSON.int(body["page"]) ?? 1)
        let now = ContinuousClock.now
        let wallNow = Date()
        let matching = sendLog.withLockedValue { $0.sends() }.filter { send in
            guard send.instance == record.name, send.status == 201, let id = send.messageId, let number = send.number else { return false }
            if let wantedID, wantedID != id { return false }
            if let wantedJid, wantedJid != SimState.jid(number) { return false }
            if let wantedFromMe, wantedFromMe != true { return false }
            return true
        }.reversed()
        let records = matching.dropFirst((page - 1) * perPage).prefix(perPage).map { send -> [String: Any] in
            let sentAt = wallNow.addingTimeInterval(-Double((now - send.answeredAt).components.seconds))
            let message: [String: Any] = send.isMedia ? ["imageMessage": ["caption": send.text ?? ""]] : ["conversation": send.text ?? ""]
            return [
                "id": UUID().uuidString.lowercased(),
                "key": ["id": send.messageId ?? "", "fromMe": true, "remoteJid": SimState.jid(send.number ?? "")],
                "pushName": "", "messageType": send.isMedia ? "imageMessage" : "conversation", "message": message,
                "messageTimestamp": Int(sentAt.timeIntervalSince1970), "instanceId": record.id, "source": "web",
            ]
        }
        let total = matching.count
        return Self.ok(200, ["messages": ["total": total, "pages": (total + perPage - 1) / perPage, "currentPage": page, "records": records]])
    }

    /// A send, logged (``SimSend``): arrival now, the answer's time when it is written.
    private func send(_ isText: Bool, _ record: inout SimInstance, _ state: inout SimState, body: [String: Any]) -> SimResponse {
        let arrivedAt = ContinuousClock.now
        var (response, messageID) = sendAnswer(isText, &record, &state, body: body)
        let logged = SimSend(
            instance: record.name, isMedia: !isText, number: SimJSON.string(body["number"]),
            text: SimJSON.string(body[isText ? "text" : "caption"]), delay: SimJSON.int(body["delay"]) ?? 0,
            status: response.status, messageId: messageID, arrivedAt: arrivedAt, answeredAt: arrivedAt, answerWritten: false)
        response.sendSequence = sendLog.withLockedValue { $0.append(logged) }
        return response
    }

    /// The answer to a send, and the sent message's id when it succeeded.
    private func sendAnswer(_ isText: Bool, _ record: inout SimInstance, _ state: inout SimState, body: [String: Any]) -> (SimResponse, String?) {
        guard let number = SimJSON.string(body["number"]), !number.isEmpty else {
            return (Self.fail(400, ["instance requires property \"number\""]), nil)
        }
        var message: [String: Any]
        var messageType: String
        if isText {
            guard let text = SimJSON.string(body["text"]) else {
                return (Self.fail(400, ["instance requires property \"text\""]), nil)
            }
            message = ["conversation": text]
            messageType = "conversation"
        } else {
            guard let mediatype = SimJSON.string(body["mediatype"]) else {
                return (Self.fail(400, ["instance requires property \"mediatype\""]), nil)
            }
            guard ["image", "document", "video", "audio"].contains(mediatype) else {
                return (Self.fail(400, ["instance.mediatype is not one of enum values: image,document,video,audio"]), nil)
            }
            guard let media = SimJSON.string(body["media"]) else {
                return (Self.fail(400, ["instance requires property \"media\""]), nil)
            }
            let isURL = Self.isMediaURL(media)
            guard isURL || Self.isBase64(media) else {
                return (Self.fail(400, ["Owned media must be a url or base64"]), nil)
            }
            let fileName = SimJSON.string(body["fileName"])
            if !isURL, mediatype == "document", fileName == nil {
                return (Self.fail(400, ["For base64 the file name must be informed."]), nil)
            }
            var mimetype = SimJSON.string(body["mimetype"]) ?? Self.defaultMime(mediatype)
            if let fileName, let fromName = Self.mime(forFileName: fileName) { mimetype = fromName }
            messageType = mediatype + "Message"
            var content: [String: Any] = [
                "url": "https://mmg.whatsapp.net/v/t62.7118-24/\(SimState.hex(16)).enc",
                "mimetype": mediatype == "image" ? "image/jpeg" : mimetype,
            ]
            if let caption = SimJSON.string(body["caption"]) { content["caption"] = caption }
            if let fileName { content["fileName"] = fileName }
            message = [messageType: content]
        }

        let failure = state.failure(for: record.name)
        let typing = max(0, SimJSON.int(body["delay"]) ?? 0)
        let delay = Duration.milliseconds(failure.delayMilliseconds + typing)
        let digits = SimState.digits(number)
        var response: SimResponse
        var sentID: String?
        if state.takeServerError(for: record.name) {
            response = Self.fail(500, ["Error: simulated server error"])
        } else if record.state != "open" || failure.mode == .connectionClosed {
            response = Self.closed(failure.shape ?? (isText ? .text400 : .media500))
        } else if failure.mode == .unknownNumber || state.unknownNumbers.contains(digits) {
            response = Self.fail(400, [["jid": SimState.jid(number), "exists": false, "number": digits]])
        } else {
            let id = SimState.messageID()
            let remoteJid = SimState.jid(number)
            let sent: [String: Any] = [
                "key": ["remoteJid": remoteJid, "fromMe": true, "id": id],
                "pushName": "",
                "status": "PENDING",
                "message": message,
                "contextInfo": NSNull(),
                "messageType": messageType,
                "messageTimestamp": Int(Date().timeIntervalSince1970),
                "instanceId": record.id,
                "source": "web",
            ]
            let gap = configuration.ackInterval
            emit("send.message", record, sent, pauseAfter: gap)
            for status in ["SERVER_ACK", "DELIVERY_ACK", "READ"] {
                emit("messages.update", record, [
                    "keyId": id, "remoteJid": remoteJid, "fromMe": true, "status": status,
                    "instanceId": record.id, "messageId": "cm" + SimState.hex(23),
                ], pauseAfter: gap)
            }
            response = Self.ok(201, sent)
            sentID = id
        }
        response.delay = delay
        return (response, sentID)
    }

    // MARK: Helpers

    static func stringMap(_ value: Any?) -> [String: String] {
        guard let object = value as? [String: Any] else { return [:] }
        var map: [String: String] = [:]
        for (key, value) in object { if let string = SimJSON.string(value) { map[key] = string } }
        return map
    }

    static func webhookRow(_ webhook: SimWebhook, _ record: SimInstance) -> [String: Any] {
        [
            "id": webhook.id, "url": webhook.url, "headers": webhook.headers, "enabled": webhook.enabled,
            "events": webhook.events, "webhookByEvents": webhook.byEvents, "webhookBase64": webhook.base64,
            "createdAt": record.createdAt, "updatedAt": SimState.timestamp(), "instanceId": record.id,
        ]
    }

    /// The 2.3.6 URL check: http(s) with a host that has a top-level domain, or an IP address.
    static func isMediaURL(_ text: String) -> Bool {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
        else { return false }
        let octets = host.split(separator: ".")
        if octets.count == 4, octets.allSatisfy({ UInt8($0) != nil }) { return true }
        guard octets.count >= 2, let tld = octets.last, tld.count >= 2, tld.allSatisfy({ $0.isLetter }) else { return false }
        return true
    }

    static func isBase64(_ text: String) -> Bool {
        guard !text.isEmpty, text.count % 4 == 0 else { return false }
        return text.utf8.allSatisfy { byte in
            (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) || (byte >= 48 && byte <= 57) || byte == 43 || byte == 47 || byte == 61
        }
    }

    static func defaultMime(_ mediatype: String) -> String {
        switch mediatype {
        case "image": "image/jpeg"
        case "video": "video/mp4"
        case "audio": "audio/ogg"
        default: "application/octet-stream"
        }
    }

    static func mime(forFileName name: String) -> String? {
        guard let dot = name.lastIndex(of: ".") else { return nil }
        switch name[name.index(after: dot)...].lowercased() {
        case "pdf": return "application/pdf"
        case "png": return "image/png"
        case "jpg", "jpeg": return "image/jpeg"
        case "mp4": return "video/mp4"
        case "ogg", "opus": return "audio/ogg"
        case "mp3": return "audio/mpeg"
        case "txt": return "text/plain"
        case "csv": return "text/csv"
        case "zip": return "application/zip"
        case "docx": return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        case "xlsx": return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        default: return nil
        }
    }
}
