import Foundation
import NIOCore
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

/// The request's encoding with `value` added as the string field `number`, byte for byte: the Swift
/// layer's own encoder would cut the value at a NUL like protobuf-c does, so tests that send one
/// append the field themselves (a length-delimited field; lengths below 128).
func encoding<M: ProtoMessage>(_ message: M, plusString value: String, field number: UInt8) -> RawMessage {
    let bytes = Array(value.utf8)
    precondition(bytes.count < 128 && number < 16)
    return RawMessage(bytes: ByteBuffer(bytes: message.serializedBytes() + [number << 3 | 2, UInt8(bytes.count)] + bytes))
}

/// The error a call ended with (nil when it succeeded).
@Suite("Strings holding U+0000 over RPC")
struct NULStringTests {
    @Test("SignUp with a NUL in the name, Login with one after the password: INVALID_ARGUMENT naming the field")
    func signUpAndLogin() async throws {
        try await withApplication(tenantTestConfiguration()) { _, client in
            let tenants = Waqtor_V1_TenantServiceClient(client: client)
            var signUp = Waqtor_V1_SignUpRequest()
            signUp.email = TestEnvironment.uniqueName("nul") + "@example.com"
            signUp.password = "long enough password"
            signUp.timeZone = "Africa/Cairo"
            let bad = await rpcError {
                _ = try await client.unary(
                    method: "waqtor.v1.TenantService/SignUp", request: encoding(signUp, plusString: "Bad\u{0}Inc", field: 1),
                    responseType: Waqtor_V1_SignUpResponse.self)
            }
            #expect(bad?.code == .invalidArgument)
            #expect(bad?.message == "name must not contain a NUL character (U+0000)")

            // Nothing was created: the same e-mail signs up afterwards.
            signUp.name = "Good Inc"
            _ = try await tenants.signUp(signUp)

            var login = Waqtor_V1_LoginRequest()
            login.email = signUp.email
            let cut = await rpcError {
                _ = try await client.unary(
                    method: "waqtor.v1.TenantService/Login", request: encoding(login, plusString: signUp.password + "\u{0}anything", field: 2),
                    responseType: Waqtor_V1_LoginResponse.self)
            }
            #expect(cut?.code == .invalidArgument)
            #expect(cut?.message.hasPrefix("password ") == true)
            login.password = signUp.password
            #expect(try await tenants.login(login).session?.token.isEmpty == false, "the password itself still works")
        }
    }

    @Test("an id with \"\\0junk\" appended does not find the record")
    func idWithJunk() async throws {
        try await withGateway { _, _, client in
            let account = try await signUp(Waqtor_V1_TenantServiceClient(client: client))
            let instances = Waqtor_V1_InstanceServiceClient(client: client)
            var create = Waqtor_V1_CreateInstanceRequest()
            create.displayName = "Main"
            let created = try #require(try await instances.createInstance(create, options: account.auth).instance)
            let error = await rpcError {
                _ = try await client.unary(
                    method: "waqtor.v1.InstanceService/GetInstance",
                    request: encoding(Waqtor_V1_GetInstanceRequest(), plusString: created.id + "\u{0}junk", field: 1),
                    responseType: Waqtor_V1_GetInstanceResponse.self, options: account.auth)
            }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message == "instance_id must not contain a NUL character (U+0000)")
        }
    }
}

@Suite("Pacing: ranges and zero values")
struct PacingInputTests {
    /// An UpdatePacing request for `id`.
    func update(_ id: String, paths: [String] = [], _ edit: (inout Waqtor_V1_PacingSettings) -> Void) -> Waqtor_V1_UpdatePacingRequest {
        var settings = Waqtor_V1_PacingSettings()
        edit(&settings)
        var request = Waqtor_V1_UpdatePacingRequest()
        request.instanceID = id
        request.pacing = settings
        request.updatePaths = paths
        return request
    }

    /// The settings a new instance gets, as the API shows them.
    var defaults: Waqtor_V1_PacingSettings {
        var value = Waqtor_V1_PacingSettings()
        value.minDelayMs = 3000
        value.maxDelayMs = 9000
        value.warmupEnabled = true
        value.warmupDays = 14
        return value
    }

    @Test("every documented range is checked, whether or not the feature is on")
    func ranges() async throws {
        try await withGateway { _, _, client in
            let account = try await signUp(Waqtor_V1_TenantServiceClient(client: client))
            let instances = Waqtor_V1_InstanceServiceClient(client: client)
            var create = Waqtor_V1_CreateInstanceRequest()
            create.displayName = "Main"
            let id = try #require(try await instances.createInstance(create, options: account.auth).instance).id

            let refused: [(String, Waqtor_V1_UpdatePacingRequest)] = [
                // Quiet hours are off: the minute is still out of range, listed or not.
                ("quiet_hours_start_minute", update(id, paths: ["quiet_hours_start_minute"]) { $0.quietHoursStartMinute = 1440 }),
                ("quiet_hours_start_minute", update(id) { $0.quietHoursStartMinute = 1440 }),
                ("quiet_hours_end_minute", update(id, paths: ["quiet_hours_end_minute"]) { $0.quietHoursEndMinute = -1 }),
                ("quiet_hours_end_minute", update(id) { $0.quietHoursEnabled = true; $0.quietHoursStartMinute = 60; $0.quietHoursEndMinute = 1500 }),
                ("quiet_hours_start_minute", update(id, paths: ["quiet_hours_enabled", "quiet_hours_start_minute"]) { $0.quietHoursEnabled = true; $0.quietHoursStartMinute = 60 }),
                // Warm-up off, its length still checked.
                ("warmup_days", update(id, paths: ["warmup_enabled", "warmup_days"]) { $0.warmupEnabled = false; $0.warmupDays = 91 }),
                ("warmup_days", update(id) { $0.warmupDays = -3 }),
                ("daily_cap", update(id, paths: ["daily_cap"]) { $0.dailyCap = -1 }),
                ("daily_cap", update(id) { $0.dailyCap = 100_001 }),
                ("min_delay_ms", update(id, paths: ["min_delay_ms"]) { $0.minDelayMs = 999 }),
                ("min_delay_ms", update(id) { $0.minDelayMs = -5 }),
                ("max_delay_ms", update(id, paths: ["max_delay_ms"]) { $0.maxDelayMs = 600_001 }),
                ("max_delay_ms", update(id, paths: ["min_delay_ms", "max_delay_ms"]) { $0.minDelayMs = 5000; $0.maxDelayMs = 4000 }),
            ]
            for (field, request) in refused {
                let error = await rpcError { _ = try await instances.updatePacing(request, options: account.auth) }
                #expect(error?.code == .invalidArgument, "\(request)")
                #expect(error?.message.contains(field) == true, "\(error?.message ?? "OK") should name \(field)")
            }
            var get = Waqtor_V1_GetPacingRequest()
            get.instanceID = id
            #expect(try await instances.getPacing(get, options: account.auth).pacing == defaults, "nothing refused was stored")

            // The edges are accepted; 0 is midnight, not a default.
            let edges = update(id) { $0.quietHoursEnabled = true; $0.quietHoursStartMinute = 0; $0.quietHoursEndMinute = 1439; $0.dailyCap = 100_000 }
            let pacing = try #require(try await instances.updatePacing(edges, options: account.auth).pacing)
            #expect(pacing.quietHoursEnabled && pacing.quietHoursStartMinute == 0 && pacing.quietHoursEndMinute == 1439)
            #expect(pacing.dailyCap == 100_000)
        }
    }

    @Test("a zero pacing field means the server default; a field listed in update_paths takes the value given")
    func zeroValues() async throws {
        try await withGateway { _, _, client in
            let account = try await signUp(Waqtor_V1_TenantServiceClient(client: client))
            let instances = Waqtor_V1_InstanceServiceClient(client: client)
            /// Creates the account's one instance (the free plan's limit) with `edit` as its pacing.
            func created(_ edit: (inout Waqtor_V1_PacingSettings) -> Void) async throws -> Waqtor_V1_Instance {
                var create = Waqtor_V1_CreateInstanceRequest()
                create.displayName = "Main"
                var pacing = Waqtor_V1_PacingSettings()
                edit(&pacing)
                create.pacing = pacing
                return try #require(try await instances.createInstance(create, options: account.auth).instance)
            }
            func delete(_ id: String) async throws {
                var request = Waqtor_V1_DeleteInstanceRequest()
                request.instanceID = id
                _ = try await instances.deleteInstance(request, options: account.auth)
            }

            // Only a daily cap: everything else takes its default.
            let capped = try await created { $0.dailyCap = 50 }
            var expected = defaults
            expected.dailyCap = 50
            #expect(capped.pacing == expected)
            try await delete(capped.id)

            // One delay bound alone: the other keeps the default ratio of 3.
            let slow = try await created { $0.minDelayMs = 20_000 }
            #expect(slow.pacing?.minDelayMs == 20_000 && slow.pacing?.maxDelayMs == 60_000)
            try await delete(slow.id)
            let quick = try await created { $0.maxDelayMs = 2400 }
            #expect(quick.pacing?.minDelayMs == 1000 && quick.pacing?.maxDelayMs == 2400)

            // UpdatePacing without update_paths replaces the whole settings: zeros are defaults, not
            // the values in force.
            let replaced = try #require(try await instances.updatePacing(update(quick.id) { $0.dailyCap = 70 }, options: account.auth).pacing)
            expected.dailyCap = 70
            #expect(replaced == expected)

            // Listed fields take exactly the value given: a zero delay is refused, a zero cap is the
            // plan's limit, false turns warm-up off.
            let zeroDelay = await rpcError {
                _ = try await instances.updatePacing(update(quick.id, paths: ["min_delay_ms"]) { _ in }, options: account.auth)
            }
            #expect(zeroDelay?.code == .invalidArgument && zeroDelay?.message.contains("min_delay_ms") == true)
            let listed = try #require(try await instances.updatePacing(
                update(quick.id, paths: ["daily_cap", "warmup_enabled"]) { _ in }, options: account.auth).pacing)
            #expect(listed.dailyCap == 0 && !listed.warmupEnabled && listed.warmupDays == 14 && listed.minDelayMs == 3000)
            // Without update_paths, false is warm-up's default again (on).
            let again = try #require(try await instances.updatePacing(update(quick.id) { $0.dailyCap = 10 }, options: account.auth).pacing)
            #expect(again.warmupEnabled && again.dailyCap == 10)
        }
    }
}
