// CPhoneNumber: a plain C surface over Google's libphonenumber (C++ API, Debian's
// libphonenumber-dev). Swift calls these functions; it never sees a C++ type.
//
// Threads: every function may be called from any number of threads at once. They all go through
// i18n::phonenumbers::PhoneNumberUtil::GetInstance(), a singleton created once (pthread_once) and
// never destroyed, whose methods are const and whose internal caches are locked.
//
// Memory: no function returns memory for the caller to free. Results are fixed-size structs the
// caller owns, or are written into a buffer the caller passes with its capacity. No C++ exception
// crosses this boundary: one becomes WAQTOR_PHONE_PARSE_INTERNAL_ERROR (or -1, or false).
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The outcome of parsing a text (PhoneNumberUtil::ErrorType, plus an internal failure).
typedef enum {
    WAQTOR_PHONE_PARSE_OK = 0,
    /// No country calling code could be read: the text has none and there is no usable default
    /// region, or the code after '+' / the international prefix is not one that exists.
    WAQTOR_PHONE_PARSE_INVALID_COUNTRY_CODE = 1,
    /// The text does not look like a phone number at all.
    WAQTOR_PHONE_PARSE_NOT_A_NUMBER = 2,
    /// Too few digits after the international dialling prefix (e.g. "00" then almost nothing).
    WAQTOR_PHONE_PARSE_TOO_SHORT_AFTER_IDD = 3,
    /// Too few digits for a national significant number.
    WAQTOR_PHONE_PARSE_TOO_SHORT_NSN = 4,
    /// Too many digits (or a text over 250 characters).
    WAQTOR_PHONE_PARSE_TOO_LONG = 5,
    /// The library threw (out of memory); the output is not filled.
    WAQTOR_PHONE_PARSE_INTERNAL_ERROR = 6,
} waqtor_phone_parse_status;

/// PhoneNumberUtil::PhoneNumberType, same order and values.
typedef enum {
    WAQTOR_PHONE_TYPE_FIXED_LINE = 0,
    WAQTOR_PHONE_TYPE_MOBILE = 1,
    /// Regions where the number cannot tell the two apart (the US, Canada, ...).
    WAQTOR_PHONE_TYPE_FIXED_LINE_OR_MOBILE = 2,
    WAQTOR_PHONE_TYPE_TOLL_FREE = 3,
    WAQTOR_PHONE_TYPE_PREMIUM_RATE = 4,
    WAQTOR_PHONE_TYPE_SHARED_COST = 5,
    WAQTOR_PHONE_TYPE_VOIP = 6,
    WAQTOR_PHONE_TYPE_PERSONAL_NUMBER = 7,
    WAQTOR_PHONE_TYPE_PAGER = 8,
    WAQTOR_PHONE_TYPE_UAN = 9,
    WAQTOR_PHONE_TYPE_VOICEMAIL = 10,
    WAQTOR_PHONE_TYPE_UNKNOWN = 11,
} waqtor_phone_type;

/// PhoneNumberUtil::ValidationResult (IsPossibleNumberWithReason), same order and values: why a
/// parsed number has a length that cannot be right, when it cannot.
typedef enum {
    WAQTOR_PHONE_POSSIBLE = 0,
    WAQTOR_PHONE_POSSIBLE_LOCAL_ONLY = 1,
    WAQTOR_PHONE_POSSIBILITY_INVALID_COUNTRY_CODE = 2,
    WAQTOR_PHONE_POSSIBILITY_TOO_SHORT = 3,
    WAQTOR_PHONE_POSSIBILITY_INVALID_LENGTH = 4,
    WAQTOR_PHONE_POSSIBILITY_TOO_LONG = 5,
} waqtor_phone_possibility;

/// Room for an E.164 text: '+', at most 3 digits of country code and 17 of national number, NUL.
#define WAQTOR_PHONE_E164_CAPACITY 32
/// Room for a region code: two letters ("BR"), "001" for non-geographic numbers, "ZZ" for none.
#define WAQTOR_PHONE_REGION_CAPACITY 8

/// A parsed number. Every text field is NUL-terminated.
typedef struct {
    /// "+5511987654321": the number in E.164 (without any extension).
    char e164[WAQTOR_PHONE_E164_CAPACITY];
    /// The region the number belongs to (GetRegionCodeForNumber): ISO 3166 alpha-2, "001" for a
    /// non-geographic number (+800, +882, ...), "ZZ" when no region's patterns match it (then the
    /// number is not valid).
    char region[WAQTOR_PHONE_REGION_CAPACITY];
    /// The main region of the country calling code (GetRegionCodeForCountryCode): "US" for +1,
    /// whatever the number. For messages about a number that is not valid.
    char country_region[WAQTOR_PHONE_REGION_CAPACITY];
    /// The country calling code: 55 for Brazil.
    int32_t country_code;
    /// IsValidNumber: the number matches a pattern of its region.
    bool valid;
    /// IsPossibleNumber: its length could be right (a weaker check than `valid`).
    bool possible;
    /// Whether the text carried an extension ("ext. 12"), which E.164 leaves out.
    bool has_extension;
    /// GetNumberType (UNKNOWN for a number that is not valid).
    waqtor_phone_type type;
    /// IsPossibleNumberWithReason.
    waqtor_phone_possibility possibility;
} waqtor_phone_parsed;

/// Parses `length` bytes of UTF-8 `text` (it need not be NUL-terminated). `default_region` is the
/// ISO 3166 alpha-2 region used for a number written without a country code; NULL, "" or "ZZ" for
/// none. On WAQTOR_PHONE_PARSE_OK, `*out` is filled; on any other status it is zeroed.
waqtor_phone_parse_status waqtor_phone_parse(const char *text, size_t length, const char *default_region,
                                             waqtor_phone_parsed *out);

/// Formats an E.164 text ("+5511987654321") in the INTERNATIONAL form for display
/// ("+55 11 98765-4321") into `buffer` (NUL-terminated, truncated to `capacity`, like snprintf).
/// Returns the length of the whole formatted text without the NUL (a result >= `capacity` means it
/// was truncated), or -1 when `e164` does not parse as a number with a country code.
int32_t waqtor_phone_format_international(const char *e164, char *buffer, size_t capacity);

/// Whether libphonenumber has metadata for this ISO 3166 alpha-2 region (upper case: "BR").
bool waqtor_phone_region_supported(const char *region);

/// The main region of a country calling code (55 -> "BR", 1 -> "US", 44 -> "GB") written into
/// `region` (capacity at least 3: two letters and a NUL); false when the code has no region
/// (unknown, or non-geographic such as 800).
bool waqtor_phone_region_for_country_code(int32_t country_code, char *region, size_t capacity);

#ifdef __cplusplus
}
#endif
