import Foundation
import Testing
@testable import WaqtorApp
@testable import WaqtorAPI
import WaqtorCore
import WaqtorCampaigns
import WaqtorInstances
import WaqtorPostgres
import WaqtorTenants
import WaqtorProto
import WaqtorRPC
import WaqtorTestSupport

@Suite("CampaignService: preparing and previewing campaigns over RPC")
struct CampaignServiceTests {
    /// An account (Africa/Cairo) with a WhatsApp number, a list of `count` contacts (one opted out,
    /// one also named by id) and the campaign client.
    static func prepared(_ app: WaqtorApplication, _ client: RPCClient, count: Int = 6)
        async throws -> (account: Account, campaigns: Waqtor_V1_CampaignServiceClient, list: String, contacts: [String], instance: String)
    {
        let account = try await signUp(Waqtor_V1_TenantServiceClient(client: client))
        let campaigns = Waqtor_V1_CampaignServiceClient(client: client)
        let instance = try await app.instances.create(tenantID: TenantID(trusted: account.tenant.id), displayName: "Sales")
        var create = Waqtor_V1_CreateContactListRequest()
        create.name = "Customers"
        let list = try #require(try await campaigns.createContactList(create, options: account.auth).contactList).id
        var ids: [String] = []
        for i in 0..<count {
            let contact = try await campaigns.createContact(
                newContact("+5511987652\(String(format: "%03d", i))", name: "Client \(i)", attributes: i % 2 == 0 ? ["city": "Recife"] : [:],
                           optedOut: i == 1), options: account.auth).contact
            ids.append(try #require(contact).id)
        }
        var add = Waqtor_V1_AddContactsToListRequest()
        add.contactListID = list
        add.contactIds = ids
        _ = try await campaigns.addContactsToList(add, options: account.auth)
        return (account, campaigns, list, ids, instance.instance.id.rawValue)
    }

    static func campaign(name: String = "Launch", text: String, list: String, contacts: [String] = [], instance: String) -> Waqtor_V1_Campaign {
        var c = Waqtor_V1_Campaign()
        c.name = name
        c.templateText = text
        var audience = Waqtor_V1_CampaignAudience()
        audience.contactListIds = [list]
        audience.contactIds = contacts
        c.audience = audience
        c.instanceID = instance
        return c
    }

    @Test("create, get, list and update a draft; template errors name their position; another account's ids are NOT_FOUND")
    func drafts() async throws {
        try await withApplication(tenantTestConfiguration()) { app, client in
            let p = try await Self.prepared(app, client)
            var create = Waqtor_V1_CreateCampaignRequest()
            create.campaign = Self.campaign(text: "{Hi|Hello} {{name|there}}, news from {{city|your city}}!", list: p.list, instance: p.instance)
            let made = try #require(try await p.campaigns.createCampaign(create, options: p.account.auth).campaign)
            #expect(made.state == .draft && made.instanceIds == [p.instance] && made.instanceID == p.instance)
            #expect(made.audience?.contactListIds == [p.list] && made.onNumberUnavailable == .wait)

            var get = Waqtor_V1_GetCampaignRequest()
            get.campaignID = made.id
            #expect(try await p.campaigns.getCampaign(get, options: p.account.auth).campaign == made)
            let other = try await signUp(Waqtor_V1_TenantServiceClient(client: client), name: "Other")
            #expect(await rpcCode { _ = try await p.campaigns.getCampaign(get, options: other.auth) } == .notFound)
            var foreign = create
            foreign.campaign = Self.campaign(text: "hi", list: p.list, instance: p.instance)
            let refused = await rpcError { _ = try await p.campaigns.createCampaign(foreign, options: other.auth) }
            #expect(refused?.code == .notFound && refused?.message.contains("contact list") == true, "\(refused?.message ?? "")")

            for (text, fragment) in [("Hi {{name", "line 1, column 4"), ("{Hi||Hello}", "line 1"), ("Hi {{shoe_size}}", "shoe_size"), ("{only}", "line 1")] {
                var bad = create
                bad.campaign = Self.campaign(text: text, list: p.list, instance: p.instance)
                let error = await rpcError { _ = try await p.campaigns.createCampaign(bad, options: p.account.auth) }
                #expect(error?.code == .invalidArgument && error?.message.contains(fragment) == true, "\(text): \(error?.message ?? "")")
            }

            var update = Waqtor_V1_UpdateCampaignRequest()
            var changed = made
            changed.name = "Launch v2"
            changed.scheduleLocalTime = "2026-03-27T02:30"
            update.campaign = changed
            update.updatePaths = ["name", "schedule_local_time"]
            let updated = try #require(try await p.campaigns.updateCampaign(update, options: p.account.auth).campaign)
            #expect(updated.name == "Launch v2" && updated.templateText == made.templateText)
            #expect(updated.scheduleLocalTime == "2026-03-27T02:30:00")
            // Cairo is UTC+2 in March (before its summer time starts on the last Friday of April).
            #expect(updated.scheduleTime?.date == Date(timeIntervalSince1970: 1_774_571_400))
            update.updatePaths = ["state"]
            #expect(await rpcCode { _ = try await p.campaigns.updateCampaign(update, options: p.account.auth) } == .invalidArgument)

            for i in 0..<4 {
                create.campaign = Self.campaign(name: "C\(i)", text: "Hi {{name}}", list: p.list, instance: p.instance)
                _ = try await p.campaigns.createCampaign(create, options: p.account.auth)
            }
            var listRequest = Waqtor_V1_ListCampaignsRequest()
            listRequest.pageSize = 2
            var names: [String] = []
            repeat {
                let page = try await p.campaigns.listCampaigns(listRequest, options: p.account.auth)
                names += page.campaigns.map(\.name)
                listRequest.pageToken = page.nextPageToken
            } while !listRequest.pageToken.isEmpty
            #expect(names == ["C3", "C2", "C1", "C0", "Launch v2"], "newest first, every campaign once")
            listRequest.state = .running
            #expect(try await p.campaigns.listCampaigns(listRequest, options: p.account.auth).campaigns.isEmpty)

        }
    }

    @Test("preview: rendered samples, the audience after duplicates and opt-outs, variants and an estimate at the numbers' pacing")
    func preview() async throws {
        try await withApplication(tenantTestConfiguration()) { app, client in
            let p = try await Self.prepared(app, client, count: 6)
            var create = Waqtor_V1_CreateCampaignRequest()
            // Contact 0 is named twice (list and id); contact 1 opted out.
            create.campaign = Self.campaign(text: "{Hi|Hello|Hey} {{name}} from {{city|Cairo}}", list: p.list, contacts: [p.contacts[0]], instance: p.instance)
            let made = try #require(try await p.campaigns.createCampaign(create, options: p.account.auth).campaign)
            var request = Waqtor_V1_PreviewCampaignRequest()
            request.campaignID = made.id
            request.sampleSize = 5
            let preview = try await p.campaigns.previewCampaign(request, options: p.account.auth)
            #expect(preview.recipientCount == 5 && preview.optedOutCount == 1 && preview.duplicateCount == 1)
            #expect(preview.variantCount == 3)
            #expect(preview.samples.count == 5)
            for sample in preview.samples {
                let index = try #require(p.contacts.firstIndex(of: sample.contactID))
                let city = index % 2 == 0 ? "Recife" : "Cairo"
                #expect(["Hi", "Hello", "Hey"].contains { sample.text == "\($0) Client \(index) from \(city)" }, "\(sample.text)")
            }
            let again = try await p.campaigns.previewCampaign(request, options: p.account.auth)
            #expect(again.samples.map(\.text) == preview.samples.map(\.text), "the same recipient gets the same text")
            // The number is not connected: no estimate, and a warning that says so.
            #expect(preview.connectedNumberCount == 0 && preview.estimatedDurationSeconds == 0)
            #expect(preview.warnings.contains { $0.contains("not connected") })

            // Once it is open: 5 recipients at the default 3-9 s gaps, one number.
            _ = try await app.instances.updateConnection(tenantID: TenantID(trusted: p.account.tenant.id), id: InstanceID(trusted: p.instance),
                                                         .event(.connection(.open, reason: 200), at: nil))
            let connected = try await p.campaigns.previewCampaign(request, options: p.account.auth)
            #expect(connected.connectedNumberCount == 1)
            #expect(connected.estimatedDurationSeconds == 24, "four gaps of 6 s")
            #expect(connected.estimate.hasPrefix("under a minute on 1 number, ending") && connected.estimate.hasSuffix("(Africa/Cairo)"), "\(connected.estimate)")
        }
    }

    @Test("start materialises the audience (each contact once, opt-outs skipped, texts fixed, a number each); pause, resume, cancel; progress, results and a watch that ends with the campaign")
    func lifecycle() async throws {
        try await withApplication(tenantTestConfiguration()) { app, client in
            let p = try await Self.prepared(app, client, count: 6)
            var create = Waqtor_V1_CreateCampaignRequest()
            create.campaign = Self.campaign(text: "{Hi|Hello} {{name}}", list: p.list, contacts: [p.contacts[0]], instance: p.instance)
            let made = try #require(try await p.campaigns.createCampaign(create, options: p.account.auth).campaign)
            var start = Waqtor_V1_StartCampaignRequest()
            start.campaignID = made.id
            let offline = await rpcError { _ = try await p.campaigns.startCampaign(start, options: p.account.auth) }
            #expect(offline?.code == .failedPrecondition && offline?.message.contains("connected") == true, "\(offline?.message ?? "")")

            _ = try await app.instances.updateConnection(tenantID: TenantID(trusted: p.account.tenant.id), id: InstanceID(trusted: p.instance),
                                                         .event(.connection(.open, reason: 200), at: nil))
            var preview = Waqtor_V1_PreviewCampaignRequest()
            preview.campaignID = made.id
            preview.sampleSize = 10
            let previewed = try await p.campaigns.previewCampaign(preview, options: p.account.auth)
            let running = try #require(try await p.campaigns.startCampaign(start, options: p.account.auth).campaign)
            #expect(running.state == .running && running.startTime != nil)
            #expect(await rpcError { _ = try await p.campaigns.startCampaign(start, options: p.account.auth) }?.message.contains("RUNNING") == true)

            var progressRequest = Waqtor_V1_GetCampaignProgressRequest()
            progressRequest.campaignID = made.id
            let progress = try #require(try await p.campaigns.getCampaignProgress(progressRequest, options: p.account.auth).progress)
            #expect(progress.totalCount == 6 && progress.pendingCount == 5 && progress.skippedCount == 1, "\(progress)")

            var results = Waqtor_V1_ListRecipientResultsRequest()
            results.campaignID = made.id
            results.pageSize = 4
            var all: [Waqtor_V1_RecipientResult] = []
            repeat {
                let page = try await p.campaigns.listRecipientResults(results, options: p.account.auth)
                all += page.results
                results.pageToken = page.nextPageToken
            } while !results.pageToken.isEmpty
            #expect(all.count == 6 && Set(all.map(\.contactID)) == Set(p.contacts), "each contact once, though named twice")
            #expect(all.first { $0.contactID == p.contacts[1] }?.state == .skipped)
            #expect(all.first { $0.contactID == p.contacts[1] }?.error == "opted out")
            results.state = .pending
            results.pageToken = ""
            results.pageSize = 10
            #expect(try await p.campaigns.listRecipientResults(results, options: p.account.auth).results.count == 5)

            // The texts fixed at start are the preview's, recipient by recipient.
            let fixed = try await app.postgres.withTransaction(tenant: TenantID(trusted: p.account.tenant.id)) { tx in
                try await tx.query("SELECT contact_id::text AS c, rendered_text, instance_id::text AS i FROM campaign_recipients WHERE state = 'pending'")
            }
            for row in fixed {
                let sample = try #require(previewed.samples.first { $0.contactID == row["c"].string })
                #expect(row["rendered_text"].string == sample.text)
                #expect(row["i"].string == p.instance)
            }

            // Opting out during the campaign skips the contact's unsent message (here: contact 2).
            var optOut = Waqtor_V1_UpdateContactRequest()
            var contact = Waqtor_V1_Contact()
            contact.id = p.contacts[2]
            contact.optedOut = true
            optOut.contact = contact
            optOut.updatePaths = ["opted_out"]
            _ = try await p.campaigns.updateContact(optOut, options: p.account.auth)
            let afterOptOut = try #require(try await p.campaigns.getCampaignProgress(progressRequest, options: p.account.auth).progress)
            #expect(afterOptOut.pendingCount == 4 && afterOptOut.skippedCount == 2, "\(afterOptOut)")
            var skipped = Waqtor_V1_ListRecipientResultsRequest()
            skipped.campaignID = made.id
            skipped.state = .skipped
            #expect(try await p.campaigns.listRecipientResults(skipped, options: p.account.auth).results
                .first { $0.contactID == p.contacts[2] }?.error == "opted out")

            var pause = Waqtor_V1_PauseCampaignRequest()
            pause.campaignID = made.id
            let paused = try #require(try await p.campaigns.pauseCampaign(pause, options: p.account.auth).campaign)
            #expect(paused.state == .paused && paused.stateDetail == "paused by the account")
            var resume = Waqtor_V1_ResumeCampaignRequest()
            resume.campaignID = made.id
            #expect(try await p.campaigns.resumeCampaign(resume, options: p.account.auth).campaign?.state == .running)

            // A watcher sees a snapshot at once, and the stream ends after the cancellation's.
            var watch = Waqtor_V1_WatchProgressRequest()
            watch.campaignID = made.id
            watch.minIntervalMs = 250
            let stream = p.campaigns.watchProgress(watch, options: p.account.auth)
            var iterator = stream.makeAsyncIterator()
            let first = try #require(try await iterator.next()?.progress)
            #expect(first.state == .running && first.pendingCount == 4)
            var cancel = Waqtor_V1_CancelCampaignRequest()
            cancel.campaignID = made.id
            let cancelled = try #require(try await p.campaigns.cancelCampaign(cancel, options: p.account.auth).campaign)
            #expect(cancelled.state == .cancelled && cancelled.finishTime != nil)
            var last = first
            while let next = try await iterator.next() { last = try #require(next.progress) }
            #expect(last.state == .cancelled && last.cancelledCount == 4 && last.pendingCount == 0 && last.skippedCount == 2)

            let again = await rpcError { _ = try await p.campaigns.startCampaign(start, options: p.account.auth) }
            #expect(again?.code == .failedPrecondition && again?.message.contains("CANCELLED") == true)
            let other = try await signUp(Waqtor_V1_TenantServiceClient(client: client), name: "Other")
            #expect(await rpcCode { _ = try await p.campaigns.getCampaignProgress(progressRequest, options: other.auth) } == .notFound)
            #expect(await rpcCode { _ = try await p.campaigns.cancelCampaign(cancel, options: other.auth) } == .notFound)
        }
    }

    @Test("a start with a schedule ahead waits (SCHEDULED, nothing materialised); a paused scheduled campaign resumes to SCHEDULED")
    func scheduled() async throws {
        try await withApplication(tenantTestConfiguration()) { app, client in
            let p = try await Self.prepared(app, client, count: 2)
            var create = Waqtor_V1_CreateCampaignRequest()
            var c = Self.campaign(text: "Hi {{name}}", list: p.list, instance: p.instance)
            c.scheduleTime = Google_Protobuf_Timestamp(date: Date().addingTimeInterval(86_400))
            create.campaign = c
            let made = try #require(try await p.campaigns.createCampaign(create, options: p.account.auth).campaign)
            var start = Waqtor_V1_StartCampaignRequest()
            start.campaignID = made.id
            #expect(try await p.campaigns.startCampaign(start, options: p.account.auth).campaign?.state == .scheduled)
            // Given as an instant, shown back as a wall time in the account's zone (Cairo) too.
            let wall = LocalDateTime(c.scheduleTime!.date, in: TimeZone(identifier: "Africa/Cairo")!).description
            #expect(made.scheduleLocalTime == wall)
            var progress = Waqtor_V1_GetCampaignProgressRequest()
            progress.campaignID = made.id
            #expect(try await p.campaigns.getCampaignProgress(progress, options: p.account.auth).progress?.totalCount == 0)
            var pause = Waqtor_V1_PauseCampaignRequest()
            pause.campaignID = made.id
            _ = try await p.campaigns.pauseCampaign(pause, options: p.account.auth)
            var resume = Waqtor_V1_ResumeCampaignRequest()
            resume.campaignID = made.id
            #expect(try await p.campaigns.resumeCampaign(resume, options: p.account.auth).campaign?.state == .scheduled)
            var update = Waqtor_V1_UpdateCampaignRequest()
            var changed = made
            changed.name = "Renamed while scheduled"
            update.campaign = changed
            update.updatePaths = ["name"]
            #expect(try await p.campaigns.updateCampaign(update, options: p.account.auth).campaign?.name == "Renamed while scheduled")
        }
    }

    @Test("a schedule typed as a wall time in a spring-forward gap starts an hour's gap later; in a fall-back overlap, at the first one; shown back as typed")
    func schedulesAcrossDST() async throws {
        try await withApplication(tenantTestConfiguration()) { app, client in
            let p = try await Self.prepared(app, client, count: 2)
            var profile = Waqtor_V1_UpdateProfileRequest()
            profile.timeZone = "Europe/Berlin"
            profile.updatePaths = ["time_zone"]
            _ = try await Waqtor_V1_TenantServiceClient(client: client).updateProfile(profile, options: p.account.auth)
            func create(_ wall: String) async throws -> Waqtor_V1_Campaign {
                var create = Waqtor_V1_CreateCampaignRequest()
                var c = Self.campaign(name: "At \(wall)", text: "Hi {{name}}", list: p.list, instance: p.instance)
                c.scheduleLocalTime = wall
                create.campaign = c
                return try #require(try await p.campaigns.createCampaign(create, options: p.account.auth).campaign)
            }
            func utc(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }
            // 2027-03-28 in Berlin: 02:00 CET becomes 03:00 CEST; 02:30 never happens.
            let gap = try await create("2027-03-28T02:30")
            #expect(gap.scheduleTime?.date == utc("2027-03-28T01:30:00Z"), "read as 03:30 CEST")
            #expect(gap.scheduleLocalTime == "2027-03-28T02:30:00", "shown as typed")
            // 2027-10-31 in Berlin: 03:00 CEST becomes 02:00 CET; 02:30 happens twice.
            let overlap = try await create("2027-10-31T02:30")
            #expect(overlap.scheduleTime?.date == utc("2027-10-31T00:30:00Z"), "the first 02:30 (CEST)")
            #expect(overlap.scheduleLocalTime == "2027-10-31T02:30:00")
            // An ordinary time either side.
            let summer = try await create("2027-07-01T09:00")
            #expect(summer.scheduleTime?.date == utc("2027-07-01T07:00:00Z"))
        }
    }
}
