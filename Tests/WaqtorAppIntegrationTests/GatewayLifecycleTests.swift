import EvolutionSimulator
import Foundation
import Logging
import NIOConcurrencyHelpers
import Testing
@testable import WaqtorApp
@testable import WaqtorAPI
@testable import WaqtorWebhooks
import WaqtorInstances
import WaqtorCore
import WaqtorEvolution
import WaqtorProto
import WaqtorRPC
import WaqtorTenants
import WaqtorTestSupport

/// One tenant's number, created through the RPC API.
struct NumberFixture {
    let account: Account
    let instances: Waqtor_V1_InstanceServiceClient
    let created: Waqtor_V1_Instance
    var id: String { created.id }
    var name: String { created.gatewayInstanceName }

    static func make(_ client: RPCClient, phone: String? = nil) async throws -> NumberFixture {
        let account = try await signUp(Waqtor_V1_TenantServiceClient(client: client))
        let instances = Waqtor_V1_InstanceServiceClient(client: client)
        var create = Waqtor_V1_CreateInstanceRequest()
        create.displayName = "Sales"
        if let phone { create.phoneNumber = phone }
        let created = try #require(try await instances.createInstance(create, options: account.auth).instance)
        return NumberFixture(account: account, instances: instances, created: created)
    }

    func qr(_ phone: String? = nil) async throws -> Waqtor_V1_GetQrCodeResponse {
        var request = Waqtor_V1_GetQrCodeRequest()
        request.instanceID = id
        if let phone { request.phoneNumber = phone }
        return try await instances.getQrCode(request, options: account.auth)
    }

    func connectionState() async throws -> Waqtor_V1_GetConnectionStateResponse {
        var request = Waqtor_V1_GetConnectionStateRequest()
        request.instanceID = id
        return try await instances.getConnectionState(request, options: account.auth)
    }

    /// The instance as stored (GetInstance asks no gateway).
    func stored() async throws -> Waqtor_V1_Instance {
        var request = Waqtor_V1_GetInstanceRequest()
        request.instanceID = id
        return try #require(try await instances.getInstance(request, options: account.auth).instance)
    }

    /// Shows a QR code and has the simulator "scan" it; returns once the open webhook is stored.
    func pair(_ simulator: EvolutionSimulator, number: String? = nil, profileName: String? = nil) async throws {
        _ = try await qr()
        #expect(simulator.connect(instance: name, number: number, profileName: profileName))
        #expect(await simulator.waitForAllWebhooks())
        #expect(try await stored().state == .open)
    }
}

@Suite("WhatsApp numbers against a 2.3.6-shaped gateway")
struct GatewayLifecycleTests {
    @Test("connection.update open stores the number WhatsApp paired and its profile name")
    func pairedNumberAndProfileName() async throws {
        try await withGateway { simulator, _, client in
            let number = try await NumberFixture.make(client, phone: "+55 11 99999-8888")
            #expect(number.created.phoneNumber == "+5511999998888" && number.created.profileName.isEmpty)
            // WhatsApp paired another number than the one typed at creation.
            try await number.pair(simulator, number: "5511977776666", profileName: "Loja Centro")
            let stored = try await number.stored()
            #expect(stored.phoneNumber == "+5511977776666")
            #expect(stored.profileName == "Loja Centro")
            let listed = try await number.instances.listInstances(.init(), options: number.account.auth).instances
            #expect(listed.first?.profileName == "Loja Centro")
        }
    }

    @Test("a pairing code after a QR code, and for another number than the pending one, is for the number asked")
    func pairingCodesForTheNumberAsked() async throws {
        try await withGateway { simulator, app, client in
            let number = try await NumberFixture.make(client)
            // A QR code only.
            let shown = try await number.qr()
            #expect(!shown.qrCode.isEmpty && shown.pairingCode.isEmpty && shown.state == .connecting)
            #expect(simulator.pairingSession(of: number.name)?.number == nil)

            // Then a pairing code: the QR-only session cannot give one.
            let first = try await number.qr("+55 11 91111-0000")
            #expect(first.pairingCode.count == 8, "a pairing code, not an empty one")
            var session = try #require(simulator.pairingSession(of: number.name))
            #expect(session.number == "5511911110000" && session.pairingCode == first.pairingCode)
            // The same number again: the pending session's code.
            #expect(try await number.qr("+5511911110000").pairingCode == first.pairingCode)

            // Another number: its own code, not the first number's.
            let second = try await number.qr("+55 11 92222-0000")
            session = try #require(simulator.pairingSession(of: number.name))
            #expect(session.number == "5511922220000")
            #expect(second.pairingCode.count == 8 && second.pairingCode == session.pairingCode && second.pairingCode != first.pairingCode)

            // The gateway answers slowly (its 2 s wait ends before the new code): still this number's code.
            #expect(simulator.setConnectMode("slow-qr", instance: number.name))
            let third = try await number.qr("+55 11 93333-0000")
            session = try #require(simulator.pairingSession(of: number.name))
            #expect(session.number == "5511933330000")
            #expect(third.pairingCode.count == 8 && third.pairingCode == session.pairingCode && third.pairingCode != second.pairingCode)

            // Ending the pending sessions was WaQtor's doing, not a ban.
            #expect(await simulator.waitForAllWebhooks())
            let stored = try await number.stored()
            #expect(stored.state == .connecting, "\(stored.state)")
            let row = try #require(try await app.instances.get(tenantID: TenantID(trusted: number.account.tenant.id), id: InstanceID(trusted: number.id)))
            #expect(!row.needsRepairing, "the logouts that ended the pending pairings are no ban")
            // Pairing works.
            #expect(simulator.connect(instance: number.name))
            #expect(await simulator.waitForAllWebhooks())
            #expect(try await number.stored().phoneNumber == "+5511933330000")
        }
    }

    @Test("a reconnect's connecting and open, in either order of arrival, leave the stored state open")
    func reconnectConverges() async throws {
        try await withGateway { simulator, _, client in
            let number = try await NumberFixture.make(client)
            try await number.pair(simulator)
            // The gateway posts both at once, so either may come first; and the connecting half a
            // second late.
            for late in [0, 5, 20, 50, 500] {
                #expect(simulator.reconnect(instance: number.name, lateConnecting: .milliseconds(late)))
                #expect(await simulator.waitForAllWebhooks())
                #expect(try await number.stored().state == .open, "connecting \(late) ms late")
            }
            #expect(try await number.connectionState().state == .open)
        }
    }

    @Test("only logout.instance reaching the server is enough: the number needs re-pairing")
    func onlyLogoutInstanceArrives() async throws {
        try await withGateway { simulator, _, client in
            let number = try await NumberFixture.make(client)
            try await number.pair(simulator)
            simulator.dropWebhooks(["status.instance", "connection.update"], instance: number.name)
            #expect(simulator.injectLoggedOut(instance: number.name, statusReason: 401))
            #expect(await simulator.waitForAllWebhooks())
            let delivered = simulator.deliveries.filter { $0.instance == number.name && $0.status != nil }.map(\.event)
            #expect(delivered.last == "logout.instance")
            #expect(try await number.stored().state == .needsRepairing)
            let state = try await number.connectionState()
            #expect(state.state == .needsRepairing && state.detail.contains("pair the number again"))
        }
    }

    @Test("a logout the tenant asked for is CLOSE, not a ban; a 401 or 403 nobody asked for still is")
    func requestedLogoutIsNotABan() async throws {
        try await withGateway { simulator, _, client in
            let number = try await NumberFixture.make(client)
            try await number.pair(simulator)
            var logout = Waqtor_V1_LogoutInstanceRequest()
            logout.instanceID = number.id
            let answered = try await number.instances.logoutInstance(logout, options: number.account.auth)
            #expect(answered.instance?.state == .close)
            // The gateway's logged-out sequence (status.instance 401, logout.instance, close 401).
            #expect(await simulator.waitForAllWebhooks())
            #expect(simulator.deliveries.filter { $0.instance == number.name && $0.status == 200 }.map(\.event).suffix(3)
                    == ["status.instance", "logout.instance", "connection.update"])
            #expect(try await number.stored().state == .close)
            let state = try await number.connectionState()
            #expect(state.state == .close)
            #expect(!state.detail.contains("banned") && state.detail.contains("logged out on request"), "\(state.detail)")

            // Paired again, a close nobody asked for is a ban again.
            try await number.pair(simulator)
            #expect(simulator.injectLoggedOut(instance: number.name, statusReason: 403))
            #expect(await simulator.waitForAllWebhooks())
            #expect(try await number.stored().state == .needsRepairing)
            #expect(try await number.connectionState().detail.contains("403"))
        }
    }

    @Test("GetConnectionState says when the gateway cannot be asked: FAILED_PRECONDITION for an unknown instance, UNAVAILABLE when it is down")
    func connectionStateWithoutGateway() async throws {
        try await withGateway { simulator, app, client in
            // The gateway no longer knows the instance (its webhooks about it lost).
            let gone = try await NumberFixture.make(client)
            try await gone.pair(simulator)
            simulator.dropWebhooks(["*"], instance: gone.name)
            let evolution = EvolutionClient(baseURL: simulator.baseURL, apiKey: "sim-test-key", http: app.http)
            #expect(try await evolution.delete(instance: gone.name) == "Instance deleted")
            do {
                _ = try await gone.connectionState()
                Issue.record("answered the stored state for an instance the gateway does not know")
            } catch {
                let error = try #require(error as? RPCError)
                #expect(error.code == .failedPrecondition && error.message.contains("no longer knows"))
            }

            // The gateway is down.
            let down = try await NumberFixture.make(client)
            try await down.pair(simulator)
            await simulator.stop()
            do {
                _ = try await down.connectionState()
                Issue.record("answered the stored state with the gateway down")
            } catch {
                let error = try #require(error as? RPCError)
                #expect(error.code == .unavailable)
                #expect(error.metadata[Metadata.Keys.retryAfterMilliseconds] != nil)
            }
            // The stored state is still there, for what it is: GetInstance.
            #expect(try await down.stored().state == .open)
        }
    }

    @Test("gateway failures are logged on the server (kind, status, message), never with the API key")
    func gatewayFailuresAreLogged() async throws {
        let logs = CapturedLogs()
        let serverKey = "wrong-key-\(UUID().uuidString)"
        try await withGateway(apiKey: "right-key", serverKey: serverKey, logger: logs.logger) { _, _, client in
            #expect(await rpcCode { _ = try await NumberFixture.make(client) } == .unavailable)
        }
        let refused = try #require(logs.records.first { $0.message == "gateway call failed" })
        #expect(refused.level == .error)
        #expect(refused.metadata["gateway-error"] == "unauthorized" && refused.metadata["gateway-status"] == "401")
        #expect(refused.metadata["action"] == "create the instance" && refused.metadata["gateway-message"] == "Unauthorized")

        // A gateway nobody answers at.
        var configuration = tenantTestConfiguration()
        configuration.gatewayURL = "http://127.0.0.1:\(try TestNetwork.freeLocalPort())"
        configuration.gatewayAPIKey = serverKey
        configuration.gatewayTimeout = .seconds(2)
        try await withApplication(configuration, logger: logs.logger) { _, client in
            #expect(await rpcCode { _ = try await NumberFixture.make(client) } == .unavailable)
        }
        let transport = try #require(logs.records.last { $0.message == "gateway call failed" })
        #expect(transport.level == .warning && transport.metadata["gateway-error"] == "transport")
        #expect(transport.metadata["gateway-status"] == "none" && transport.metadata["gateway-message"]?.isEmpty == false)

        #expect(!logs.records.contains { $0.text.contains(serverKey) }, "the API key is never logged")
    }

    @Test("CreateInstance answers a state instance.proto documents for it")
    func createStateAsDocumented() async throws {
        // The proto comment of CreateInstanceResponse.instance names the states it may have.
        let proto = try String(contentsOf: ProtocolConformanceTests.repositoryRoot.appendingPathComponent("proto/waqtor/v1/instance.proto"), encoding: .utf8)
        let block = try #require(proto.range(of: "message CreateInstanceResponse {").map { proto[$0.upperBound...] })
        let comment = try #require(block.split(separator: "\n").first { $0.contains("//") }).description
        try await withGateway { _, _, client in
            let number = try await NumberFixture.make(client)
            let name = "\(ProtoNames.state(number.created.state))"
            #expect(comment.contains(name), "CreateInstance answered \(name); the proto says: \(comment)")
            #expect(try await number.stored().state == number.created.state)
        }
    }
}

/// Names of states as the proto spells them.
enum ProtoNames {
    static func state(_ state: Waqtor_V1_ConnectionState) -> String {
        switch state {
        case .unspecified: "UNSPECIFIED"
        case .connecting: "CONNECTING"
        case .open: "OPEN"
        case .close: "CLOSE"
        case .refused: "REFUSED"
        case .needsRepairing: "NEEDS_REPAIRING"
        case .banned: "BANNED"
        case .UNRECOGNIZED(let value): "\(value)"
        }
    }
}
