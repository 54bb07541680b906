import ArgumentParser
import Foundation
import WaqtorProto
import WaqtorRPC

/// `waqtor contact …`: the tenant's contacts (CampaignService's contact calls).
struct ContactCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contact",
        abstract: "Add, find, change, delete and import contacts (CampaignService).",
        discussion: """
            Numbers are parsed by the server: written with +<country code>, or without it and read \
            as a number of --region (else the country of your account's time zone). Group \
            contacts into lists with `waqtor list …`; import a CSV file with `waqtor contact import`.
            """,
        subcommands: [Add.self, List.self, Get.self, Update.self, Delete.self, Import.self])

    /// The contact id argument shared by the subcommands.
    struct ContactID: ParsableArguments {
        @Argument(help: ArgumentHelp("The contact's id (see `waqtor contact list`).", valueName: "id")) var id: String

        func validate() throws {
            if id.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("the contact id is empty") }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add",
            abstract: "Add a contact (CampaignService.CreateContact).",
            discussion: """
                The number may be written as people write it (spaces, dashes, parentheses); the \
                server stores it in E.164 with its type and region. A number already in your \
                contacts is refused (ALREADY_EXISTS, naming the contact). The number of contacts \
                is limited by your plan.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @Option(help: ArgumentHelp("The WhatsApp number, e.g. +5511961234567 (or 11 96123-4567 with --region BR).", valueName: "number"))
        var phone: String
        @Option(help: ArgumentHelp("The contact's name (the {{name}} template variable).", valueName: "name")) var name: String?
        @Option(name: .customLong("attr"), help: ArgumentHelp("A custom attribute (a {{key}} template variable); repeat for more.", valueName: "key=value"))
        var attributes: [String] = []
        @Flag(name: .customLong("opted-out"), help: "Add the contact as opted out (campaigns skip it).") var optedOut = false
        @Option(help: ArgumentHelp("The region a number without + is read in (ISO 3166-1 alpha-2, e.g. BR). Default: the country of your account's time zone.", valueName: "region"))
        var region: String?

        func validate() throws {
            if phone.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--phone is empty") }
            _ = try ContactCommand.parseAttributes(attributes)
            if let region { try ContactCommand.validateRegion(region) }
        }

        func run() async throws {
            let global = self.global
            var contact = Waqtor_V1_Contact()
            contact.phoneNumber = phone
            contact.name = name ?? ""
            contact.attributes = try ContactCommand.parseAttributes(attributes)
            contact.optedOut = optedOut
            var request = Waqtor_V1_CreateContactRequest()
            request.contact = contact
            request.defaultRegion = region?.uppercased() ?? ""
            let sent = request
            let response = try await global.withCampaignClient(auth) { campaigns, options in
                try await campaigns.createContact(sent, options: options)
            }
            ContactCommand.printContact(response.contact, json: global.json)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List or search contacts, by name (CampaignService.ListContacts).",
            discussion: """
                Opted-out contacts are left out unless --include-opted-out. --query matches names \
                (case-insensitive substring) and, when it is mostly digits, numbers. --attr \
                key=value keeps contacts whose attribute has that value (case-insensitive). \
                --all follows the pages to the end (each call asks for --page-size contacts, \
                default 500) and prints them all.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @Option(help: ArgumentHelp("Names (and numbers) containing this text.", valueName: "text")) var query: String?
        @Option(name: .customLong("list"), help: ArgumentHelp("Only members of this contact list.", valueName: "list-id")) var listID: String?
        @Option(name: .customLong("attr"), help: ArgumentHelp("Only contacts whose attribute has this value.", valueName: "key=value"))
        var attribute: String?
        @Flag(name: .customLong("include-opted-out"), help: "List opted-out contacts too.") var includeOptedOut = false
        @Option(name: .customLong("page-size"), help: ArgumentHelp("At most this many contacts per page (0: the server's default, 50; at most 500).", valueName: "n"))
        var pageSize: Int32 = 0
        @Option(name: .customLong("page-token"), help: ArgumentHelp("Continue after an earlier listing (its next page token).", valueName: "token"))
        var pageToken: String = ""
        @Flag(help: "Follow the next page tokens to the end and print every contact.") var all = false

        func validate() throws {
            guard (0...500).contains(pageSize) else { throw ValidationError("--page-size must be from 0 to 500, got \(pageSize)") }
            if let attribute { _ = try ContactCommand.parseAttribute(attribute, allowEmptyValue: true) }
            if let listID, listID.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--list is empty") }
        }

        func run() async throws {
            let global = self.global
            var request = Waqtor_V1_ListContactsRequest()
            request.pageSize = all && pageSize == 0 ? 500 : pageSize
            request.pageToken = pageToken
            request.query = query ?? ""
            request.listID = listID ?? ""
            request.includeOptedOut = includeOptedOut
            if let attribute {
                let pair = try ContactCommand.parseAttribute(attribute, allowEmptyValue: true)
                request.attributeKey = pair.key
                request.attributeValue = pair.value
            }
            let first = request
            let all = self.all
            // --all may read many pages: a count on a terminal meanwhile.
            let progress = ProgressLine("listing", unit: .items("contacts"), enabled: all && global.showsProgress)
            let (contacts, next) = try await global.withCampaignClient(auth) { campaigns, options in
                var request = first
                var contacts: [Waqtor_V1_Contact] = []
                defer { progress.clear() }
                while true {
                    let response = try await campaigns.listContacts(request, options: options)
                    contacts += response.contacts
                    progress.update(Int64(contacts.count))
                    if !all || response.nextPageToken.isEmpty { return (contacts, response.nextPageToken) }
                    request.pageToken = response.nextPageToken
                }
            }
            if global.json {
                struct Body: Encodable {
                    var contacts: [ContactJSON.Contact]
                    var nextPageToken: String
                    enum CodingKeys: String, CodingKey { case contacts, nextPageToken = "next_page_token" }
                }
                Output.json(Body(contacts: contacts.map(ContactJSON.Contact.init), nextPageToken: next))
            } else {
                Output.table(
                    ["ID", "PHONE", "NAME", "TYPE", "REGION", "OPTED OUT", "ATTRIBUTES"],
                    contacts.map {
                        [$0.id, $0.phoneNumber, $0.name, Names.phoneType($0.phoneType), $0.phoneRegion,
                         $0.optedOut ? "yes" : "no", ContactCommand.attributeText($0.attributes)]
                    })
                Output.nextPage(next)
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "get", abstract: "Show one contact (CampaignService.GetContact).")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @OptionGroup var contact: ContactID

        func run() async throws {
            let global = self.global
            var request = Waqtor_V1_GetContactRequest()
            request.contactID = contact.id
            let sent = request
            let response = try await global.withCampaignClient(auth) { campaigns, options in
                try await campaigns.getContact(sent, options: options)
            }
            ContactCommand.printContact(response.contact, json: global.json)
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "update",
            abstract: "Change a contact (CampaignService.UpdateContact).",
            discussion: """
                Changes exactly the fields given (update_paths) and shows the result. --attr \
                REPLACES the contact's whole attribute set with the ones given (repeat it for \
                each attribute to keep); --clear-attrs removes them all. --opted-out false opts a \
                contact back in: only a person should decide that.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @OptionGroup var contact: ContactID
        @Option(help: ArgumentHelp("A new number.", valueName: "number")) var phone: String?
        @Option(help: ArgumentHelp("A new name (\"\" clears it).", valueName: "name")) var name: String?
        @Option(name: .customLong("attr"), help: ArgumentHelp("Replace the attributes with these; repeat for more.", valueName: "key=value"))
        var attributes: [String] = []
        @Flag(name: .customLong("clear-attrs"), help: "Remove every attribute.") var clearAttributes = false
        @Option(name: .customLong("opted-out"), help: ArgumentHelp("Opt the contact out (true) or back in (false).", valueName: "true|false"))
        var optedOut: Bool?
        @Option(help: ArgumentHelp("The region a new number without + is read in (e.g. BR).", valueName: "region"))
        var region: String?

        func validate() throws {
            if let phone, phone.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--phone is empty") }
            _ = try ContactCommand.parseAttributes(attributes)
            if clearAttributes, !attributes.isEmpty { throw ValidationError("--attr and --clear-attrs exclude each other") }
            if let region { try ContactCommand.validateRegion(region) }
            if region != nil, phone == nil { throw ValidationError("--region only applies to --phone") }
            if phone == nil, name == nil, attributes.isEmpty, !clearAttributes, optedOut == nil {
                throw ValidationError("nothing to change: give --phone, --name, --attr, --clear-attrs or --opted-out")
            }
        }

        func run() async throws {
            let global = self.global
            var contact = Waqtor_V1_Contact()
            contact.id = self.contact.id
            var paths: [String] = []
            if let phone { contact.phoneNumber = phone; paths.append("phone_number") }
            if let name { contact.name = name; paths.append("name") }
            if !attributes.isEmpty || clearAttributes {
                contact.attributes = try ContactCommand.parseAttributes(attributes)
                paths.append("attributes")
            }
            if let optedOut { contact.optedOut = optedOut; paths.append("opted_out") }
            var request = Waqtor_V1_UpdateContactRequest()
            request.contact = contact
            request.updatePaths = paths
            request.defaultRegion = region?.uppercased() ?? ""
            let sent = request
            let response = try await global.withCampaignClient(auth) { campaigns, options in
                try await campaigns.updateContact(sent, options: options)
            }
            ContactCommand.printContact(response.contact, json: global.json)
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete", abstract: "Delete a contact; it leaves its lists (CampaignService.DeleteContact).")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @OptionGroup var contact: ContactID

        func run() async throws {
            let global = self.global
            var request = Waqtor_V1_DeleteContactRequest()
            request.contactID = contact.id
            let sent = request
            _ = try await global.withCampaignClient(auth) { campaigns, options in
                try await campaigns.deleteContact(sent, options: options)
            }
            if global.json { Output.json(TenantJSON.Done()) } else { Output.line("deleted contact \(contact.id)") }
        }
    }

    // MARK: - Helpers

    /// `key=value` (split at the first `=`); the key must not be empty, the value may be unless
    /// `allowEmptyValue` is false.
    static func parseAttribute(_ text: String, allowEmptyValue: Bool = true) throws -> (key: String, value: String) {
        guard let equals = text.firstIndex(of: "=") else {
            throw ValidationError("--attr must be key=value, e.g. city=Recife (got '\(text)')")
        }
        let key = text[..<equals].trimmingCharacters(in: .whitespaces)
        let value = String(text[text.index(after: equals)...])
        guard !key.isEmpty else { throw ValidationError("--attr '\(text)': the key is empty") }
        if !allowEmptyValue, value.isEmpty { throw ValidationError("--attr '\(text)': the value is empty") }
        return (key, value)
    }

    /// Repeated `--attr key=value` → the proto's pairs; a key given twice is refused.
    static func parseAttributes(_ texts: [String]) throws -> [Waqtor_V1_KeyValue] {
        var seen: Set<String> = []
        return try texts.map { text in
            let (key, value) = try parseAttribute(text)
            guard seen.insert(key.lowercased()).inserted else { throw ValidationError("--attr: the key '\(key)' is given twice") }
            var pair = Waqtor_V1_KeyValue()
            pair.key = key
            pair.value = value
            return pair
        }
    }

    /// Two letters (ISO 3166-1 alpha-2); the server checks that it is a region it knows.
    static func validateRegion(_ region: String) throws {
        guard region.count == 2, region.allSatisfy({ $0.isASCII && $0.isLetter }) else {
            throw ValidationError("--region must be a two-letter country code such as BR, EG or PT (got '\(region)')")
        }
    }

    /// `city=Recife, plan=gold`.
    static func attributeText(_ pairs: [Waqtor_V1_KeyValue]) -> String {
        pairs.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
    }

    static func printContact(_ contact: Waqtor_V1_Contact?, json: Bool) {
        if json {
            struct Body: Encodable { var contact: ContactJSON.Contact? }
            Output.json(Body(contact: contact.map(ContactJSON.Contact.init)))
            return
        }
        guard let c = contact else { return }
        var phone = c.phoneNumber
        let about = [Names.phoneType(c.phoneType), c.phoneRegion].filter { !$0.isEmpty && $0 != "unspecified" }
        if !about.isEmpty { phone += " (" + about.joined(separator: ", ") + ")" }
        var optedOut = c.optedOut ? "yes" : "no"
        if c.optedOut, let time = c.optOutTime { optedOut += " (since \(Output.rfc3339(time)))" }
        Output.fields([
            ("id", c.id), ("phone", phone), ("name", c.name), ("attributes", attributeText(c.attributes)),
            ("opted out", optedOut), ("consent source", Names.consentSource(c.consentSource)),
            ("lists", c.listIds.joined(separator: ", ")),
            ("created", Output.time(c.createTime)), ("updated", Output.time(c.updateTime)),
        ])
    }
}

/// JSON shapes of the contact messages, with the conventions of ``TenantJSON``; attributes as an
/// object (keys are unique per contact).
enum ContactJSON {
    struct Contact: Encodable {
        var id, phoneNumber, name: String
        var attributes: [String: String]
        var optedOut: Bool
        var listIDs: [String]
        var phoneType, phoneRegion, consentSource: String
        var createTime, updateTime, optOutTime: String?
        enum CodingKeys: String, CodingKey {
            case id, name, attributes
            case phoneNumber = "phone_number", optedOut = "opted_out", listIDs = "list_ids", phoneType = "phone_type"
            case phoneRegion = "phone_region", consentSource = "consent_source", createTime = "create_time"
            case updateTime = "update_time", optOutTime = "opt_out_time"
        }
        init(_ c: Waqtor_V1_Contact) {
            id = c.id; phoneNumber = c.phoneNumber; name = c.name
            attributes = Dictionary(c.attributes.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
            optedOut = c.optedOut; listIDs = c.listIds
            phoneType = Names.phoneType(c.phoneType); phoneRegion = c.phoneRegion
            consentSource = Names.consentSource(c.consentSource)
            createTime = c.createTime.map(Output.rfc3339); updateTime = c.updateTime.map(Output.rfc3339)
            optOutTime = c.optOutTime.map(Output.rfc3339)
        }
    }

    struct ContactList: Encodable {
        var id, name, description: String
        var contactCount: Int32
        var createTime: String?
        enum CodingKeys: String, CodingKey {
            case id, name, description
            case contactCount = "contact_count", createTime = "create_time"
        }
        init(_ l: Waqtor_V1_ContactList) {
            id = l.id; name = l.name; description = l.description; contactCount = l.contactCount
            createTime = l.createTime.map(Output.rfc3339)
        }
    }
}

extension Names {
    static func phoneType(_ type: Waqtor_V1_PhoneNumberType) -> String {
        switch type {
        case .unspecified: "unspecified"
        case .fixedLine: "fixed-line"
        case .mobile: "mobile"
        case .fixedLineOrMobile: "fixed-line-or-mobile"
        case .tollFree: "toll-free"
        case .premiumRate: "premium-rate"
        case .sharedCost: "shared-cost"
        case .voip: "voip"
        case .personalNumber: "personal-number"
        case .pager: "pager"
        case .uan: "uan"
        case .voicemail: "voicemail"
        case .unknown: "unknown"
        case .UNRECOGNIZED(let value): "unknown(\(value))"
        }
    }

    static func consentSource(_ source: Waqtor_V1_ConsentSource) -> String {
        switch source {
        case .unspecified: "unspecified"
        case .manual: "manual"
        case .import: "import"
        case .inbound: "inbound"
        case .UNRECOGNIZED(let value): "unknown(\(value))"
        }
    }
}
