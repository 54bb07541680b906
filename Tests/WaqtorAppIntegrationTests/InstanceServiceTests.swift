import EvolutionSimulator
import Foundation
import Logging
import Testing
@testable import WaqtorApp
@testable import WaqtorAPI
@testable import WaqtorWebhooks
import WaqtorInstances
import WaqtorTenants
import WaqtorCore
import WaqtorProto
import WaqtorRPC
import WaqtorTestSupport

/// Starts a simulator and the application pointed at it.
func withGateway<T>(
    apiKey: String = "sim-test-key", serverKey: String? = nil, logger: Logger = quietLogger,
    _ body: (EvolutionSimulator, WaqtorApplication, RPCClient) async throws -> T
) async throws -> T {
    let simulator = try await EvolutionSimulator.start(.init(apiKey: apiKey))
    var configuration = tenantTestConfiguration()
    configuration.gatewayURL = simulator.baseURL
    configuration.gatewayAPIKey = serverKey ?? apiKey
    configuration.gatewayTimeout = .seconds(5)
    // Each test's reply lanes apart (the default prefix may hold a local run's queue).
    configuration.sendKeyPrefix = "wqt-\(UUID().uuidString.prefix(8))"
    do {
        let result = try await withApplication(configuration, logger: logger) { app, client in try await body(simulator, app, client) }
        await simulator.stop()
        return result
    } catch {
        await simulator.stop()
        throw error
    }
}

/// Polls a condition that changes when a webhook arrives (no event to await from the outside).
func eventually(_ what: String, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(10)
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("timed out waiting until \(what)")
}

@Suite("InstanceService against the Evolution API simulator")
struct InstanceServiceTests {
    @Test("the full life of an instance: create, QR, connected by webhook, logged out by webhook, deleted")
    func lifecycle() async throws {
        try await withGateway { simulator, _, client in
            let tenants = Waqtor_V1_TenantServiceClient(client: client)
            let instances = Waqtor_V1_InstanceServiceClient(client: client)
            let account = try await signUp(tenants)

            var create = Waqtor_V1_CreateInstanceRequest()
            create.displayName = "Sales line"
            create.phoneNumber = "+55 11 99999-8888"
            let created = try #require(try await instances.createInstance(create, options: account.auth).instance)
            #expect(created.phoneNumber == "+5511999998888")
            #expect(created.state == .close)
            #expect(created.gatewayInstanceName.hasPrefix("wq-"))
            let id = created.id

            // Exactly what the gateway received.
            let createCall = try #require(simulator.requests.first { $0.method == "POST" && $0.path == "/instance/create" })
            #expect(createCall.headers.contains { $0.name.lowercased() == "apikey" && $0.value == "sim-test-key" })
            #expect(createCall.headers.contains { $0.name.lowercased() == "content-type" && $0.value.hasPrefix("application/json") })
            let body = try #require(try JSONSerialization.jsonObject(with: Data(createCall.body)) as? [String: Any])
            #expect(body["instanceName"] as? String == created.gatewayInstanceName)
            #expect(body["integration"] as? String == "WHATSAPP-BAILEYS")
            let webhook = try #require(body["webhook"] as? [String: Any])
            #expect((webhook["url"] as? String)?.hasSuffix("/webhooks/evolution/\(created.gatewayInstanceName)") == true)
            #expect(webhook["events"] is [Any])
            let headers = try #require(webhook["headers"] as? [String: String])
            #expect(headers["x-waqtor-webhook-secret"]?.isEmpty == false)

            var qrRequest = Waqtor_V1_GetQrCodeRequest()
            qrRequest.instanceID = id
            let qr = try await instances.getQrCode(qrRequest, options: account.auth)
            #expect(qr.qrPng.starts(with: [0x89, 0x50, 0x4E, 0x47]), "a PNG")
            #expect(!qr.qrCode.isEmpty)
            #expect(qr.state == .connecting)

            var stateRequest = Waqtor_V1_GetConnectionStateRequest()
            stateRequest.instanceID = id
            #expect(simulator.connect(instance: created.gatewayInstanceName))
            try await eventually("the instance is open") {
                try await instances.getConnectionState(stateRequest, options: account.auth).state == .open
            }
            #expect(simulator.injectLoggedOut(instance: created.gatewayInstanceName, statusReason: 401))
            try await eventually("the instance needs re-pairing") {
                try await instances.getConnectionState(stateRequest, options: account.auth).state == .needsRepairing
            }
            let detail = try await instances.getConnectionState(stateRequest, options: account.auth).detail
            #expect(detail.contains("401"))

            var delete = Waqtor_V1_DeleteInstanceRequest()
            delete.instanceID = id
            _ = try await instances.deleteInstance(delete, options: account.auth)
            #expect(simulator.requests.contains { $0.method == "DELETE" && $0.path == "/instance/delete/\(created.gatewayInstanceName)" })
            var get = Waqtor_V1_GetInstanceRequest()
            get.instanceID = id
            #expect(await rpcCode { _ = try await instances.getInstance(get, options: account.auth) } == .notFound)
            #expect(await rpcCode { _ = try await instances.deleteInstance(delete, options: account.auth) } == .notFound)
        }
    }

    @Test("the plan's instance limit, another tenant's ids, and pacing validation")
    func limitsIsolationPacing() async throws {
        try await withGateway { _, _, client in
            let tenants = Waqtor_V1_TenantServiceClient(client: client)
            let instances = Waqtor_V1_InstanceServiceClient(client: client)
            let a = try await signUp(tenants, name: "A")
            let b = try await signUp(tenants, name: "B")
            var create = Waqtor_V1_CreateInstanceRequest()
            create.displayName = "Main"
            let mine = try #require(try await instances.createInstance(create, options: a.auth).instance)
            do {
                _ = try await instances.createInstance(create, options: a.auth)
                Issue.record("the free plan allowed a second instance")
            } catch {
                let error = try #require(error as? RPCError)
                #expect(error.code == .resourceExhausted)
                #expect(error.message.contains("WhatsApp instances"))
            }
            var badPhone = create
            badPhone.phoneNumber = "12"
            #expect(await rpcCode { _ = try await instances.createInstance(badPhone, options: b.auth) } == .invalidArgument)

            // B never reaches A's instance.
            var get = Waqtor_V1_GetInstanceRequest()
            get.instanceID = mine.id
            #expect(await rpcCode { _ = try await instances.getInstance(get, options: b.auth) } == .notFound)
            var delete = Waqtor_V1_DeleteInstanceRequest()
            delete.instanceID = mine.id
            #expect(await rpcCode { _ = try await instances.deleteInstance(delete, options: b.auth) } == .notFound)
            #expect(try await instances.listInstances(.init(), options: b.auth).instances.isEmpty)
            var qr = Waqtor_V1_GetQrCodeRequest()
            qr.instanceID = mine.id
            #expect(await rpcCode { _ = try await instances.getQrCode(qr, options: b.auth) } == .notFound)
            var state = Waqtor_V1_GetConnectionStateRequest()
            state.instanceID = mine.id
            #expect(await rpcCode { _ = try await instances.getConnectionState(state, options: b.auth) } == .notFound)
            var getPacing = Waqtor_V1_GetPacingRequest()
            getPacing.instanceID = mine.id
            #expect(await rpcCode { _ = try await instances.getPacing(getPacing, options: b.auth) } == .notFound)
            var logout = Waqtor_V1_LogoutInstanceRequest()
            logout.instanceID = mine.id
            #expect(await rpcCode { _ = try await instances.logoutInstance(logout, options: b.auth) } == .notFound)
            var malformed = Waqtor_V1_GetInstanceRequest()
            malformed.instanceID = "not-a-uuid"
            #expect(await rpcCode { _ = try await instances.getInstance(malformed, options: a.auth) } == .notFound)
            #expect(try await instances.getInstance(get, options: a.auth).instance?.id == mine.id)
            #expect(try await instances.getInstance(get, options: a.auth).instance?.state == .close, "B's attempts changed nothing")

            var pacing = Waqtor_V1_UpdatePacingRequest()
            pacing.instanceID = mine.id
            var settings = Waqtor_V1_PacingSettings()
            settings.minDelayMs = 200
            pacing.pacing = settings
            pacing.updatePaths = ["min_delay_ms"]
            #expect(await rpcCode { _ = try await instances.updatePacing(pacing, options: a.auth) } == .invalidArgument)
            settings.minDelayMs = 4000
            settings.maxDelayMs = 12000
            settings.quietHoursEnabled = true
            settings.quietHoursStartMinute = 22 * 60
            settings.quietHoursEndMinute = 7 * 60
            pacing.pacing = settings
            pacing.updatePaths = ["min_delay_ms", "max_delay_ms", "quiet_hours_enabled", "quiet_hours_start_minute", "quiet_hours_end_minute"]
            let updated = try #require(try await instances.updatePacing(pacing, options: a.auth).pacing)
            #expect(updated.minDelayMs == 4000 && updated.maxDelayMs == 12000)
            #expect(updated.quietHoursEnabled && updated.quietHoursStartMinute == 1320 && updated.quietHoursEndMinute == 420)
            #expect(updated.warmupEnabled, "fields not listed keep their values")
            pacing.instanceID = mine.id
            #expect(await rpcCode { _ = try await instances.updatePacing(pacing, options: b.auth) } == .notFound)
        }
    }

    @Test("gateway failures map to statuses a caller can act on, and leave nothing half-made")
    func gatewayErrors() async throws {
        // A server configured with the wrong gateway key.
        try await withGateway(apiKey: "right-key", serverKey: "wrong-key") { _, _, client in
            let account = try await signUp(Waqtor_V1_TenantServiceClient(client: client))
            let instances = Waqtor_V1_InstanceServiceClient(client: client)
            var create = Waqtor_V1_CreateInstanceRequest()
            create.displayName = "Main"
            do {
                _ = try await instances.createInstance(create, options: account.auth)
                Issue.record("created with a wrong gateway key")
            } catch {
                let error = try #require(error as? RPCError)
                #expect(error.code == .unavailable)
                #expect(error.message.contains("gateway.api_key"))
            }
            #expect(try await instances.listInstances(.init(), options: account.auth).instances.isEmpty, "no row left behind")
        }
        // A gateway that is down.
        var configuration = tenantTestConfiguration()
        configuration.gatewayURL = "http://127.0.0.1:\(try TestNetwork.freeLocalPort())"
        configuration.gatewayTimeout = .seconds(2)
        try await withApplication(configuration) { _, client in
            let account = try await signUp(Waqtor_V1_TenantServiceClient(client: client))
            let instances = Waqtor_V1_InstanceServiceClient(client: client)
            var create = Waqtor_V1_CreateInstanceRequest()
            create.displayName = "Main"
            #expect(await rpcCode { _ = try await instances.createInstance(create, options: account.auth) } == .unavailable)
            #expect(try await instances.listInstances(.init(), options: account.auth).instances.isEmpty)
        }
        // A QR code request the gateway answers with its 200-with-error shape.
        try await withGateway { simulator, _, client in
            let account = try await signUp(Waqtor_V1_TenantServiceClient(client: client))
            let instances = Waqtor_V1_InstanceServiceClient(client: client)
            var create = Waqtor_V1_CreateInstanceRequest()
            create.displayName = "Main"
            let created = try #require(try await instances.createInstance(create, options: account.auth).instance)
            #expect(simulator.setConnectMode("error", instance: created.gatewayInstanceName))
            var qr = Waqtor_V1_GetQrCodeRequest()
            qr.instanceID = created.id
            #expect(await rpcCode { _ = try await instances.getQrCode(qr, options: account.auth) } == .unavailable)
        }
    }
}

@Suite("InstanceService races and account deletion")
struct InstanceRaceTests {
    @Test("concurrent creations cannot pass the plan's instance limit")
    func concurrentCreations() async throws {
        try await withGateway { _, _, client in
            let account = try await signUp(Waqtor_V1_TenantServiceClient(client: client))
            let instances = Waqtor_V1_InstanceServiceClient(client: client)
            let codes = await withTaskGroup(of: RPCStatusCode?.self) { group in
                for index in 0..<6 {
                    group.addTask {
                        var create = Waqtor_V1_CreateInstanceRequest()
                        create.displayName = "Line \(index)"
                        return await rpcCode { _ = try await instances.createInstance(create, options: account.auth) }
                    }
                }
                var all: [RPCStatusCode?] = []
                for await code in group { all.append(code) }
                return all
            }
            #expect(codes.filter { $0 == .ok }.count == 1, "\(codes)")
            #expect(codes.filter { $0 == .resourceExhausted }.count == 5)
            #expect(try await instances.listInstances(.init(), options: account.auth).instances.count == 1)
        }
    }

    @Test("deleting an account ends its numbers on the gateway too")
    func accountDeletion() async throws {
        try await withGateway { simulator, _, client in
            let tenants = Waqtor_V1_TenantServiceClient(client: client)
            let account = try await signUp(tenants)
            let instances = Waqtor_V1_InstanceServiceClient(client: client)
            var create = Waqtor_V1_CreateInstanceRequest()
            create.displayName = "Main"
            let created = try #require(try await instances.createInstance(create, options: account.auth).instance)
            var delete = Waqtor_V1_DeleteAccountRequest()
            delete.password = account.password
            delete.confirmEmail = account.email
            _ = try await tenants.deleteAccount(delete, options: account.auth)
            #expect(simulator.requests.contains { $0.method == "DELETE" && $0.path == "/instance/delete/\(created.gatewayInstanceName)" })
            #expect(simulator.connectionState(of: created.gatewayInstanceName) == nil)
        }
    }
}
