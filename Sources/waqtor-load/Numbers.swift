import Foundation
import WaqtorProto
import WaqtorRPC

/// A WhatsApp number (instance) the harness sends from or posts webhooks for.
struct LoadNumber: Sendable {
    var instanceID: String
    var gatewayName: String
}

extension Harness {
    /// `count` numbers of the account on connection `connection`: its existing instances first (a
    /// rerun with --accounts reuses them: the free plan allows one), then new ones.
    func numbers(_ count: Int, of account: LoadAccount, connection: Int) async throws -> [LoadNumber] {
        let instances = Waqtor_V1_InstanceServiceClient(client: clients[connection])
        let auth = callOptions(account.token)
        var list = Waqtor_V1_ListInstancesRequest()
        list.pageSize = 100
        var numbers = try await instances.listInstances(list, options: auth).instances.prefix(count)
            .map { LoadNumber(instanceID: $0.id, gatewayName: $0.gatewayInstanceName) }
        while numbers.count < count {
            var create = Waqtor_V1_CreateInstanceRequest()
            create.displayName = "Load \(runID) \(connection)-\(numbers.count)"
            let response = try await instances.createInstance(create, options: auth)
            guard let instance = response.instance else { throw HarnessFailure("CreateInstance answered without an instance") }
            numbers.append(LoadNumber(instanceID: instance.id, gatewayName: instance.gatewayInstanceName))
        }
        return numbers
    }

    /// Gets each number connected: GetQrCode starts pairing (the embedded simulator then "scans"
    /// the code by itself after `gateway.embedded_connect_after_ms`), the simulator's connect route
    /// opens it at once when --gateway is the simulator (best effort), and GetInstance is polled
    /// until the stored state is OPEN, which the gateway's `connection.update` webhook sets.
    func connect(_ numbers: [LoadNumber], of account: LoadAccount, connection: Int) async throws {
        let instances = Waqtor_V1_InstanceServiceClient(client: clients[connection])
        let auth = callOptions(account.token)
        for number in numbers {
            if try await state(of: number, instances, auth) == .open { continue }
            var qr = Waqtor_V1_GetQrCodeRequest()
            qr.instanceID = number.instanceID
            let pairing = try await instances.getQrCode(qr, options: auth)
            if pairing.state != .open { _ = await gateway.connect(number.gatewayName) }
        }
        let deadline = monotonicNanos() + UInt64(options.setupTimeout * 1e9)
        for number in numbers {
            while try await state(of: number, instances, auth) != .open {
                guard monotonicNanos() < deadline else {
                    throw HarnessFailure(
                        "number \(number.instanceID) (\(number.gatewayName)) did not connect within \(options.setupTimeout) s: "
                            + "give --gateway the simulator's address, or run the server with gateway.embedded_connect_after_ms > 0")
                }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    private func state(of number: LoadNumber, _ instances: Waqtor_V1_InstanceServiceClient, _ auth: CallOptions) async throws -> Waqtor_V1_ConnectionState {
        var get = Waqtor_V1_GetInstanceRequest()
        get.instanceID = number.instanceID
        return try await instances.getInstance(get, options: auth).instance?.state ?? .unspecified
    }

    /// Sets each number's gap to exactly `gapMilliseconds` (1,000 ms is the smallest allowed,
    /// PacingSettings) and turns warm-up off (a new number may otherwise send only 20 messages on
    /// its first day).
    func pace(_ numbers: [LoadNumber], of account: LoadAccount, connection: Int, gapMilliseconds: Int) async throws {
        let instances = Waqtor_V1_InstanceServiceClient(client: clients[connection])
        for number in numbers {
            var request = Waqtor_V1_UpdatePacingRequest()
            request.instanceID = number.instanceID
            var pacing = Waqtor_V1_PacingSettings()
            pacing.minDelayMs = Int32(gapMilliseconds)
            pacing.maxDelayMs = Int32(gapMilliseconds)
            pacing.warmupEnabled = false
            request.pacing = pacing
            request.updatePaths = ["min_delay_ms", "max_delay_ms", "warmup_enabled"]
            _ = try await instances.updatePacing(request, options: callOptions(account.token))
        }
    }
}
