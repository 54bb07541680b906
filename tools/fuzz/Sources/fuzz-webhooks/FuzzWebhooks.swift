// Webhook bodies from the gateway: the envelope (`WebhookEnvelope.parse`, internal to the
// listener, hence `@testable`) and the chat message event parser (`ChatEventParser`).
//
// Input: the body's bytes.
//
// Checked: the envelope's event name is 1-100 bytes; its dedupe key is non-empty, at most 200 bytes,
// and the same for the same bytes; only connection events carry a connection change. A chat event
// has a message id and a chat, digits of 7-15 ASCII digits, a lid ending in `@lid`, a timestamp
// within 2000-2100; a text message's event written back as a webhook body parses to the same event.
import Foundation
import FuzzSupport
import WaqtorChat
@testable import WaqtorWebhooks

func checkEnvelope(_ body: [UInt8]) {
    guard let envelope = try? WebhookEnvelope.parse(body) else { return }
    precondition(!envelope.event.isEmpty && envelope.event.utf8.count <= 100, "event name \(envelope.event.debugDescription)")
    precondition(!envelope.dedupeKey.isEmpty && envelope.dedupeKey.utf8.count <= 200, "dedupe key of \(envelope.dedupeKey.utf8.count) bytes")
    if envelope.connectionEvent != nil {
        precondition(["connection.update", "logout.instance", "status.instance"].contains(envelope.event), "a connection change from \(envelope.event)")
    }
    let again = try! WebhookEnvelope.parse(body)
    precondition(again.dedupeKey == envelope.dedupeKey, "the same body gave dedupe keys \(envelope.dedupeKey) and \(again.dedupeKey)")
    precondition(again.connectionEvent == envelope.connectionEvent && again.time == envelope.time, "the same body gave another state change")
}

func checkChatEvent(_ body: [UInt8]) {
    guard let event = try? ChatEventParser.parse(envelope: body) else { return }
    precondition(!event.messageID.isEmpty && !event.remoteJID.isEmpty, "an event without id or chat")
    if let digits = event.phoneDigits {
        precondition((7...15).contains(digits.utf8.count) && digits.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }, "digits \(digits.debugDescription)")
    }
    if let lid = event.lid { precondition(lid.hasSuffix("@lid"), "lid \(lid.debugDescription)") }
    if let time = event.timestamp {
        precondition(time.timeIntervalSince1970 > 946_684_800 && time.timeIntervalSince1970 < 4_102_444_800, "timestamp \(time)")
    }
    if let size = event.content.media?.announcedSize { _ = size }

    // A plain text message, written back as the gateway would post it, reads the same.
    guard event.content.kind == .text, event.content.quotedID == nil, event.content.media == nil else { return }
    var key: [String: Any] = ["id": event.messageID, "remoteJid": event.remoteJID, "fromMe": event.fromMe]
    if event.remoteJID.hasSuffix("@lid"), let digits = event.phoneDigits { key["remoteJidAlt"] = digits + "@s.whatsapp.net" }
    if !event.remoteJID.hasSuffix("@lid"), let lid = event.lid { key["remoteJidAlt"] = lid }
    var data: [String: Any] = ["key": key, "pushName": event.pushName, "status": event.status, "message": ["conversation": event.content.body]]
    if let time = event.timestamp { data["messageTimestamp"] = Int64(time.timeIntervalSince1970) }
    let written = try! JSONSerialization.data(withJSONObject: ["event": "messages.upsert", "instance": "fuzz", "data": data])
    let again: ChatEvent
    do { again = try ChatEventParser.parse(envelope: Array(written)) } catch {
        preconditionFailure("\(event) written back as \(String(decoding: written, as: UTF8.self)) does not parse: \(error)")
    }
    precondition(again == event, "\(event) written back reads as \(again)")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebhooks(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let body = Array(UnsafeRawBufferPointer(start: start, count: count))
    checkEnvelope(body)
    checkChatEvent(body)
    return 0
}

// libFuzzer's driver, from the `main` SwiftPM gives this executable (FuzzSupport).
@_cdecl("fuzz_webhooks_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, { fuzzWebhooks($0, $1) })
}
