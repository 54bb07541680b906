import NIOConcurrencyHelpers
import Foundation

extension EvolutionSimulator {
    /// `/_sim/…`: no key needed, bodies parsed as JSON whatever the content type, not recorded.
    func control(_ request: RecordedRequest, _ segments: [String], path: String) -> SimResponse {
        let method = request.method.uppercased()
        let body = (request.body.isEmpty ? nil : try? JSONSerialization.jsonObject(with: Data(request.body))) as? [String: Any] ?? [:]
        let target = segments.count > 1 ? segments[1] : nil
        func missing(_ name: String?) -> SimResponse {
            Self.notFound(name ?? "")
        }
        switch (method, segments.first ?? "") {
        case ("GET", "media"), ("HEAD", "media"):
            // Sample media for campaigns' attachments: /_sim/media/{bytes}/{file name}, typed by the
            // file name's extension. HEAD answers any size; GET sends zeros, up to 32 MiB.
            guard segments.count == 3, let size = Int(segments[1]), size >= 0 else {
                return Self.fail(400, ["use /_sim/media/{bytes}/{file name}"])
            }
            let type = Self.mime(forFileName: segments[2]) ?? "application/octet-stream"
            if method == "HEAD" {
                return SimResponse(status: 200, body: [], contentType: type, headLength: size)
            }
            guard size <= 32 << 20 else { return Self.fail(400, ["GET serves at most 32 MiB; HEAD any size"]) }
            return SimResponse(status: 200, body: [UInt8](repeating: 0, count: size), contentType: type)
        case ("GET", "requests"):
            return Self.ok(200, requests.map { request -> [String: Any] in
                var headers: [String: String] = [:]
                for header in request.headers { headers[header.name.lowercased()] = header.value }
                return ["method": request.method, "path": request.path, "headers": headers, "body": request.bodyString]
            })
        case ("DELETE", "requests"):
            let count = state.withLockedValue { state in defer { state.requests.removeAll() }; return state.requests.count }
            return Self.ok(200, ["cleared": count])
        case ("GET", "sends"):
            let origin = startedAt
            func milliseconds(_ instant: ContinuousClock.Instant) -> Double {
                let (seconds, attoseconds) = (instant - origin).components
                return Double(seconds) * 1000 + Double(attoseconds) / 1e15
            }
            return Self.ok(200, sends().map { send -> [String: Any] in
                ["instance": send.instance, "route": send.isMedia ? "sendMedia" : "sendText",
                 "number": send.number.map { $0 as Any } ?? NSNull(), "text": send.text.map { $0 as Any } ?? NSNull(),
                 "delay": send.delay, "status": send.status, "messageId": send.messageId.map { $0 as Any } ?? NSNull(),
                 "arrivedAt": milliseconds(send.arrivedAt), "answeredAt": milliseconds(send.answeredAt),
                 "answerWritten": send.answerWritten]
            })
        case ("DELETE", "sends"):
            let count = sendLog.withLockedValue { log in defer { log.removeAll() }; return log.count }
            return Self.ok(200, ["cleared": count])
        case ("GET", "webhooks"):
            return Self.ok(200, deliveries.map { delivery -> [String: Any] in
                ["event": delivery.event, "instance": delivery.instance, "url": delivery.url,
                 "status": delivery.status.map { $0 as Any } ?? NSNull(), "error": delivery.error.map { $0 as Any } ?? NSNull()]
            })
        case ("GET", "instances"):
            return Self.ok(200, state.withLockedValue { state in
                state.instances.values.sorted { $0.createdAt < $1.createdAt }.map { record -> [String: Any] in
                    ["name": record.name, "id": record.id, "state": record.state, "token": record.token,
                     "number": record.number.map { $0 as Any } ?? NSNull(),
                     "webhookUrl": record.webhook.map { $0.url as Any } ?? NSNull()]
                }
            })
        case ("POST", "connect"):
            guard let target, connect(instance: target, number: SimJSON.string(body["number"]), profileName: SimJSON.string(body["profileName"])) else {
                return missing(target)
            }
            return Self.ok(200, ["instance": target, "state": "open"])
        case ("POST", "reconnect"):
            let late = Duration.milliseconds(max(0, SimJSON.int(body["lateConnectingMs"]) ?? 0))
            guard let target, reconnect(instance: target, lateConnecting: late) else {
                return target.flatMap { connectionState(of: $0) } == nil ? missing(target) : Self.fail(400, ["the instance is not open"])
            }
            return Self.ok(200, ["instance": target, "state": "open"])
        case ("POST", "drop-webhooks"):
            let events = Set((body["events"] as? [Any] ?? []).compactMap { SimJSON.string($0) })
            dropWebhooks(events, instance: target == "*" ? nil : target)
            return Self.ok(200, ["instance": (target ?? "*") as Any, "events": events.sorted()])
        case ("POST", "inbound"):
            guard let target else { return missing(nil) }
            guard let from = SimJSON.string(body["from"]), let text = SimJSON.string(body["text"]) else {
                return Self.fail(400, ["body requires \"from\" and \"text\""])
            }
            guard let id = injectInbound(instance: target, from: from, text: text, pushName: SimJSON.string(body["pushName"]) ?? "Simulated Contact") else {
                return missing(target)
            }
            return Self.ok(200, ["id": id])
        case ("POST", "inbound-message"):
            guard let target else { return missing(nil) }
            guard let from = SimJSON.string(body["from"]), let message = body["message"] as? [String: Any] else {
                return Self.fail(400, ["body requires \"from\" and a \"message\" object"])
            }
            guard let id = injectInboundMessage(instance: target, from: from, message: message, id: SimJSON.string(body["id"]),
                                                lid: SimJSON.string(body["lid"]), pushName: SimJSON.string(body["pushName"]) ?? "Simulated Contact",
                                                contextInfo: body["contextInfo"] as? [String: Any], fromMe: SimJSON.bool(body["fromMe"]) ?? false) else {
                return missing(target)
            }
            return Self.ok(200, ["id": id])
        case ("POST", "inbound-media"):
            guard let target else { return missing(nil) }
            let parts = ["imageMessage", "videoMessage", "audioMessage", "documentMessage", "stickerMessage"]
            guard let from = SimJSON.string(body["from"]), let part = SimJSON.string(body["part"]), parts.contains(part),
                  let data = SimJSON.string(body["base64"]).flatMap({ Data(base64Encoded: $0) }), let mime = SimJSON.string(body["mimeType"]) else {
                return Self.fail(400, ["body requires \"from\", \"part\" (\(parts.joined(separator: ", "))), \"base64\" and \"mimeType\""])
            }
            guard let id = injectInboundMedia(instance: target, from: from, part: part, bytes: [UInt8](data), mimeType: mime,
                                              caption: SimJSON.string(body["caption"]) ?? "", fileName: SimJSON.string(body["fileName"]) ?? "",
                                              ptt: SimJSON.bool(body["ptt"]) ?? false, pushName: SimJSON.string(body["pushName"]) ?? "Simulated Contact") else {
                return missing(target)
            }
            return Self.ok(200, ["id": id])
        case ("POST", "media-failure"):
            let count = SimJSON.int(body["count"]) ?? 0
            failMediaDownloads(count)
            return Self.ok(200, ["count": count])
        case ("GET", "read-marks"):
            return Self.ok(200, readMarks())
        case ("POST", "logged-out"):
            let reason = SimJSON.int(body["statusReason"]) ?? 401
            guard let target, injectLoggedOut(instance: target, statusReason: reason) else { return missing(target) }
            return Self.ok(200, ["instance": target, "state": "close", "statusReason": reason])
        case ("POST", "send-failure"):
            guard let mode = SendFailure.Mode(rawValue: SimJSON.string(body["mode"]) ?? "none") else {
                return Self.fail(400, ["mode must be none, unknown-number, connection-closed or server-error"])
            }
            var count: Int?
            if let raw = body["count"], !(raw is NSNull) {
                guard let parsed = SimJSON.int(raw), parsed > 0 else { return Self.fail(400, ["count must be a positive integer"]) }
                guard mode == .serverError else { return Self.fail(400, ["count applies to mode server-error only"]) }
                count = parsed
            }
            var shape: SendFailure.ClosedShape?
            if let raw = SimJSON.string(body["shape"]) {
                guard let parsed = SendFailure.ClosedShape(rawValue: raw) else {
                    return Self.fail(400, ["shape must be text-400, media-500, string-500 or boom-400"])
                }
                shape = parsed
            }
            let failure = SendFailure(mode: mode, shape: shape, delayMilliseconds: max(0, SimJSON.int(body["delayMs"]) ?? 0), count: count)
            setSendFailure(failure, instance: target == "*" ? nil : target)
            return Self.ok(200, [
                "instance": (target ?? "*") as Any, "mode": mode.rawValue, "shape": shape?.rawValue ?? NSNull(),
                "delayMs": failure.delayMilliseconds, "count": count.map { $0 as Any } ?? NSNull(),
            ])
        case ("POST", "connect-mode"):
            let mode = SimJSON.string(body["mode"]) ?? "qr"
            guard ["qr", "no-qr", "error", "slow-qr"].contains(mode) else {
                return Self.fail(400, ["mode must be qr, no-qr, error or slow-qr"])
            }
            guard let target, setConnectMode(mode, instance: target) else { return missing(target) }
            return Self.ok(200, ["instance": target, "mode": mode])
        case ("POST", "outage"):
            guard let ms = SimJSON.int(body["ms"]), (1...600_000).contains(ms) else {
                return Self.fail(400, ["body requires \"ms\": 1-600000 (how long connections are refused)"])
            }
            // Answered first; the listener closes just after this answer is written.
            let simulator = self
            Task {
                try? await Task.sleep(for: .milliseconds(50))
                _ = await simulator.beginOutage(for: .milliseconds(ms))
            }
            return Self.ok(200, ["ms": ms])
        case ("POST", "unknown-numbers"):
            let numbers = (body["numbers"] as? [Any] ?? []).compactMap { SimJSON.string($0) }
            addUnknownNumbers(numbers)
            return Self.ok(200, ["added": numbers.count])
        default:
            return Self.fail(404, ["Cannot \(method) \(path)"])
        }
    }
}
