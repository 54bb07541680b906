import Testing
import WaqtorInstances

/// The connection rules as a pure value: no database, no gateway.
@Suite("InstanceConnection: the next stored state, given the stored one and an input")
struct InstanceConnectionTests {
    static func at(_ text: String) -> GatewayTime { GatewayTime(text)! }

    static func apply(_ start: InstanceConnection, _ inputs: [InstanceConnection.Input]) -> InstanceConnection {
        inputs.reduce(start) { $0.applying($1) ?? $0 }
    }

    @Test("2.3.6 date_time parses as the gateway's wall clock, to the millisecond, and orders")
    func gatewayTime() throws {
        let time = try #require(GatewayTime("2025-07-25T10:42:43.258Z"))
        #expect(time.description == "2025-07-25 10:42:43.258")
        #expect(GatewayTime("2025-07-25T10:42:43Z")?.description == "2025-07-25 10:42:43.000")
        #expect(GatewayTime("2025-07-25T10:42:43.2Z")?.milliseconds == time.milliseconds - 58)
        #expect(GatewayTime("2025-07-25T10:42:43.258999Z") == time, "digits past milliseconds are dropped")
        #expect(GatewayTime("2025-07-25 10:42:43.258") == time)
        #expect(GatewayTime("2025-07-25T10:42:43.258-03:00") == time, "the suffix says nothing about the zone in 2.3.6")
        #expect(GatewayTime("1970-01-01T00:00:00.000Z")?.milliseconds == 0)
        #expect(GatewayTime("2024-02-29T23:59:59.999Z")! < GatewayTime("2024-03-01T00:00:00.000Z")!)
        for bad in ["", "yesterday", "2025-13-01T00:00:00Z", "2025-07-25", "2025-07-25T10:42", "2025-07-25T10:42:43.Z"] {
            #expect(GatewayTime(bad) == nil, "\(bad)")
        }
    }

    @Test("an event older than the newest applied changes nothing: a late connecting after the open that followed it")
    func olderEventsAreIgnored() {
        let open = InstanceConnection(state: .open, paired: true, eventTime: Self.at("2025-07-25T10:00:02.000Z"))
        #expect(open.applying(.event(.connection(.connecting, reason: 200), at: Self.at("2025-07-25T10:00:01.500Z"))) == nil)
        // Arrival order does not matter: both orders end open.
        let start = InstanceConnection(state: .open, paired: true, eventTime: Self.at("2025-07-25T09:00:00.000Z"))
        let connecting = InstanceConnection.Input.event(.connection(.connecting, reason: 200), at: Self.at("2025-07-25T10:00:01.000Z"))
        let reopened = InstanceConnection.Input.event(.connection(.open, reason: 200, wuid: "5511999998888@s.whatsapp.net"), at: Self.at("2025-07-25T10:00:01.040Z"))
        #expect(Self.apply(start, [connecting, reopened]).state == .open)
        #expect(Self.apply(start, [reopened, connecting]).state == .open)
        #expect(Self.apply(start, [reopened, connecting]).eventTime == Self.at("2025-07-25T10:00:01.040Z"))
        // A newer one applies.
        #expect(open.applying(.event(.connection(.connecting, reason: 200), at: Self.at("2025-07-25T10:00:03.000Z")))?.state == .connecting)
        // The same millisecond: a later stage of the session is not undone.
        let same = Self.at("2025-07-25T10:00:02.000Z")
        #expect(open.applying(.event(.connection(.connecting, reason: 200), at: same)) == nil)
        #expect(open.applying(.event(.loggedOut(reason: 401), at: same))?.state == .needsRepairing)
        // Without a date_time, arrival order is all there is.
        #expect(open.applying(.event(.connection(.connecting, reason: 200), at: nil))?.state == .connecting)
    }

    @Test("open stores the paired number and its profile name; the paired number is the truth")
    func openStoresTheNumber() {
        let created = InstanceConnection(state: .connecting, phoneNumber: "+5511999998888", pairingNumber: "5511999998888")
        let paired = created.applying(.event(
            .connection(.open, reason: 200, wuid: "5511977776666@s.whatsapp.net", profileName: "Loja Centro"), at: Self.at("2025-07-25T10:00:00.000Z")))
        #expect(paired?.phoneNumber == "+5511977776666" && paired?.profileName == "Loja Centro")
        #expect(paired?.state == .open && paired?.paired == true && paired?.pairingNumber == nil)
        // A reconnect without a profile name keeps it; another number drops the old name.
        let again = paired!.applying(.event(.connection(.open, reason: 200, wuid: "5511977776666:12@s.whatsapp.net"), at: Self.at("2025-07-25T11:00:00.000Z")))
        #expect(again == nil || again?.profileName == "Loja Centro")
        let other = paired!.applying(.event(.connection(.open, reason: 200, wuid: "201001234567@s.whatsapp.net"), at: Self.at("2025-07-25T12:00:00.000Z")))
        #expect(other?.phoneNumber == "+201001234567" && other?.profileName == nil)
        // A LID or garbage is not a phone number.
        #expect(InstanceConnection.phoneNumber(fromJID: "123456789012345@lid") == nil)
        #expect(InstanceConnection.phoneNumber(fromJID: "5511977776666") == nil)
        #expect(InstanceConnection.phoneNumber(fromJID: "12@s.whatsapp.net") == nil)
    }

    @Test("a logged-out close nobody asked for needs re-pairing; one WaQtor asked for is a close")
    func loggedOut() {
        let open = InstanceConnection(state: .open, paired: true, eventTime: Self.at("2025-07-25T10:00:00.000Z"))
        // logout.instance alone (data: null, so no reason) is enough.
        let banned = open.applying(.event(.loggedOut(reason: nil), at: Self.at("2025-07-25T10:00:01.000Z")))
        #expect(banned?.state == .needsRepairing && banned?.needsRepairing == true && banned?.reason == 401 && banned?.paired == false)
        // The 2.3.x sequence keeps status.instance's code.
        let sequence = Self.apply(open, [
            .event(.loggedOut(reason: 403), at: Self.at("2025-07-25T10:00:01.000Z")),
            .event(.loggedOut(reason: nil), at: Self.at("2025-07-25T10:00:01.001Z")),
            .event(.connection(.close, reason: 403), at: Self.at("2025-07-25T10:00:01.002Z")),
        ])
        #expect(sequence.state == .needsRepairing && sequence.reason == 403)
        // An ordinary close (the gateway reconnects) keeps the flag as it was.
        let dropped = open.applying(.event(.connection(.close, reason: 428), at: Self.at("2025-07-25T10:00:01.000Z")))
        #expect(dropped?.state == .close && dropped?.reason == 428 && dropped?.needsRepairing == false)

        // Asked for: the same events close the number.
        let asked = Self.apply(open, [.logoutRequested(true), .loggedOutOnRequest])
        #expect(asked.state == .close && asked.reason == nil && !asked.needsRepairing && asked.logoutRequested)
        let after = Self.apply(asked, [
            .event(.loggedOut(reason: 401), at: Self.at("2025-07-25T10:00:01.000Z")),
            .event(.loggedOut(reason: nil), at: Self.at("2025-07-25T10:00:01.001Z")),
            .event(.connection(.close, reason: 401), at: Self.at("2025-07-25T10:00:01.002Z")),
        ])
        #expect(after.state == .close && !after.needsRepairing)
        // Paired again, the next 401 is a ban again.
        let repaired = Self.apply(after, [
            .event(.connection(.open, reason: 200, wuid: "5511977776666@s.whatsapp.net"), at: Self.at("2025-07-25T10:05:00.000Z")),
            .event(.connection(.close, reason: 401), at: Self.at("2025-07-25T10:06:00.000Z")),
        ])
        #expect(repaired.state == .needsRepairing && repaired.needsRepairing && !repaired.logoutRequested)
        // A logout that failed puts the mark back.
        #expect(Self.apply(open, [.logoutRequested(true), .logoutRequested(false)]) == open)
    }

    @Test("what the gateway answers now is stored, but does not erase a needs-repairing mark nor move the event time")
    func observed() {
        let repairing = InstanceConnection(state: .needsRepairing, reason: 403, needsRepairing: true, eventTime: Self.at("2025-07-25T10:00:00.000Z"))
        #expect(repairing.applying(.observed(.close)) == nil)
        let open = repairing.applying(.observed(.open))
        #expect(open?.state == .open && open?.needsRepairing == false && open?.paired == true)
        #expect(open?.eventTime == repairing.eventTime)
        let connecting = InstanceConnection(state: .connecting)
        #expect(connecting.applying(.observed(.close))?.state == .close)
        #expect(connecting.applying(.observed(.unspecified)) == nil)
        // Created on the gateway: closed, not unspecified.
        #expect(InstanceConnection().applying(.observed(.close))?.state == .close)
        // A pairing session started for a number.
        let pairing = InstanceConnection(state: .close).applying(.pairingStarted(number: "5511999998888"))
        #expect(pairing?.state == .connecting && pairing?.pairingNumber == "5511999998888" && pairing?.paired == false)
    }
}
