import WaqtorPostgres
/// A reading of the gateway's clock: a webhook envelope's `date_time`.
///
/// Evolution API 2.3.6 stamps each envelope with the gateway machine's *local* wall-clock time
/// written as if it were UTC (`new Date(Date.now() - tzoffset).toISOString()`, e.g.
/// `2025-07-25T10:42:43.258Z` in America/Sao_Paulo). It orders the gateway's own events, with
/// millisecond precision, and means nothing against our clock: it is only ever compared with other
/// readings of the same gateway.
public struct GatewayTime: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01T00:00:00.000 of the gateway's wall clock.
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction][Z|±HH:MM]` (a space instead of `T` also works). The
    /// suffix is ignored: 2.3.6 writes `Z` on a local time, so it tells nothing about the zone.
    /// Digits past milliseconds are dropped.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        var index = 0
        func number(_ count: Int) -> Int64? {
            guard index + count <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[index..<(index + count)] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            index += count
            return value
        }
        func expect(_ characters: String) -> Bool {
            guard index < bytes.count, characters.utf8.contains(bytes[index]) else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2), expect("T "),
              let hour = number(2), expect(":"), let minute = number(2), expect(":"), let second = number(2),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var millis: Int64 = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            var digits = 0
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                if digits < 3 { millis = millis * 10 + Int64(bytes[index] - 48) }
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            if digits < 3 { for _ in digits..<3 { millis *= 10 } }
        }
        let days = CivilDate.days(fromCivil: year, month, day)
        milliseconds = ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis
    }

    /// `YYYY-MM-DD HH:MM:SS.mmm`, as PostgreSQL's `timestamp` (without time zone) reads it.
    public var description: String {
        let days = milliseconds >= 0 ? milliseconds / 86_400_000 : (milliseconds - 86_399_999) / 86_400_000
        let rest = milliseconds - days * 86_400_000
        let (year, month, day) = CivilDate.civil(fromDays: days)
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2)) \(pad(rest / 3_600_000, 2)):\(pad(rest / 60_000 % 60, 2)):\(pad(rest / 1000 % 60, 2)).\(pad(rest % 1000, 3))"
    }

    public static func < (a: GatewayTime, b: GatewayTime) -> Bool { a.milliseconds < b.milliseconds }
}

/// What a gateway webhook says about a number's connection.
public enum GatewayConnectionEvent: Sendable, Hashable {
    /// `connection.update`: `state` (`open`, `connecting`, `close` or `refused`), `statusReason`,
    /// and, on `open`, the paired number's JID (`wuid`) and its WhatsApp `profileName`.
    case connection(InstanceState, reason: Int?, wuid: String? = nil, profileName: String? = nil)
    /// `logout.instance` (`data: null`, so no reason), or `status.instance`
    /// `{status: "closed", disconnectionReasonCode}` with a logged-out code (401, 402, 403, 406).
    case loggedOut(reason: Int?)
}

/// The connection part of an instance row, and how it changes: a pure value, so the rules are
/// tested without a database (`InstanceStore` reads it under a row lock, applies one input and
/// writes the result back in the same transaction).
///
/// The rules:
/// - **Order.** Webhooks are applied in the order of their `date_time` (the gateway's clock), not
///   of arrival: the gateway posts events concurrently and retries failed ones for minutes, so a
///   `connecting` may arrive after the `open` that followed it. An event older than the newest one
///   applied (``eventTime``) changes nothing. At the same millisecond, an event does not undo a
///   later stage of a session (`connecting` < `refused` < `open` < `close`).
/// - **Pairing.** `open` means paired: the paired number (`wuid`) replaces the stored one, the
///   profile name is kept, `needsRepairing` and a pending logout clear.
/// - **Logged out.** A close with 401, 402, 403 or 406, `status.instance` closed with one of those
///   codes, or `logout.instance`, is a ban or a logout made on the phone: `needs_repairing`, unless
///   WaQtor itself asked the gateway to log the number out (``logoutRequested``): then it is a plain
///   `close`.
/// - **Observed.** What the gateway answered to a call (connectionState, connect) is its state now;
///   it carries no gateway time, so it does not move ``eventTime``.
public struct InstanceConnection: Sendable, Hashable {
    public var state: InstanceState
    /// `statusReason` of a close or refusal (e.g. 401 logged out, 428 connection lost).
    public var reason: Int?
    /// Logged out or banned: sending is paused until the number is paired again (an `open`).
    public var needsRepairing: Bool
    /// An `open` was seen since the last logout: a `connecting` now is a reconnect of the paired
    /// session, not a pairing in progress.
    public var paired: Bool
    /// E.164: the number WhatsApp paired, or until then the one given at creation.
    public var phoneNumber: String?
    /// The WhatsApp profile name, once paired.
    public var profileName: String?
    /// Digits of the number the gateway's pending pairing session was started for; nil for a
    /// session that shows a QR code only (or none).
    public var pairingNumber: String?
    /// WaQtor asked the gateway to log the number out and no `open` came since.
    public var logoutRequested: Bool
    /// The `date_time` of the newest webhook applied.
    public var eventTime: GatewayTime?

    public init(
        state: InstanceState = .unspecified, reason: Int? = nil, needsRepairing: Bool = false, paired: Bool = false,
        phoneNumber: String? = nil, profileName: String? = nil, pairingNumber: String? = nil,
        logoutRequested: Bool = false, eventTime: GatewayTime? = nil
    ) {
        self.state = state
        self.reason = reason
        self.needsRepairing = needsRepairing
        self.paired = paired
        self.phoneNumber = phoneNumber
        self.profileName = profileName
        self.pairingNumber = pairingNumber
        self.logoutRequested = logoutRequested
        self.eventTime = eventTime
    }

    /// One thing that can change the stored connection.
    public enum Input: Sendable, Hashable {
        /// A webhook, with its envelope's `date_time` (nil when it has none: applied in arrival order).
        case event(GatewayConnectionEvent, at: GatewayTime?)
        /// The gateway answered a call with this state (connectionState, or connect: `open`).
        case observed(InstanceState)
        /// WaQtor started a pairing session (connect on a closed instance answered a QR code), for
        /// these digits (nil: QR code only).
        case pairingStarted(number: String?)
        /// WaQtor is about to ask the gateway for a logout (true), or gave up on it (false: the flag
        /// is put back as it was).
        case logoutRequested(Bool)
        /// The gateway accepted WaQtor's logout (or the number was out already).
        case loggedOutOnRequest
    }

    /// The close reasons after which the gateway does not reconnect: logged out, banned, forbidden.
    public static let loggedOutReasons: Set<Int> = [401, 402, 403, 406]

    /// The connection after `input`, or nil when it changes nothing (including an event older
    /// than the newest one applied).
    public func applying(_ input: Input) -> InstanceConnection? {
        var next = self
        switch input {
        case .event(let event, let time):
            if let time, let current = eventTime {
                if time < current { return nil }
                if time == current, Self.stage(of: event) < Self.stage(of: state) { return nil }
            }
            if let time { next.eventTime = time }
            next.apply(event)
        case .observed(let observed):
            switch observed {
            case .open:
                next.opened(wuid: nil, profileName: nil)
            case .connecting, .refused:
                next.state = observed
                if observed == .connecting { next.reason = nil }
            case .close:
                // A banned or logged-out number is `close` on the gateway too: the stored state
                // says more. An ordinary close keeps its reason.
                if state == .needsRepairing || state == .close { return nil }
                next.state = .close
                next.reason = nil
            case .unspecified, .needsRepairing:
                return nil
            }
        case .pairingStarted(let number):
            next.state = .connecting
            next.reason = nil
            next.paired = false
            next.pairingNumber = number
        case .logoutRequested(let flag):
            next.logoutRequested = flag
        case .loggedOutOnRequest:
            next.logoutRequested = true
            next.paired = false
            next.pairingNumber = nil
            next.closedByLogout(reason: nil)
        }
        return next == self ? nil : next
    }

    private mutating func apply(_ event: GatewayConnectionEvent) {
        switch event {
        case .connection(.open, _, let wuid, let profileName):
            opened(wuid: wuid, profileName: profileName)
        case .connection(.connecting, _, _, _):
            state = .connecting
            reason = nil
        case .connection(.refused, let code, _, _):
            state = .refused
            reason = code
        case .connection(.close, let code, _, _):
            if let code, Self.loggedOutReasons.contains(code) {
                closedByLogout(reason: code)
            } else {
                // The gateway reconnects by itself after any other close.
                state = .close
                reason = code
            }
        case .connection(.unspecified, _, _, _), .connection(.needsRepairing, _, _, _):
            break
        case .loggedOut(let code):
            closedByLogout(reason: code)
        }
    }

    private mutating func opened(wuid: String?, profileName newName: String?) {
        state = .open
        reason = nil
        needsRepairing = false
        paired = true
        logoutRequested = false
        pairingNumber = nil
        if let phone = wuid.flatMap(Self.phoneNumber(fromJID:)) {
            // Another number paired: the old profile name was someone else's.
            if phone != phoneNumber { profileName = nil }
            phoneNumber = phone
        }
        if let newName, !newName.isEmpty { profileName = newName }
    }

    /// A logged-out close: the number is no longer paired. Asked for by WaQtor, it is a `close`
    /// (whose session WaQtor already counted as ended: a pairing it started since is left alone);
    /// otherwise a ban or a logout on the phone, which needs re-pairing.
    private mutating func closedByLogout(reason code: Int?) {
        if logoutRequested {
            state = .close
            reason = nil
        } else {
            paired = false
            pairingNumber = nil
            reason = code ?? (state == .needsRepairing ? reason : nil) ?? 401
            state = .needsRepairing
            needsRepairing = true
        }
    }

    /// Where an event or a state stands in one session, for events stamped the same millisecond.
    static func stage(of state: InstanceState) -> Int {
        switch state {
        case .unspecified: -1
        case .connecting: 0
        case .refused: 1
        case .open: 2
        case .close, .needsRepairing: 3
        }
    }

    static func stage(of event: GatewayConnectionEvent) -> Int {
        switch event {
        case .connection(let state, _, _, _): stage(of: state)
        case .loggedOut: 3
        }
    }

    /// `+` and the digits of a phone JID (`5511999998888@s.whatsapp.net`, or with a `:device`
    /// suffix); nil for anything else (a `@lid` identity is not a phone number).
    public static func phoneNumber(fromJID jid: String) -> String? {
        let parts = jid.split(separator: "@", maxSplits: 1)
        guard parts.count == 2, parts[1] == "s.whatsapp.net" else { return nil }
        let user = parts[0].split(separator: ":", maxSplits: 1).first ?? ""
        guard (7...15).contains(user.count), user.allSatisfy({ $0.isASCII && $0.isNumber }), user.first != "0" else { return nil }
        return "+" + user
    }
}
