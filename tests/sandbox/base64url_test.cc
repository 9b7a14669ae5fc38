#include "tests/sandbox/base64url.h"

#include <gtest/gtest.h>

namespace callpush::sandbox {
namespace {

TEST(Base64UrlTest, RoundTripsEveryLength) {
  std::string data;
  for (int i = 0; i < 70; ++i) {
    ASSERT_EQ(Base64UrlDecode(Base64UrlEncode(data)), data) << i;
    data.push_back(static_cast<char>(i * 37));
  }
}

TEST(Base64UrlTest, UsesUrlAlphabetWithoutPadding) {
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(Base64UrlDecode("-_8="), std::string("\xfb\xff"));
}

TEST(Base64UrlTest, RejectsForeignCharacters) {
  EXPECT_EQ(Base64UrlDecode("ab+/"), absl::nullopt);
  EXPECT_EQ(Base64UrlDecode("abcde"), absl::nullopt);
}

}  // namespace
}  // namespace callpush::sandbox
