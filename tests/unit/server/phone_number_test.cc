// Tests for server/phone_number.h against the real libphonenumber (Debian
// bookworm ships 8.12.57; the expectations below were checked against it).
#include "server/phone_number.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/testing/status_matchers.h"

namespace callpush {
namespace {

using ::callpush::testing::IsOk;
using ::callpush::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;

// --- IsCanonicalE164 --------------------------------------------------------

TEST(PhoneNumberCanonicalTest, AcceptsE164AsLibphonenumberFormatsIt) {
  EXPECT_TRUE(IsCanonicalE164("+447777123456"));  // UK mobile
  EXPECT_TRUE(IsCanonicalE164("+442079460000"));  // UK fixed line
  EXPECT_TRUE(IsCanonicalE164("+12015550123"));   // US
  EXPECT_TRUE(IsCanonicalE164("+33612345678"));   // France
  EXPECT_TRUE(IsCanonicalE164("+819012345678"));  // Japan
}

TEST(PhoneNumberCanonicalTest, RejectsOtherSpellingsOfTheSameNumber) {
  EXPECT_FALSE(IsCanonicalE164("+4407777123456"));  // national 0 kept
  EXPECT_FALSE(IsCanonicalE164("+44 7777 123456"));
  EXPECT_FALSE(IsCanonicalE164("+44-7777-123456"));
  EXPECT_FALSE(IsCanonicalE164("+44(0)7777123456"));
  EXPECT_FALSE(IsCanonicalE164("tel:+447777123456"));
  EXPECT_FALSE(IsCanonicalE164("447777123456"));  // no "+": no region to use
  EXPECT_FALSE(IsCanonicalE164("07777123456"));
  // Full-width digits parse to the same number, but are not its E.164 form.
  EXPECT_FALSE(IsCanonicalE164("+447777\uFF11\uFF12\uFF13\uFF14\uFF15\uFF16"));
}

TEST(PhoneNumberCanonicalTest, RejectsWhatDoesNotParse) {
  EXPECT_FALSE(IsCanonicalE164(""));
  EXPECT_FALSE(IsCanonicalE164("+"));
  EXPECT_FALSE(IsCanonicalE164("+1"));
  EXPECT_FALSE(IsCanonicalE164("garbage"));
  EXPECT_FALSE(IsCanonicalE164("+999999999"));  // no country code 999
}

TEST(PhoneNumberCanonicalTest, ChecksFormNotValidity) {
  // Canonical is about the spelling only: libphonenumber formats "+123"
  // back to itself although no such number exists. Lookups of such a number
  // simply find nothing.
  EXPECT_TRUE(IsCanonicalE164("+123"));
}

// --- NormalizeMobileNumber --------------------------------------------------

TEST(PhoneNumberNormalizeTest, AcceptsUkMobileInE164) {
  absl::StatusOr<std::string> n =
      NormalizeMobileNumber("mobileNumber", "+447777123456", "");
  ASSERT_THAT(n, IsOk());
  EXPECT_EQ(*n, "+447777123456");
}

TEST(PhoneNumberNormalizeTest, NationalFormUsesDefaultRegion) {
  absl::StatusOr<std::string> n =
      NormalizeMobileNumber("mobileNumber", "07777 123456", "GB");
  ASSERT_THAT(n, IsOk());
  EXPECT_EQ(*n, "+447777123456");
}

TEST(PhoneNumberNormalizeTest, RegionIsCaseInsensitive) {
  absl::StatusOr<std::string> n =
      NormalizeMobileNumber("mobileNumber", "07777123456", "gb");
  ASSERT_THAT(n, IsOk());
  EXPECT_EQ(*n, "+447777123456");
}

TEST(PhoneNumberNormalizeTest, FormattedInternationalNumbersAreNormalised) {
  const char* const kSpellings[] = {
      "+44 7777 123456",
      "+44 (0)7777 123456",
      "+4407777123456",
      "+44-7777-123456",
  };
  for (const char* spelling : kSpellings) {
    absl::StatusOr<std::string> n =
        NormalizeMobileNumber("mobileNumber", spelling, "");
    ASSERT_THAT(n, IsOk()) << spelling;
    EXPECT_EQ(*n, "+447777123456") << spelling;
  }
}

TEST(PhoneNumberNormalizeTest, LeadingPlusOverridesDefaultRegion) {
  absl::StatusOr<std::string> n =
      NormalizeMobileNumber("mobileNumber", "+33 6 12 34 56 78", "GB");
  ASSERT_THAT(n, IsOk());
  EXPECT_EQ(*n, "+33612345678");
}

TEST(PhoneNumberNormalizeTest, UkFixedLineIsNotAMobile) {
  EXPECT_THAT(NormalizeMobileNumber("mobileNumber", "+442079460000", ""),
              StatusIs(kInvalid, "mobileNumber: is not a mobile number"));
  EXPECT_THAT(NormalizeMobileNumber("mobileNumber", "020 7946 0000", "GB"),
              StatusIs(kInvalid, "mobileNumber: is not a mobile number"));
}

TEST(PhoneNumberNormalizeTest, UsNumbersAreFixedLineOrMobileAndAccepted) {
  // North American numbers do not tell mobile from fixed line, so
  // libphonenumber 8.12 types them FIXED_LINE_OR_MOBILE, which is accepted.
  absl::StatusOr<std::string> n =
      NormalizeMobileNumber("mobileNumber", "+12015550123", "");
  ASSERT_THAT(n, IsOk());
  EXPECT_EQ(*n, "+12015550123");

  absl::StatusOr<std::string> national =
      NormalizeMobileNumber("mobileNumber", "(201) 555-0123", "US");
  ASSERT_THAT(national, IsOk());
  EXPECT_EQ(*national, "+12015550123");
}

TEST(PhoneNumberNormalizeTest, NationalFormWithoutRegionIsRejected) {
  EXPECT_THAT(NormalizeMobileNumber("mobileNumber", "07777 123456", ""),
              StatusIs(kInvalid,
                       "mobileNumber: is not a phone number (use "
                       "E.164, or give defaultRegion)"));
}

TEST(PhoneNumberNormalizeTest, UnknownRegionIsRejected) {
  EXPECT_THAT(NormalizeMobileNumber("mobileNumber", "07777 123456", "XX"),
              StatusIs(kInvalid, StartsWith("mobileNumber: is not a phone "
                                            "number")));
}

TEST(PhoneNumberNormalizeTest, GarbageIsRejected) {
  const char* const kGarbage[] = {"garbage", "+",           "+1",
                                  "++44",    "hello world", "-"};
  for (const char* number : kGarbage) {
    EXPECT_THAT(NormalizeMobileNumber("mobileNumber", number, "GB"),
                StatusIs(kInvalid, StartsWith("mobileNumber: is not a")))
        << number;
  }
}

TEST(PhoneNumberNormalizeTest, ParseableButInvalidNumbersAreRejected) {
  // 07700 900xxx is Ofcom's range reserved for drama; +1 555-555 is fiction;
  // "+123" has no subscriber number.
  EXPECT_THAT(NormalizeMobileNumber("mobileNumber", "+447700900123", ""),
              StatusIs(kInvalid, "mobileNumber: is not a valid phone number"));
  EXPECT_THAT(NormalizeMobileNumber("mobileNumber", "+15555550123", ""),
              StatusIs(kInvalid, "mobileNumber: is not a valid phone number"));
  EXPECT_THAT(NormalizeMobileNumber("mobileNumber", "+123", ""),
              StatusIs(kInvalid, "mobileNumber: is not a valid phone number"));
  EXPECT_THAT(NormalizeMobileNumber("mobileNumber", "+447777123456789012", ""),
              StatusIs(kInvalid, "mobileNumber: is not a valid phone number"));
}

TEST(PhoneNumberNormalizeTest, EmptyIsRequired) {
  EXPECT_THAT(NormalizeMobileNumber("mobileNumber", "", "GB"),
              StatusIs(kInvalid, "mobileNumber: is required"));
}

TEST(PhoneNumberNormalizeTest, OverlongInputIsRejectedBeforeParsing) {
  EXPECT_THAT(
      NormalizeMobileNumber("mobileNumber", "+44" + std::string(62, '7'), ""),
      StatusIs(kInvalid, "mobileNumber: is not a phone number"));
}

TEST(PhoneNumberNormalizeTest, MessageNamesTheGivenField) {
  EXPECT_THAT(NormalizeMobileNumber("msisdn", "", ""),
              StatusIs(kInvalid, StartsWith("msisdn: ")));
  EXPECT_THAT(NormalizeMobileNumber("msisdn", "garbage", ""),
              StatusIs(kInvalid, StartsWith("msisdn: ")));
  EXPECT_THAT(NormalizeMobileNumber("msisdn", "+447700900123", ""),
              StatusIs(kInvalid, StartsWith("msisdn: ")));
  EXPECT_THAT(NormalizeMobileNumber("msisdn", "+442079460000", ""),
              StatusIs(kInvalid, HasSubstr("msisdn")));
}

// An extension cannot be dialled by a phone; dropping it silently would
// store a different number from the one given.
TEST(PhoneNumberNormalizeTest, RejectsExtensions) {
  EXPECT_THAT(
      NormalizeMobileNumber("mobileNumber", "+44 7777 123456 ext. 12", ""),
      StatusIs(kInvalid, "mobileNumber: must not have an extension"));
}

}  // namespace
}  // namespace callpush
