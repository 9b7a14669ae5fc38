#include "gateway/url_encoding.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/status_matchers.h"

namespace callpush::gateway {
namespace {

using ::callpush::testing::IsOkAndHolds;
using ::callpush::testing::StatusIs;

using ::testing::ElementsAre;
using ::testing::Pair;

TEST(UrlEncodingTest, DecodesEscapesAndPlus) {
  EXPECT_THAT(PercentDecode("%2B447777123456", true),
              IsOkAndHolds(std::string("+447777123456")));
  EXPECT_THAT(PercentDecode("a+b%20c", true),
              IsOkAndHolds(std::string("a b c")));
  EXPECT_THAT(PercentDecode("a+b", false), IsOkAndHolds(std::string("a+b")));
  EXPECT_THAT(PercentDecode("%C3%A9", true),
              IsOkAndHolds(std::string("\xC3\xA9")));
}

TEST(UrlEncodingTest, RejectsBrokenEscapes) {
  EXPECT_THAT(PercentDecode("%2", true),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(PercentDecode("%zz", true),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseUrlEncoded("ok=1&callId=%G1", true),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("callId")));
}

TEST(UrlEncodingTest, SplitsPairs) {
  auto pairs = ParseUrlEncoded("mobileNumber=%2B44&&flag&x=a=b", true);
  ASSERT_TRUE(pairs.ok());
  EXPECT_THAT(*pairs, ElementsAre(Pair("mobileNumber", "+44"), Pair("flag", ""),
                                  Pair("x", "a=b")));
  EXPECT_THAT(ParseUrlEncoded("", true), IsOkAndHolds(::testing::IsEmpty()));
  auto plus = ParseUrlEncoded("a=+44&b=x+y", false);
  ASSERT_TRUE(plus.ok());
  EXPECT_THAT(*plus, ElementsAre(Pair("a", "+44"), Pair("b", "x+y")));
}

}  // namespace
}  // namespace callpush::gateway
