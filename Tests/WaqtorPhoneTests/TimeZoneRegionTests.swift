import Foundation
import Testing
@testable import WaqtorPhone

@Suite("The country of a time zone")
struct TimeZoneRegionTests {
    @Test("zones of zone.tab, old names, and zones without a country", arguments: [
        ("Africa/Cairo", "EG"),
        ("America/Sao_Paulo", "BR"),
        ("Europe/Lisbon", "PT"),
        ("Asia/Kolkata", "IN"),
        ("Europe/Berlin", "DE"),
        ("America/New_York", "US"),
        ("America/Argentina/Buenos_Aires", "AR"),
        // Listed by zone.tab for their country though tzdata now links them to another zone.
        ("Europe/Oslo", "NO"),
        ("Europe/Amsterdam", "NL"),
        // Old names, links to a canonical zone.
        ("Asia/Calcutta", "IN"),
        ("America/Buenos_Aires", "AR"),
        ("Brazil/East", "BR"),
        ("US/Eastern", "US"),
        ("Egypt", "EG"),
        ("Portugal", "PT"),
        // No country.
        ("UTC", nil),
        ("Etc/UTC", nil),
        ("Etc/GMT+3", nil),
        ("GMT", nil),
        // Not a zone.
        ("", nil),
        ("Nowhere/Nothing", nil),
        ("../../../etc/passwd", nil),
        ("/usr/share/zoneinfo/Africa/Cairo", nil),
        ("Africa//Cairo", nil),
    ] as [(String, String?)])
    func system(zone: String, country: String?) {
        #expect(PhoneNumber.defaultRegion(forTimeZone: zone) == country)
    }

    @Test("every zone gives a region libphonenumber reads numbers of, or none")
    func everyZone() {
        let regions = TimeZoneRegions.system
        #expect(regions.countries.count > 300)
        var withRegion = 0
        for zone in regions.countries.keys {
            guard let region = PhoneNumber.defaultRegion(forTimeZone: zone) else { continue }
            #expect(PhoneNumber.isSupportedRegion(region), "\(zone): \(region)")
            withRegion += 1
        }
        #expect(withRegion > 300)
    }

    @Test("a country without a numbering plan in libphonenumber gives no default region")
    func unsupportedCountries() {
        // zone.tab knows their countries (AQ, PN, GS); libphonenumber has no metadata for them.
        #expect(TimeZoneRegions.system.region(forTimeZone: "Pacific/Pitcairn") == "PN")
        #expect(PhoneNumber.defaultRegion(forTimeZone: "Pacific/Pitcairn") == nil)
        #expect(PhoneNumber.defaultRegion(forTimeZone: "Antarctica/Troll") == nil)
        #expect(PhoneNumber.defaultRegion(forTimeZone: "Atlantic/South_Georgia") == nil)
    }

    @Test("without tzdata.zi, links on disk are followed: symbolic and hard")
    func onDisk() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("waqtor-zoneinfo-\(UInt64.random(in: 0...UInt64.max))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let files = FileManager.default
        try files.createDirectory(atPath: directory + "/Europe", withIntermediateDirectories: true)
        try files.createDirectory(atPath: directory + "/Etc", withIntermediateDirectories: true)
        try "# comment\nPT\t+3843-00908\tEurope/Lisbon\tPortugal (mainland)\nDE\t+5230+01322\tEurope/Berlin\n"
            .write(toFile: directory + "/zone.tab", atomically: true, encoding: .utf8)
        try "TZif lisbon".write(toFile: directory + "/Europe/Lisbon", atomically: true, encoding: .utf8)
        try "TZif berlin".write(toFile: directory + "/Europe/Berlin", atomically: true, encoding: .utf8)
        try "TZif utc".write(toFile: directory + "/Etc/UTC", atomically: true, encoding: .utf8)
        try files.createSymbolicLink(atPath: directory + "/Portugal", withDestinationPath: "Europe/Lisbon")
        try files.createSymbolicLink(atPath: directory + "/UTC", withDestinationPath: "Etc/UTC")
        try files.linkItem(atPath: directory + "/Europe/Berlin", toPath: directory + "/Europe/Busingen")

        let regions = TimeZoneRegions(directory: directory)
        #expect(regions.links.isEmpty)
        #expect(regions.region(forTimeZone: "Europe/Lisbon") == "PT")
        #expect(regions.region(forTimeZone: "Portugal") == "PT")
        #expect(regions.region(forTimeZone: "Europe/Busingen") == "DE")
        #expect(regions.region(forTimeZone: "UTC") == nil)
        #expect(regions.region(forTimeZone: "Etc/UTC") == nil)
        #expect(regions.region(forTimeZone: "Europe/Paris") == nil)
        #expect(regions.region(forTimeZone: "../zone.tab") == nil)
    }

    @Test("tzdata.zi links are followed even when no file is installed for them")
    func linksFile() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("waqtor-zoneinfo-\(UInt64.random(in: 0...UInt64.max))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "IN\t+2232+08822\tAsia/Kolkata\n".write(toFile: directory + "/zone.tab", atomically: true, encoding: .utf8)
        try "# version\nZ Asia/Kolkata 5:53:28 - LMT 1854 Jun 28\nZ Etc/UTC 0 - UTC\nL Asia/Kolkata Asia/Calcutta\nL Asia/Calcutta Old/Link\nL Etc/UTC UTC\n"
            .write(toFile: directory + "/tzdata.zi", atomically: true, encoding: .utf8)
        let regions = TimeZoneRegions(directory: directory)
        #expect(regions.region(forTimeZone: "Asia/Calcutta") == "IN")
        #expect(regions.region(forTimeZone: "Old/Link") == "IN")
        #expect(regions.region(forTimeZone: "UTC") == nil)
    }

    @Test("a directory without tzdata knows no zone")
    func missing() {
        let regions = TimeZoneRegions(directory: "/nonexistent/zoneinfo")
        #expect(regions.region(forTimeZone: "Africa/Cairo") == nil)
    }
}
