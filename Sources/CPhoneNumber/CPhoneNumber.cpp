// The C surface of include/CPhoneNumber.h over libphonenumber's PhoneNumberUtil.
#include "CPhoneNumber.h"

#include <cstring>
#include <string>

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

namespace {

// Copies `text` into a fixed field, truncating (the fields are sized for what they hold).
template <size_t N>
void copy_field(char (&field)[N], const std::string &text) {
    const size_t n = text.size() < N - 1 ? text.size() : N - 1;
    std::memcpy(field, text.data(), n);
    field[n] = '\0';
}

waqtor_phone_parse_status status_of(PhoneNumberUtil::ErrorType error) {
    switch (error) {
    case PhoneNumberUtil::NO_PARSING_ERROR: return WAQTOR_PHONE_PARSE_OK;
    case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR: return WAQTOR_PHONE_PARSE_INVALID_COUNTRY_CODE;
    case PhoneNumberUtil::NOT_A_NUMBER: return WAQTOR_PHONE_PARSE_NOT_A_NUMBER;
    case PhoneNumberUtil::TOO_SHORT_AFTER_IDD: return WAQTOR_PHONE_PARSE_TOO_SHORT_AFTER_IDD;
    case PhoneNumberUtil::TOO_SHORT_NSN: return WAQTOR_PHONE_PARSE_TOO_SHORT_NSN;
    case PhoneNumberUtil::TOO_LONG_NSN: return WAQTOR_PHONE_PARSE_TOO_LONG;
    }
    return WAQTOR_PHONE_PARSE_NOT_A_NUMBER;
}

// The library's "no region" code.
const char *const unknown_region = "ZZ";

}  // namespace

extern "C" waqtor_phone_parse_status waqtor_phone_parse(const char *text, size_t length, const char *default_region,
                                                        waqtor_phone_parsed *out) {
    std::memset(out, 0, sizeof *out);
    if (text == nullptr) return WAQTOR_PHONE_PARSE_NOT_A_NUMBER;
    try {
        const PhoneNumberUtil &util = *PhoneNumberUtil::GetInstance();
        const std::string region =
            default_region != nullptr && default_region[0] != '\0' ? default_region : unknown_region;
        PhoneNumber number;
        const PhoneNumberUtil::ErrorType error = util.Parse(std::string(text, length), region, &number);
        if (error != PhoneNumberUtil::NO_PARSING_ERROR) return status_of(error);

        std::string formatted;
        util.Format(number, PhoneNumberUtil::E164, &formatted);
        copy_field(out->e164, formatted);
        std::string number_region;
        util.GetRegionCodeForNumber(number, &number_region);
        copy_field(out->region, number_region);
        std::string main_region;
        util.GetRegionCodeForCountryCode(number.country_code(), &main_region);
        copy_field(out->country_region, main_region);
        out->country_code = number.country_code();
        // What IsValidNumber does, without finding the number's region a second time.
        out->valid = util.IsValidNumberForRegion(number, number_region);
        // GetNumberType is UNKNOWN for a number that is not valid; it would find the region again.
        out->type = out->valid ? static_cast<waqtor_phone_type>(util.GetNumberType(number)) : WAQTOR_PHONE_TYPE_UNKNOWN;
        const PhoneNumberUtil::ValidationResult possibility = util.IsPossibleNumberWithReason(number);
        out->possibility = static_cast<waqtor_phone_possibility>(possibility);
        // What IsPossibleNumber answers, from the same result.
        out->possible = possibility == PhoneNumberUtil::IS_POSSIBLE || possibility == PhoneNumberUtil::IS_POSSIBLE_LOCAL_ONLY;
        out->has_extension = number.has_extension() && !number.extension().empty();
        return WAQTOR_PHONE_PARSE_OK;
    } catch (...) {
        std::memset(out, 0, sizeof *out);
        return WAQTOR_PHONE_PARSE_INTERNAL_ERROR;
    }
}

extern "C" int32_t waqtor_phone_format_international(const char *e164, char *buffer, size_t capacity) {
    if (capacity > 0) buffer[0] = '\0';
    if (e164 == nullptr) return -1;
    try {
        const PhoneNumberUtil &util = *PhoneNumberUtil::GetInstance();
        PhoneNumber number;
        if (util.Parse(e164, unknown_region, &number) != PhoneNumberUtil::NO_PARSING_ERROR) return -1;
        std::string formatted;
        util.Format(number, PhoneNumberUtil::INTERNATIONAL, &formatted);
        if (capacity > 0) {
            const size_t n = formatted.size() < capacity - 1 ? formatted.size() : capacity - 1;
            std::memcpy(buffer, formatted.data(), n);
            buffer[n] = '\0';
        }
        return static_cast<int32_t>(formatted.size());
    } catch (...) {
        if (capacity > 0) buffer[0] = '\0';
        return -1;
    }
}

extern "C" bool waqtor_phone_region_for_country_code(int32_t country_code, char *region, size_t capacity) {
    if (region == nullptr || capacity < 3) return false;
    try {
        std::string code;
        PhoneNumberUtil::GetInstance()->GetRegionCodeForCountryCode(country_code, &code);
        if (code.size() != 2 || code == "ZZ") return false;
        region[0] = code[0];
        region[1] = code[1];
        region[2] = '\0';
        return true;
    } catch (...) {
        return false;
    }
}

extern "C" bool waqtor_phone_region_supported(const char *region) {
    if (region == nullptr || region[0] == '\0') return false;
    try {
        // 0 for a region without metadata (and for "ZZ" and "001", which are not regions).
        return PhoneNumberUtil::GetInstance()->GetCountryCodeForRegion(region) != 0;
    } catch (...) {
        return false;
    }
}
