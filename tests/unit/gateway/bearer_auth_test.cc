#include "gateway/bearer_auth.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "tests/testing/status_matchers.h"

namespace callpush::gateway {
namespace {

using ::callpush::testing::StatusIs;

std::string WriteTemp(const std::string& text) {
  char path[] = "/tmp/callpush-tokens-XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << text;
  return path;
}

TEST(BearerAuthTest, AcceptsOnlyListedTokens) {
  const std::string path =
      WriteTemp("# proxy tokens\n\n  first-token  \nsecond-token\n");
  auto auth = BearerAuth::Load(path);
  std::remove(path.c_str());
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_EQ(auth->size(), 2u);
  EXPECT_TRUE(auth->Allows("Bearer first-token"));
  EXPECT_TRUE(auth->Allows("bearer second-token"));
  EXPECT_FALSE(auth->Allows("Bearer first-toke"));
  EXPECT_FALSE(auth->Allows("Bearer first-token2"));
  EXPECT_FALSE(auth->Allows("Bearer "));
  EXPECT_FALSE(auth->Allows(""));
  EXPECT_FALSE(auth->Allows("Basic Zmlyc3QtdG9rZW4="));
  EXPECT_FALSE(auth->Allows("first-token"));
  EXPECT_FALSE(auth->Allows("Bearer # proxy tokens"));
}

TEST(BearerAuthTest, RefusesMissingOrEmptyFiles) {
  EXPECT_THAT(BearerAuth::Load("/nonexistent/tokens"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  const std::string path = WriteTemp("# nothing\n\n");
  EXPECT_THAT(BearerAuth::Load(path),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("no token")));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace callpush::gateway
