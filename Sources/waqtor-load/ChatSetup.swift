import Foundation
import WaqtorProto
import WaqtorRPC

extension Harness {
    /// For each connection: its account's number, connected; a Live stream open on the account;
    /// a customer's message injected at the gateway (`POST /_sim/inbound`); and, once the chat
    /// projector made it a conversation and Live delivered it (so the stream is known to be open
    /// before anything is measured), that conversation to reply in.
    func replyTargets(_ accounts: [LoadAccount], numbers: [LoadNumber]) async throws -> [ReplyTarget] {
        note("connecting \(numbers.count) numbers and opening their conversations…")
        return try await inBatches(accounts.count, width: 8) { [self] c in
            try await connect([numbers[c]], of: accounts[c], connection: c)
            let tracker = ReplyTracker()
            tracker.start(client: clients[c], token: accounts[c].token)
            do {
                return ReplyTarget(conversationID: try await conversation(number: numbers[c], account: accounts[c], connection: c, tracker: tracker), tracker: tracker)
            } catch {
                await tracker.stop()
                throw error
            }
        }
    }

    private func conversation(number: LoadNumber, account: LoadAccount, connection: Int, tracker: ReplyTracker) async throws -> String {
        let customer = String(5_511_980_000_000 + connection)
        // Live opens in the background: a message projected before the subscription was in place
        // is not replayed to it. So while the conversation exists but Live has shown none of the
        // messages, the customer writes again every 2 s, until one comes through Live.
        var texts = ["load \(runID) hello \(connection)"]
        try await gateway.injectInbound(number.gatewayName, from: customer, text: texts[0])
        var lastInjected = monotonicNanos()
        let chat = Waqtor_V1_ChatServiceClient(client: clients[connection])
        var list = Waqtor_V1_ListConversationsRequest()
        list.instanceID = number.instanceID
        list.pageSize = 100
        let deadline = monotonicNanos() + UInt64(options.setupTimeout * 1e9)
        while true {
            let conversations = try await chat.listConversations(list, options: callOptions(account.token)).conversations
            if let found = conversations.first(where: { $0.phoneNumber.filter(\.isNumber) == customer }) {
                if texts.contains(where: tracker.sawInbound) { return found.id }
                if monotonicNanos() - lastInjected > 2_000_000_000 {
                    texts.append("load \(runID) hello \(connection) again \(texts.count)")
                    try await gateway.injectInbound(number.gatewayName, from: customer, text: texts[texts.count - 1])
                    lastInjected = monotonicNanos()
                }
            }
            guard monotonicNanos() < deadline else {
                throw HarnessFailure(
                    "the customer's message to \(number.gatewayName) did not become a conversation on Live within \(options.setupTimeout) s "
                        + "(does the server project this tenant's chat events? chat.tenants; Live restarts: \(tracker.restarts))")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Each number's webhook URL and secret (read from the gateway: CreateInstance never returns it).
    func webhookTargets(_ numbers: [LoadNumber]) async throws -> [WebhookTarget] {
        let base = LoadOptions.trimmed(options.webhook)
        return try await inBatches(numbers.count, width: 8) { [self] i in
            let name = numbers[i].gatewayName
            return WebhookTarget(url: "\(base)/webhooks/evolution/\(name)", gatewayName: name, secret: try await gateway.webhookSecret(name))
        }
    }

    /// One number per account (the free plan's one), created or reused; connections that share an
    /// account (a short --accounts file) share its number.
    func oneNumberEach(_ accounts: [LoadAccount]) async throws -> [LoadNumber] {
        let owners = Dictionary(accounts.indices.map { (accounts[$0].email, $0) }, uniquingKeysWith: min)
        let firsts = owners.values.sorted()
        note("creating or reusing \(firsts.count) numbers…")
        let made = try await inBatches(firsts.count, width: 8) { [self] i in
            try await numbers(1, of: accounts[firsts[i]], connection: firsts[i])[0]
        }
        let byEmail = Dictionary(uniqueKeysWithValues: zip(firsts.map { accounts[$0].email }, made))
        return accounts.map { byEmail[$0.email]! }
    }
}
