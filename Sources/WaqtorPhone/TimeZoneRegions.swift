import Foundation

extension PhoneNumber {
    /// The country (ISO 3166 alpha-2) of an IANA time zone ("America/Sao_Paulo" → "BR"), or nil
    /// for a zone without one (UTC, Etc/GMT+3) or one this machine's tzdata does not know.
    ///
    /// The rule it serves: a number written without a country code is read with the import's
    /// region when one is given, else with the country of the tenant's time zone.
    /// Read from tzdata's `zone.tab` (one country per zone); old names (Asia/Calcutta) are
    /// followed to the zone they are a link to. Loaded once, on first use.
    /// A country libphonenumber has no numbering plan for (Antarctica, Pitcairn, South Georgia,
    /// ...) gives nil too: it could not read a number anyway.
    public static func defaultRegion(forTimeZone identifier: String) -> String? {
        guard let region = TimeZoneRegions.system.region(forTimeZone: identifier), isSupportedRegion(region) else {
            return nil
        }
        return region
    }
}

/// The countries of the IANA time zones, from a tzdata directory (`/usr/share/zoneinfo`):
/// - `zone.tab`: `<country>\t<coordinates>\t<zone>[\t<comment>]`, one line per zone, canonical
///   zones and the one zone listed for each country (which may itself be a link, e.g. Europe/Oslo);
/// - `tzdata.zi`: every zone and link in one file; its `L <target> <link>` lines name old and
///   alias names (Asia/Calcutta → Asia/Kolkata), whether or not they are installed as files
///   (Debian 13 moves the old names' files to the tzdata-legacy package);
/// - failing both, the file itself: a symbolic link is resolved, a hard link matched by inode
///   with the zones of zone.tab.
struct TimeZoneRegions: Sendable {
    /// The machine's tzdata, read on first use (a `static let` is initialized once, thread-safely).
    static let system = TimeZoneRegions(directory: "/usr/share/zoneinfo")

    let directory: String
    /// Zone name → country, from zone.tab.
    let countries: [String: String]
    /// Link name → the name it points to, from tzdata.zi.
    let links: [String: String]
    /// Every zone tzdata.zi defines (its `Z <name>` lines), with or without a country.
    let zones: Set<String>

    init(directory: String) {
        self.directory = directory
        var countries: [String: String] = [:]
        for line in Self.lines(of: directory + "/zone.tab") where !line.hasPrefix("#") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count >= 3, fields[0].count == 2 else { continue }
            countries[String(fields[2])] = String(fields[0])
        }
        var links: [String: String] = [:]
        var zones = Set<String>()
        for line in Self.lines(of: directory + "/tzdata.zi") {
            let fields = line.split(separator: " ")
            if fields.count == 3, fields[0] == "L" {
                links[String(fields[2])] = String(fields[1])
            } else if fields.count >= 2, fields[0] == "Z" {
                zones.insert(String(fields[1]))
            }
        }
        self.countries = countries
        self.links = links
        self.zones = zones
    }

    func region(forTimeZone identifier: String) -> String? {
        guard Self.isZoneName(identifier) else { return nil }
        // The name itself, then the links it goes through (a link may point to a link).
        var name = identifier
        for _ in 0..<8 {
            if let country = countries[name] { return country }
            guard let target = links[name] else { break }
            name = target
        }
        // tzdata.zi knows the name and it leads to no country (UTC, Etc/GMT+3): that is the answer.
        if zones.contains(name) { return nil }
        if let resolved = resolvedOnDisk(identifier) { return countries[resolved] }
        return nil
    }

    /// The zone name an installed file stands for: the target of a symbolic link, or the zone.tab
    /// zone that is the same file (hard link).
    private func resolvedOnDisk(_ identifier: String) -> String? {
        let path = directory + "/" + identifier
        guard let real = realpath(path, nil) else { return nil }
        defer { free(real) }
        let resolved = String(cString: real)
        guard let base = realpath(directory, nil) else { return nil }
        defer { free(base) }
        let prefix = String(cString: base) + "/"
        if resolved.hasPrefix(prefix) {
            let name = String(resolved.dropFirst(prefix.count))
            if name != identifier, countries[name] != nil { return name }
        }
        var file = stat()
        guard stat(resolved, &file) == 0 else { return nil }
        for zone in countries.keys {
            var other = stat()
            if stat(directory + "/" + zone, &other) == 0, other.st_ino == file.st_ino, other.st_dev == file.st_dev {
                return zone
            }
        }
        return nil
    }

    /// A zone name: "Area/Location" words, never a path that leaves the directory.
    private static func isZoneName(_ text: String) -> Bool {
        !text.isEmpty && !text.hasPrefix("/") && !text.split(separator: "/", omittingEmptySubsequences: false)
            .contains { $0.isEmpty || $0 == "." || $0 == ".." }
    }

    private static func lines(of path: String) -> [Substring] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n")
    }
}
