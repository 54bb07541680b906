import Foundation
import Testing
@testable import WaqtorApp
import WaqtorProto
import WaqtorRPC
import WaqtorTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The account commands of `waqtor`, run as a user runs them against a real server.
@Suite("CLI: account commands against a real server")
struct CLIAccountTests {
    @Test("signup, whoami, profile update, keys, plan, usage, password change, logout and account delete, each with --json")
    func accountLifecycle() async throws {
        try await withApplication(tenantTestConfiguration()) { app, _ in
            let cli = try CLI(app)
            defer { cli.remove() }
            let email = try await cli.signUp(name: "Padaria CLI")

            let whoami = try await cli.run(["whoami", "--json"])
            #expect(whoami.status == 0, "\(whoami)")
            #expect(string(try whoami.json(), "tenant", "email") == email)
            #expect(string(try whoami.json(), "tenant", "state") == "active")

            let renamed = try await cli.run(["profile", "update", "--name", "Padaria Nova", "--json"])
            #expect(string(try renamed.json(), "tenant", "name") == "Padaria Nova", "\(renamed)")

            let key = try await cli.run(["keys", "create", "--name", "worker", "--scope", "read-only", "--json"])
            #expect(key.status == 0, "\(key)")
            let secret = try #require(string(try key.json(), "secret"))
            let keyID = try #require(string(try key.json(), "api_key", "id"))
            #expect(secret.hasPrefix("wqk_"))
            #expect(string(try key.json(), "api_key", "scope") == "read-only")
            #expect(key.stderr.contains("not shown again"))
            let keys = try await cli.run(["keys", "list", "--json"])
            #expect((value(try keys.json(), "api_keys") as? [Any])?.count == 1)
            #expect(string(try keys.json(), "next_page_token") == "")

            // The read-only key may read, not write: PERMISSION_DENIED names the scope and the hint what to do.
            let readOnly = try await cli.run(["whoami", "--json"], environment: ["WAQTOR_TOKEN": secret])
            #expect(readOnly.status == 0, "\(readOnly)")
            let refused = try await cli.run(["contact", "add", "--phone", "+5511987650001", "--json"], environment: ["WAQTOR_TOKEN": secret])
            #expect(refused.status == 2, "\(refused)")
            #expect(string(try refused.error(), "status") == "PERMISSION_DENIED")
            #expect(string(try refused.error(), "hint")?.contains("waqtor keys create --scope full") == true, "\(refused)")
            #expect(refused.stderr.contains("hint: use an API key whose scope allows it"))

            let revoked = try await cli.run(["keys", "revoke", keyID, "--json"])
            #expect(string(try revoked.json(), "api_key", "revoke_time") != nil, "\(revoked)")
            let dead = try await cli.run(["whoami", "--json"], environment: ["WAQTOR_TOKEN": secret])
            #expect(dead.status == 2)
            #expect(string(try dead.error(), "status") == "UNAUTHENTICATED")
            #expect(string(try dead.error(), "hint")?.contains("check --token / $WAQTOR_TOKEN") == true, "\(dead)")

            let plan = try await cli.run(["plan", "--json"])
            #expect(string(try plan.json(), "plan", "id") == "free", "\(plan)")
            #expect(((value(try plan.json(), "plans") as? [Any])?.count ?? 0) >= 2)
            let upgrade = try await cli.run(["plan", "upgrade", "--to", "business", "--reason", "more numbers", "--json"])
            #expect(string(try upgrade.json(), "upgrade_request", "state") == "pending", "\(upgrade)")
            let requests = try await cli.run(["plan", "requests", "--json"])
            #expect((value(try requests.json(), "upgrade_requests") as? [Any])?.count == 1)

            let usage = try await cli.run(["usage", "--json"])
            #expect(value(try usage.json(), "used", "contacts") as? Int == 0, "\(usage)")
            #expect(value(try usage.json(), "limits", "whatsapp_instances") as? Int == 1)
            #expect(string(try usage.json(), "ai_this_month", "cost") == "0")

            let changed = try await cli.run(["password", "change", "--password-stdin", "--json"],
                                            stdin: "correct horse battery\nan even better password\n")
            #expect(value(try changed.json(), "ok") as? Bool == true, "\(changed)")
            let wrong = try await cli.run(["account", "delete", "--confirm", email, "--password-stdin", "--json"], stdin: "correct horse battery\n")
            #expect(wrong.status == 2)
            #expect(string(try wrong.error(), "status") == "PERMISSION_DENIED")
            #expect(string(try wrong.error(), "hint") == "check the password", "\(wrong)")

            let loggedOut = try await cli.run(["logout", "--json"])
            #expect(value(try loggedOut.json(), "ok") as? Bool == true, "\(loggedOut)")
            let afterLogout = try await cli.run(["whoami", "--json"])
            #expect(afterLogout.status == 3, "\(afterLogout)")
            #expect(value(try afterLogout.error(), "exit_status") as? Int == 3)
            #expect(string(try afterLogout.error(), "message")?.hasPrefix("not logged in") == true)

            let login = try await cli.run(["login", "--email", email, "--password-stdin", "--json"], stdin: "an even better password\n")
            #expect(string(try login.json(), "session", "profile") == "default", "\(login)")
            let deleted = try await cli.run(["account", "delete", "--confirm", email, "--password-stdin", "--json"], stdin: "an even better password\n")
            #expect(value(try deleted.json(), "ok") as? Bool == true, "\(deleted)")
            let gone = try await cli.run(["whoami", "--json"])
            #expect(gone.status == 3, "the deleted account's session left its profile: \(gone)")
        }
    }

    @Test("errors say what to do: a bad token, throttled logins, a non-administrator, a refused command line, no server, no answer in time")
    func errorHints() async throws {
        try await withApplication(tenantTestConfiguration()) { app, _ in
            let cli = try CLI(app)
            defer { cli.remove() }
            let email = try await cli.signUp()

            let bogus = try await cli.run(["whoami", "--json", "--token", "wqs_not_a_real_session_token"])
            #expect(bogus.status == 2, "\(bogus)")
            let error = try bogus.error()
            #expect(string(error, "status") == "UNAUTHENTICATED" && value(error, "code") as? Int == 16)
            #expect(string(error, "hint")?.contains("log in again: waqtor login") == true, "\(bogus)")
            #expect(bogus.stderr.contains("error: UNAUTHENTICATED: "))
            #expect(bogus.stderr.contains("hint: "))

            // tenantTestConfiguration allows 3 failed logins: then RESOURCE_EXHAUSTED with retry-after-ms.
            for _ in 0..<3 {
                let wrong = try await cli.run(["login", "--email", email, "--password-stdin", "--json"], stdin: "not the password\n")
                #expect(wrong.status == 2)
                #expect(string(try wrong.error(), "hint") == "check the email and the password", "\(wrong)")
            }
            let throttled = try await cli.run(["login", "--email", email, "--password-stdin", "--json"], stdin: "not the password\n")
            #expect(throttled.status == 2, "\(throttled)")
            let limit = try throttled.error()
            #expect(string(limit, "status") == "RESOURCE_EXHAUSTED")
            let retryAfter = try #require(value(limit, "retry_after_ms") as? Int, "\(throttled)")
            #expect(retryAfter > 0)
            #expect(string(limit, "hint")?.hasPrefix("wait ") == true && string(limit, "hint")?.hasSuffix(", then retry") == true, "\(throttled)")

            let notAdmin = try await cli.run(["admin", "tenants", "--json"])
            #expect(notAdmin.status == 2)
            #expect(string(try notAdmin.error(), "status") == "PERMISSION_DENIED")
            #expect(string(try notAdmin.error(), "hint")?.contains("administrator") == true, "\(notAdmin)")

            let usage = try await cli.run(["contact", "list", "--page-size", "9999", "--json"])
            #expect(usage.status == 64, "\(usage)")
            #expect(value(try usage.error(), "exit_status") as? Int == 64)
            #expect(string(try usage.error(), "hint") == "see `waqtor contact list --help`")
            #expect(usage.stderr.contains("Error: --page-size must be from 0 to 500"))

            let invalid = try await cli.run(["contact", "add", "--phone", "123", "--json"])
            #expect(invalid.status == 2, "\(invalid)")
            #expect(string(try invalid.error(), "status") == "INVALID_ARGUMENT")
            #expect(string(try invalid.error(), "hint") == "fix the value the message names (waqtor contact add --help lists the options)")

            let missing = try await cli.run(["contact", "get", UUID().uuidString.lowercased(), "--json"])
            #expect(string(try missing.error(), "status") == "NOT_FOUND", "\(missing)")
            #expect(string(try missing.error(), "hint") == "check the id: waqtor contact list shows them")
        }

        // Nothing listens: UNAVAILABLE, and the hint names the server tried.
        let closed = try CLI(port: try TestNetwork.freeLocalPort())
        defer { closed.remove() }
        let down = try await closed.run(["ping", "--json", "--timeout", "5"])
        #expect(down.status == 2, "\(down)")
        #expect(string(try down.error(), "status") == "UNAVAILABLE")
        #expect(string(try down.error(), "hint")?.contains("is the server running at \(closed.server)?") == true, "\(down)")

        // A listener that never answers: DEADLINE_EXCEEDED, and the hint says to raise --timeout.
        let silent = try SilentListener()
        defer { silent.close() }
        let slow = try CLI(port: silent.port)
        defer { slow.remove() }
        let late = try await slow.run(["ping", "--json", "--timeout", "0.5"])
        #expect(late.status == 2, "\(late)")
        #expect(string(try late.error(), "status") == "DEADLINE_EXCEEDED")
        #expect(string(try late.error(), "hint") == "raise --timeout (now 0.5 s), e.g. --timeout 30", "\(late)")
    }
}

/// A TCP socket that listens and never reads: the kernel completes the handshake, nothing answers.
final class SilentListener: Sendable {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        guard fd >= 0 else { throw TestSupportError("socket: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else { throw TestSupportError("bind/listen: \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { _ = Glibc.close(fd) }
}
