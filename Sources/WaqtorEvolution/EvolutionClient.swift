import Foundation
import WaqtorHTTP

/// A client for the Evolution API v2 (2.3.x) over WaqtorHTTP (libcurl; connections reused; no
/// call blocks an event loop).
///
/// Every request carries `apikey`; bodies are JSON with `Content-Type: application/json` (the
/// gateway ignores bodies without it). Instance names are opaque and percent-encoded in paths.
/// Errors are ``EvolutionError``.
public struct EvolutionClient: Sendable {
    public let baseURL: String
    public let apiKey: String
    public let http: HTTPClient
    /// Per-call timeout (a send's `delay` is added to it, since the gateway sleeps inside the request).
    public let timeout: Duration
    /// Told whether each call reached the gateway (``EvolutionReachability``) and how long the call
    /// took: any HTTP answer but a proxy's 502, 503 or 504 means it did; no answer in time or a
    /// failed connection means it did not; a cancelled call or a client shut down tells nothing.
    /// Nil: nobody listens.
    public let reachability: (@Sendable (EvolutionReachability, _ duration: Duration) -> Void)?

    public init(
        baseURL: String, apiKey: String, http: HTTPClient, timeout: Duration = .seconds(30),
        reachability: (@Sendable (EvolutionReachability, _ duration: Duration) -> Void)? = nil
    ) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.apiKey = apiKey
        self.http = http
        self.timeout = timeout
        self.reachability = reachability
    }

    // MARK: The server

    /// `GET /`: Evolution API's welcome, `{"status":200,"message":"Welcome to the Evolution API, it
    /// is working!","version",…}` (no key needed; the `apikey` header is sent anyway). A cheap
    /// proof that the gateway answers; returns its `version` when it gives one.
    @discardableResult
    public func welcome() async throws(EvolutionError) -> String? {
        let object = try await call("GET", "/")
        return JSON.string((object as? [String: Any])?["version"])
    }

    // MARK: Instances

    /// `POST /instance/create` (201). `integration` is `WHATSAPP-BAILEYS`; the webhook goes as the
    /// nested object, always with `events`.
    public func createInstance(
        name: String, token: String? = nil, number: String? = nil, qrcode: Bool = false,
        webhook: EvolutionWebhook? = nil
    ) async throws(EvolutionError) -> EvolutionCreatedInstance {
        var body: [String: Any] = ["instanceName": name, "integration": "WHATSAPP-BAILEYS", "qrcode": qrcode]
        if let token { body["token"] = token }
        if let number { body["number"] = number }
        if let webhook { body["webhook"] = webhook.createObject }
        let object = try await call("POST", "/instance/create", body: body, isCreate: true)
        guard let root = object as? [String: Any], let instance = root["instance"] as? [String: Any] else { throw invalid(object) }
        let hash: String? = JSON.string(root["hash"]) ?? JSON.string((root["hash"] as? [String: Any])?["apikey"])
        return EvolutionCreatedInstance(
            instanceName: JSON.string(instance["instanceName"]) ?? name,
            instanceId: JSON.string(instance["instanceId"]),
            integration: JSON.string(instance["integration"]),
            status: JSON.string(instance["status"]),
            token: hash,
            qrCode: EvolutionQRCode(object: root["qrcode"] as? [String: Any]).flatMap { $0.isEmpty && $0.count == nil ? nil : $0 }
        )
    }

    /// `GET /instance/connect/{i}[?number=]` (`number` sent as digits only): a QR code (and a
    /// pairing code with `number`) while
    /// not connected, the state once open. `{"count":0}` gives an empty QR code; a 200 with
    /// `{"error":true}` throws.
    public func connect(instance: String, number: String? = nil) async throws(EvolutionError) -> EvolutionConnectResult {
        var path = "/instance/connect/\(Self.segment(instance))"
        if let number {
            // Digits only: the pairing code is requested for the bare international number.
            let digits = number.contains("@") ? number : String(number.filter(\.isNumber))
            path += "?number=\(Self.query(digits))"
        }
        let object = try await call("GET", path)
        guard let root = object as? [String: Any] else { throw invalid(object) }
        if let state = (root["instance"] as? [String: Any]).flatMap({ JSON.string($0["state"]) }) {
            return .state(EvolutionConnectionState(state))
        }
        return .qrCode(EvolutionQRCode(object: root) ?? EvolutionQRCode())
    }

    /// `GET /instance/connectionState/{i}`.
    public func connectionState(instance: String) async throws(EvolutionError) -> EvolutionConnectionState {
        let object = try await call("GET", "/instance/connectionState/\(Self.segment(instance))")
        guard let state = ((object as? [String: Any])?["instance"] as? [String: Any]).flatMap({ JSON.string($0["state"]) }) else { throw invalid(object) }
        return EvolutionConnectionState(state)
    }

    /// `POST /instance/restart/{i}`; returns the state when the gateway reports one.
    @discardableResult
    public func restart(instance: String) async throws(EvolutionError) -> EvolutionConnectionState? {
        let object = try await call("POST", "/instance/restart/\(Self.segment(instance))")
        return ((object as? [String: Any])?["instance"] as? [String: Any]).flatMap { JSON.string($0["state"]) }.map(EvolutionConnectionState.init)
    }

    /// `DELETE /instance/logout/{i}`; returns `response.message` ("Instance logged out").
    @discardableResult
    public func logout(instance: String) async throws(EvolutionError) -> String {
        let object = try await call("DELETE", "/instance/logout/\(Self.segment(instance))")
        return Self.responseMessage(object)
    }

    /// `DELETE /instance/delete/{i}`; returns `response.message` ("Instance deleted").
    @discardableResult
    public func delete(instance: String) async throws(EvolutionError) -> String {
        let object = try await call("DELETE", "/instance/delete/\(Self.segment(instance))")
        return Self.responseMessage(object)
    }

    /// `GET /instance/fetchInstances[?instanceName=]`.
    public func fetchInstances(instanceName: String? = nil) async throws(EvolutionError) -> [EvolutionInstanceInfo] {
        var path = "/instance/fetchInstances"
        if let instanceName { path += "?instanceName=\(Self.query(instanceName))" }
        let object = try await call("GET", path)
        guard let rows = object as? [Any] else { throw invalid(object) }
        return rows.compactMap { row in
            guard let row = row as? [String: Any] else { return nil }
            // v2 rows carry `name`; older ones nest `instance.instanceName`.
            let nested = row["instance"] as? [String: Any]
            guard let name = JSON.string(row["name"]) ?? JSON.string(nested?["instanceName"]) else { return nil }
            return EvolutionInstanceInfo(
                id: JSON.string(row["id"]) ?? JSON.string(nested?["instanceId"]),
                name: name,
                connectionStatus: (JSON.string(row["connectionStatus"]) ?? JSON.string(nested?["status"])).map(EvolutionConnectionState.init),
                ownerJid: JSON.string(row["ownerJid"]) ?? JSON.string(nested?["owner"]),
                number: JSON.string(row["number"]),
                integration: JSON.string(row["integration"]),
                token: JSON.string(row["token"]),
                disconnectionReasonCode: JSON.int(row["disconnectionReasonCode"])
            )
        }
    }

    /// `POST /webhook/set/{i}` with `{"webhook":{"enabled":true,"url",…,"events":[…]}}` (201).
    public func setWebhook(instance: String, webhook: EvolutionWebhook) async throws(EvolutionError) {
        _ = try await call("POST", "/webhook/set/\(Self.segment(instance))", body: ["webhook": webhook.setObject])
    }

    // MARK: Messages

    /// `POST /message/sendText/{i}` with `{number, text, delay, linkPreview}` (201). `delay` (ms)
    /// is the typing time the gateway spends inside the request.
    ///
    /// `quoted` is the WhatsApp id of a message to quote, sent as `{"key":{"id"}}` (2.3.6 finds the
    /// quoted message in its own store by that id; without it the message goes out unquoted).
    public func sendText(
        instance: String, number: String, text: String, delay: Int = 0, linkPreview: Bool = true, quoted: String? = nil
    ) async throws(EvolutionError) -> EvolutionSendResult {
        var body: [String: Any] = ["number": number, "text": text, "delay": delay, "linkPreview": linkPreview]
        if let quoted { body["quoted"] = ["key": ["id": quoted]] }
        let object = try await call("POST", "/message/sendText/\(Self.segment(instance))", body: body, extraTime: .milliseconds(max(0, delay)))
        return try sendResult(object)
    }

    /// `POST /message/sendMedia/{i}` with `{number, mediatype, mimetype?, caption?, fileName?, media}`
    /// (201). A base64 `document` needs `fileName`; with `fileName` the gateway derives the MIME
    /// type from its extension.
    public func sendMedia(
        instance: String, number: String, mediatype: EvolutionMediaType, media: EvolutionMedia,
        mimetype: String? = nil, caption: String? = nil, fileName: String? = nil, delay: Int? = nil, quoted: String? = nil
    ) async throws(EvolutionError) -> EvolutionSendResult {
        var body: [String: Any] = ["number": number, "mediatype": mediatype.rawValue, "media": media.wireValue]
        if let quoted { body["quoted"] = ["key": ["id": quoted]] }
        if let mimetype { body["mimetype"] = mimetype }
        if let caption { body["caption"] = caption }
        if let fileName { body["fileName"] = fileName }
        if let delay { body["delay"] = delay }
        let object = try await call("POST", "/message/sendMedia/\(Self.segment(instance))", body: body, extraTime: .milliseconds(max(0, delay ?? 0)))
        return try sendResult(object)
    }

    /// `POST /chat/markMessageAsRead/{i}` with `{"readMessages":[{remoteJid, fromMe, id}]}` (201):
    /// read receipts (blue ticks) for inbound messages.
    public func markMessagesRead(instance: String, messages: [(remoteJid: String, id: String)]) async throws(EvolutionError) {
        _ = try await call("POST", "/chat/markMessageAsRead/\(Self.segment(instance))",
                           body: ["readMessages": messages.map { ["remoteJid": $0.remoteJid, "fromMe": false, "id": $0.id] as [String: Any] }])
    }

    /// `POST /chat/getBase64FromMediaMessage/{i}` with `{"message": <the message event's data>,
    /// "convertToMp4": false}` (201): the media's bytes (base64) and description. The whole
    /// message (key and message) is sent, so the gateway needs no store of its own.
    public func mediaOfMessage(instance: String, message: [String: Any]) async throws(EvolutionError) -> EvolutionMediaDownload {
        let object = try await call("POST", "/chat/getBase64FromMediaMessage/\(Self.segment(instance))",
                                    body: ["message": message, "convertToMp4": false], extraTime: .seconds(20))
        guard let root = object as? [String: Any], let base64 = JSON.string(root["base64"]) else { throw invalid(object) }
        return EvolutionMediaDownload(base64: base64, mimeType: JSON.string(root["mimetype"]) ?? "", fileName: JSON.string(root["fileName"]) ?? "",
                                      mediaType: JSON.string(root["mediaType"]) ?? "")
    }

    /// `POST /chat/whatsappNumbers/{i}` with `{"numbers":[…]}`.
    public func whatsappNumbers(instance: String, numbers: [String]) async throws(EvolutionError) -> [EvolutionNumberCheck] {
        let object = try await call("POST", "/chat/whatsappNumbers/\(Self.segment(instance))", body: ["numbers": numbers])
        guard let rows = object as? [Any] else { throw invalid(object) }
        return rows.compactMap { row in
            guard let row = row as? [String: Any] else { return nil }
            return EvolutionNumberCheck(
                jid: JSON.string(row["jid"]) ?? "",
                exists: JSON.bool(row["exists"]) ?? false,
                number: JSON.string(row["number"]) ?? "",
                name: JSON.string(row["name"]),
                lid: JSON.string(row["lid"])
            )
        }
    }

    /// `POST /chat/findMessages/{i}` with `{"where":{"key":{"remoteJid","fromMe"}},"page","offset"}`:
    /// messages the gateway stored for a chat, newest first (`messages.records`). The text is the
    /// conversation, extended text or media caption.
    public func findMessages(instance: String, remoteJid: String, fromMe: Bool? = nil, page: Int = 1, pageSize: Int = 50) async throws(EvolutionError) -> [EvolutionStoredMessage] {
        var key: [String: Any] = ["remoteJid": remoteJid]
        if let fromMe { key["fromMe"] = fromMe }
        let object = try await call("POST", "/chat/findMessages/\(Self.segment(instance))", body: ["where": ["key": key], "page": page, "offset": pageSize])
        guard let root = object as? [String: Any], let messages = root["messages"] as? [String: Any],
              let records = messages["records"] as? [Any] else { throw invalid(object) }
        return records.compactMap { item in
            guard let record = item as? [String: Any], let key = record["key"] as? [String: Any], let id = JSON.string(key["id"]) else { return nil }
            let message = record["message"] as? [String: Any] ?? [:]
            var text = JSON.string(message["conversation"]) ?? JSON.string((message["extendedTextMessage"] as? [String: Any])?["text"])
            if text == nil {
                for kind in ["imageMessage", "videoMessage", "documentMessage", "audioMessage"] {
                    if let caption = JSON.string((message[kind] as? [String: Any])?["caption"]) { text = caption; break }
                }
            }
            return EvolutionStoredMessage(id: id, remoteJid: JSON.string(key["remoteJid"]) ?? "", fromMe: JSON.bool(key["fromMe"]) ?? false,
                                          text: text, timestamp: Self.timestamp(record["messageTimestamp"]))
        }
    }

    // MARK: Plumbing

    private func call(_ method: String, _ path: String, body: [String: Any]? = nil, isCreate: Bool = false, extraTime: Duration = .zero) async throws(EvolutionError) -> Any? {
        var headers: [(name: String, value: String)] = [("apikey", apiKey), ("Accept", "application/json")]
        var bytes: [UInt8]?
        if let body {
            headers.append(("Content-Type", "application/json"))
            bytes = JSON.encode(body)
        } else if method == "POST" {
            // A body-less POST (restart): libcurl would add a form content type; a header whose value
            // is only blank ("Content-Type:  ") makes it send none (WaqtorHTTP sends an empty value
            // as "Name;", which would send an empty header instead).
            headers.append(("Content-Type", " "))
        }
        let request = HTTPRequest(method: method, url: baseURL + path, headers: headers, body: bytes, timeout: timeout + extraTime)
        let response: HTTPResponse
        let started = ContinuousClock.now
        do {
            response = try await http.execute(request)
        } catch {
            if let reachability {
                switch error {
                case .timeout, .connectionFailed, .transport, .invalidURL:
                    reachability(.unreachable(EvolutionError.from(error)), ContinuousClock.now - started)
                case .shutdown, .cancelled:
                    break
                }
            }
            throw EvolutionError.from(error)
        }
        if let reachability {
            if (502...504).contains(response.status) {
                reachability(.unreachable(EvolutionError(kind: .server(response.status), status: response.status)), ContinuousClock.now - started)
            } else {
                reachability(.answered, ContinuousClock.now - started)
            }
        }
        guard (200..<300).contains(response.status) else {
            throw EvolutionError.classify(status: response.status, body: response.body, isCreate: isCreate)
        }
        let object = JSON.parse(response.body)
        // connect (and a few others) answer 200 with {"error":true,"message":…} on failure.
        if let root = object as? [String: Any], let flag = root["error"] as? Bool, flag == true {
            throw EvolutionError.classify(status: response.status, body: response.body, isCreate: isCreate)
        }
        return object
    }

    private func invalid(_ object: Any?) -> EvolutionError {
        EvolutionError(kind: .invalidResponse, status: 200, body: object.map { JSON.render($0) } ?? "")
    }

    private func sendResult(_ object: Any?) throws(EvolutionError) -> EvolutionSendResult {
        guard let root = object as? [String: Any], let key = root["key"] as? [String: Any], let id = JSON.string(key["id"]) else { throw invalid(object) }
        return EvolutionSendResult(
            messageId: id,
            remoteJid: JSON.string(key["remoteJid"]) ?? "",
            fromMe: JSON.bool(key["fromMe"]) ?? true,
            status: JSON.string(root["status"]),
            messageType: JSON.string(root["messageType"]),
            messageTimestamp: Self.timestamp(root["messageTimestamp"]),
            instanceId: JSON.string(root["instanceId"])
        )
    }

    /// Seconds as a number, a numeric string, or a protobuf Long `{"low","high","unsigned"}`.
    static func timestamp(_ value: Any?) -> Int64? {
        if let long = value as? [String: Any], let low = JSON.int(long["low"]) {
            let high = Int64(JSON.int(long["high"]) ?? 0)
            return (high << 32) | Int64(UInt32(truncatingIfNeeded: low))
        }
        return JSON.int(value).map(Int64.init)
    }

    private static func responseMessage(_ object: Any?) -> String {
        let response = (object as? [String: Any])?["response"] as? [String: Any]
        switch response?["message"] {
        case let string as String: return string
        case let array as [Any]: return array.map { JSON.render($0) }.joined(separator: "; ")
        default: return ""
        }
    }

    private static let unreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")

    static func segment(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? value
    }

    static func query(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? value
    }
}

/// What one call learned about the gateway (``EvolutionClient/reachability``).
public enum EvolutionReachability: Sendable {
    /// The gateway answered over HTTP (any status).
    case answered
    /// No answer: the connection failed or the call timed out (the error says which; it never
    /// holds the API key).
    case unreachable(EvolutionError)
}
