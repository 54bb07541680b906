// Phone numbers: `PhoneNumber.parse` through libphonenumber and the C++ shim (CPhoneNumber), and
// `PhoneNumber.international`.
//
// Input: byte 0 picks the default region (none, a few countries, "ZZ", an unknown code); the rest,
// as UTF-8 (invalid bytes replaced), is the text.
//
// Checked, for whatever parses: the E.164 form is `+` and 7-15 digits (the contacts' column and WhatsApp ids) starting with the country
// code; parsed again without a default region it gives the same number (E.164, region, type,
// country code); its international form parses back to it too; the region is two letters.
import FuzzSupport
import WaqtorPhone

let regions: [String?] = [nil, "BR", "US", "DE", "EG", "IN", "GB", "MX", "AR", "PT", "FR", "CN", "ZZ", "XX", "", " br "]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPhone(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count >= 1 else { return 0 }
    let input = UnsafeRawBufferPointer(start: start, count: count)
    let region = regions[Int(input[0]) % regions.count]
    let text = String(decoding: input[1...], as: UTF8.self)
    guard let number = try? PhoneNumber.parse(text, defaultRegion: region) else { return 0 }

    let digits = number.e164.utf8.dropFirst()
    precondition(number.e164.utf8.first == UInt8(ascii: "+") && (7...15).contains(digits.count)
                 && digits.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }, "E.164 \(number.e164.debugDescription)")
    precondition(number.e164.hasPrefix("+\(number.countryCode)"), "\(number.e164) does not start with +\(number.countryCode)")
    if let region = number.region {
        precondition(region.utf8.count == 2 && region.utf8.allSatisfy { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }, "region \(region.debugDescription)")
    }
    let again: PhoneNumber
    do { again = try PhoneNumber.parse(number.e164, defaultRegion: nil) } catch {
        preconditionFailure("\(text.debugDescription) gave \(number.e164), which does not parse: \(error)")
    }
    precondition(again == number, "\(text.debugDescription) gave \(number), whose E.164 gives \(again)")
    let international = number.international
    let fromInternational: PhoneNumber
    do { fromInternational = try PhoneNumber.parse(international, defaultRegion: nil) } catch {
        preconditionFailure("\(number.e164) printed as \(international.debugDescription) does not parse: \(error)")
    }
    precondition(fromInternational == number, "\(number.e164) printed as \(international.debugDescription) gives \(fromInternational)")
    return 0
}

// libFuzzer's driver, from the `main` SwiftPM gives this executable (FuzzSupport).
@_cdecl("fuzz_phone_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, { fuzzPhone($0, $1) })
}
