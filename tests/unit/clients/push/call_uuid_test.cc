#include "clients/apns/call_uuid.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace callpush {
namespace {

TEST(UuidV5Test, Rfc4122DnsExample) {
  auto dns = ParseUuid("6ba7b810-9dad-11d1-80b4-00c04fd430c8");
  ASSERT_TRUE(dns.has_value());
  EXPECT_EQ(FormatUuid(UuidV5(*dns, "www.example.com")),
            "2ed6657d-e927-568b-95e1-2665a8aea6a2");
}

TEST(UuidTest, ParseAndFormatRoundTrip) {
  auto u = ParseUuid("6BA7B810-9DAD-11D1-80B4-00C04FD430C8");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(FormatUuid(*u), "6ba7b810-9dad-11d1-80b4-00c04fd430c8");
  EXPECT_EQ((*u)[0], 0x6b);
  EXPECT_EQ((*u)[15], 0xc8);
}

TEST(UuidTest, ParseRejectsMalformed) {
  EXPECT_FALSE(ParseUuid("").has_value());
  EXPECT_FALSE(ParseUuid("6ba7b810-9dad-11d1-80b4-00c04fd430c").has_value());
  EXPECT_FALSE(ParseUuid("6ba7b810-9dad-11d1-80b4-00c04fd430c88").has_value());
  EXPECT_FALSE(ParseUuid("6ba7b8109-dad-11d1-80b4-00c04fd430c8").has_value());
  EXPECT_FALSE(ParseUuid("6ba7b810-9dad-11d1-80b4-00c04fd430cg").has_value());
}

TEST(CallUuidTest, DeterministicVersion5AndDistinct) {
  std::string a = CallUuid("call-123");
  EXPECT_EQ(a, CallUuid("call-123"));
  EXPECT_NE(a, CallUuid("call-124"));
  ASSERT_EQ(a.size(), 36u);
  EXPECT_EQ(a[14], '5');  // version nibble
  EXPECT_THAT(std::string(1, a[19]), ::testing::AnyOf("8", "9", "a", "b"));
  // Pinned: a change of namespace or algorithm would break calls in flight
  // across a deploy, so it must show up as a failing test.
  // (Python: uuid.uuid5(UUID(kCallUuidNamespace), "call-123").)
  EXPECT_EQ(a, "ff9fd686-8b02-5040-b198-3e6471185290");
}

}  // namespace
}  // namespace callpush
