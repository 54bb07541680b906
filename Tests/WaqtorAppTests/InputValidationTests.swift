import Foundation
import NIOCore
import Testing
@testable import WaqtorApp
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
func rpcError(_ body: () async throws -> Void) async -> RPCError? {
    do {
        try await body()
        return nil
    } catch {
        return error as? RPCError ?? RPCError(code: .unknown, message: "\(error)")
    }
}

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
