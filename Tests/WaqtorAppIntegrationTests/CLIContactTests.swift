import Foundation
import Testing
@testable import WaqtorApp
import WaqtorTestSupport

/// `waqtor contact …` and `waqtor list …` against a real server.
@Suite("CLI: contacts and contact lists")
struct CLIContactTests {
    @Test("contact add, list (query, attribute, list, --all), get, update, delete; list create, ls, add, remove; import with a row error")
    func contactsAndLists() async throws {
        try await withApplication(tenantTestConfiguration()) { app, _ in
            let cli = try CLI(app)
            defer { cli.remove() }
            _ = try await cli.signUp()

            let added = try await cli.run(["contact", "add", "--phone", "+55 11 98765-0001", "--name", "Ana", "--attr", "city=Recife", "--json"])
            #expect(added.status == 0, "\(added)")
            let ana = try #require(string(try added.json(), "contact", "id"))
            #expect(string(try added.json(), "contact", "phone_number") == "+5511987650001")
            #expect(string(try added.json(), "contact", "attributes", "city") == "Recife")
            #expect(string(try added.json(), "contact", "phone_region") == "BR")
            let bruno = try #require(string(try await cli.run(["contact", "add", "--phone", "11 98765-0002", "--region", "BR", "--name", "Bruno", "--json"]).json(),
                                            "contact", "id"))

            let duplicate = try await cli.run(["contact", "add", "--phone", "+5511987650001", "--json"])
            #expect(duplicate.status == 2, "\(duplicate)")
            #expect(string(try duplicate.error(), "status") == "ALREADY_EXISTS")
            #expect(string(try duplicate.error(), "hint")?.hasPrefix("it exists already") == true)

            func ids(_ arguments: [String]) async throws -> [String] {
                let result = try await cli.run(["contact", "list", "--json"] + arguments)
                #expect(result.status == 0, "\(result)")
                return (value(try result.json(), "contacts") as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            }
            #expect(try await ids([]) == [ana, bruno])
            #expect(try await ids(["--query", "ana"]) == [ana])
            #expect(try await ids(["--attr", "city=recife"]) == [ana])
            #expect(try await ids(["--all", "--page-size", "1"]) == [ana, bruno], "--all follows the pages")

            let updated = try await cli.run(["contact", "update", ana, "--name", "Ana Maria", "--attr", "plan=gold", "--json"])
            #expect(string(try updated.json(), "contact", "name") == "Ana Maria", "\(updated)")
            #expect((value(try updated.json(), "contact", "attributes") as? [String: String]) == ["plan": "gold"])
            #expect(string(try await cli.run(["contact", "get", ana, "--json"]).json(), "contact", "name") == "Ana Maria")

            let created = try await cli.run(["list", "create", "VIP", "--description", "best customers", "--json"])
            #expect(created.status == 0, "\(created)")
            let list = try #require(string(try created.json(), "contact_list", "id"))
            let ls = try await cli.run(["list", "ls", "--json"])
            #expect((value(try ls.json(), "contact_lists") as? [[String: Any]])?.first?["name"] as? String == "VIP")
            let add = try await cli.run(["list", "add", list, ana, bruno, ana, "--json"])
            #expect(value(try add.json(), "added_count") as? Int == 2, "each id once: \(add)")
            #expect(value(try add.json(), "contact_list", "contact_count") as? Int == 2)
            #expect(try await ids(["--list", list]) == [ana, bruno])
            let remove = try await cli.run(["list", "remove", list, bruno, "--json"])
            #expect(value(try remove.json(), "removed_count") as? Int == 1, "\(remove)")

            // A file: two good rows (one already known), one bad number, into the list.
            let file = cli.configDirectory.appendingPathComponent("leads.csv")
            try "phone,name,city\n+5511987650001,Ana,Recife\n+5511987650003,Carla,Olinda\nnot-a-number,Zé,Natal\n".write(to: file, atomically: true, encoding: .utf8)
            let imported = try await cli.run(["contact", "import", file.path, "--list", list, "--json"])
            #expect(imported.status == 0, "\(imported)")
            let summary = try imported.json()
            #expect(value(summary, "imported") as? Int == 1)
            #expect(value(summary, "skipped") as? Int == 2, "the known number and the bad row")
            #expect(value(summary, "error_count") as? Int == 1)
            #expect(value(summary, "errors", "0", "row") as? Int == 4, "rows are the file's (the header is row 1)")
            #expect(value(summary, "rows") as? Int == 3)
            #expect(try await ids(["--list", list]).count == 2)

            let missingFile = try await cli.run(["contact", "import", "/nonexistent/leads.csv", "--json"])
            #expect(missingFile.status == 64, "\(missingFile)")
            #expect(value(try missingFile.error(), "exit_status") as? Int == 64)

            let deleted = try await cli.run(["contact", "delete", bruno, "--json"])
            #expect(value(try deleted.json(), "ok") as? Bool == true)
            let gone = try await cli.run(["contact", "get", bruno, "--json"])
            #expect(string(try gone.error(), "status") == "NOT_FOUND", "\(gone)")
            #expect(string(try gone.error(), "hint") == "check the id: waqtor contact list shows them")
        }
    }
}
