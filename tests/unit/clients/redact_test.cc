// Tests for clients/base/redact.h: exact masked forms, and that the clear
// value never survives.
#include "clients/base/redact.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace callpush {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// --- RedactPhoneNumber ------------------------------------------------------

TEST(RedactPhoneNumberTest, KeepsCountryCodeAndLastThreeDigits) {
  EXPECT_EQ(RedactPhoneNumber("+447777123456"), "+44*******456");
  EXPECT_EQ(RedactPhoneNumber("+12015550123"), "+12******123");
  EXPECT_EQ(RedactPhoneNumber("+8613800138000"), "+86********000");
}

TEST(RedactPhoneNumberTest, KeepsLength) {
  EXPECT_EQ(RedactPhoneNumber("+447777123456").size(),
            std::string("+447777123456").size());
}

TEST(RedactPhoneNumberTest, NeverShowsTheNumber) {
  const std::string kNumber = "+447777123456";
  std::string out = RedactPhoneNumber(kNumber);
  EXPECT_THAT(out, Not(HasSubstr(kNumber)));
  EXPECT_THAT(out, Not(HasSubstr("7777123")));  // the subscriber digits
  EXPECT_THAT(out, Not(HasSubstr("123456")));
}

TEST(RedactPhoneNumberTest, ShortInputsAreFullyMasked) {
  EXPECT_EQ(RedactPhoneNumber(""), "");
  EXPECT_EQ(RedactPhoneNumber("+"), "*");
  EXPECT_EQ(RedactPhoneNumber("+4412"), "*****");
  EXPECT_EQ(RedactPhoneNumber("+44123"), "******");
}

TEST(RedactPhoneNumberTest, SevenCharactersMaskOne) {
  EXPECT_EQ(RedactPhoneNumber("+441234"), "+44*234");
}

TEST(RedactPhoneNumberTest, NonE164InputIsMaskedTheSameWay) {
  // Logs may see what a client sent before validation.
  EXPECT_EQ(RedactPhoneNumber("07777 123456"), "077******456");
  EXPECT_THAT(RedactPhoneNumber("07777 123456"), Not(HasSubstr("7777 123")));
}

// --- RedactToken ------------------------------------------------------------

constexpr char kApnsToken[] =
    "740f4707bebcf74f9b7c25d48e3358945f6aa01da5ddb387462c7eaf61bb78ad";

TEST(RedactTokenTest, KeepsLengthAndLastFourCharacters) {
  EXPECT_EQ(RedactToken(kApnsToken), "\u2026(64)78ad");
  EXPECT_EQ(RedactToken("dQw4w9WgXcQ:APA91bHun4MxP5egoKMwt2KZFBaFUH"),
            "\u2026(42)aFUH");
}

TEST(RedactTokenTest, NeverShowsTheToken) {
  std::string out = RedactToken(kApnsToken);
  EXPECT_THAT(out, Not(HasSubstr(kApnsToken)));
  EXPECT_THAT(out, Not(HasSubstr("740f4707")));
  EXPECT_THAT(out, Not(HasSubstr("61bb78ad")));
}

TEST(RedactTokenTest, ShortTokensShowOnlyTheirLength) {
  // Up to 8 characters the last four would be half the token: none is kept.
  EXPECT_EQ(RedactToken(""), "\u2026(0)");
  EXPECT_EQ(RedactToken("abcd"), "\u2026(4)");
  EXPECT_EQ(RedactToken("abcdefgh"), "\u2026(8)");
  EXPECT_EQ(RedactToken("abcdefghi"), "\u2026(9)fghi");
}

// --- RedactName -------------------------------------------------------------

TEST(RedactNameTest, ShowsOnlyTheByteLength) {
  EXPECT_EQ(RedactName("Dr Smith"), "<name:8B>");
  EXPECT_EQ(RedactName(""), "<name:0B>");
  // Bytes, not characters: each of these is two or three bytes in UTF-8.
  EXPECT_EQ(RedactName("Jos\u00E9 M\u00FCller"), "<name:13B>");
  EXPECT_EQ(RedactName("\u5C71\u7530\u592A\u90CE"), "<name:12B>");
}

TEST(RedactNameTest, NeverShowsTheName) {
  const char* const kNames[] = {"Dr Smith", "Jos\u00E9 M\u00FCller",
                                "\u5C71\u7530\u592A\u90CE"};
  for (const char* name : kNames) {
    std::string out = RedactName(name);
    EXPECT_THAT(out, Not(HasSubstr(name))) << name;
  }
}

}  // namespace
}  // namespace callpush
