import Foundation
import WaqtorHTTP
import WaqtorProto
import WaqtorRPC

/// A number's webhook as the gateway posts to it.
struct WebhookTarget: Sendable {
    var url: String
    var gatewayName: String
    var secret: String
}

/// A conversation the harness replies in, with the Live stream that tells when each reply is SENT.
struct ReplyTarget: Sendable {
    var conversationID: String
    var tracker: ReplyTracker
}

/// The calls of the product scenarios (shared by each scenario and by `mixed`).
extension Harness {
    /// TenantService.Login with the account's (correct) password: the login throttle counts only
    /// failures, so repeated logins are never refused.
    func loginCall(_ account: LoadAccount, connection: Int, operation: String = "login") async -> CallOutcome {
        var request = Waqtor_V1_LoginRequest()
        request.email = account.email
        request.password = account.password
        let tenants = Waqtor_V1_TenantServiceClient(client: clients[connection])
        let options = callOptions()
        return await timedRPC(operation) { () async throws(RPCError) in try await tenants.login(request, options: options) }.0
    }

    /// TenantService.GetProfile with the account's session: the session looked up, then the tenant read.
    func profileCall(_ account: LoadAccount, connection: Int, operation: String = "profile") async -> CallOutcome {
        let tenants = Waqtor_V1_TenantServiceClient(client: clients[connection])
        let options = callOptions(account.token)
        return await timedRPC(operation) { () async throws(RPCError) in try await tenants.getProfile(Waqtor_V1_GetProfileRequest(), options: options) }.0
    }

    /// One Evolution-shaped `messages.upsert` to the server's webhook listener: a new message id
    /// each time (so each is stored, not a duplicate), from one of 100 customers of the number.
    func webhookCall(_ target: WebhookTarget, sequence: UInt64, operation: String = "webhook") async -> CallOutcome {
        let id = "3EB0" + runID.uppercased() + String(sequence, radix: 16, uppercase: true)
        let customer = 5_511_970_000_000 + Int(sequence % 100)
        let now = Date()
        let body: [String: Any] = [
            "event": "messages.upsert", "instance": target.gatewayName,
            "date_time": now.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)), "sender": "5511999990000@s.whatsapp.net",
            "server_url": "http://127.0.0.1", "apikey": NSNull(),
            "data": [
                "key": ["remoteJid": "\(customer)@s.whatsapp.net", "fromMe": false, "id": id, "participant": ""],
                "pushName": "Customer \(customer % 1000)", "status": "DELIVERY_ACK",
                "message": ["conversation": "load \(runID) webhook \(sequence)"], "messageType": "conversation",
                "messageTimestamp": Int(now.timeIntervalSince1970), "instanceId": "load", "source": "android",
            ] as [String: Any],
        ]
        guard let bytes = try? JSONSerialization.data(withJSONObject: body) else {
            return .failure(operation, "INTERNAL", "cannot encode the webhook body")
        }
        let request = HTTPRequest(
            method: "POST", url: target.url,
            headers: [("Content-Type", "application/json"), ("x-waqtor-webhook-secret", target.secret)],
            body: [UInt8](bytes), timeout: options.callTimeout)
        do {
            let response = try await http.execute(request)
            guard response.status == 200 else { return .failure(operation, "HTTP_\(response.status)", response.bodyString) }
            return .success(operation)
        } catch {
            let status = switch error {
            case .timeout: "HTTP_TIMEOUT"
            case .connectionFailed: "HTTP_CONNECTION_FAILED"
            default: "HTTP_ERROR"
            }
            return .failure(operation, status, error.description)
        }
    }

    /// ChatService.SendTextReply, then the wait until Live reports the reply SENT (the worker sent
    /// it through the gateway and recorded the answer). The call's latency is that whole span; the
    /// RPC alone is the `rpc` stage.
    func replyCall(_ target: ReplyTarget, account: LoadAccount, connection: Int, sequence: UInt64, operation: String = "send-reply") async -> CallOutcome {
        var request = Waqtor_V1_SendTextReplyRequest()
        request.conversationID = target.conversationID
        request.text = "load \(runID) reply \(sequence)"
        request.idempotencyKey = "load-\(runID)-\(sequence)"
        let chat = Waqtor_V1_ChatServiceClient(client: clients[connection])
        let options = callOptions(account.token)
        let start = monotonicNanos()
        let (outcome, response) = await timedRPC(operation, stage: "rpc") { () async throws(RPCError) in
            try await chat.sendTextReply(request, options: options)
        }
        guard let message = response?.message else {
            return outcome.error == nil ? .failure(operation, "INTERNAL", "SendTextReply answered without a message") : outcome
        }
        target.tracker.accepted(request.text)
        switch await target.tracker.wait(for: message.id, deadline: start + UInt64(self.options.timeout * 1e9)) {
        case .sent:
            return outcome
        case .failed(let reason):
            return .failure(operation, "REPLY_FAILED", reason, stages: outcome.stages)
        case .timedOut:
            return .failure(operation, "REPLY_TIMEOUT", "no SENT on Live within --timeout for \(message.id)", stages: outcome.stages)
        }
    }
}
