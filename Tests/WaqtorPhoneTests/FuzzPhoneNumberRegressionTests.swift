import Testing
import WaqtorPhone

/// Inputs found by the phone number fuzz target (tools/fuzz, fuzz-phone).
@Suite("Phone numbers: fuzzing regressions")
struct FuzzPhoneNumberRegressionTests {
    /// libphonenumber takes this German number (letters read as digits, "IIIIIII" = 4444444) as
    /// valid, but its E.164 form has 16 digits: more than E.164, WhatsApp and the contacts' column
    /// allow. It is refused as too long instead of failing later in the database.
    @Test("a number of more than 15 digits is refused as too long")
    func sixteenDigits() {
        #expect(throws: PhoneNumberError.self) { try PhoneNumber.parse("7842IIIIIII091", defaultRegion: "DE") }
        do {
            _ = try PhoneNumber.parse("+49 7842 4444444091", defaultRegion: nil)
            Issue.record("a 16-digit number parsed")
        } catch {
            #expect(error.reason == .tooLong)
        }
    }

    /// libphonenumber takes "+491698" (Germany, 4 digits after the country code) as valid; its
    /// E.164 form has 6 digits, fewer than any WhatsApp id and than the contacts' column allows.
    @Test("a number of fewer than 7 digits is refused as too short")
    func sixDigits() {
        do {
            _ = try PhoneNumber.parse("+491698", defaultRegion: nil)
            Issue.record("a 6-digit number parsed")
        } catch {
            #expect(error.reason == .tooShort)
        }
    }

    @Test("every number that parses has an E.164 form of at most 15 digits")
    func longestAccepted() {
        for text in ["+49 7842 444444409", "+49 30 123456789012", "+43 1 234567890123", "+55 11 961234567", "+683 4002"] {
            if let number = try? PhoneNumber.parse(text, defaultRegion: nil) {
                #expect((PhoneNumber.minE164Length...PhoneNumber.maxE164Length).contains(number.e164.utf8.count), "\(text) gave \(number.e164)")
            }
        }
    }
}
