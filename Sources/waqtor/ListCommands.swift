import ArgumentParser
import Foundation
import WaqtorProto
import WaqtorRPC

/// `waqtor list …`: contact lists (CampaignService's list calls).
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Create contact lists and add or remove their members (CampaignService).",
        discussion: """
            A list is a named set of contacts, used as a campaign's audience. List a list's \
            members with `waqtor contact list --list ID`; import a file straight into a list with \
            `waqtor contact import FILE.csv --list ID`.
            """,
        subcommands: [Create.self, Ls.self, Add.self, Remove.self])

    /// The server takes at most this many contact ids per call.
    static let maxIDsPerCall = 1000

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create", abstract: "Create a contact list (CampaignService.CreateContactList).",
            discussion: "Names are unique in your account (ALREADY_EXISTS otherwise).")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @Argument(help: ArgumentHelp("The list's name.", valueName: "name")) var name: String
        @Option(help: ArgumentHelp("What the list is for.", valueName: "text")) var description: String?

        func validate() throws {
            if name.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("the name is empty") }
        }

        func run() async throws {
            let global = self.global
            var request = Waqtor_V1_CreateContactListRequest()
            request.name = name
            request.description = description ?? ""
            let sent = request
            let response = try await global.withCampaignClient(auth) { campaigns, options in
                try await campaigns.createContactList(sent, options: options)
            }
            if global.json {
                struct Body: Encodable {
                    var contactList: ContactJSON.ContactList?
                    enum CodingKeys: String, CodingKey { case contactList = "contact_list" }
                }
                Output.json(Body(contactList: response.contactList.map(ContactJSON.ContactList.init)))
            } else if let list = response.contactList {
                ListCommand.printList(list)
            }
        }
    }

    struct Ls: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ls", abstract: "List your contact lists, by name (CampaignService.ListContactLists).")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @OptionGroup var page: PageOptions

        func run() async throws {
            let global = self.global
            var request = Waqtor_V1_ListContactListsRequest()
            request.pageSize = page.pageSize
            request.pageToken = page.pageToken
            let sent = request
            let response = try await global.withCampaignClient(auth) { campaigns, options in
                try await campaigns.listContactLists(sent, options: options)
            }
            if global.json {
                struct Body: Encodable {
                    var contactLists: [ContactJSON.ContactList]
                    var nextPageToken: String
                    enum CodingKeys: String, CodingKey { case contactLists = "contact_lists", nextPageToken = "next_page_token" }
                }
                Output.json(Body(contactLists: response.contactLists.map(ContactJSON.ContactList.init), nextPageToken: response.nextPageToken))
            } else {
                Output.table(
                    ["ID", "NAME", "CONTACTS", "CREATED", "DESCRIPTION"],
                    response.contactLists.map { [$0.id, $0.name, String($0.contactCount), Output.time($0.createTime), $0.description] })
                Output.nextPage(response.nextPageToken)
            }
        }
    }

    /// The list id and the contact ids of `add` and `remove`.
    struct Members: ParsableArguments {
        @Argument(help: ArgumentHelp("The list's id (see `waqtor list ls`).", valueName: "list-id")) var listID: String
        @Argument(help: ArgumentHelp("Contact ids (see `waqtor contact list`); any number, sent 1000 per call.", valueName: "contact-id"))
        var contactIDs: [String] = []

        func validate() throws {
            if listID.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("the list id is empty") }
            if contactIDs.isEmpty { throw ValidationError("give at least one contact id") }
            if contactIDs.contains(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) { throw ValidationError("a contact id is empty") }
        }

        /// The ids without repeats, in the order given, in chunks the server takes.
        var chunks: [[String]] {
            var seen: Set<String> = []
            let unique = contactIDs.filter { seen.insert($0).inserted }
            return stride(from: 0, to: unique.count, by: ListCommand.maxIDsPerCall).map {
                Array(unique[$0..<min($0 + ListCommand.maxIDsPerCall, unique.count)])
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add", abstract: "Add contacts to a list (CampaignService.AddContactsToList).",
            discussion: """
                Contacts already in the list are left as they are (not counted as added). More \
                than 1000 ids go in several calls, one after another; if one fails, the calls \
                before it have taken effect.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @OptionGroup var members: Members

        func run() async throws {
            let global = self.global
            let listID = members.listID
            let chunks = members.chunks
            // Many ids go in several calls: a bar with the time left meanwhile.
            let progress = ProgressLine("adding", unit: .items("contacts"), total: Int64(chunks.joined().count),
                                        enabled: chunks.count > 1 && global.showsProgress)
            let (count, list) = try await global.withCampaignClient(auth) { campaigns, options in
                var count = 0
                var list: Waqtor_V1_ContactList?
                var sent: Int64 = 0
                defer { progress.clear() }
                for chunk in chunks {
                    var request = Waqtor_V1_AddContactsToListRequest()
                    request.contactListID = listID
                    request.contactIds = chunk
                    let response = try await campaigns.addContactsToList(request, options: options)
                    sent += Int64(chunk.count)
                    progress.update(sent)
                    count += Int(response.addedCount)
                    list = response.contactList ?? list
                }
                return (count, list)
            }
            ListCommand.printChange(count: count, key: "added_count", verb: "added", preposition: "to", list: list, json: global.json)
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "remove", abstract: "Remove contacts from a list (CampaignService.RemoveContactsFromList).",
            discussion: """
                The contacts themselves stay. Ids that are not members are left out of the count. \
                More than 1000 ids go in several calls, one after another.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @OptionGroup var members: Members

        func run() async throws {
            let global = self.global
            let listID = members.listID
            let chunks = members.chunks
            // Many ids go in several calls: a bar with the time left meanwhile.
            let progress = ProgressLine("removing", unit: .items("contacts"), total: Int64(chunks.joined().count),
                                        enabled: chunks.count > 1 && global.showsProgress)
            let (count, list) = try await global.withCampaignClient(auth) { campaigns, options in
                var count = 0
                var list: Waqtor_V1_ContactList?
                var sent: Int64 = 0
                defer { progress.clear() }
                for chunk in chunks {
                    var request = Waqtor_V1_RemoveContactsFromListRequest()
                    request.contactListID = listID
                    request.contactIds = chunk
                    let response = try await campaigns.removeContactsFromList(request, options: options)
                    sent += Int64(chunk.count)
                    progress.update(sent)
                    count += Int(response.removedCount)
                    list = response.contactList ?? list
                }
                return (count, list)
            }
            ListCommand.printChange(count: count, key: "removed_count", verb: "removed", preposition: "from", list: list, json: global.json)
        }
    }

    // MARK: - Helpers

    static func printList(_ list: Waqtor_V1_ContactList) {
        Output.fields([
            ("id", list.id), ("name", list.name), ("description", list.description),
            ("contacts", String(list.contactCount)), ("created", Output.time(list.createTime)),
        ])
    }

    /// `{"added_count":n,"contact_list":{…}}`, or `added n contacts to NAME (id); it has m`.
    static func printChange(count: Int, key: String, verb: String, preposition: String, list: Waqtor_V1_ContactList?, json: Bool) {
        if json {
            struct Body: Encodable {
                var key: String
                var count: Int
                var list: ContactJSON.ContactList?
                func encode(to encoder: any Encoder) throws {
                    var container = encoder.container(keyedBy: AnyKey.self)
                    try container.encode(count, forKey: AnyKey(key))
                    try container.encodeIfPresent(list, forKey: AnyKey("contact_list"))
                }
            }
            Output.json(Body(key: key, count: count, list: list.map(ContactJSON.ContactList.init)))
            return
        }
        let noun = count == 1 ? "contact" : "contacts"
        if let list {
            Output.line("\(verb) \(count) \(noun) \(preposition) \(list.name) (\(list.id)); it has \(list.contactCount) now")
        } else {
            Output.line("\(verb) \(count) \(noun)")
        }
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
