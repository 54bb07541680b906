import Foundation
import Logging
import WaqtorContacts
import WaqtorCampaigns
import WaqtorCore
import WaqtorSecurity
import WaqtorTemplates
import WaqtorImport
import WaqtorPhone
import WaqtorProto
import WaqtorRPC
import WaqtorTenants

/// CampaignService: contacts and contact lists (this file), campaigns (not served yet). Every call
/// works on the caller's tenant; another tenant's ids are NOT_FOUND.
public struct CampaignService: Waqtor_V1_CampaignServiceHandler {
    let contacts: ContactStore
    let campaigns: CampaignStore
    let tenants: TenantStore
    let quota: PlanQuota
    let clock: any WaqtorClock
    /// Checks an attachment where it lives before a start (nil: not checked).
    let mediaCheck: MediaCheck?

    public init(contacts: ContactStore, campaigns: CampaignStore, tenants: TenantStore, quota: PlanQuota, clock: any WaqtorClock = SystemClock(),
                mediaCheck: MediaCheck? = nil) {
        self.contacts = contacts
        self.campaigns = campaigns
        self.tenants = tenants
        self.quota = quota
        self.clock = clock
        self.mediaCheck = mediaCheck
    }

    // MARK: Contacts

    public func createContact(_ request: Waqtor_V1_CreateContactRequest, context: ServerContext) async throws -> Waqtor_V1_CreateContactResponse {
        let caller = try Caller.require()
        let input = request.contact ?? Waqtor_V1_Contact()
        let region = try await defaultRegion(request.defaultRegion, caller: caller)
        let number = try ContactValidate.number(input.phoneNumber, region: region)
        let name = try ContactValidate.name(input.name)
        let attributes = try ContactValidate.attributes(input.attributes)
        let limit = try await quota.maximum(tenantID: caller.tenantID, .contacts)
        let contact = try await contacts.create(
            tenantID: caller.tenantID, number: number, name: name, attributes: attributes,
            optedOut: input.optedOut, consentSource: .manual, limit: (limit.maximum, limit.planID))
        var response = Waqtor_V1_CreateContactResponse()
        response.contact = ContactConvert.contact(contact)
        return response
    }

    public func getContact(_ request: Waqtor_V1_GetContactRequest, context: ServerContext) async throws -> Waqtor_V1_GetContactResponse {
        let caller = try Caller.require()
        let id: ContactID = try Validate.id(request.contactID, field: "contact_id")
        guard let contact = try await contacts.get(tenantID: caller.tenantID, id: id) else { throw ContactValidate.notFound(id) }
        var response = Waqtor_V1_GetContactResponse()
        response.contact = ContactConvert.contact(contact)
        return response
    }

    public func updateContact(_ request: Waqtor_V1_UpdateContactRequest, context: ServerContext) async throws -> Waqtor_V1_UpdateContactResponse {
        let caller = try Caller.require()
        let input = request.contact ?? Waqtor_V1_Contact()
        let id: ContactID = try Validate.id(input.id, field: "contact.id")
        let allPaths = ["phone_number", "name", "attributes", "opted_out"]
        let paths = request.updatePaths.isEmpty ? allPaths : request.updatePaths
        for path in paths where !allPaths.contains(path) {
            throw RPCError(code: .invalidArgument, message: "update_paths: '\(path)' cannot be changed; use \(allPaths.joined(separator: ", "))")
        }
        var changes = ContactChanges(consentSource: .manual)
        if paths.contains("phone_number") {
            let region = try await defaultRegion(request.defaultRegion, caller: caller)
            changes.number = try ContactValidate.number(input.phoneNumber, region: region)
        }
        if paths.contains("name") { changes.name = try ContactValidate.name(input.name) }
        if paths.contains("attributes") { changes.attributes = try ContactValidate.attributes(input.attributes) }
        if paths.contains("opted_out") { changes.optedOut = input.optedOut }
        guard let contact = try await contacts.update(tenantID: caller.tenantID, id: id, changes) else { throw ContactValidate.notFound(id) }
        var response = Waqtor_V1_UpdateContactResponse()
        response.contact = ContactConvert.contact(contact)
        return response
    }

    public func deleteContact(_ request: Waqtor_V1_DeleteContactRequest, context: ServerContext) async throws -> Waqtor_V1_DeleteContactResponse {
        let caller = try Caller.require()
        let id: ContactID = try Validate.id(request.contactID, field: "contact_id")
        guard try await contacts.delete(tenantID: caller.tenantID, id: id) else { throw ContactValidate.notFound(id) }
        return Waqtor_V1_DeleteContactResponse()
    }

    public func listContacts(_ request: Waqtor_V1_ListContactsRequest, context: ServerContext) async throws -> Waqtor_V1_ListContactsResponse {
        let caller = try Caller.require()
        let size = try ContactValidate.pageSize(request.pageSize, maximum: 500)
        let cursor = try ContactValidate.cursor(request.pageToken, kind: ContactStore.cursorKind)
        var filter = ContactFilter(text: try Validate.text(request.query, field: "query", max: 200, required: false),
                                   includeOptedOut: request.includeOptedOut)
        if !request.listID.isEmpty { filter.listID = try Validate.id(request.listID, field: "list_id") }
        if !request.attributeKey.isEmpty {
            filter.attributeKey = try ContactValidate.attributeKey(request.attributeKey, field: "attribute_key")
            filter.attributeValue = try Validate.text(request.attributeValue, field: "attribute_value", max: 1000, required: false)
        } else if !request.attributeValue.isEmpty {
            throw RPCError(code: .invalidArgument, message: "attribute_value needs attribute_key")
        }
        let page = try await contacts.list(tenantID: caller.tenantID, filter: filter, after: cursor, limit: size)
        var response = Waqtor_V1_ListContactsResponse()
        response.contacts = page.items.map(ContactConvert.contact)
        response.nextPageToken = page.next?.token ?? ""
        return response
    }

    /// At most this many rows per ImportContacts call.
    static let maxImportRows = 10_000
    /// At most this many row errors in an answer (the rest are counted).
    static let maxImportErrors = 1000

    public func importContacts(_ request: Waqtor_V1_ImportContactsRequest, context: ServerContext) async throws -> Waqtor_V1_ImportContactsResponse {
        let caller = try Caller.require()
        let listID: ContactListID? = request.listID.isEmpty ? nil : try Validate.id(request.listID, field: "list_id")
        guard request.firstRowNumber >= 0 else { throw RPCError(code: .invalidArgument, message: "first_row_number must not be negative") }
        let region: String?
        if !request.defaultCountryCode.isEmpty && request.defaultRegion.isEmpty {
            let code = request.defaultCountryCode.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "+"))
            guard let number = Int(code), let found = PhoneNumber.region(forCountryCode: number) else {
                throw RPCError(code: .invalidArgument, message: "default_country_code '\(request.defaultCountryCode)' is not a country calling code such as 55 or 20")
            }
            region = found
        } else {
            region = try await defaultRegion(request.defaultRegion, caller: caller)
        }

        // The rows as written, with their numbers in the caller's file.
        var written: [ContactFileRow] = []
        var errors: [Waqtor_V1_ImportRowError] = []
        func refuse(_ row: Int, _ field: String, _ message: String) {
            var error = Waqtor_V1_ImportRowError()
            error.rowNumber = Int32(clamping: row)
            error.field = field
            error.message = message
            errors.append(error)
        }
        switch request.source {
        case .csvData(let data):
            let reader = try Self.csvReader(data)
            let offset = request.firstRowNumber > 0 ? Int(request.firstRowNumber) - 2 : 0
            while let next = reader.next() {
                switch next {
                case .success(var row):
                    row.rowNumber += offset
                    written.append(row)
                case .failure(let error):
                    refuse(error.row + offset, error.column, error.reason)
                }
                guard written.count + errors.count <= Self.maxImportRows else {
                    throw RPCError(code: .invalidArgument, message: "csv_data has more than \(Self.maxImportRows) rows; send the file in several calls (the CLI does)")
                }
            }
        case .rows(let rows):
            guard rows.contacts.count <= Self.maxImportRows else {
                throw RPCError(code: .invalidArgument, message: "rows has \(rows.contacts.count) contacts; at most \(Self.maxImportRows) per call")
            }
            let first = request.firstRowNumber > 0 ? Int(request.firstRowNumber) : 1
            for (index, contact) in rows.contacts.enumerated() {
                // opted_out has no "unset" in rows: true opts the contact out, false leaves its
                // consent as it is (an import never opts a contact back in).
                // An empty name is "not given": an update keeps the contact's name.
                written.append(ContactFileRow(
                    rowNumber: first + index, phoneNumber: contact.phoneNumber, name: contact.name.isEmpty ? nil : contact.name,
                    optedOut: contact.optedOut ? true : nil, attributes: contact.attributes.map { ($0.key, $0.value) }))
            }
        case nil:
            throw RPCError(code: .invalidArgument, message: "give the contacts as csv_data or rows")
        }

        // Each row parsed and checked (on every core: libphonenumber is most of the work), then,
        // in row order, a number seen before in this call is a duplicate.
        var good: [ImportRow] = []
        var seen: [String: Int] = [:]
        for checked in await Self.checkImportRows(written, region: region) {
            switch checked {
            case .failure(let refusal):
                refuse(refusal.row, refusal.field, refusal.message)
            case .success(let row):
                if let earlier = seen[row.number.e164] {
                    refuse(row.rowNumber, "phone_number", "\(row.number.e164) is also on row \(earlier); the row was skipped")
                    continue
                }
                seen[row.number.e164] = row.rowNumber
                good.append(row)
            }
        }

        let limit = try await quota.maximum(tenantID: caller.tenantID, .contacts)
        var outcome = ImportOutcome(imported: 0, updated: 0, unchanged: 0, overLimitRows: [])
        if !good.isEmpty {
            guard let done = try await contacts.importRows(
                tenantID: caller.tenantID, rows: good, updateExisting: request.updateExisting, listID: listID,
                limit: (limit.maximum, limit.planID))
            else {
                throw RPCError(code: .notFound, message: "no contact list \(request.listID) in this account")
            }
            outcome = done
        } else if let listID, try await contacts.getList(tenantID: caller.tenantID, id: listID) == nil {
            throw RPCError(code: .notFound, message: "no contact list \(listID) in this account")
        }
        for row in outcome.overLimitRows {
            refuse(row, "phone_number", "plan limit reached: the \(limit.planID) plan allows \(limit.maximum) contacts; the row was not imported")
        }
        errors.sort { $0.rowNumber < $1.rowNumber }
        var response = Waqtor_V1_ImportContactsResponse()
        response.importedCount = Int32(clamping: outcome.imported)
        response.updatedCount = Int32(clamping: outcome.updated)
        response.skippedCount = Int32(clamping: outcome.unchanged + errors.count)
        response.errors = Array(errors.prefix(Self.maxImportErrors))
        context.logger.info("contacts imported", metadata: [
            "imported": .stringConvertible(outcome.imported), "updated": .stringConvertible(outcome.updated),
            "skipped": .stringConvertible(outcome.unchanged + errors.count),
        ])
        return response
    }

    /// Why an import row was refused.
    struct ImportRefusal: Error {
        var row: Int
        var field: String
        var message: String
    }

    /// Each row's number parsed, its name and attributes checked, in the rows' order; the rows are
    /// cut in as many slices as there are cores (from 2,000 rows on).
    static func checkImportRows(_ rows: [ContactFileRow], region: String?) async -> [Result<ImportRow, ImportRefusal>] {
        await rows.concurrentMap(minimumSlice: 2000) { checkImportRow($0, region: region) }
    }

    static func checkImportRow(_ row: ContactFileRow, region: String?) -> Result<ImportRow, ImportRefusal> {
        func refusal(_ field: String, _ message: String) -> Result<ImportRow, ImportRefusal> {
            .failure(ImportRefusal(row: row.rowNumber, field: field, message: message))
        }
        let number: ContactNumber
        do {
            let parsed = try PhoneNumber.parse(row.phoneNumber, defaultRegion: region)
            number = ContactNumber(e164: parsed.e164, type: parsed.type.rawValue, region: parsed.region ?? "")
        } catch {
            return refusal("phone_number", error.message)
        }
        var name: String?
        if let raw = row.name {
            do { name = try ContactValidate.name(raw) } catch { return refusal("name", (error as? RPCError)?.message ?? "\(error)") }
        }
        var attributes: [String: String] = [:]
        for (key, value) in row.attributes {
            do {
                let key = try ContactValidate.attributeKey(key, field: "attribute")
                guard value.count <= 1000 else { return refusal(key, "the value is longer than 1000 characters") }
                attributes[key] = value
            } catch {
                return refusal(key, (error as? RPCError)?.message ?? "\(error)")
            }
        }
        guard attributes.count <= 50 else { return refusal("", "more than 50 attributes") }
        // An import opts contacts out but never back in (docs/CONTACTS.md, "Consent").
        return .success(ImportRow(rowNumber: row.rowNumber, number: number, name: name, attributes: attributes,
                                  optedOut: row.optedOut == true ? true : nil))
    }

    /// A reader over an import's CSV bytes, or INVALID_ARGUMENT saying what is wrong with its header.
    static func csvReader(_ bytes: [UInt8]) throws(RPCError) -> ContactFileReader {
        let opened = Result { () throws(ContactFileError) -> ContactFileReader in try ContactFileReader(data: Data(bytes)) }
        switch opened {
        case .success(let reader): return reader
        case .failure(let error): throw RPCError(code: .invalidArgument, message: "csv_data: \(error.reason)")
        }
    }

    // MARK: Lists

    public func createContactList(_ request: Waqtor_V1_CreateContactListRequest, context: ServerContext) async throws -> Waqtor_V1_CreateContactListResponse {
        let caller = try Caller.require()
        let name = try Validate.label(request.name, field: "name")
        let description = try Validate.text(request.description, field: "description", max: 1000, required: false)
        let list = try await contacts.createList(tenantID: caller.tenantID, name: name, description: description)
        var response = Waqtor_V1_CreateContactListResponse()
        response.contactList = ContactConvert.list(list)
        return response
    }

    public func listContactLists(_ request: Waqtor_V1_ListContactListsRequest, context: ServerContext) async throws -> Waqtor_V1_ListContactListsResponse {
        let caller = try Caller.require()
        let size = try ContactValidate.pageSize(request.pageSize, maximum: 100)
        let cursor = try ContactValidate.cursor(request.pageToken, kind: ContactStore.listCursorKind)
        let page = try await contacts.lists(tenantID: caller.tenantID, after: cursor, limit: size)
        var response = Waqtor_V1_ListContactListsResponse()
        response.contactLists = page.items.map(ContactConvert.list)
        response.nextPageToken = page.next?.token ?? ""
        return response
    }

    public func addContactsToList(_ request: Waqtor_V1_AddContactsToListRequest, context: ServerContext) async throws -> Waqtor_V1_AddContactsToListResponse {
        let caller = try Caller.require()
        let listID: ContactListID = try Validate.id(request.contactListID, field: "contact_list_id")
        let ids = try ContactValidate.contactIDs(request.contactIds)
        guard let (added, list) = try await contacts.addToList(tenantID: caller.tenantID, listID: listID, contactIDs: ids) else {
            throw RPCError(code: .notFound, message: "no contact list \(listID) in this account")
        }
        var response = Waqtor_V1_AddContactsToListResponse()
        response.addedCount = Int32(added)
        response.contactList = ContactConvert.list(list)
        return response
    }

    public func removeContactsFromList(_ request: Waqtor_V1_RemoveContactsFromListRequest, context: ServerContext) async throws -> Waqtor_V1_RemoveContactsFromListResponse {
        let caller = try Caller.require()
        let listID: ContactListID = try Validate.id(request.contactListID, field: "contact_list_id")
        let ids = try ContactValidate.contactIDs(request.contactIds)
        guard let (removed, list) = try await contacts.removeFromList(tenantID: caller.tenantID, listID: listID, contactIDs: ids) else {
            throw RPCError(code: .notFound, message: "no contact list \(listID) in this account")
        }
        var response = Waqtor_V1_RemoveContactsFromListResponse()
        response.removedCount = Int32(removed)
        response.contactList = ContactConvert.list(list)
        return response
    }

    // MARK: Campaigns

    static func notYet(_ method: String) -> RPCError {
        RPCError(code: .unimplemented, message: "CampaignService.\(method) is not served by this server version yet")
    }

    public func createCampaign(_ request: Waqtor_V1_CreateCampaignRequest, context: ServerContext) async throws -> Waqtor_V1_CreateCampaignResponse {
        let caller = try Caller.require()
        let profile = try await accountProfile(caller)
        let settings = try CampaignValidate.settings(request.campaign ?? Waqtor_V1_Campaign(), paths: nil, base: nil, timeZone: profile.timeZone)
        try await checkTemplate(settings, caller: caller)
        let campaign = try await campaigns.create(tenantID: caller.tenantID, settings: settings)
        context.logger.info("campaign created", metadata: ["campaign": .string(campaign.id.rawValue)])
        var response = Waqtor_V1_CreateCampaignResponse()
        response.campaign = CampaignConvert.campaign(campaign)
        return response
    }

    public func getCampaign(_ request: Waqtor_V1_GetCampaignRequest, context: ServerContext) async throws -> Waqtor_V1_GetCampaignResponse {
        let caller = try Caller.require()
        var response = Waqtor_V1_GetCampaignResponse()
        response.campaign = CampaignConvert.campaign(try await myCampaign(request.campaignID, caller))
        return response
    }

    public func listCampaigns(_ request: Waqtor_V1_ListCampaignsRequest, context: ServerContext) async throws -> Waqtor_V1_ListCampaignsResponse {
        let caller = try Caller.require()
        let size = try ContactValidate.pageSize(request.pageSize, maximum: 100)
        let cursor = try ContactValidate.cursor(request.pageToken, kind: CampaignStore.cursorKind)
        var filter = CampaignFilter(state: try CampaignConvert.state(request.state))
        if !request.instanceID.isEmpty { filter.instanceID = try Validate.id(request.instanceID, field: "instance_id") }
        let page = try await campaigns.list(tenantID: caller.tenantID, filter: filter, after: cursor, limit: size)
        var response = Waqtor_V1_ListCampaignsResponse()
        response.campaigns = page.items.map(CampaignConvert.campaign)
        response.nextPageToken = page.next?.token ?? ""
        return response
    }

    public func updateCampaign(_ request: Waqtor_V1_UpdateCampaignRequest, context: ServerContext) async throws -> Waqtor_V1_UpdateCampaignResponse {
        let caller = try Caller.require()
        let input = request.campaign ?? Waqtor_V1_Campaign()
        let current = try await myCampaign(input.id, caller, field: "campaign.id")
        _ = try current.lifecycle.applying(.edit)
        let profile = try await accountProfile(caller)
        let settings = try CampaignValidate.settings(
            input, paths: request.updatePaths.isEmpty ? nil : Set(request.updatePaths), base: current.settings, timeZone: profile.timeZone)
        try await checkTemplate(settings, caller: caller)
        guard let updated = try await campaigns.update(tenantID: caller.tenantID, id: current.id, settings: settings) else {
            throw RPCError(code: .notFound, message: "no campaign \(current.id) in this account")
        }
        var response = Waqtor_V1_UpdateCampaignResponse()
        response.campaign = CampaignConvert.campaign(updated)
        return response
    }

    public func previewCampaign(_ request: Waqtor_V1_PreviewCampaignRequest, context: ServerContext) async throws -> Waqtor_V1_PreviewCampaignResponse {
        let caller = try Caller.require()
        let campaign = try await myCampaign(request.campaignID, caller)
        guard (0...10).contains(request.sampleSize) else {
            throw RPCError(code: .invalidArgument, message: "sample_size must be from 0 to 10 (0: 3)")
        }
        let profile = try await accountProfile(caller)
        let zone = TimeZone(identifier: profile.timeZone) ?? TimeZone(identifier: "UTC")!
        let settings = campaign.settings
        let used = try Template.parse(settings.templateText).variableNames.subtracting(["name", "phone_number"])
        let audience = try await campaigns.audience(
            tenantID: caller.tenantID, lists: settings.listIDs, contacts: settings.contactIDs,
            sample: request.sampleSize == 0 ? 3 : Int(request.sampleSize), keys: used)
        let template = try CampaignValidate.template(settings.templateText, media: settings.media != nil, known: audience.attributeKeys)
        let maxLength = settings.media != nil ? TemplateLimits.mediaCaption : TemplateLimits.textBody
        var response = Waqtor_V1_PreviewCampaignResponse()
        var warnings: [String] = []
        for contact in audience.sample {
            var sample = Waqtor_V1_CampaignPreviewSample()
            sample.contactID = contact.id.rawValue
            sample.phoneNumber = contact.phoneNumber
            do {
                sample.text = try template.render(values: contact.templateValues, seed: CampaignSeed.of(campaign.id, contact.id), maxLength: maxLength)
            } catch {
                warnings.append("\(contact.phoneNumber): \(error.message)")
            }
            response.samples.append(sample)
        }
        response.recipientCount = Int64(audience.recipients)
        response.optedOutCount = Int64(audience.optedOut)
        response.duplicateCount = Int64(audience.duplicates)
        response.variantCount = Int64(clamping: template.variantCount)
        if template.lengthBounds.longestWithDefaults > maxLength {
            warnings.append("the longest variant may be over WhatsApp's \(maxLength)-character limit with long attribute values; such recipients are skipped")
        }

        let numbers = try await campaigns.numbers(tenantID: caller.tenantID, ids: settings.instanceIDs)
        let connected = numbers.filter(\.connected)
        for number in numbers where !number.connected {
            warnings.append("number \(number.id) is not connected: it will not send until it is paired")
        }
        response.connectedNumberCount = Int32(connected.count)
        if campaign.lifecycle.state.isFinal || campaign.lifecycle.materialized {
            // Over, or its audience taken already: nothing a start would do.
            warnings.append("the campaign is \(campaign.lifecycle.state.label): a preview shows what a start would send, and it \(campaign.lifecycle.state.isFinal ? "will not send again" : "has started already")")
            response.warnings = warnings
            return response
        }
        if audience.recipients == 0 { warnings.append("the audience has no one to send to") }
        let start = max(clock.now(), settings.schedule?.time ?? clock.now())
        let paces = connected.map { $0.pace(override: settings.pacing) }
        if audience.recipients > 0, let estimate = SendEstimate.estimate(recipients: audience.recipients, numbers: paces, start: start, zone: zone) {
            let duration = estimate.finish.timeIntervalSince(start)
            response.estimatedDurationSeconds = Int64(duration.rounded())
            response.estimatedFinishTime = Google_Protobuf_Timestamp(date: estimate.finish)
            response.estimate = SendEstimate.describe(
                duration: duration, numbers: paces.count, finish: estimate.finish, zone: zone, zoneName: profile.timeZone,
                quiet: estimate.pausesForQuietHours, capped: estimate.pausesForDailyCap)
        } else if audience.recipients > 0 {
            response.estimate = "no estimate: none of the campaign's numbers can send now"
        }
        response.warnings = warnings
        return response
    }

    public func startCampaign(_ request: Waqtor_V1_StartCampaignRequest, context: ServerContext) async throws -> Waqtor_V1_StartCampaignResponse {
        let caller = try Caller.require()
        let campaign = try await myCampaign(request.campaignID, caller)
        // The template again, against the audience as it is now; the attachment where it lives.
        try await checkTemplate(campaign.settings, caller: caller)
        if let media = campaign.settings.media, let mediaCheck { try await mediaCheck.check(media) }
        let started = try await transition(campaign, .start(scheduleTime: campaign.settings.schedule?.time, now: clock.now()), caller: caller)
        context.logger.info("campaign started", metadata: ["campaign": .string(campaign.id.rawValue), "state": .string(started.lifecycle.state.rawValue)])
        var response = Waqtor_V1_StartCampaignResponse()
        response.campaign = CampaignConvert.campaign(started)
        return response
    }

    public func pauseCampaign(_ request: Waqtor_V1_PauseCampaignRequest, context: ServerContext) async throws -> Waqtor_V1_PauseCampaignResponse {
        let caller = try Caller.require()
        let campaign = try await myCampaign(request.campaignID, caller)
        var response = Waqtor_V1_PauseCampaignResponse()
        response.campaign = CampaignConvert.campaign(try await transition(campaign, .pause(.byTenant), caller: caller))
        return response
    }

    public func resumeCampaign(_ request: Waqtor_V1_ResumeCampaignRequest, context: ServerContext) async throws -> Waqtor_V1_ResumeCampaignResponse {
        let caller = try Caller.require()
        let campaign = try await myCampaign(request.campaignID, caller)
        if !campaign.lifecycle.materialized {
            try await checkTemplate(campaign.settings, caller: caller)
            if let media = campaign.settings.media, let mediaCheck { try await mediaCheck.check(media) }
        }
        var response = Waqtor_V1_ResumeCampaignResponse()
        response.campaign = CampaignConvert.campaign(
            try await transition(campaign, .resume(scheduleTime: campaign.settings.schedule?.time, now: clock.now()), caller: caller))
        return response
    }

    public func cancelCampaign(_ request: Waqtor_V1_CancelCampaignRequest, context: ServerContext) async throws -> Waqtor_V1_CancelCampaignResponse {
        let caller = try Caller.require()
        let campaign = try await myCampaign(request.campaignID, caller)
        var response = Waqtor_V1_CancelCampaignResponse()
        response.campaign = CampaignConvert.campaign(try await transition(campaign, .cancel, caller: caller))
        return response
    }

    func transition(_ campaign: Campaign, _ event: CampaignEvent, caller: Principal) async throws -> Campaign {
        let context = StartContext(now: clock.now())
        guard let next = try await campaigns.apply(tenantID: caller.tenantID, id: campaign.id, event: event, context: context) else {
            throw RPCError(code: .notFound, message: "no campaign \(campaign.id) in this account")
        }
        return next
    }

    public func getCampaignProgress(_ request: Waqtor_V1_GetCampaignProgressRequest, context: ServerContext) async throws -> Waqtor_V1_GetCampaignProgressResponse {
        let caller = try Caller.require()
        var response = Waqtor_V1_GetCampaignProgressResponse()
        response.progress = try await progress(request.campaignID, caller: caller)
        return response
    }

    public func listRecipientResults(_ request: Waqtor_V1_ListRecipientResultsRequest, context: ServerContext) async throws -> Waqtor_V1_ListRecipientResultsResponse {
        let caller = try Caller.require()
        let id: CampaignID = try Validate.id(request.campaignID, field: "campaign_id")
        let size = try ContactValidate.pageSize(request.pageSize, maximum: 500)
        var cursor: PageCursor?
        if !request.pageToken.isEmpty {
            guard let parsed = PageCursor(token: request.pageToken, kind: CampaignStore.resultsCursorKind, count: 1), Int64(parsed.fields[0]) != nil else {
                throw RPCError(code: .invalidArgument, message: "page_token is not one this server issued for this listing; start again without it")
            }
            cursor = parsed
        }
        let state = try CampaignConvert.recipientState(request.state)
        guard let page = try await campaigns.results(tenantID: caller.tenantID, id: id, state: state, after: cursor, limit: size) else {
            throw RPCError(code: .notFound, message: "no campaign \(id) in this account")
        }
        var response = Waqtor_V1_ListRecipientResultsResponse()
        response.results = page.items.map(CampaignConvert.result)
        response.nextPageToken = page.next?.token ?? ""
        return response
    }

    public func watchProgress(_ request: Waqtor_V1_WatchProgressRequest, context: ServerContext, stream: ServerStreamWriter<Waqtor_V1_WatchProgressResponse>) async throws {
        let caller = try Caller.require()
        guard request.minIntervalMs == 0 || request.minIntervalMs >= 250 else {
            throw RPCError(code: .invalidArgument, message: "min_interval_ms must be 0 (1000) or at least 250")
        }
        let interval = Duration.milliseconds(request.minIntervalMs == 0 ? 1000 : Int64(request.minIntervalMs))
        // Snapshots come from PostgreSQL, so a watcher on any server sees every server's sends.
        // A draining server ends the stream cleanly (OK); the caller may watch again elsewhere.
        _ = try await context.cancelWhenDraining {
            while true {
                let snapshot = try await self.progress(request.campaignID, caller: caller)
                var message = Waqtor_V1_WatchProgressResponse()
                message.progress = snapshot
                try await stream.send(message)
                if [.completed, .cancelled, .failed].contains(snapshot.state) { return }
                try await self.clock.sleep(for: interval)
            }
        }
    }

    /// A progress snapshot from the counts table, with an estimated finish while it runs.
    func progress(_ raw: String, caller: Principal) async throws -> Waqtor_V1_CampaignProgress {
        let id: CampaignID = try Validate.id(raw, field: "campaign_id")
        guard let (campaign, counts) = try await campaigns.progress(tenantID: caller.tenantID, id: id) else {
            throw RPCError(code: .notFound, message: "no campaign \(id) in this account")
        }
        let now = clock.now()
        var p = Waqtor_V1_CampaignProgress()
        p.campaignID = id.rawValue
        p.state = CampaignConvert.state(campaign.lifecycle.state)
        p.totalCount = Int64(counts.total)
        p.pendingCount = Int64(counts.byState[.pending] ?? 0)
        p.queuedCount = Int64(counts.byState[.queued] ?? 0)
        p.sentCount = Int64(counts.byState[.sent] ?? 0)
        p.deliveredCount = Int64(counts.byState[.delivered] ?? 0)
        p.readCount = Int64(counts.byState[.read] ?? 0)
        p.failedCount = Int64(counts.byState[.failed] ?? 0)
        p.skippedCount = Int64(counts.byState[.skipped] ?? 0)
        p.cancelledCount = Int64(counts.byState[.cancelled] ?? 0)
        p.snapshotTime = Google_Protobuf_Timestamp(date: now)
        if campaign.lifecycle.state == .running, counts.unsent > 0 {
            let numbers = try await campaigns.numbers(tenantID: caller.tenantID, ids: campaign.settings.instanceIDs).filter(\.connected)
            let paces = numbers.map { $0.pace(override: campaign.settings.pacing) }
            let profile = try await accountProfile(caller)
            if let zone = TimeZone(identifier: profile.timeZone),
               let estimate = SendEstimate.estimate(recipients: counts.unsent, numbers: paces, start: now, zone: zone) {
                p.estimatedFinishTime = Google_Protobuf_Timestamp(date: estimate.finish)
            }
        }
        return p
    }


    /// The caller's campaign, or NOT_FOUND (also for another tenant's id).
    func myCampaign(_ raw: String, _ caller: Principal, field: String = "campaign_id") async throws -> Campaign {
        let id: CampaignID = try Validate.id(raw, field: field)
        guard let campaign = try await campaigns.get(tenantID: caller.tenantID, id: id) else {
            throw RPCError(code: .notFound, message: "no campaign \(id) in this account")
        }
        return campaign
    }

    func accountProfile(_ caller: Principal) async throws -> TenantProfile {
        guard let profile = try await tenants.profile(tenantID: caller.tenantID) else {
            throw RPCError(code: .notFound, message: "the account no longer exists")
        }
        return profile
    }

    /// The template parses, and uses only variables the audience's contacts have (or with a default).
    func checkTemplate(_ settings: CampaignSettings, caller: Principal) async throws {
        // Parse errors first; then only the attributes the template uses are looked for.
        let used = try Template.parse(settings.templateText).variableNames.subtracting(["name", "phone_number"])
        let known = try await campaigns.attributeKeys(tenantID: caller.tenantID, lists: settings.listIDs, contacts: settings.contactIDs, among: used)
        _ = try CampaignValidate.template(settings.templateText, media: settings.media != nil, known: known)
    }

    // MARK: Helpers

    /// The region numbers without "+" are read in: the request's, else the country of the
    /// account's time zone (nil when the zone has none, e.g. UTC: such numbers need a "+").
    func defaultRegion(_ raw: String, caller: Principal) async throws -> String? {
        let given = raw.trimmingCharacters(in: .whitespaces).uppercased()
        if !given.isEmpty {
            guard given.count == 2, PhoneNumber.isSupportedRegion(given) else {
                throw RPCError(code: .invalidArgument, message: "default_region '\(raw)' is not a region code such as BR, EG or PT")
            }
            return given
        }
        guard let profile = try await tenants.profile(tenantID: caller.tenantID) else { return nil }
        return PhoneNumber.defaultRegion(forTimeZone: profile.timeZone)
    }
}

/// Contact input checks (INVALID_ARGUMENT naming the field).
enum ContactValidate {
    static let reservedKeys: Set<String> = ["name", "phone_number"]

    static func number(_ raw: String, region: String?) throws -> ContactNumber {
        do {
            let parsed = try PhoneNumber.parse(raw, defaultRegion: region)
            return ContactNumber(e164: parsed.e164, type: parsed.type.rawValue, region: parsed.region ?? "")
        } catch {
            throw RPCError(code: .invalidArgument, message: "phone_number: \(error.message)")
        }
    }

    static func name(_ raw: String) throws -> String {
        let value = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard value.count <= 200 else { throw RPCError(code: .invalidArgument, message: "name is longer than 200 characters") }
        guard !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw RPCError(code: .invalidArgument, message: "name contains control characters")
        }
        return value
    }

    /// A custom attribute key: a letter or `_`, then letters, digits or `_` (so that it can be
    /// written as a {{variable}}), at most 64; not a built-in variable. Returned in lower case.
    static func attributeKey(_ raw: String, field: String) throws -> String {
        let key = raw.trimmingCharacters(in: .whitespaces)
        guard let first = key.unicodeScalars.first, key.unicodeScalars.count <= 64,
              first == "_" || (first.isASCII && first.properties.isAlphabetic),
              key.unicodeScalars.allSatisfy({ $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) })
        else {
            throw RPCError(code: .invalidArgument, message: "\(field) '\(raw)' is not an attribute name: use letters, digits and _ (starting with a letter or _), at most 64")
        }
        guard !reservedKeys.contains(key.lowercased()) else {
            throw RPCError(code: .invalidArgument, message: "\(field) '\(key)' is a built-in field, not an attribute; set the contact's \(key) instead")
        }
        // Template variables are case-insensitive (TEMPLATES.md): keys are stored in lower case.
        return key.lowercased()
    }

    static func attributes(_ pairs: [Waqtor_V1_KeyValue]) throws -> [String: String] {
        guard pairs.count <= 50 else { throw RPCError(code: .invalidArgument, message: "attributes: at most 50 per contact (\(pairs.count) given)") }
        var out: [String: String] = [:]
        for (index, pair) in pairs.enumerated() {
            let key = try attributeKey(pair.key, field: "attributes[\(index)].key")
            guard out[key] == nil else { throw RPCError(code: .invalidArgument, message: "attributes[\(index)].key '\(key)' is given twice") }
            guard pair.value.count <= 1000 else { throw RPCError(code: .invalidArgument, message: "attributes[\(index)].value is longer than 1000 characters") }
            out[key] = pair.value
        }
        return out
    }

    static func contactIDs(_ raw: [String]) throws -> [ContactID] {
        guard !raw.isEmpty else { throw RPCError(code: .invalidArgument, message: "contact_ids is empty") }
        guard raw.count <= 1000 else { throw RPCError(code: .invalidArgument, message: "contact_ids: at most 1000 per call (\(raw.count) given)") }
        return try raw.enumerated().map { index, id in try Validate.id(id, field: "contact_ids[\(index)]") }
    }

    static func pageSize(_ raw: Int32, maximum: Int) throws -> Int {
        guard raw >= 0 else { throw RPCError(code: .invalidArgument, message: "page_size must not be negative") }
        return raw == 0 ? 50 : min(Int(raw), maximum)
    }

    static func cursor(_ token: String, kind: String) throws -> PageCursor? {
        guard !token.isEmpty else { return nil }
        guard let cursor = PageCursor(token: token, kind: kind, count: 2) else {
            throw RPCError(code: .invalidArgument, message: "page_token is not one this server issued for this listing; start again without it")
        }
        return cursor
    }

    static func notFound(_ id: ContactID) -> RPCError {
        RPCError(code: .notFound, message: "no contact \(id) in this account")
    }
}

/// Contact values to API messages.
enum ContactConvert {
    static func contact(_ contact: Contact) -> Waqtor_V1_Contact {
        var value = Waqtor_V1_Contact()
        value.id = contact.id.rawValue
        value.phoneNumber = contact.number.e164
        value.phoneType = phoneType(contact.number.type)
        value.phoneRegion = contact.number.region
        value.name = contact.name
        value.attributes = contact.attributes.sorted { $0.key < $1.key }.map { key, v in
            var pair = Waqtor_V1_KeyValue()
            pair.key = key
            pair.value = v
            return pair
        }
        value.optedOut = contact.optedOut
        value.consentSource = switch contact.consentSource {
        case .manual: .manual
        case .import: .import
        case .inbound: .inbound
        }
        value.listIds = contact.listIDs.map(\.rawValue)
        value.createTime = Google_Protobuf_Timestamp(date: contact.createdAt)
        value.updateTime = Google_Protobuf_Timestamp(date: contact.updatedAt)
        value.optOutTime = contact.optOutTime.map { Google_Protobuf_Timestamp(date: $0) }
        return value
    }

    static func phoneType(_ stored: String) -> Waqtor_V1_PhoneNumberType {
        switch PhoneNumberType(rawValue: stored) ?? .unknown {
        case .fixedLine: .fixedLine
        case .mobile: .mobile
        case .fixedLineOrMobile: .fixedLineOrMobile
        case .tollFree: .tollFree
        case .premiumRate: .premiumRate
        case .sharedCost: .sharedCost
        case .voip: .voip
        case .personalNumber: .personalNumber
        case .pager: .pager
        case .uan: .uan
        case .voicemail: .voicemail
        case .unknown: .unknown
        }
    }

    static func list(_ list: ContactList) -> Waqtor_V1_ContactList {
        var value = Waqtor_V1_ContactList()
        value.id = list.id.rawValue
        value.name = list.name
        value.description = list.description
        value.contactCount = Int32(clamping: list.contactCount)
        value.createTime = Google_Protobuf_Timestamp(date: list.createdAt)
        return value
    }
}
