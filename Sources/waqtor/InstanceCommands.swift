import ArgumentParser
import Foundation
import WaqtorProto
import WaqtorRPC

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `waqtor instance …`: the tenant's WhatsApp numbers (InstanceService).
struct InstanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "instance",
        abstract: "Connect and manage your WhatsApp numbers (InstanceService).",
        discussion: """
            Typical flow: `waqtor instance create --name Sales`, then `waqtor instance qr ID` \
            (scan the saved PNG in WhatsApp > Linked devices, or use --phone for a pairing code), \
            then `waqtor instance state ID` until it says open.
            """,
        subcommands: [Create.self, List.self, Get.self, QR.self, State.self, Settings.self, Logout.self, Delete.self])

    /// The instance id argument shared by the subcommands.
    struct InstanceID: ParsableArguments {
        @Argument(help: ArgumentHelp("The instance's id (see `waqtor instance list`).", valueName: "id")) var id: String

        func validate() throws {
            if id.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("the instance id is empty") }
            // Hints of this command's errors name the number (e.g. "pair the number first:
            // waqtor instance qr ID"); parsing is the one place every instance command passes.
            let id = self.id
            Hints.update { $0.instanceIDs = [id] }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create",
            abstract: "Create an instance for a WhatsApp number (InstanceService.CreateInstance).",
            discussion: "Pair it next with `waqtor instance qr ID`. The number of instances is limited by your plan.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @Option(help: ArgumentHelp("A label for the number, e.g. Sales.", valueName: "name")) var name: String
        @Option(help: ArgumentHelp("The number in E.164, e.g. +201001234567 (needed later for pairing codes).", valueName: "e164"))
        var phone: String?

        func validate() throws {
            if name.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--name is empty") }
            if let phone { try InstanceCommand.validatePhone(phone) }
        }

        func run() async throws {
            let global = self.global
            var request = Waqtor_V1_CreateInstanceRequest()
            request.displayName = name
            request.phoneNumber = phone ?? ""
            let sent = request
            let response = try await global.withInstanceClient(auth) { instances, options in
                try await instances.createInstance(sent, options: options)
            }
            if global.json {
                InstanceCommand.printInstanceJSON(response.instance)
                return
            }
            guard let instance = response.instance else { return }
            Output.fields([
                ("id", instance.id), ("name", instance.displayName), ("phone", instance.phoneNumber),
                ("gateway name", instance.gatewayInstanceName), ("state", Names.connectionState(instance.state)),
            ])
            Output.line("next: pair the number with `waqtor instance qr \(instance.id)`"
                + " (or `waqtor instance qr \(instance.id) --phone +…` for a pairing code)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List your instances, oldest first (InstanceService.ListInstances).")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @OptionGroup var page: PageOptions

        func run() async throws {
            let global = self.global
            var request = Waqtor_V1_ListInstancesRequest()
            request.pageSize = page.pageSize
            request.pageToken = page.pageToken
            let sent = request
            let response = try await global.withInstanceClient(auth) { instances, options in
                try await instances.listInstances(sent, options: options)
            }
            if global.json {
                struct Body: Encodable {
                    var instances: [InstanceJSON.Instance]
                    var nextPageToken: String
                    enum CodingKeys: String, CodingKey { case instances, nextPageToken = "next_page_token" }
                }
                Output.json(Body(instances: response.instances.map(InstanceJSON.Instance.init), nextPageToken: response.nextPageToken))
            } else {
                Output.table(
                    ["ID", "NAME", "PHONE", "STATE", "SINCE"],
                    response.instances.map {
                        [$0.id, $0.displayName, $0.phoneNumber, Names.instanceState($0), Output.time($0.stateChangeTime)]
                    })
                Output.nextPage(response.nextPageToken)
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "get", abstract: "Show one instance (InstanceService.GetInstance).")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @OptionGroup var instance: InstanceID

        func run() async throws {
            let global = self.global
            var request = Waqtor_V1_GetInstanceRequest()
            request.instanceID = instance.id
            let sent = request
            let response = try await global.withInstanceClient(auth) { instances, options in
                try await instances.getInstance(sent, options: options)
            }
            if global.json {
                InstanceCommand.printInstanceJSON(response.instance)
            } else if let instance = response.instance {
                Output.fields([
                    ("id", instance.id), ("name", instance.displayName), ("phone", instance.phoneNumber),
                    ("profile name", instance.profileName), ("state", Names.instanceState(instance)),
                    ("since", Output.time(instance.stateChangeTime)), ("gateway name", instance.gatewayInstanceName),
                    ("created", Output.time(instance.createTime)), ("updated", Output.time(instance.updateTime)),
                ])
                if let pacing = instance.pacing {
                    Output.line("pacing:")
                    Output.pacingFields(pacing, indent: "  ")
                }
            }
        }
    }

    struct QR: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "qr",
            abstract: "Get the QR code (saved as a PNG) or a pairing code to link the number (InstanceService.GetQrCode).",
            discussion: """
                Without --phone: saves the QR code as a PNG (mode 0600) and prints where, plus the \
                raw code; scan it in WhatsApp > Settings > Linked devices > Link a device. With \
                --phone: prints the 8-character pairing code to type in WhatsApp instead (Link with \
                phone number). Codes expire after a short while: run the command again for a new \
                one. When the number is already connected, says so and saves nothing.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @OptionGroup var instance: InstanceID
        @Option(help: ArgumentHelp("The number to pair, in E.164: ask for a pairing code instead of a QR code.", valueName: "e164"))
        var phone: String?
        @Option(help: ArgumentHelp("Where to save the PNG (default ./waqtor-qr-<id>.png).", valueName: "file.png"), completion: .file(extensions: ["png"]))
        var out: String?

        func validate() throws {
            if let phone { try InstanceCommand.validatePhone(phone) }
            if phone != nil, out != nil { throw ValidationError("--out and --phone exclude each other (--phone prints a pairing code, no PNG)") }
            if let out, out.isEmpty { throw ValidationError("--out is empty") }
        }

        func run() async throws {
            let global = self.global
            var request = Waqtor_V1_GetQrCodeRequest()
            request.instanceID = instance.id
            request.phoneNumber = phone ?? ""
            let sent = request
            let response = try await global.withInstanceClient(auth) { instances, options in
                try await instances.getQrCode(sent, options: options)
            }
            let state = Names.connectionState(response.state)
            let expires = response.expireTime.map(Output.rfc3339)
            struct Body: Encodable {
                var instanceID, state: String
                var qrCode, pairingCode, qrPngFile, expireTime: String?
                enum CodingKeys: String, CodingKey {
                    case state
                    case instanceID = "instance_id", qrCode = "qr_code", pairingCode = "pairing_code"
                    case qrPngFile = "qr_png_file", expireTime = "expire_time"
                }
            }
            var body = Body(instanceID: instance.id, state: state, expireTime: expires)
            if response.state == .open {
                if global.json { Output.json(body) } else { Output.line("instance \(instance.id) is already connected (open); nothing to pair") }
                return
            }
            if phone != nil {
                guard !response.pairingCode.isEmpty else {
                    try fail("the server returned no pairing code (state \(state))", global: global)
                    return
                }
                body.pairingCode = response.pairingCode
                if global.json { Output.json(body); return }
                Output.line("pairing code: \(InstanceCommand.groupedPairingCode(response.pairingCode))")
                Output.line("on the phone: WhatsApp > Settings > Linked devices > Link a device > Link with phone number instead, then type the code")
                if let expires { Output.line("expires at \(expires)") }
                return
            }
            guard !response.qrPng.isEmpty || !response.qrCode.isEmpty else {
                try fail("the server returned no QR code (state \(state))", global: global)
                return
            }
            if !response.qrPng.isEmpty {
                let path = out ?? "./waqtor-qr-\(InstanceCommand.fileSafe(instance.id)).png"
                try global.runLocal { () throws(CLIFailure) in try InstanceCommand.writePrivateFile(path, bytes: response.qrPng) }
                body.qrPngFile = path
            }
            body.qrCode = response.qrCode.isEmpty ? nil : response.qrCode
            if global.json { Output.json(body); return }
            if let file = body.qrPngFile {
                Output.line("QR code saved to \(file): scan it in WhatsApp > Settings > Linked devices > Link a device")
            }
            if !response.qrCode.isEmpty { Output.line("raw code: \(response.qrCode)") }
            if let expires { Output.line("expires at \(expires); then run this command again") }
            Output.line("then check with `waqtor instance state \(instance.id)`")
        }

        private func fail(_ message: String, global: GlobalOptions) throws {
            let failure = CLIFailure(message: message, status: Output.ExitStatus.checkFailed)
            Output.reportFailure(failure, json: global.json)
            throw ExitCode(failure.status)
        }
    }

    struct State: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "state",
            abstract: "Show the connection state (InstanceService.GetConnectionState).",
            discussion: """
                States: open (connected), connecting, close, refused, needs-repairing, banned, \
                unspecified. Exit status: 0 when open, 1 otherwise, 2 when the call failed; e.g. \
                `until waqtor instance state ID >/dev/null; do sleep 2; done`.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @OptionGroup var instance: InstanceID

        func run() async throws {
            let global = self.global
            var request = Waqtor_V1_GetConnectionStateRequest()
            request.instanceID = instance.id
            let sent = request
            let response = try await global.withInstanceClient(auth) { instances, options in
                try await instances.getConnectionState(sent, options: options)
            }
            if global.json {
                struct Body: Encodable {
                    var state, detail: String
                    var sinceTime: String?
                    enum CodingKeys: String, CodingKey { case state, detail, sinceTime = "since_time" }
                }
                Output.json(Body(state: Names.connectionState(response.state), detail: response.detail,
                                 sinceTime: response.sinceTime.map(Output.rfc3339)))
            } else {
                Output.fields([
                    ("state", Names.connectionState(response.state)), ("detail", response.detail),
                    ("since", Output.time(response.sinceTime)),
                ])
            }
            if response.state != .open { throw ExitCode(Output.ExitStatus.checkFailed) }
        }
    }

    struct Settings: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "settings",
            abstract: "Show or change an instance's pacing (InstanceService.GetPacing / UpdatePacing).",
            discussion: """
                Without options: shows the pacing. With options: changes exactly the given \
                settings and shows the result. Delays are the random wait between two sends; the \
                daily cap counts campaign messages per day (0: the plan's limit); quiet hours are \
                in your time zone and may span midnight (22:00-07:00); warm-up ramps the daily cap \
                up over N days for a new number.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @OptionGroup var instance: InstanceID
        @Option(name: .customLong("min-delay-ms"), help: ArgumentHelp("Shortest delay between two sends, in ms.", valueName: "n"))
        var minDelayMs: Int32?
        @Option(name: .customLong("max-delay-ms"), help: ArgumentHelp("Longest delay between two sends, in ms.", valueName: "n"))
        var maxDelayMs: Int32?
        @Option(name: .customLong("daily-cap"), help: ArgumentHelp("Campaign messages per day (0: the plan's limit).", valueName: "n"))
        var dailyCap: Int32?
        @Option(name: .customLong("quiet-hours"), help: ArgumentHelp("No campaign sends in this local time range.", valueName: "HH:MM-HH:MM"))
        var quietHours: String?
        @Flag(name: .customLong("no-quiet-hours"), help: "Turn quiet hours off.") var noQuietHours = false
        @Option(name: .customLong("warmup-days"), help: ArgumentHelp("Turn warm-up on, ramping over n days.", valueName: "n"))
        var warmupDays: Int32?
        @Flag(name: .customLong("no-warmup"), help: "Turn warm-up off.") var noWarmup = false

        var changes: Bool {
            minDelayMs != nil || maxDelayMs != nil || dailyCap != nil || quietHours != nil || noQuietHours
                || warmupDays != nil || noWarmup
        }

        func validate() throws {
            if let minDelayMs, minDelayMs < 0 { throw ValidationError("--min-delay-ms must be 0 or more, got \(minDelayMs)") }
            if let maxDelayMs, maxDelayMs < 0 { throw ValidationError("--max-delay-ms must be 0 or more, got \(maxDelayMs)") }
            if let minDelayMs, let maxDelayMs, minDelayMs > maxDelayMs {
                throw ValidationError("--min-delay-ms (\(minDelayMs)) must not be more than --max-delay-ms (\(maxDelayMs))")
            }
            if let dailyCap, dailyCap < 0 { throw ValidationError("--daily-cap must be 0 (the plan's limit) or more, got \(dailyCap)") }
            if quietHours != nil, noQuietHours { throw ValidationError("--quiet-hours and --no-quiet-hours exclude each other") }
            if let quietHours { _ = try InstanceCommand.parseQuietHours(quietHours) }
            if warmupDays != nil, noWarmup { throw ValidationError("--warmup-days and --no-warmup exclude each other") }
            if let warmupDays, warmupDays < 1 { throw ValidationError("--warmup-days must be 1 or more, got \(warmupDays) (use --no-warmup to turn it off)") }
        }

        func run() async throws {
            let global = self.global
            let id = instance.id
            let pacing: Waqtor_V1_PacingSettings?
            if changes {
                var settings = Waqtor_V1_PacingSettings()
                var paths: [String] = []
                if let minDelayMs { settings.minDelayMs = minDelayMs; paths.append("min_delay_ms") }
                if let maxDelayMs { settings.maxDelayMs = maxDelayMs; paths.append("max_delay_ms") }
                if let dailyCap { settings.dailyCap = dailyCap; paths.append("daily_cap") }
                if let quietHours {
                    let (start, end) = try InstanceCommand.parseQuietHours(quietHours)
                    settings.quietHoursEnabled = true
                    settings.quietHoursStartMinute = start
                    settings.quietHoursEndMinute = end
                    paths += ["quiet_hours_enabled", "quiet_hours_start_minute", "quiet_hours_end_minute"]
                } else if noQuietHours {
                    settings.quietHoursEnabled = false
                    paths.append("quiet_hours_enabled")
                }
                if let warmupDays {
                    settings.warmupEnabled = true
                    settings.warmupDays = warmupDays
                    paths += ["warmup_enabled", "warmup_days"]
                } else if noWarmup {
                    settings.warmupEnabled = false
                    paths.append("warmup_enabled")
                }
                var request = Waqtor_V1_UpdatePacingRequest()
                request.instanceID = id
                request.pacing = settings
                request.updatePaths = paths
                let sent = request
                pacing = try await global.withInstanceClient(auth) { instances, options in
                    try await instances.updatePacing(sent, options: options)
                }.pacing
            } else {
                var request = Waqtor_V1_GetPacingRequest()
                request.instanceID = id
                let sent = request
                pacing = try await global.withInstanceClient(auth) { instances, options in
                    try await instances.getPacing(sent, options: options)
                }.pacing
            }
            if global.json {
                struct Body: Encodable { var pacing: InstanceJSON.Pacing? }
                Output.json(Body(pacing: pacing.map(InstanceJSON.Pacing.init)))
            } else if let pacing {
                Output.pacingFields(pacing, indent: "")
            }
        }
    }

    struct Logout: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "logout",
            abstract: "Log the number out of WhatsApp; the instance stays (InstanceService.LogoutInstance).",
            discussion: "Pair it again with `waqtor instance qr ID`.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @OptionGroup var instance: InstanceID

        func run() async throws {
            let global = self.global
            var request = Waqtor_V1_LogoutInstanceRequest()
            request.instanceID = instance.id
            let sent = request
            let response = try await global.withInstanceClient(auth) { instances, options in
                try await instances.logoutInstance(sent, options: options)
            }
            if global.json {
                InstanceCommand.printInstanceJSON(response.instance)
            } else {
                let state = response.instance.map { " (state \(Names.connectionState($0.state)))" } ?? ""
                Output.line("logged out instance \(instance.id)\(state); pair it again with `waqtor instance qr \(instance.id)`")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete",
            abstract: "Delete an instance, logging it out first (InstanceService.DeleteInstance).",
            discussion: "Its campaigns are cancelled. Refused without --yes.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @OptionGroup var instance: InstanceID
        @Flag(help: "Confirm the deletion.") var yes = false

        func validate() throws {
            if !yes { throw ValidationError("deleting instance \(instance.id) logs the number out and cancels its campaigns: add --yes to confirm") }
        }

        func run() async throws {
            let global = self.global
            var request = Waqtor_V1_DeleteInstanceRequest()
            request.instanceID = instance.id
            let sent = request
            _ = try await global.withInstanceClient(auth) { instances, options in
                try await instances.deleteInstance(sent, options: options)
            }
            if global.json { Output.json(TenantJSON.Done()) } else { Output.line("deleted instance \(instance.id)") }
        }
    }

    // MARK: - Helpers

    /// `+` then 7 to 15 digits, the first not 0.
    static func validatePhone(_ phone: String) throws {
        let digits = phone.dropFirst()
        guard phone.hasPrefix("+"), (7...15).contains(digits.count), digits.allSatisfy({ $0.isASCII && $0.isNumber }),
              digits.first != "0"
        else {
            throw ValidationError("--phone must be in E.164: '+', the country code and the number, digits only, e.g. +201001234567 (got '\(phone)')")
        }
    }

    /// `HH:MM-HH:MM` → minutes after midnight of the start and the end.
    static func parseQuietHours(_ text: String) throws -> (Int32, Int32) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        func invalid() -> ValidationError {
            ValidationError("--quiet-hours must be HH:MM-HH:MM (24-hour local time, e.g. 22:00-07:00), got '\(text)'")
        }
        guard parts.count == 2, let start = minutes(parts[0]), let end = minutes(parts[1]) else { throw invalid() }
        if start == end { throw ValidationError("--quiet-hours: the start and the end are the same (\(parts[0])); use --no-quiet-hours to turn them off") }
        return (start, end)
    }

    /// `HH:MM` (00:00-23:59; the hour may have one digit) → minutes after midnight.
    static func minutes(_ text: Substring) -> Int32? {
        let pieces = text.split(separator: ":", omittingEmptySubsequences: false)
        guard pieces.count == 2, (1...2).contains(pieces[0].count), pieces[1].count == 2,
              pieces.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
              let hour = Int32(pieces[0]), let minute = Int32(pieces[1]), hour < 24, minute < 60
        else { return nil }
        return hour * 60 + minute
    }

    /// Minutes after midnight → `HH:MM`.
    static func clock(_ minutes: Int32) -> String {
        let m = ((minutes % 1440) + 1440) % 1440
        let hh = m / 60, mm = m % 60
        return (hh < 10 ? "0" : "") + String(hh) + ":" + (mm < 10 ? "0" : "") + String(mm)
    }

    /// `ABCD1234` → `ABCD-1234` (as WhatsApp shows it); other lengths unchanged.
    static func groupedPairingCode(_ code: String) -> String {
        guard code.count == 8, !code.contains("-") else { return code }
        return String(code.prefix(4)) + "-" + String(code.suffix(4))
    }

    /// The id with anything but letters, digits, `-` and `_` replaced, for a file name.
    static func fileSafe(_ id: String) -> String {
        String(id.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") ? $0 : "_" })
    }

    /// Writes `bytes` to `path`, creating it with mode 0600 (an existing file is truncated and
    /// set to 0600); does not follow a symbolic link at `path`.
    static func writePrivateFile(_ path: String, bytes: [UInt8]) throws(CLIFailure) {
        func failure(_ what: String) -> CLIFailure {
            CLIFailure(message: "\(what) \(path): \(String(cString: strerror(errno)))", status: 1)
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure("cannot create") }
        var ok = fchmod(fd, 0o600) == 0
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while ok, offset < buffer.count {
                let written = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    ok = false
                } else {
                    offset += written
                }
            }
        }
        let error = ok ? nil : failure("cannot write")
        if close(fd) != 0, ok { throw failure("cannot write") }
        if let error { throw error }
    }

    static func printInstanceJSON(_ instance: Waqtor_V1_Instance?) {
        struct Body: Encodable { var instance: InstanceJSON.Instance? }
        Output.json(Body(instance: instance.map(InstanceJSON.Instance.init)))
    }
}

/// JSON shapes of the instance messages, with the conventions of ``TenantJSON``.
enum InstanceJSON {
    struct Pacing: Encodable {
        var minDelayMs, maxDelayMs, dailyCap: Int32
        var quietHoursEnabled: Bool
        var quietHoursStartMinute, quietHoursEndMinute: Int32
        var warmupEnabled: Bool
        var warmupDays: Int32
        enum CodingKeys: String, CodingKey {
            case minDelayMs = "min_delay_ms", maxDelayMs = "max_delay_ms", dailyCap = "daily_cap"
            case quietHoursEnabled = "quiet_hours_enabled", quietHoursStartMinute = "quiet_hours_start_minute"
            case quietHoursEndMinute = "quiet_hours_end_minute", warmupEnabled = "warmup_enabled", warmupDays = "warmup_days"
        }
        init(_ p: Waqtor_V1_PacingSettings) {
            minDelayMs = p.minDelayMs; maxDelayMs = p.maxDelayMs; dailyCap = p.dailyCap
            quietHoursEnabled = p.quietHoursEnabled; quietHoursStartMinute = p.quietHoursStartMinute
            quietHoursEndMinute = p.quietHoursEndMinute; warmupEnabled = p.warmupEnabled; warmupDays = p.warmupDays
        }
    }

    struct Instance: Encodable {
        var id, displayName, phoneNumber, profileName, state, gatewayInstanceName: String
        var pacing: Pacing?
        var createTime, updateTime, stateChangeTime: String?
        var stateStale: Bool
        var gatewaySeenTime: String?
        enum CodingKeys: String, CodingKey {
            case id, state, pacing
            case displayName = "display_name", phoneNumber = "phone_number", profileName = "profile_name"
            case gatewayInstanceName = "gateway_instance_name", createTime = "create_time", updateTime = "update_time"
            case stateChangeTime = "state_change_time", stateStale = "state_stale", gatewaySeenTime = "gateway_seen_time"
        }
        init(_ i: Waqtor_V1_Instance) {
            id = i.id; displayName = i.displayName; phoneNumber = i.phoneNumber; profileName = i.profileName
            state = Names.connectionState(i.state); gatewayInstanceName = i.gatewayInstanceName
            pacing = i.pacing.map(Pacing.init)
            createTime = i.createTime.map(Output.rfc3339); updateTime = i.updateTime.map(Output.rfc3339)
            stateChangeTime = i.stateChangeTime.map(Output.rfc3339)
            stateStale = i.stateStale; gatewaySeenTime = i.gatewaySeenTime.map(Output.rfc3339)
        }
    }
}

extension Names {
    /// The instance's state for people: while the server cannot reach the gateway, the last state
    /// it reported, marked stale, e.g. "open (stale: gateway unreachable, last answered 2025-07-01T10:42:00Z)".
    static func instanceState(_ instance: Waqtor_V1_Instance) -> String {
        let state = connectionState(instance.state)
        guard instance.stateStale else { return state }
        let seen = instance.gatewaySeenTime.map { "last answered \(Output.rfc3339($0))" } ?? "never answered"
        return "\(state) (stale: gateway unreachable, \(seen))"
    }

    static func connectionState(_ state: Waqtor_V1_ConnectionState) -> String {
        switch state {
        case .unspecified: "unspecified"
        case .connecting: "connecting"
        case .open: "open"
        case .close: "close"
        case .refused: "refused"
        case .needsRepairing: "needs-repairing"
        case .banned: "banned"
        case .UNRECOGNIZED(let value): "unknown(\(value))"
        }
    }
}

extension Output {
    /// The pacing as `key: value` lines; quiet hours as HH:MM.
    static func pacingFields(_ p: Waqtor_V1_PacingSettings, indent: String) {
        let quiet = p.quietHoursEnabled
            ? "\(InstanceCommand.clock(p.quietHoursStartMinute))-\(InstanceCommand.clock(p.quietHoursEndMinute)) (your time zone)"
            : "off"
        let pairs = [
            ("min delay", "\(p.minDelayMs) ms"), ("max delay", "\(p.maxDelayMs) ms"),
            ("daily cap", p.dailyCap == 0 ? "the plan's limit" : String(p.dailyCap)),
            ("quiet hours", quiet), ("warm-up", p.warmupEnabled ? "\(p.warmupDays) days" : "off"),
        ]
        let width = pairs.map(\.0.count).max() ?? 0
        for (key, value) in pairs {
            line(indent + (key + ":").padding(toLength: width + 1, withPad: " ", startingAt: 0) + " " + value)
        }
    }
}
