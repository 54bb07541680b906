import Foundation
import Testing
import WaqtorContacts
import WaqtorCore
import WaqtorPostgres
import WaqtorTenants
import WaqtorTestSupport

@Suite("Contact store (real server)")
struct ContactStoreTests {
    static func number(_ digits: String, type: String = "mobile", region: String = "BR") -> ContactNumber {
        ContactNumber(e164: "+" + digits, type: type, region: region)
    }

    @Test("create, get, update (number, name, attributes, consent), delete; a taken number is ALREADY_EXISTS")
    func lifecycle() async throws {
        let f = try await Fixture.make()
        let tenant = try await f.signUp()
        let store = ContactStore(pool: f.pool)
        let ana = try await store.create(tenantID: tenant.id, number: Self.number("5511987650001"), name: "Ana",
                                         attributes: ["city": "Recife", "plan": "gold"], optedOut: false, consentSource: .manual, limit: nil)
        #expect(ana.number.e164 == "+5511987650001" && ana.number.type == "mobile" && ana.number.region == "BR")
        #expect(ana.attributes == ["city": "Recife", "plan": "gold"] && !ana.optedOut && ana.optOutTime == nil)
        #expect(try await store.get(tenantID: tenant.id, id: ana.id) == ana)

        await #expect(throws: ContactError.self) {
            _ = try await store.create(tenantID: tenant.id, number: Self.number("5511987650001"), name: "Dup",
                                       attributes: [:], optedOut: false, consentSource: .manual, limit: nil)
        }

        let out = try #require(try await store.update(tenantID: tenant.id, id: ana.id, ContactChanges(optedOut: true, consentSource: .inbound)))
        #expect(out.optedOut && out.optOutTime != nil && out.consentSource == .inbound)
        let again = try #require(try await store.update(tenantID: tenant.id, id: ana.id, ContactChanges(name: "Ana Paula", optedOut: true)))
        #expect(again.optOutTime == out.optOutTime && again.consentSource == .inbound, "opting out twice keeps the first time and source")
        let back = try #require(try await store.update(tenantID: tenant.id, id: ana.id, ContactChanges(attributes: ["city": "Natal"], optedOut: false)))
        #expect(!back.optedOut && back.optOutTime == nil && back.consentSource == .manual && back.attributes == ["city": "Natal"])
        #expect(back.name == "Ana Paula")

        let bia = try await store.create(tenantID: tenant.id, number: Self.number("5511987650002"), name: "Bia",
                                         attributes: [:], optedOut: true, consentSource: .import, limit: nil)
        #expect(bia.optedOut && bia.optOutTime != nil && bia.consentSource == .import)
        await #expect(throws: ContactError.self) {
            _ = try await store.update(tenantID: tenant.id, id: bia.id, ContactChanges(number: Self.number("5511987650001")))
        }
        #expect(try await store.count(tenantID: tenant.id) == 2)
        #expect(try await store.delete(tenantID: tenant.id, id: bia.id))
        #expect(try await !store.delete(tenantID: tenant.id, id: bia.id))
        #expect(try await store.get(tenantID: tenant.id, id: bia.id) == nil)
        await f.shutdown()
    }

    @Test("another tenant's contacts and lists are invisible and untouchable")
    func isolation() async throws {
        let f = try await Fixture.make()
        let a = try await f.signUp(), b = try await f.signUp()
        let store = ContactStore(pool: f.pool)
        let mine = try await store.create(tenantID: a.id, number: Self.number("5511987650010"), name: "Mine",
                                          attributes: [:], optedOut: false, consentSource: .manual, limit: nil)
        let list = try await store.createList(tenantID: a.id, name: "A's list", description: "")
        #expect(try await store.get(tenantID: b.id, id: mine.id) == nil)
        #expect(try await store.update(tenantID: b.id, id: mine.id, ContactChanges(name: "pwned")) == nil)
        #expect(try await !store.delete(tenantID: b.id, id: mine.id))
        #expect(try await store.getList(tenantID: b.id, id: list.id) == nil)
        #expect(try await store.addToList(tenantID: b.id, listID: list.id, contactIDs: [mine.id]) == nil)
        let bList = try await store.createList(tenantID: b.id, name: "B's list", description: "")
        await #expect(throws: ContactError.self, "A's contact is not found for B") {
            _ = try await store.addToList(tenantID: b.id, listID: bList.id, contactIDs: [mine.id])
        }
        // The same number may exist in two accounts.
        _ = try await store.create(tenantID: b.id, number: Self.number("5511987650010"), name: "Theirs",
                                   attributes: [:], optedOut: false, consentSource: .manual, limit: nil)
        #expect(try await store.list(tenantID: b.id, filter: ContactFilter(), after: nil, limit: 10).items.map(\.name) == ["Theirs"])
        await f.shutdown()
    }

    @Test("keyset pages by name cover every contact once, with search by name, digits, list and attribute")
    func paging() async throws {
        let f = try await Fixture.make()
        let tenant = try await f.signUp()
        let store = ContactStore(pool: f.pool)
        let names = ["bruno", "Ana", "carla", "Ana", "Davi", "édson", "Fábio", "_under%score"]
        var made: [Contact] = []
        for (i, name) in names.enumerated() {
            made.append(try await store.create(
                tenantID: tenant.id, number: Self.number("55119876501\(String(format: "%02d", i))"), name: name,
                attributes: ["tier": i % 2 == 0 ? "Gold" : "silver"], optedOut: i == 4, consentSource: .manual, limit: nil))
        }
        var seen: [ContactID] = []
        var cursor: PageCursor?
        repeat {
            let page = try await store.list(tenantID: tenant.id, filter: ContactFilter(), after: cursor, limit: 3)
            #expect(page.items.count <= 3)
            seen += page.items.map(\.id)
            cursor = page.next
        } while cursor != nil
        #expect(seen.count == names.count && Set(seen) == Set(made.map(\.id)), "every contact once")
        let all = try await store.list(tenantID: tenant.id, filter: ContactFilter(), after: nil, limit: 100).items
        #expect(all.map { $0.name.lowercased() } == all.map { $0.name.lowercased() }.sorted(), "by name, case-insensitively")

        #expect(try await store.list(tenantID: tenant.id, filter: ContactFilter(text: "ana"), after: nil, limit: 100).items.count == 2)
        #expect(try await store.list(tenantID: tenant.id, filter: ContactFilter(text: "%"), after: nil, limit: 100).items.map(\.name) == ["_under%score"],
                "LIKE wildcards match literally")
        #expect(try await store.list(tenantID: tenant.id, filter: ContactFilter(text: "98765 0103"), after: nil, limit: 100).items.map(\.name) == ["Ana"])
        let gold = try await store.list(tenantID: tenant.id, filter: ContactFilter(attributeKey: "tier", attributeValue: "gold"), after: nil, limit: 100)
        #expect(gold.items.count == 4)
        let reachable = try await store.list(tenantID: tenant.id, filter: ContactFilter(includeOptedOut: false), after: nil, limit: 100)
        #expect(reachable.items.count == names.count - 1 && !reachable.items.contains { $0.optedOut })

        let list = try await store.createList(tenantID: tenant.id, name: "Gold", description: "top")
        let added = try #require(try await store.addToList(tenantID: tenant.id, listID: list.id, contactIDs: gold.items.map(\.id) + [gold.items[0].id]))
        #expect(added.added == 4 && added.list.contactCount == 4)
        #expect(try await store.addToList(tenantID: tenant.id, listID: list.id, contactIDs: [gold.items[0].id])?.added == 0)
        let members = try await store.list(tenantID: tenant.id, filter: ContactFilter(listID: list.id), after: nil, limit: 100)
        #expect(Set(members.items.map(\.id)) == Set(gold.items.map(\.id)))
        #expect(members.items.allSatisfy { $0.listIDs == [list.id] })
        let removed = try #require(try await store.removeFromList(tenantID: tenant.id, listID: list.id, contactIDs: [gold.items[0].id]))
        #expect(removed.removed == 1 && removed.list.contactCount == 3)
        await #expect(throws: ContactError.self) { _ = try await store.createList(tenantID: tenant.id, name: "gold", description: "") }
        await f.shutdown()
    }

    @Test("the plan's contact limit holds under concurrent creations, and usage counts contacts")
    func limit() async throws {
        let f = try await Fixture.make(poolSize: 6)
        let tenant = try await f.signUp()
        let store = ContactStore(pool: f.pool)
        let created = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<12 {
                group.addTask {
                    (try? await store.create(tenantID: tenant.id, number: Self.number("55119876502\(String(format: "%02d", i))"), name: "c\(i)",
                                             attributes: [:], optedOut: false, consentSource: .manual, limit: (maximum: 5, planID: "free"))) != nil
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(created == 5)
        do {
            _ = try await store.create(tenantID: tenant.id, number: Self.number("5511987659999"), name: "over",
                                       attributes: [:], optedOut: false, consentSource: .manual, limit: (maximum: 5, planID: "free"))
            Issue.record("created past the limit")
        } catch let error as PlanLimitReached {
            #expect(error.limit == "contacts" && error.message.contains("5 contacts"))
        }
        #expect(try await f.store.planAndUsage(tenantID: tenant.id).contacts == 5)
        await f.shutdown()
    }
}

@Suite("Contact import (real server)")
struct ContactImportTests {
    static func row(_ n: Int, name: String? = nil, attributes: [String: String] = [:], optedOut: Bool? = nil) -> ImportRow {
        ImportRow(rowNumber: n + 1, number: ContactNumber(e164: "+55119" + String(format: "%08d", n), type: "mobile", region: "BR"),
                  name: name, attributes: attributes, optedOut: optedOut)
    }

    @Test("new numbers are inserted, existing ones kept or updated, all added to the list, in one COPY")
    func importAndUpdate() async throws {
        let f = try await Fixture.make()
        let tenant = try await f.signUp()
        let store = ContactStore(pool: f.pool)
        let list = try await store.createList(tenantID: tenant.id, name: "Imported", description: "")
        let first = (0..<5_000).map { Self.row($0, name: "P\($0)", attributes: ["batch": "1"], optedOut: $0 % 100 == 0) }
        let one = try #require(try await store.importRows(tenantID: tenant.id, rows: first, updateExisting: false, listID: list.id,
                                                          limit: (maximum: 1_000_000, planID: "business")))
        #expect(one == ImportOutcome(imported: 5_000, updated: 0, unchanged: 0, overLimitRows: []))
        #expect(try await store.count(tenantID: tenant.id) == 5_000)
        #expect(try await store.getList(tenantID: tenant.id, id: list.id)?.contactCount == 5_000)
        let optedOut = try await store.list(tenantID: tenant.id, filter: ContactFilter(attributeKey: "batch", attributeValue: "1", includeOptedOut: false),
                                            after: nil, limit: 1000)
        #expect(optedOut.items.count == 1000 && optedOut.next != nil)

        // The second file: 2,500 known numbers (with a new attribute and no name column), 2,500 new.
        let second = (2_500..<7_500).map { Self.row($0, attributes: ["batch": "2", "city": "Recife"], optedOut: nil) }
        let kept = try #require(try await store.importRows(tenantID: tenant.id, rows: second, updateExisting: false, listID: nil,
                                                           limit: (maximum: 1_000_000, planID: "business")))
        #expect(kept == ImportOutcome(imported: 2_500, updated: 0, unchanged: 2_500, overLimitRows: []))
        let keptContact = try #require(try await store.list(tenantID: tenant.id, filter: ContactFilter(text: "P2600"), after: nil, limit: 5).items.first)
        #expect(keptContact.attributes == ["batch": "1"], "kept as it was")

        let updated = try #require(try await store.importRows(tenantID: tenant.id, rows: second, updateExisting: true, listID: list.id,
                                                              limit: (maximum: 1_000_000, planID: "business")))
        #expect(updated == ImportOutcome(imported: 0, updated: 5_000, unchanged: 0, overLimitRows: []))
        let merged = try #require(try await store.get(tenantID: tenant.id, id: keptContact.id))
        #expect(merged.attributes == ["batch": "2", "city": "Recife"] && merged.name == "P2600", "attributes merged, name kept")
        let wasOut = try #require(try await store.list(tenantID: tenant.id, filter: ContactFilter(text: "P3000"), after: nil, limit: 5).items.first)
        #expect(wasOut.optedOut && wasOut.consentSource == .import, "no opted_out column: consent unchanged")
        #expect(try await store.getList(tenantID: tenant.id, id: list.id)?.contactCount == 7_500)
        #expect(try await store.count(tenantID: tenant.id) == 7_500)
        await f.shutdown()
    }

    @Test("new contacts past the plan's limit are refused by row, in file order; known numbers still update")
    func overLimit() async throws {
        let f = try await Fixture.make()
        let tenant = try await f.signUp()
        let store = ContactStore(pool: f.pool)
        _ = try await store.importRows(tenantID: tenant.id, rows: (0..<8).map { Self.row($0) }, updateExisting: false, listID: nil,
                                       limit: (maximum: 10, planID: "free"))
        let rows = (5..<15).map { Self.row($0, name: "again") }
        let outcome = try #require(try await store.importRows(tenantID: tenant.id, rows: rows, updateExisting: true, listID: nil,
                                                              limit: (maximum: 10, planID: "free")))
        #expect(outcome.imported == 2 && outcome.updated == 3)
        #expect(outcome.overLimitRows == [11, 12, 13, 14, 15], "rows 9-10 (numbers 8, 9) fit; the rest does not")
        #expect(try await store.count(tenantID: tenant.id) == 10)
        let other = try await f.signUp()
        #expect(try await store.importRows(tenantID: other.id, rows: [Self.row(1)], updateExisting: false,
                                           listID: ContactListID.random(), limit: (maximum: 10, planID: "free")) == nil,
                "an unknown list")
        await f.shutdown()
    }
}
