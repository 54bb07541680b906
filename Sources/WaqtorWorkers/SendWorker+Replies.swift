import Foundation
import NIOConcurrencyHelpers
import Logging
import WaqtorChat
import WaqtorCore
import WaqtorEvolution
import WaqtorSendQueue

// Chat replies on the reply lanes (docs/CHAT.md, "Replies"): sent before the number's next
// campaign message, free of campaign gaps, daily caps and quiet hours, still one at a time per
// number (the number's lease) with a typing delay.
extension SendWorker {
    /// One tenant's claimed replies: check and lease in PostgreSQL, then send each.
    func dispatchReplies(tenant: TenantID, claimed: [ClaimedMessage]) async {
        var isChecking = true
        var counted = claimed.count
        defer {
            for _ in 0..<counted { inFlight.remove(tenant) }
            if isChecking { checking.remove(tenant) }
        }
        var byID: [ChatMessageID: ClaimedMessage] = [:]
        for message in claimed { if let id = SendLanes.replyID(message.entry) { byID[id] = message } }
        let now = clock.now()
        var acks: [SendLanes.Ack] = []
        var toSend: [(ClaimedMessage, OutboundReply)] = []
        do {
            let checked = try await chat.checkReplies(tenantID: tenant, ids: Array(byID.keys), lease: configuration.lease) { replies in
                var lease: [(ChatMessageID, String)] = []
                var seen: Set<ChatMessageID> = []
                for reply in replies {
                    guard let message = byID[reply.message.id] else { continue }
                    seen.insert(reply.message.id)
                    if reply.message.status != .pending {
                        acks.append(.init(message: message, nextDue: now, requeue: false, keepSchedule: true))  // sent or failed meanwhile
                    } else if reply.leasedElsewhere {
                        acks.append(.init(message: message, nextDue: (reply.leasedUntil ?? now).addingTimeInterval(0.1), requeue: true, keepSchedule: true, hold: true))
                    } else if reply.instanceState != "open" {
                        acks.append(.init(message: message, nextDue: now.addingTimeInterval(configuration.disconnectedHold.seconds), requeue: true,
                                          keepSchedule: true, hold: true))
                    } else {
                        lease.append((reply.message.id, message.token))
                        toSend.append((message, reply))
                    }
                }
                for (id, message) in byID where !seen.contains(id) {
                    acks.append(.init(message: message, nextDue: now, requeue: false, keepSchedule: true))  // deleted meanwhile
                }
                return lease
            }
            _ = checked
        } catch {
            return await giveBack(claimed, after: .seconds(1), error)
        }
        if !acks.isEmpty {
            do { try await lanes.acknowledge(acks, now: now) } catch { logger.warning("send queue: ending leases failed", metadata: ["error": "\(error)"]) }
        }
        let finished = claimed.count - toSend.count
        for _ in 0..<finished { inFlight.remove(tenant) }
        counted = 0
        isChecking = false
        checking.remove(tenant)
        await withDiscardingTaskGroup { group in
            for (message, reply) in toSend {
                group.addTask {
                    await self.sendReply(tenant: tenant, message: message, reply: reply)
                    self.inFlight.remove(tenant)
                }
            }
        }
    }

    /// Sends one reply, records it, publishes its new status, and ends the lease.
    func sendReply(tenant: TenantID, message: ClaimedMessage, reply: OutboundReply) async {
        let text = reply.message.body
        let typing = PacingRules.typingDelay(length: text.count, unit: Double.random(in: 0..<1), maximum: configuration.maxTypingDelayMs)
        let phone = String(reply.phoneNumber.filter(\.isNumber))
        var outcome: ChatStore.ReplyOutcome
        var numberDown = false
        var gatewayDown = false
        do {
            let sent: EvolutionSendResult
            if let media = reply.message.media {
                let source: EvolutionMedia
                if let url = reply.mediaURL {
                    source = .url(url)
                } else if let hash = media.sha256, let files = self.media {
                    source = .base64(Data(try await files.read(tenantID: tenant, sha256: hash)).base64EncodedString())
                } else {
                    throw ChatError(.failedPrecondition, "the reply's media file is not available")
                }
                let type: EvolutionMediaType
                switch media.kind {
                case .image: type = .image
                case .video: type = .video
                case .audio, .voice: type = .audio
                default: type = .document
                }
                sent = try await gateway.sendMedia(
                    instance: reply.gatewayName, number: phone, mediatype: type, media: source,
                    mimetype: media.mimeType.isEmpty ? nil : media.mimeType, caption: text.isEmpty ? nil : text,
                    fileName: media.fileName.isEmpty ? nil : media.fileName, delay: typing, quoted: reply.quotedWaID)
            } else {
                sent = try await gateway.sendText(instance: reply.gatewayName, number: phone, text: text, delay: typing, quoted: reply.quotedWaID)
            }
            outcome = .sent(messageID: sent.messageId)
            gatewayOutage.withLockedValue { $0.succeeded() }
        } catch let error as ChatError {
            outcome = .failed(error: error.message)
        } catch let error as EvolutionError {
            switch gatewayOutage.withLockedValue({ $0.classify(error) }) {
            case .permanent(let why):
                outcome = .failed(error: why)
            case .transient(let why):
                if let after = configuration.retry.delay(afterAttempt: reply.attempts + 1, unit: Double.random(in: 0..<1)) {
                    outcome = .retry(error: why, afterMs: after)
                } else {
                    outcome = .failed(error: "gave up after \(reply.attempts + 1) attempts: \(why)")
                }
            case .numberDown(let why):
                numberDown = true
                outcome = .retry(error: why, afterMs: 0)
            case .gatewayDown(let why):
                numberDown = true
                gatewayDown = true
                outcome = .retry(error: why, afterMs: 0)
            }
        } catch {
            outcome = .retry(error: "the media file could not be read", afterMs: 1000)
        }
        // Recorded (retrying while PostgreSQL is unreachable), published, then the lease ends.
        var recorded: ChatMessage?
        var delay = 0.1
        while true {
            do {
                recorded = try await chat.recordReply(tenantID: tenant, id: reply.message.id, token: message.token, outcome)
                break
            } catch {
                logger.warning("send queue: recording a reply failed; retrying", metadata: ["error": "\(error)"])
                if Task.isCancelled { break }
                try? await Task.sleep(for: .seconds(delay))
                delay = min(delay * 2, 2)
            }
        }
        if let recorded, let live {
            try? await live.publish(tenantID: tenant, [.status(messageID: recorded.id, conversationID: recorded.conversationID, instanceID: recorded.instanceID,
                                                                 status: recorded.status, error: recorded.error, at: recorded.updatedAt)])
        }
        let now = clock.now()
        var ack = SendLanes.Ack(message: message, nextDue: now, requeue: false, keepSchedule: true)
        switch outcome {
        case .retry(_, let after):
            // The reply goes back to the head of its lane; the number's replies wait for it.
            let hold = gatewayDown
                ? Double(GatewayOutageDetector.holdMilliseconds(consecutiveFailures: 1, retry: configuration.retry))
                : numberDown ? Double(NumberBackoff.holdMilliseconds(consecutiveFailures: 1)) : Double(after)
            ack = SendLanes.Ack(message: message, nextDue: now.addingTimeInterval(hold / 1000), requeue: true, keepSchedule: true, hold: true)
        default:
            break
        }
        do { try await lanes.acknowledge([ack], now: now) } catch { logger.warning("send queue: ending a reply's lease failed", metadata: ["error": "\(error)"]) }
    }
}
