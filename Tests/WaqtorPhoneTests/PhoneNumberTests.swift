import Testing
import WaqtorPhone

/// Numbers come from libphonenumber's own example numbers (8.12 metadata) and well-known public
/// lines; none is a person's.
@Suite("Phone numbers")
struct PhoneNumberTests {
    @Test("numbers written with +, 00 or a national trunk 0, with any punctuation, become E.164", arguments: [
        ("+55 11 96123-4567", nil, "+5511961234567"),
        ("+55 (11) 96123-4567", "US", "+5511961234567"),
        ("(11) 96123-4567", "BR", "+5511961234567"),
        ("11961234567", "br", "+5511961234567"),
        ("+20 100 123 4567", nil, "+201001234567"),
        ("0100 123 4567", "EG", "+201001234567"),
        ("0049 30 123456", "DE", "+4930123456"),
        ("030 123456", "DE", "+4930123456"),
        ("030-123456", "DE", "+4930123456"),
        ("+49 (0)30 123456", nil, "+4930123456"),
        ("00 55 11 96123 4567", "PT", "+5511961234567"),
        ("912 345 678", "PT", "+351912345678"),
        ("+1 (650) 253-0000", nil, "+16502530000"),
        ("650.253.0000", "US", "+16502530000"),
        ("011 44 7400 123456", "US", "+447400123456"),
        ("081234 56789", "IN", "+918123456789"),
        ("  +91 81234 56789  ", nil, "+918123456789"),
        ("+800 1234 5678", nil, "+80012345678"),
    ] as [(String, String?, String)])
    func e164(text: String, region: String?, expected: String) throws {
        let number = try PhoneNumber.parse(text, defaultRegion: region)
        #expect(number.e164 == expected)
        #expect(number.description == expected)
    }

    @Test("a number written with a country code ignores the default region")
    func countryCodeWins() throws {
        let number = try PhoneNumber.parse("+20 2 34567890", defaultRegion: "BR")
        #expect(number.e164 == "+20234567890")
        #expect(number.region == "EG")
        #expect(number.countryCode == 20)
    }

    @Test("region and country code", arguments: [
        ("+5511961234567", "BR", 55),
        ("+201001234567", "EG", 20),
        ("+4915123456789", "DE", 49),
        ("+16502530000", "US", 1),
        ("+14165550123", "CA", 1),
        ("+918123456789", "IN", 91),
        ("+351212345678", "PT", 351),
    ] as [(String, String, Int)])
    func regionAndCountryCode(text: String, region: String, countryCode: Int) throws {
        let number = try PhoneNumber.parse(text, defaultRegion: nil)
        #expect(number.region == region)
        #expect(number.countryCode == countryCode)
    }

    @Test("a non-geographic number has no region")
    func nonGeographic() throws {
        let number = try PhoneNumber.parse("+800 1234 5678", defaultRegion: nil)
        #expect(number.region == nil)
        #expect(number.countryCode == 800)
        #expect(number.type == .tollFree)
    }

    @Test("the type of a mobile and of a fixed line", arguments: [
        ("+55 11 96123-4567", PhoneNumberType.mobile),
        ("+55 11 2345-6789", .fixedLine),
        ("+20 100 123 4567", .mobile),
        ("+20 2 34567890", .fixedLine),
        ("+49 1512 3456789", .mobile),
        ("+49 30 123456", .fixedLine),
        ("+91 81234 56789", .mobile),
        ("+91 22 2345 6789", .fixedLine),
        ("+351 912 345 678", .mobile),
        ("+351 21 234 5678", .fixedLine),
        // The North American plan gives mobiles and fixed lines the same numbers.
        ("+1 650 253 0000", .fixedLineOrMobile),
        ("+1 800 234 5678", .tollFree),
        ("+55 800 12 3456", .tollFree),
    ])
    func type(text: String, expected: PhoneNumberType) throws {
        #expect(try PhoneNumber.parse(text, defaultRegion: nil).type == expected)
    }

    @Test("mayBeMobile is true for mobiles and for regions that cannot tell")
    func mayBeMobile() {
        #expect(PhoneNumberType.mobile.mayBeMobile)
        #expect(PhoneNumberType.fixedLineOrMobile.mayBeMobile)
        #expect(!PhoneNumberType.fixedLine.mayBeMobile)
        #expect(!PhoneNumberType.tollFree.mayBeMobile)
    }

    @Test("numbers that are not valid are refused with a reason", arguments: [
        ("", nil, PhoneNumberError.Reason.empty),
        ("   ", "BR", .empty),
        ("hello", "BR", .notANumber),
        ("11 96123 4567", nil, .missingCountryCode),
        ("0049 30 123456", nil, .missingCountryCode),
        ("+999 1234 5678", nil, .unknownCountryCode),
        ("+999 1234 5678", "BR", .unknownCountryCode),
        ("11 96123 4567", "XX", .unknownRegion),
        ("11 96123 4567", "Brazil", .unknownRegion),
        ("+55 1", nil, .tooShort),
        ("+55 119", nil, .tooShort),
        ("+49 30", nil, .tooShort),
        ("+351 912 345", nil, .tooShort),
        ("+55 11 96123 4567 8901 2345 678", nil, .tooLong),
        ("+55 11 96123 45678", nil, .tooLong),
        ("+1 555 0100", nil, .tooShort),
        ("555 0100", "US", .tooShort),
        ("+55 11 0123-4567", nil, .invalid),
        ("11 0123-4567", "BR", .invalid),
        ("+49 30 123456 ext. 12", nil, .hasExtension),
    ] as [(String, String?, PhoneNumberError.Reason)])
    func refused(text: String, region: String?, reason: PhoneNumberError.Reason) {
        #expect {
            try PhoneNumber.parse(text, defaultRegion: region)
        } throws: { error in
            (error as? PhoneNumberError)?.reason == reason
        }
    }

    @Test("a refusal says what to do")
    func messages() {
        #expect(message("+55 11 0123-4567", nil) == "\"+55 11 0123-4567\" is not a valid number for BR")
        #expect(message("+1 555 0100", nil) == "\"+1 555 0100\" is too short for a number of US: write it with its area code")
        #expect(message("+351 912 345", nil) == "\"+351 912 345\" is too short for a number of PT")
        #expect(message("+55 11 96123 45678", nil) == "\"+55 11 96123 45678\" is too long for a number of BR")
        #expect(message("+800 1234", nil) == "\"+800 1234\" is too short for a number of +800")
        #expect(message("11 96123 4567", nil)
            == "\"11 96123 4567\" has no country code and no default region: write the number with +<country code>")
        #expect(message("555 0100", "US")
            == "\"555 0100\" is too short for a number of US: write it with its area code (a number without +<country code> is read as one of US; write it with +<country code> if it is from elsewhere)")
        #expect(message("11 0123-4567", "BR")
            == "\"11 0123-4567\" is not a valid number for BR (a number without +<country code> is read as one of BR; write it with +<country code> if it is from elsewhere)")
        #expect(message("+55 1", nil) == "\"+55 1\" is too short to be a phone number")
        #expect(message("11 96123 4567", "xx")
            == "\"XX\" is not a region code for phone numbers: use a country's two-letter ISO 3166 code, such as BR or US")
        #expect(message("+999 1234 5678", nil) == "\"+999 1234 5678\" does not start with a country calling code that exists")
    }

    private func message(_ text: String, _ region: String?) -> String? {
        do {
            _ = try PhoneNumber.parse(text, defaultRegion: region)
            return nil
        } catch {
            #expect(error.description == error.message)
            return error.message
        }
    }

    @Test("the default region may be empty or ZZ, which mean none")
    func noRegion() throws {
        for region in ["", "ZZ", "zz", " "] {
            #expect(throws: PhoneNumberError(.missingCountryCode,
                                             "\"11 96123 4567\" has no country code and no default region: write the number with +<country code>")) {
                try PhoneNumber.parse("11 96123 4567", defaultRegion: region)
            }
            #expect(try PhoneNumber.parse("+55 11 96123 4567", defaultRegion: region).e164 == "+5511961234567")
        }
    }

    @Test("the international form, for display")
    func international() throws {
        #expect(PhoneNumber.international(e164: "+5511961234567") == "+55 11 96123-4567")
        #expect(PhoneNumber.international(e164: "+4930123456") == "+49 30 123456")
        #expect(PhoneNumber.international(e164: "+16502530000") == "+1 650-253-0000")
        #expect(PhoneNumber.international(e164: "hello") == nil)
        #expect(PhoneNumber.international(e164: "") == nil)
        #expect(try PhoneNumber.parse("0100 123 4567", defaultRegion: "EG").international == "+20 100 123 4567")
    }

    @Test("supported regions")
    func regions() {
        for region in ["BR", "EG", "DE", "US", "IN", "PT"] {
            #expect(PhoneNumber.isSupportedRegion(region))
        }
        for region in ["", "ZZ", "001", "XX", "br", "BRA"] {
            #expect(!PhoneNumber.isSupportedRegion(region))
        }
    }

    @Test("an E.164 text parses back to itself")
    func roundTrip() throws {
        for text in ["+5511961234567", "+201001234567", "+4930123456", "+16502530000", "+918123456789"] {
            let number = try PhoneNumber.parse(text, defaultRegion: nil)
            #expect(try PhoneNumber.parse(number.e164, defaultRegion: "PT") == number)
        }
    }
}

@Suite("Country calling codes")
struct CountryCodeTests {
    @Test("a calling code's main region; none for unknown or non-geographic codes")
    func regions() {
        #expect(PhoneNumber.region(forCountryCode: 55) == "BR")
        #expect(PhoneNumber.region(forCountryCode: 20) == "EG")
        #expect(PhoneNumber.region(forCountryCode: 1) == "US")
        #expect(PhoneNumber.region(forCountryCode: 44) == "GB")
        #expect(PhoneNumber.region(forCountryCode: 999) == nil)
        #expect(PhoneNumber.region(forCountryCode: 800) == nil)
        #expect(PhoneNumber.region(forCountryCode: 0) == nil)
        #expect(PhoneNumber.region(forCountryCode: -55) == nil)
    }
}
