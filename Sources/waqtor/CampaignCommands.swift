import ArgumentParser
import Foundation
import WaqtorProto
import WaqtorRPC

/// `waqtor campaign …`: bulk campaigns (CampaignService's campaign calls).
struct CampaignCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "campaign",
        abstract: "Create, preview, start and follow bulk campaigns (CampaignService).",
        discussion: """
            Typical flow: `waqtor campaign create --name Promo --text 'Hi {{name}}' --list LIST_ID \
            --number INSTANCE_ID`, then `waqtor campaign preview ID`, `waqtor campaign start ID` \
            and `waqtor campaign watch ID`. Only a DRAFT (or SCHEDULED) campaign can be changed; a \
            campaign starts only with a connected number (docs/CAMPAIGNS.md).
            """,
        subcommands: [
            Create.self, List.self, Get.self, Update.self, Preview.self,
            Start.self, Pause.self, Resume.self, Cancel.self, Progress.self, Results.self, Watch.self,
        ])

    /// The campaign id argument shared by the subcommands.
    struct CampaignID: ParsableArguments {
        @Argument(help: ArgumentHelp("The campaign's id (see `waqtor campaign list`).", valueName: "id")) var id: String

        func validate() throws {
            if id.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("the campaign id is empty") }
        }
    }

    enum Policy: String, ExpressibleByArgument, CaseIterable {
        case wait, reassign
        var proto: Waqtor_V1_NumberUnavailablePolicy { self == .wait ? .wait : .reassign }
    }

    enum MediaKind: String, ExpressibleByArgument, CaseIterable {
        case image, video, audio, document
        var proto: Waqtor_V1_MediaKind {
            switch self {
            case .image: .image
            case .video: .video
            case .audio: .audio
            case .document: .document
            }
        }
    }

    enum State: String, ExpressibleByArgument, CaseIterable {
        case draft, scheduled, running, paused, completed, cancelled, failed
        var proto: Waqtor_V1_CampaignState {
            switch self {
            case .draft: .draft
            case .scheduled: .scheduled
            case .running: .running
            case .paused: .paused
            case .completed: .completed
            case .cancelled: .cancelled
            case .failed: .failed
            }
        }
    }

    enum RecipientState: String, ExpressibleByArgument, CaseIterable {
        case pending, queued, sent, delivered, read, failed, skipped, cancelled
        var proto: Waqtor_V1_RecipientState {
            switch self {
            case .pending: .pending
            case .queued: .queued
            case .sent: .sent
            case .delivered: .delivered
            case .read: .read
            case .failed: .failed
            case .skipped: .skipped
            case .cancelled: .cancelled
            }
        }
    }

    /// The settings of `create` and `update`. In `update`, each option given sends its field's
    /// update path, and only those.
    struct Settings: ParsableArguments {
        @Option(help: ArgumentHelp("The campaign's name.", valueName: "name")) var name: String?
        @Option(help: ArgumentHelp("The template: {{variables}}, {spin|tax} (docs/TEMPLATES.md).", valueName: "template"))
        var text: String?
        @Option(name: .customLong("text-file"), help: ArgumentHelp("Read the template from this UTF-8 file (- for stdin).", valueName: "file"), completion: .file())
        var textFile: String?
        @Option(name: .customLong("list"), help: ArgumentHelp("A contact list of the audience; repeat for more.", valueName: "list-id"))
        var listIDs: [String] = []
        @Option(name: .customLong("contact"), help: ArgumentHelp("A contact of the audience; repeat for more.", valueName: "contact-id"))
        var contactIDs: [String] = []
        @Option(name: .customLong("number"), help: ArgumentHelp("An instance (WhatsApp number) to send from; repeat for more, in order (1 to 20).", valueName: "instance-id"))
        var numbers: [String] = []
        @Option(name: .customLong("on-number-unavailable"), help: ArgumentHelp("What the unsent recipients of a number that drops out do: wait for it (default) or move to the other numbers.", valueName: "wait|reassign"))
        var onNumberUnavailable: Policy?
        @Option(help: ArgumentHelp("Start at this wall time in your account's time zone, e.g. 2026-03-29T09:00.", valueName: "YYYY-MM-DDTHH:MM[:SS]"))
        var at: String?
        @Option(name: .customLong("at-utc"), help: ArgumentHelp("Start at this instant instead, RFC 3339, e.g. 2026-03-29T07:00:00Z.", valueName: "rfc3339"))
        var atUTC: String?
        @Option(name: .customLong("min-delay-ms"), help: ArgumentHelp("Pacing override: the shortest gap between two sends of a number (1000-600000).", valueName: "ms"))
        var minDelayMs: Int32?
        @Option(name: .customLong("max-delay-ms"), help: ArgumentHelp("Pacing override: the longest gap (1000-600000).", valueName: "ms"))
        var maxDelayMs: Int32?
        @Option(name: .customLong("daily-cap"), help: ArgumentHelp("Pacing override: at most this many messages a day per number (0: the plan's limit).", valueName: "n"))
        var dailyCap: Int32?
        @Option(name: .customLong("media-url"), help: ArgumentHelp("Send this http(s) file with the text as its caption.", valueName: "url"))
        var mediaURL: String?
        @Option(name: .customLong("media-kind"), help: ArgumentHelp("How WhatsApp shows the media (default: from --media-type).", valueName: "image|video|audio|document"))
        var mediaKind: MediaKind?
        @Option(name: .customLong("media-type"), help: ArgumentHelp("The media's MIME type, e.g. image/jpeg or application/pdf.", valueName: "mime"))
        var mediaType: String?
        @Option(name: .customLong("media-file-name"), help: ArgumentHelp("The file name shown for a document.", valueName: "name"))
        var mediaFileName: String?

        func validate() throws {
            if let name, name.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--name is empty") }
            if text != nil, textFile != nil { throw ValidationError("--text and --text-file exclude each other") }
            if let textFile, textFile.isEmpty { throw ValidationError("--text-file is empty") }
            for (flag, ids) in [("--list", listIDs), ("--contact", contactIDs), ("--number", numbers)]
            where ids.contains(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
                throw ValidationError("\(flag) is empty")
            }
            if numbers.count > 20 { throw ValidationError("--number: at most 20 numbers, got \(numbers.count)") }
            if at != nil, atUTC != nil { throw ValidationError("--at and --at-utc exclude each other") }
            if let at { _ = try CampaignCommand.localTime(at) }
            if let atUTC { _ = try CampaignCommand.instant(atUTC) }
            for (flag, value) in [("--min-delay-ms", minDelayMs), ("--max-delay-ms", maxDelayMs)] {
                if let value, !(1000...600_000).contains(value) { throw ValidationError("\(flag) must be from 1000 to 600000, got \(value)") }
            }
            if let minDelayMs, let maxDelayMs, maxDelayMs < minDelayMs {
                throw ValidationError("--max-delay-ms (\(maxDelayMs)) is below --min-delay-ms (\(minDelayMs))")
            }
            if let dailyCap, !(0...100_000).contains(dailyCap) { throw ValidationError("--daily-cap must be from 0 to 100000, got \(dailyCap)") }
            if hasMedia {
                guard let mediaURL, !mediaURL.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw ValidationError("--media-kind, --media-type and --media-file-name need --media-url")
                }
                guard let url = URL(string: mediaURL), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil else {
                    throw ValidationError("--media-url must be an http(s) URL, got '\(mediaURL)'")
                }
            }
        }

        var hasText: Bool { text != nil || textFile != nil }
        var hasAudience: Bool { !listIDs.isEmpty || !contactIDs.isEmpty }
        var hasSchedule: Bool { at != nil || atUTC != nil }
        var hasPacing: Bool { minDelayMs != nil || maxDelayMs != nil || dailyCap != nil }
        var hasMedia: Bool { mediaURL != nil || mediaKind != nil || mediaType != nil || mediaFileName != nil }

        /// The template from --text or --text-file (a local failure: exit 64 for a missing file).
        func templateText() throws(CLIFailure) -> String? {
            if let text { return text }
            guard let textFile else { return nil }
            let data: Data?
            if textFile == "-" {
                data = FileHandle.standardInput.readDataToEndOfFile()
            } else {
                data = FileManager.default.contents(atPath: textFile)
            }
            guard let data else { throw CLIFailure(message: "cannot read --text-file \(textFile)", status: Output.ExitStatus.usage) }
            guard let string = String(data: data, encoding: .utf8) else {
                throw CLIFailure(message: "--text-file \(textFile) is not UTF-8", status: Output.ExitStatus.usage)
            }
            // A file's final line break is not part of the message.
            return string.hasSuffix("\r\n") ? String(string.dropLast(2)) : string.hasSuffix("\n") ? String(string.dropLast()) : string
        }

        /// The campaign with the given fields set, and their update paths.
        func campaign(id: String = "") throws -> (Waqtor_V1_Campaign, [String]) {
            var c = Waqtor_V1_Campaign()
            c.id = id
            var paths: [String] = []
            if let name { c.name = name; paths.append("name") }
            if let text = try templateText() { c.templateText = text; paths.append("template_text") }
            if hasAudience {
                var audience = Waqtor_V1_CampaignAudience()
                audience.contactListIds = listIDs
                audience.contactIds = contactIDs
                c.audience = audience
                paths.append("audience")
            }
            if !numbers.isEmpty { c.instanceIds = numbers; paths.append("instance_ids") }
            if let onNumberUnavailable { c.onNumberUnavailable = onNumberUnavailable.proto; paths.append("on_number_unavailable") }
            if let at { c.scheduleLocalTime = try CampaignCommand.localTime(at); paths.append("schedule_local_time") }
            if let atUTC { c.scheduleTime = try CampaignCommand.instant(atUTC); paths.append("schedule_time") }
            if hasPacing {
                var pacing = Waqtor_V1_PacingSettings()
                pacing.minDelayMs = minDelayMs ?? 0
                pacing.maxDelayMs = maxDelayMs ?? 0
                pacing.dailyCap = dailyCap ?? 0
                c.pacingOverride = pacing
                paths.append("pacing_override")
            }
            if hasMedia {
                var media = Waqtor_V1_Media()
                media.url = mediaURL?.trimmingCharacters(in: .whitespaces) ?? ""
                media.kind = mediaKind?.proto ?? .unspecified
                media.mimeType = mediaType ?? ""
                media.fileName = mediaFileName ?? ""
                c.media = media
                paths.append("media")
            }
            return (c, paths)
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create",
            abstract: "Create a campaign, in DRAFT (CampaignService.CreateCampaign).",
            discussion: """
                Needs --name, the template (--text or --text-file) and at least one --number. The \
                audience is the union of the --list lists and --contact contacts, each contact once, \
                opted-out contacts left out. --at is a wall time in your account's time zone \
                (schedule_local_time); --at-utc an instant. The server checks the template's \
                variables against the audience's contacts (docs/TEMPLATES.md). Nothing is sent \
                before `waqtor campaign start`.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @OptionGroup var settings: Settings

        func validate() throws {
            if settings.name == nil { throw ValidationError("--name is required") }
            if !settings.hasText { throw ValidationError("give the template with --text or --text-file") }
            if settings.numbers.isEmpty { throw ValidationError("give at least one --number (an instance id, see `waqtor instance list`)") }
        }

        func run() async throws {
            let global = self.global
            let (campaign, _) = try CampaignCommand.local(global) { () throws(CLIFailure) in
                do { return try settings.campaign() } catch let failure as CLIFailure { throw failure } catch {
                    throw CLIFailure(message: "\(error)", status: Output.ExitStatus.usage)
                }
            }
            var request = Waqtor_V1_CreateCampaignRequest()
            request.campaign = campaign
            let sent = request
            let response = try await global.withCampaignClient(auth) { campaigns, options in
                try await campaigns.createCampaign(sent, options: options)
            }
            CampaignCommand.printCampaign(response.campaign, json: global.json)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List campaigns, newest first (CampaignService.ListCampaigns).",
            discussion: "--all follows the pages to the end (100 a call unless --page-size) and prints them all.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @Option(help: ArgumentHelp("Only campaigns in this state.", valueName: State.allCases.map(\.rawValue).joined(separator: "|")))
        var state: State?
        @Option(name: .customLong("number"), help: ArgumentHelp("Only campaigns of this instance.", valueName: "instance-id"))
        var number: String?
        @OptionGroup var page: PageOptions
        @Flag(help: "Follow the next page tokens to the end and print every campaign.") var all = false

        func validate() throws {
            if let number, number.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--number is empty") }
        }

        func run() async throws {
            let global = self.global
            var request = Waqtor_V1_ListCampaignsRequest()
            request.pageSize = all && page.pageSize == 0 ? 100 : page.pageSize
            request.pageToken = page.pageToken
            request.state = state?.proto ?? .unspecified
            request.instanceID = number ?? ""
            let first = request
            let all = self.all
            let progress = ProgressLine("listing", unit: .items("campaigns"), enabled: all && global.showsProgress)
            let (campaigns, next) = try await global.withCampaignClient(auth) { client, options in
                var request = first
                var campaigns: [Waqtor_V1_Campaign] = []
                defer { progress.clear() }
                while true {
                    let response = try await client.listCampaigns(request, options: options)
                    campaigns += response.campaigns
                    progress.update(Int64(campaigns.count))
                    if !all || response.nextPageToken.isEmpty { return (campaigns, response.nextPageToken) }
                    request.pageToken = response.nextPageToken
                }
            }
            if global.json {
                struct Body: Encodable {
                    var campaigns: [CampaignJSON.Campaign]
                    var nextPageToken: String
                    enum CodingKeys: String, CodingKey { case campaigns, nextPageToken = "next_page_token" }
                }
                Output.json(Body(campaigns: campaigns.map(CampaignJSON.Campaign.init), nextPageToken: next))
            } else {
                Output.table(
                    ["ID", "NAME", "STATE", "NUMBERS", "SCHEDULE", "CREATED", "DETAIL"],
                    campaigns.map {
                        [$0.id, $0.name, Names.campaignState($0.state), String(CampaignCommand.numbers($0).count),
                         CampaignCommand.scheduleText($0), Output.time($0.createTime), $0.stateDetail]
                    })
                Output.nextPage(next)
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "get", abstract: "Show one campaign (CampaignService.GetCampaign).")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @OptionGroup var campaign: CampaignID

        func run() async throws {
            let global = self.global
            var request = Waqtor_V1_GetCampaignRequest()
            request.campaignID = campaign.id
            let sent = request
            let response = try await global.withCampaignClient(auth) { campaigns, options in
                try await campaigns.getCampaign(sent, options: options)
            }
            CampaignCommand.printCampaign(response.campaign, json: global.json)
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "update",
            abstract: "Change a DRAFT or SCHEDULED campaign (CampaignService.UpdateCampaign).",
            discussion: """
                Changes exactly the fields of the options given (update_paths) and shows the \
                result. --list and --contact together REPLACE the whole audience (give both to \
                keep both kinds); the pacing options replace the whole pacing override (an option \
                left out is the default); the media options replace the whole media. --no-media, \
                --no-schedule and --no-pacing remove them.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @OptionGroup var campaign: CampaignID
        @OptionGroup var settings: Settings
        @Flag(name: .customLong("no-media"), help: "Send the text alone.") var noMedia = false
        @Flag(name: .customLong("no-schedule"), help: "Remove the schedule: a start sends at once.") var noSchedule = false
        @Flag(name: .customLong("no-pacing"), help: "Remove the pacing override: the numbers' own pacing applies.") var noPacing = false

        func validate() throws {
            if noMedia, settings.hasMedia { throw ValidationError("--no-media excludes the media options") }
            if noSchedule, settings.hasSchedule { throw ValidationError("--no-schedule excludes --at and --at-utc") }
            if noPacing, settings.hasPacing { throw ValidationError("--no-pacing excludes the pacing options") }
            let s = settings
            if s.name == nil, !s.hasText, !s.hasAudience, s.numbers.isEmpty, s.onNumberUnavailable == nil, !s.hasSchedule,
               !s.hasPacing, !s.hasMedia, !noMedia, !noSchedule, !noPacing {
                throw ValidationError("nothing to change: give at least one option (see --help)")
            }
        }

        func run() async throws {
            let global = self.global
            var (campaign, paths) = try CampaignCommand.local(global) { () throws(CLIFailure) in
                do { return try settings.campaign(id: self.campaign.id) } catch let failure as CLIFailure { throw failure } catch {
                    throw CLIFailure(message: "\(error)", status: Output.ExitStatus.usage)
                }
            }
            if noMedia { paths.append("media") }
            if noSchedule { paths += ["schedule_time", "schedule_local_time"] }
            if noPacing { paths.append("pacing_override") }
            var request = Waqtor_V1_UpdateCampaignRequest()
            request.campaign = campaign
            request.updatePaths = paths
            let sent = request
            let response = try await global.withCampaignClient(auth) { campaigns, options in
                try await campaigns.updateCampaign(sent, options: options)
            }
            CampaignCommand.printCampaign(response.campaign, json: global.json)
        }
    }

    struct Preview: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "preview",
            abstract: "Show what a campaign would send (CampaignService.PreviewCampaign).",
            discussion: """
                The template rendered for the first recipients (the exact texts they would get), \
                the audience after duplicates and opt-outs, how many texts the spintax can \
                produce, the connected numbers, how long sending would take, and warnings.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @OptionGroup var campaign: CampaignID
        @Option(help: ArgumentHelp("Render the template for this many recipients (1 to 10; default 3).", valueName: "n"))
        var samples: Int32?

        func validate() throws {
            if let samples, !(1...10).contains(samples) { throw ValidationError("--samples must be from 1 to 10, got \(samples)") }
        }

        func run() async throws {
            let global = self.global
            var request = Waqtor_V1_PreviewCampaignRequest()
            request.campaignID = campaign.id
            request.sampleSize = samples ?? 0
            let sent = request
            let p = try await global.withCampaignClient(auth) { campaigns, options in
                try await campaigns.previewCampaign(sent, options: options)
            }
            if global.json {
                Output.json(CampaignJSON.Preview(p))
                return
            }
            if p.samples.isEmpty {
                Output.line("samples: (none)")
            }
            for (index, sample) in p.samples.enumerated() {
                Output.line("sample \(index + 1) to \(sample.phoneNumber) (\(sample.contactID)):")
                for line in sample.text.split(separator: "\n", omittingEmptySubsequences: false) { Output.line("  " + line) }
            }
            Output.line("")
            Output.fields([
                ("recipients", String(p.recipientCount)), ("opted out", String(p.optedOutCount)),
                ("duplicates", String(p.duplicateCount)), ("variants", String(p.variantCount)),
                ("connected numbers", String(p.connectedNumberCount)), ("estimate", p.estimate),
                ("estimated finish", Output.time(p.estimatedFinishTime)),
            ])
            for warning in p.warnings { Output.line("warning: \(warning)") }
        }
    }

    /// Start, pause, resume and cancel: one id, the campaign back.
    struct Transition: ParsableArguments {
        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @OptionGroup var campaign: CampaignID

        /// Makes the call and prints the campaign it answers with (which it returns).
        @discardableResult
        func run(_ call: @escaping @Sendable (Waqtor_V1_CampaignServiceClient, String, CallOptions) async throws -> Waqtor_V1_Campaign?) async throws -> Waqtor_V1_Campaign? {
            let global = self.global
            let id = campaign.id
            let result = try await global.withCampaignClient(auth) { campaigns, options in
                try await CampaignCommand.namingNumbers(campaigns, id, options) { try await call(campaigns, id, options) }
            }
            if global.json {
                struct Body: Encodable { var campaign: CampaignJSON.Campaign? }
                Output.json(Body(campaign: result.map(CampaignJSON.Campaign.init)))
            } else if let c = result {
                let state = Names.campaignState(c.state)
                var line = "campaign \(c.name) (\(c.id)) is " + Terminal.paint(state, Terminal.statusStyle(state), enabled: Terminal.stdoutColours)
                if !c.stateDetail.isEmpty { line += ": \(c.stateDetail)" }
                if c.state == .scheduled, let time = c.scheduleTime {
                    line += "; it starts at " + (c.scheduleLocalTime.isEmpty ? Output.rfc3339(time) : "\(c.scheduleLocalTime) (\(Output.rfc3339(time)))")
                }
                Output.line(line)
            }
            return result
        }
    }

    /// Runs a call that refuses to run a campaign none of whose numbers is connected; on that
    /// refusal, looks the campaign's numbers up, so that the hint names the ones to pair.
    static func namingNumbers<T>(
        _ campaigns: Waqtor_V1_CampaignServiceClient, _ id: String, _ options: CallOptions, _ call: () async throws -> T
    ) async throws -> T {
        do {
            return try await call()
        } catch let error as RPCError where error.code == .failedPrecondition && error.message.contains("connected") {
            var get = Waqtor_V1_GetCampaignRequest()
            get.campaignID = id
            if let campaign = try? await campaigns.getCampaign(get, options: options).campaign {
                Hints.update { $0.instanceIDs = CampaignCommand.numbers(campaign) }
            }
            throw error
        }
    }

    /// `--watch` of `start` and `resume`: follow the campaign until it ends, as `watch` does.
    struct Following: ParsableArguments {
        @Flag(help: "Then follow its progress until it ends, as `waqtor campaign watch` does (a progress bar on a terminal).")
        var watch = false
        @Option(name: .customLong("interval-ms"), help: ArgumentHelp("With --watch: the shortest time between two snapshots (at least 250; default 1000).", valueName: "ms"))
        var intervalMs: Int32?

        func validate() throws {
            if let intervalMs, intervalMs < 250 { throw ValidationError("--interval-ms must be at least 250, got \(intervalMs)") }
            if intervalMs != nil, !watch { throw ValidationError("--interval-ms needs --watch") }
        }

        /// After the transition: follows a campaign that is under way (not one that already ended).
        func follow(_ campaign: Waqtor_V1_Campaign?, _ transition: Transition) async throws {
            guard watch, let campaign, !WatchView.final(campaign.state) else { return }
            try await CampaignCommand.follow(campaign.id, intervalMs: intervalMs, global: transition.global, auth: transition.auth)
        }
    }

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "start", abstract: "Start a DRAFT campaign (CampaignService.StartCampaign).",
            discussion: """
                It runs at once (RUNNING), or at its schedule time (SCHEDULED). It needs a \
                connected number and an audience with contacts (FAILED_PRECONDITION otherwise). \
                With --watch the command then waits until the campaign ends, showing its \
                progress as `waqtor campaign watch` does.
                """)
        @OptionGroup var transition: Transition
        @OptionGroup var following: Following
        func run() async throws {
            let campaign = try await transition.run { campaigns, id, options in
                var request = Waqtor_V1_StartCampaignRequest()
                request.campaignID = id
                return try await campaigns.startCampaign(request, options: options).campaign
            }
            try await following.follow(campaign, transition)
        }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pause", abstract: "Pause a SCHEDULED or RUNNING campaign (CampaignService.PauseCampaign).")
        @OptionGroup var transition: Transition
        func run() async throws {
            try await transition.run { campaigns, id, options in
                var request = Waqtor_V1_PauseCampaignRequest()
                request.campaignID = id
                return try await campaigns.pauseCampaign(request, options: options).campaign
            }
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "resume", abstract: "Resume a PAUSED campaign (CampaignService.ResumeCampaign).",
            discussion: "With --watch the command then waits until the campaign ends, as `waqtor campaign watch` does.")
        @OptionGroup var transition: Transition
        @OptionGroup var following: Following
        func run() async throws {
            let campaign = try await transition.run { campaigns, id, options in
                var request = Waqtor_V1_ResumeCampaignRequest()
                request.campaignID = id
                return try await campaigns.resumeCampaign(request, options: options).campaign
            }
            try await following.follow(campaign, transition)
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cancel", abstract: "Cancel a campaign; unsent messages are not sent (CampaignService.CancelCampaign).",
            discussion: "Final: a cancelled campaign cannot be resumed. No confirmation is asked.")
        @OptionGroup var transition: Transition
        func run() async throws {
            try await transition.run { campaigns, id, options in
                var request = Waqtor_V1_CancelCampaignRequest()
                request.campaignID = id
                return try await campaigns.cancelCampaign(request, options: options).campaign
            }
        }
    }

    struct Progress: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "progress", abstract: "Show a campaign's counts per recipient state (CampaignService.GetCampaignProgress).")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @OptionGroup var campaign: CampaignID

        func run() async throws {
            let global = self.global
            var request = Waqtor_V1_GetCampaignProgressRequest()
            request.campaignID = campaign.id
            let sent = request
            let response = try await global.withCampaignClient(auth) { campaigns, options in
                try await campaigns.getCampaignProgress(sent, options: options)
            }
            let p = response.progress ?? Waqtor_V1_CampaignProgress()
            if global.json {
                Output.json(CampaignJSON.ProgressBody(progress: CampaignJSON.Progress(p)))
                return
            }
            Output.fields([
                ("state", Names.campaignState(p.state)), ("total", String(p.totalCount)),
                ("pending", String(p.pendingCount)), ("queued", String(p.queuedCount)), ("sent", String(p.sentCount)),
                ("delivered", String(p.deliveredCount)), ("read", String(p.readCount)), ("failed", String(p.failedCount)),
                ("skipped", String(p.skippedCount)), ("cancelled", String(p.cancelledCount)),
                ("counted at", Output.time(p.snapshotTime)), ("estimated finish", Output.time(p.estimatedFinishTime)),
            ])
        }
    }

    struct Results: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "results",
            abstract: "List a campaign's recipients and what happened to each (CampaignService.ListRecipientResults).",
            discussion: "In send order. --all follows the pages to the end (500 a call unless --page-size).")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @OptionGroup var campaign: CampaignID
        @Option(help: ArgumentHelp("Only recipients in this state.", valueName: RecipientState.allCases.map(\.rawValue).joined(separator: "|")))
        var state: RecipientState?
        @Option(name: .customLong("page-size"), help: ArgumentHelp("At most this many recipients per page (0: the server's default; at most 500).", valueName: "n"))
        var pageSize: Int32 = 0
        @Option(name: .customLong("page-token"), help: ArgumentHelp("Continue after an earlier listing (its next page token).", valueName: "token"))
        var pageToken: String = ""
        @Flag(help: "Follow the next page tokens to the end and print every recipient.") var all = false

        func validate() throws {
            guard (0...500).contains(pageSize) else { throw ValidationError("--page-size must be from 0 to 500, got \(pageSize)") }
        }

        func run() async throws {
            let global = self.global
            var request = Waqtor_V1_ListRecipientResultsRequest()
            request.campaignID = campaign.id
            request.state = state?.proto ?? .unspecified
            request.pageSize = all && pageSize == 0 ? 500 : pageSize
            request.pageToken = pageToken
            let first = request
            let all = self.all
            // --all reads the recipients 500 a call: the count so far, against the campaign's
            // total when the progress call tells it.
            let progress = ProgressLine("listing", unit: .items("recipients"), enabled: all && global.showsProgress)
            let campaignID = campaign.id
            let (results, next) = try await global.withCampaignClient(auth) { campaigns, options in
                var request = first
                var results: [Waqtor_V1_RecipientResult] = []
                defer { progress.clear() }
                if progress.enabled, first.state == .unspecified {
                    var total = Waqtor_V1_GetCampaignProgressRequest()
                    total.campaignID = campaignID
                    progress.setTotal(try? await campaigns.getCampaignProgress(total, options: options).progress?.totalCount)
                }
                while true {
                    let response = try await campaigns.listRecipientResults(request, options: options)
                    results += response.results
                    progress.update(Int64(results.count))
                    if !all || response.nextPageToken.isEmpty { return (results, response.nextPageToken) }
                    request.pageToken = response.nextPageToken
                }
            }
            if global.json {
                struct Body: Encodable {
                    var results: [CampaignJSON.Result]
                    var nextPageToken: String
                    enum CodingKeys: String, CodingKey { case results, nextPageToken = "next_page_token" }
                }
                Output.json(Body(results: results.map(CampaignJSON.Result.init), nextPageToken: next))
            } else {
                Output.table(
                    ["PHONE", "STATE", "ERROR", "ATTEMPTS", "UPDATED"],
                    results.map { [$0.phoneNumber, Names.recipientState($0.state), $0.error, String($0.attemptCount), Output.time($0.updateTime)] })
                Output.nextPage(next)
            }
        }
    }

    // MARK: - Helpers

    /// Runs a local step; a failure is reported like a call's and exits with its status.
    static func local<T>(_ global: GlobalOptions, _ body: () throws(CLIFailure) -> T) throws -> T {
        do {
            return try body()
        } catch {
            Output.reportFailure(error, json: global.json)
            throw ExitCode(error.status)
        }
    }

    /// `YYYY-MM-DDTHH:MM[:SS]` (a space instead of the T is taken too); the server reads it in the
    /// account's zone.
    static func localTime(_ text: String) throws -> String {
        let value = text.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: " ", with: "T")
        let pattern = #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$"#
        guard value.range(of: pattern, options: .regularExpression) != nil else {
            throw ValidationError("--at must be a wall time such as 2026-03-29T09:00 (your account's time zone), got '\(text)'")
        }
        return value
    }

    /// An RFC 3339 instant, with or without fractional seconds.
    static func instant(_ text: String) throws -> Google_Protobuf_Timestamp {
        let withFraction = ISO8601DateFormatter()
        withFraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        let value = text.trimmingCharacters(in: .whitespaces)
        guard let date = plain.date(from: value) ?? withFraction.date(from: value) else {
            throw ValidationError("--at-utc must be an RFC 3339 time such as 2026-03-29T07:00:00Z, got '\(text)'")
        }
        return Google_Protobuf_Timestamp(date: date)
    }

    static func numbers(_ c: Waqtor_V1_Campaign) -> [String] {
        c.instanceIds.isEmpty ? (c.instanceID.isEmpty ? [] : [c.instanceID]) : c.instanceIds
    }

    /// `2026-03-29T09:00 (2026-03-29T07:00:00.000000Z)`, or the instant alone, or "".
    static func scheduleText(_ c: Waqtor_V1_Campaign) -> String {
        guard let time = c.scheduleTime else { return c.scheduleLocalTime }
        return c.scheduleLocalTime.isEmpty ? Output.rfc3339(time) : "\(c.scheduleLocalTime) (\(Output.rfc3339(time)))"
    }

    static func printCampaign(_ campaign: Waqtor_V1_Campaign?, json: Bool) {
        if json {
            struct Body: Encodable { var campaign: CampaignJSON.Campaign? }
            Output.json(Body(campaign: campaign.map(CampaignJSON.Campaign.init)))
            return
        }
        guard let c = campaign else { return }
        var pacing = ""
        if let p = c.pacingOverride {
            pacing = "gaps \(p.minDelayMs)-\(p.maxDelayMs) ms, daily cap " + (p.dailyCap == 0 ? "the plan's" : String(p.dailyCap))
        }
        var media = ""
        if let m = c.media {
            media = [Names.mediaKind(m.kind), m.mimeType, m.url, m.fileName].filter { !$0.isEmpty }.joined(separator: " ")
        }
        Output.fields([
            ("id", c.id), ("name", c.name), ("state", Names.campaignState(c.state)), ("detail", c.stateDetail),
            ("numbers", numbers(c).joined(separator: ", ")),
            ("on number unavailable", Names.numberPolicy(c.onNumberUnavailable)),
            ("lists", c.audience?.contactListIds.joined(separator: ", ") ?? ""),
            ("contacts", c.audience?.contactIds.joined(separator: ", ") ?? ""),
            ("schedule", scheduleText(c)), ("pacing", pacing), ("media", media),
            ("text", c.templateText.replacingOccurrences(of: "\n", with: "\n    ")),
            ("created", Output.time(c.createTime)), ("updated", Output.time(c.updateTime)),
            ("started", Output.time(c.startTime)), ("finished", Output.time(c.finishTime)),
        ])
    }
}

/// JSON shapes of the campaign messages, with the conventions of ``TenantJSON`` (proto field
/// names, enums as lower-case words, times RFC 3339, unset times left out).
enum CampaignJSON {
    struct Campaign: Encodable {
        struct Media: Encodable {
            var kind, url, mimeType, fileName: String
            enum CodingKeys: String, CodingKey { case kind, url, mimeType = "mime_type", fileName = "file_name" }
        }
        struct Audience: Encodable {
            var contactListIDs, contactIDs: [String]
            enum CodingKeys: String, CodingKey { case contactListIDs = "contact_list_ids", contactIDs = "contact_ids" }
        }
        struct Pacing: Encodable {
            var minDelayMs, maxDelayMs, dailyCap: Int32
            enum CodingKeys: String, CodingKey { case minDelayMs = "min_delay_ms", maxDelayMs = "max_delay_ms", dailyCap = "daily_cap" }
        }
        var id, name, state, stateDetail, templateText: String
        var media: Media?
        var audience: Audience
        var instanceID: String
        var instanceIDs: [String]
        var onNumberUnavailable: String
        var scheduleTime: String?
        var scheduleLocalTime: String
        var pacingOverride: Pacing?
        var createTime, updateTime, startTime, finishTime: String?
        enum CodingKeys: String, CodingKey {
            case id, name, state, media, audience
            case stateDetail = "state_detail", templateText = "template_text", instanceID = "instance_id"
            case instanceIDs = "instance_ids", onNumberUnavailable = "on_number_unavailable", scheduleTime = "schedule_time"
            case scheduleLocalTime = "schedule_local_time", pacingOverride = "pacing_override", createTime = "create_time"
            case updateTime = "update_time", startTime = "start_time", finishTime = "finish_time"
        }
        init(_ c: Waqtor_V1_Campaign) {
            id = c.id; name = c.name; state = Names.campaignState(c.state); stateDetail = c.stateDetail
            templateText = c.templateText
            media = c.media.map { Media(kind: Names.mediaKind($0.kind), url: $0.url, mimeType: $0.mimeType, fileName: $0.fileName) }
            audience = Audience(contactListIDs: c.audience?.contactListIds ?? [], contactIDs: c.audience?.contactIds ?? [])
            instanceIDs = CampaignCommand.numbers(c); instanceID = c.instanceID.isEmpty ? instanceIDs.first ?? "" : c.instanceID
            onNumberUnavailable = Names.numberPolicy(c.onNumberUnavailable)
            scheduleTime = c.scheduleTime.map(Output.rfc3339); scheduleLocalTime = c.scheduleLocalTime
            pacingOverride = c.pacingOverride.map { Pacing(minDelayMs: $0.minDelayMs, maxDelayMs: $0.maxDelayMs, dailyCap: $0.dailyCap) }
            createTime = c.createTime.map(Output.rfc3339); updateTime = c.updateTime.map(Output.rfc3339)
            startTime = c.startTime.map(Output.rfc3339); finishTime = c.finishTime.map(Output.rfc3339)
        }
    }

    struct Progress: Encodable {
        var campaignID, state: String
        var totalCount, pendingCount, queuedCount, sentCount, deliveredCount, readCount, failedCount, skippedCount, cancelledCount: Int64
        var snapshotTime, estimatedFinishTime: String?
        enum CodingKeys: String, CodingKey {
            case state
            case campaignID = "campaign_id", totalCount = "total_count", pendingCount = "pending_count", queuedCount = "queued_count"
            case sentCount = "sent_count", deliveredCount = "delivered_count", readCount = "read_count", failedCount = "failed_count"
            case skippedCount = "skipped_count", cancelledCount = "cancelled_count", snapshotTime = "snapshot_time"
            case estimatedFinishTime = "estimated_finish_time"
        }
        init(_ p: Waqtor_V1_CampaignProgress) {
            campaignID = p.campaignID; state = Names.campaignState(p.state); totalCount = p.totalCount
            pendingCount = p.pendingCount; queuedCount = p.queuedCount; sentCount = p.sentCount; deliveredCount = p.deliveredCount
            readCount = p.readCount; failedCount = p.failedCount; skippedCount = p.skippedCount; cancelledCount = p.cancelledCount
            snapshotTime = p.snapshotTime.map(Output.rfc3339); estimatedFinishTime = p.estimatedFinishTime.map(Output.rfc3339)
        }
    }

    struct ProgressBody: Encodable { var progress: Progress }

    struct Result: Encodable {
        var contactID, phoneNumber, state, messageID, error: String
        var attemptCount: Int32
        var updateTime, sendTime: String?
        enum CodingKeys: String, CodingKey {
            case state, error
            case contactID = "contact_id", phoneNumber = "phone_number", messageID = "message_id", attemptCount = "attempt_count"
            case updateTime = "update_time", sendTime = "send_time"
        }
        init(_ r: Waqtor_V1_RecipientResult) {
            contactID = r.contactID; phoneNumber = r.phoneNumber; state = Names.recipientState(r.state); messageID = r.messageID
            error = r.error; attemptCount = r.attemptCount
            updateTime = r.updateTime.map(Output.rfc3339); sendTime = r.sendTime.map(Output.rfc3339)
        }
    }

    struct Preview: Encodable {
        struct Sample: Encodable {
            var contactID, phoneNumber, text: String
            enum CodingKeys: String, CodingKey { case text, contactID = "contact_id", phoneNumber = "phone_number" }
        }
        var samples: [Sample]
        var recipientCount, optedOutCount, duplicateCount, variantCount: Int64
        var connectedNumberCount: Int32
        var estimatedDurationSeconds: Int64
        var estimatedFinishTime: String?
        var estimate: String
        var warnings: [String]
        enum CodingKeys: String, CodingKey {
            case samples, estimate, warnings
            case recipientCount = "recipient_count", optedOutCount = "opted_out_count", duplicateCount = "duplicate_count"
            case variantCount = "variant_count", connectedNumberCount = "connected_number_count"
            case estimatedDurationSeconds = "estimated_duration_seconds", estimatedFinishTime = "estimated_finish_time"
        }
        init(_ p: Waqtor_V1_PreviewCampaignResponse) {
            samples = p.samples.map { Sample(contactID: $0.contactID, phoneNumber: $0.phoneNumber, text: $0.text) }
            recipientCount = p.recipientCount; optedOutCount = p.optedOutCount; duplicateCount = p.duplicateCount
            variantCount = p.variantCount; connectedNumberCount = p.connectedNumberCount
            estimatedDurationSeconds = p.estimatedDurationSeconds; estimatedFinishTime = p.estimatedFinishTime.map(Output.rfc3339)
            estimate = p.estimate; warnings = p.warnings
        }
    }
}

extension Names {
    static func campaignState(_ state: Waqtor_V1_CampaignState) -> String {
        switch state {
        case .unspecified: "unspecified"
        case .draft: "draft"
        case .scheduled: "scheduled"
        case .running: "running"
        case .paused: "paused"
        case .completed: "completed"
        case .cancelled: "cancelled"
        case .failed: "failed"
        case .UNRECOGNIZED(let value): "unknown(\(value))"
        }
    }

    static func recipientState(_ state: Waqtor_V1_RecipientState) -> String {
        switch state {
        case .unspecified: "unspecified"
        case .pending: "pending"
        case .queued: "queued"
        case .sent: "sent"
        case .delivered: "delivered"
        case .read: "read"
        case .failed: "failed"
        case .skipped: "skipped"
        case .cancelled: "cancelled"
        case .UNRECOGNIZED(let value): "unknown(\(value))"
        }
    }

    static func numberPolicy(_ policy: Waqtor_V1_NumberUnavailablePolicy) -> String {
        switch policy {
        case .unspecified, .wait: "wait"
        case .reassign: "reassign"
        case .UNRECOGNIZED(let value): "unknown(\(value))"
        }
    }

    static func mediaKind(_ kind: Waqtor_V1_MediaKind) -> String {
        switch kind {
        case .unspecified: "unspecified"
        case .image: "image"
        case .video: "video"
        case .audio: "audio"
        case .document: "document"
        case .sticker: "sticker"
        case .UNRECOGNIZED(let value): "unknown(\(value))"
        }
    }
}
