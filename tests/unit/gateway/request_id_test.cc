#include "gateway/request_id.h"

#include <gtest/gtest.h>

#include <set>

namespace callpush::gateway {
namespace {

TEST(RequestIdTest, EchoesSaneIds) {
  EXPECT_EQ(RequestIdFor("abc-123_x.y:z"), "abc-123_x.y:z");
}

TEST(RequestIdTest, ReplacesMissingOrUnsafeIds) {
  std::set<std::string> seen;
  for (const std::string& bad :
       {std::string(""), std::string("has space"), std::string("a\r\nb"),
        std::string(129, 'a'), std::string("<script>")}) {
    const std::string id = RequestIdFor(bad);
    EXPECT_EQ(id.size(), 32u) << bad;
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 5u);  // each one new
}

TEST(RequestIdTest, PassesOnlyW3cTraceparents) {
  const std::string good =
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  EXPECT_EQ(SaneTraceparent(good), good);
  EXPECT_EQ(SaneTraceparent(good.substr(1)), "");
  EXPECT_EQ(SaneTraceparent(
                "00-4bf92f3577b34da6a3ce929d0e0e473x-00f067aa0ba902b7-01"),
            "");
  EXPECT_EQ(SaneTraceparent(""), "");
}

}  // namespace
}  // namespace callpush::gateway
