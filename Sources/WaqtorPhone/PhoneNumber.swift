import CPhoneNumber

/// A phone number that libphonenumber parsed and found valid, held as E.164 with what the library
/// knows of it. The only way to make one is `PhoneNumber.parse(_:defaultRegion:)`, which refuses
/// numbers that are not valid, so a `PhoneNumber` is always one a person could be reached on.
public struct PhoneNumber: Sendable, Hashable, CustomStringConvertible {
    /// "+5511987654321": `+`, the country calling code and the national number, nothing else.
    /// What is stored, compared and sent.
    public let e164: String
    /// The ISO 3166 alpha-2 region of the number ("BR"), or nil for a non-geographic number
    /// (+800 freephone, +882/+883 international networks, ...).
    public let region: String?
    /// What kind of line the number is, as far as the number itself tells.
    public let type: PhoneNumberType
    /// The country calling code: 55 for Brazil, 1 for the US and Canada.
    public let countryCode: Int

    public var description: String { e164 }

    /// The number in libphonenumber's INTERNATIONAL form, for display: "+55 11 98765-4321".
    public var international: String { Self.international(e164: e164) ?? e164 }

    /// Parses `text` as a person or a file wrote it ("+55 11 98765-4321", "(11) 98765-4321",
    /// "0049 30 1234567", "030 1234567", ...) and returns it if it is a valid number.
    ///
    /// A number written without a country code (no `+`, no international prefix) is read as a
    /// number of `defaultRegion` (ISO 3166 alpha-2, any case; nil, "" or "ZZ" for none). Throws
    /// a `PhoneNumberError` whose `reason` says why the text was refused and whose `message` says
    /// it to a person: not a number, no country code, too short, not valid for its region, ...
    public static func parse(_ text: String, defaultRegion: String?) throws(PhoneNumberError) -> PhoneNumber {
        let trimmed = text.trimmingWhitespace()
        if trimmed.isEmpty {
            throw PhoneNumberError(.empty, "the phone number is empty")
        }
        var region: String? = nil
        if let given = defaultRegion?.trimmingWhitespace().uppercased(), !given.isEmpty, given != "ZZ" {
            guard isSupportedRegion(given) else {
                throw PhoneNumberError(
                    .unknownRegion,
                    "\"\(given)\" is not a region code for phone numbers: use a country's two-letter ISO 3166 code, such as BR or US")
            }
            region = given
        }

        var parsed = waqtor_phone_parsed()
        var utf8 = trimmed
        let status = utf8.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                if let region {
                    region.withCString { waqtor_phone_parse(chars.baseAddress, chars.count, $0, &parsed) }
                } else {
                    waqtor_phone_parse(chars.baseAddress, chars.count, nil, &parsed)
                }
            }
        }
        let quoted = "\"\(trimmed)\""
        let writtenInternationally = trimmed.first == "+" || trimmed.first == "＋"

        switch status {
        case WAQTOR_PHONE_PARSE_OK:
            break
        case WAQTOR_PHONE_PARSE_INVALID_COUNTRY_CODE:
            if region == nil && !writtenInternationally {
                throw PhoneNumberError(
                    .missingCountryCode,
                    "\(quoted) has no country code and no default region: write the number with +<country code>")
            }
            throw PhoneNumberError(
                .unknownCountryCode, "\(quoted) does not start with a country calling code that exists")
        case WAQTOR_PHONE_PARSE_NOT_A_NUMBER:
            throw PhoneNumberError(.notANumber, "\(quoted) is not a phone number")
        case WAQTOR_PHONE_PARSE_TOO_SHORT_AFTER_IDD, WAQTOR_PHONE_PARSE_TOO_SHORT_NSN:
            throw PhoneNumberError(.tooShort, "\(quoted) is too short to be a phone number")
        case WAQTOR_PHONE_PARSE_TOO_LONG:
            throw PhoneNumberError(.tooLong, "\(quoted) is too long to be a phone number")
        default:
            throw PhoneNumberError(.internal, "\(quoted) could not be read (the phone number library failed)")
        }

        let countryCode = Int(parsed.country_code)
        let countryRegion = field(&parsed.country_region)
        // "for BR", or "for +800" when the code is not a country's.
        let place = countryRegion == "001" || countryRegion == "ZZ" ? "+\(countryCode)" : countryRegion
        // A number read with the default region may have been meant for another country.
        let readAs = region != nil && !writtenInternationally
            ? " (a number without +<country code> is read as one of \(region!); write it with +<country code> if it is from elsewhere)"
            : ""
        if parsed.has_extension {
            throw PhoneNumberError(
                .hasExtension, "\(quoted) has an extension: WhatsApp numbers have none; write the number alone")
        }
        guard parsed.valid else {
            switch parsed.possibility {
            case WAQTOR_PHONE_POSSIBILITY_TOO_SHORT:
                throw PhoneNumberError(.tooShort, "\(quoted) is too short for a number of \(place)\(readAs)")
            case WAQTOR_PHONE_POSSIBLE_LOCAL_ONLY:
                // Dialable within an area only ("555 0100" in the US): the area code is missing.
                throw PhoneNumberError(
                    .tooShort, "\(quoted) is too short for a number of \(place): write it with its area code\(readAs)")
            case WAQTOR_PHONE_POSSIBILITY_TOO_LONG:
                throw PhoneNumberError(.tooLong, "\(quoted) is too long for a number of \(place)\(readAs)")
            default:
                throw PhoneNumberError(.invalid, "\(quoted) is not a valid number for \(place)\(readAs)")
            }
        }
        let e164 = field(&parsed.e164)
        // E.164 allows 15 digits at most (and WhatsApp ids, and the contacts' column, no more), while
        // libphonenumber's patterns for some countries take longer national numbers as valid
        // ("+49 7842 4444444091").
        if e164.utf8.count > Self.maxE164Length {
            throw PhoneNumberError(.tooLong, "\(quoted) is too long for a number of \(place): an international number has at most 15 digits\(readAs)")
        }
        // Nor does a WhatsApp id have fewer than 7 digits, while libphonenumber takes some short
        // German numbers ("+49 1698") as valid.
        if e164.utf8.count < Self.minE164Length {
            throw PhoneNumberError(.tooShort, "\(quoted) is too short for a WhatsApp number of \(place): it needs at least 7 digits with the country code\(readAs)")
        }
        let numberRegion = field(&parsed.region)
        return PhoneNumber(
            e164: e164,
            region: numberRegion == "001" || numberRegion == "ZZ" || numberRegion.isEmpty ? nil : numberRegion,
            type: PhoneNumberType(parsed.type),
            countryCode: countryCode)
    }

    /// The longest E.164 text: `+` and 15 digits.
    public static let maxE164Length = 16
    /// The shortest E.164 text accepted: `+` and 7 digits, the shortest WhatsApp id.
    public static let minE164Length = 8

    /// An E.164 text ("+5511987654321") in the INTERNATIONAL form ("+55 11 98765-4321"), or nil
    /// when it is not a number with a country code. For display (the CLI); it does not validate.
    public static func international(e164: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 64)
        while true {
            let capacity = buffer.count
            let length = e164.withCString { waqtor_phone_format_international($0, &buffer, capacity) }
            if length < 0 { return nil }
            if Int(length) < capacity {
                return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
            buffer = [CChar](repeating: 0, count: Int(length) + 1)
        }
    }

    /// The main region of a country calling code (55 -> "BR", 1 -> "US"); nil when it has none.
    public static func region(forCountryCode code: Int) -> String? {
        guard let code = Int32(exactly: code), code > 0 else { return nil }
        var buffer = [CChar](repeating: 0, count: 4)
        guard waqtor_phone_region_for_country_code(code, &buffer, buffer.count) else { return nil }
        return String(decoding: buffer.prefix(2).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Whether libphonenumber knows the region: an ISO 3166 alpha-2 code in upper case ("BR").
    public static func isSupportedRegion(_ region: String) -> Bool {
        region.withCString { waqtor_phone_region_supported($0) }
    }
}

/// What kind of line a number is (libphonenumber's `PhoneNumberType`). The raw values are stable
/// and are what is stored.
public enum PhoneNumberType: String, Sendable, Hashable, CaseIterable {
    case fixedLine = "fixed_line"
    case mobile = "mobile"
    /// Regions whose numbers do not tell fixed lines and mobiles apart (the US, Canada, ...).
    case fixedLineOrMobile = "fixed_line_or_mobile"
    case tollFree = "toll_free"
    case premiumRate = "premium_rate"
    case sharedCost = "shared_cost"
    case voip = "voip"
    case personalNumber = "personal_number"
    case pager = "pager"
    /// A "universal access number": one number for a company's offices.
    case uan = "uan"
    case voicemail = "voicemail"
    case unknown = "unknown"

    /// Whether a number of this type may be a mobile, so may have WhatsApp (mobile, or a region
    /// where the number cannot tell).
    public var mayBeMobile: Bool { self == .mobile || self == .fixedLineOrMobile }

    init(_ type: waqtor_phone_type) {
        switch type {
        case WAQTOR_PHONE_TYPE_FIXED_LINE: self = .fixedLine
        case WAQTOR_PHONE_TYPE_MOBILE: self = .mobile
        case WAQTOR_PHONE_TYPE_FIXED_LINE_OR_MOBILE: self = .fixedLineOrMobile
        case WAQTOR_PHONE_TYPE_TOLL_FREE: self = .tollFree
        case WAQTOR_PHONE_TYPE_PREMIUM_RATE: self = .premiumRate
        case WAQTOR_PHONE_TYPE_SHARED_COST: self = .sharedCost
        case WAQTOR_PHONE_TYPE_VOIP: self = .voip
        case WAQTOR_PHONE_TYPE_PERSONAL_NUMBER: self = .personalNumber
        case WAQTOR_PHONE_TYPE_PAGER: self = .pager
        case WAQTOR_PHONE_TYPE_UAN: self = .uan
        case WAQTOR_PHONE_TYPE_VOICEMAIL: self = .voicemail
        default: self = .unknown
        }
    }
}

/// Why a text was refused as a phone number.
public struct PhoneNumberError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Reason: String, Sendable, Hashable, CaseIterable {
        /// Nothing but white space.
        case empty
        /// Not a phone number at all (letters, no digits, ...).
        case notANumber
        /// Written without a country code, and no default region to read it with.
        case missingCountryCode
        /// Written with a country calling code that does not exist (+999).
        case unknownCountryCode
        /// The default region given is not a region code libphonenumber knows.
        case unknownRegion
        /// Too few digits (for any number, or for a number of its country).
        case tooShort
        /// Too many digits (for any number, or for a number of its country).
        case tooLong
        /// The length could be right but no number of its country looks like it.
        case invalid
        /// It carries an extension ("ext. 12"), which a WhatsApp number never has.
        case hasExtension
        /// The library failed (out of memory).
        case `internal`
    }

    public let reason: Reason
    /// For a person: what is wrong with the number and, where it helps, what to write instead.
    public let message: String

    public init(_ reason: Reason, _ message: String) {
        self.reason = reason
        self.message = message
    }

    public var description: String { message }
}

/// The text of a NUL-terminated fixed-size C field (a tuple of CChar).
private func field<T>(_ tuple: inout T) -> String {
    withUnsafeBytes(of: &tuple) { raw in
        let bytes = raw.prefix { $0 != 0 }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let end = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[start...end])
    }
}
