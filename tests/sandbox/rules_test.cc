#include "tests/sandbox/rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace callpush::sandbox {
namespace {

using ::testing::HasSubstr;

std::vector<Rule> Parse(const char* text) {
  auto rules = ParseRules(nlohmann::json::parse(text));
  EXPECT_TRUE(rules.ok()) << rules.status();
  return rules.ok() ? *rules : std::vector<Rule>{};
}

TEST(RulesTest, ParsesEveryField) {
  std::vector<Rule> rules = Parse(
      R"([{"token":"aa","status":429,"reason":"TooManyRequests",
           "retry_after":7,"delay_ms":50,"action":"refuse_stream","times":2}])");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].token, "aa");
  EXPECT_EQ(rules[0].status, 429);
  EXPECT_EQ(rules[0].reason, "TooManyRequests");
  EXPECT_EQ(rules[0].retry_after, 7);
  EXPECT_EQ(rules[0].delay_ms, 50);
  EXPECT_EQ(rules[0].action, StreamAction::kRefuseStream);
  EXPECT_EQ(rules[0].times, 2);
}

TEST(RulesTest, ErrorsNameTheField) {
  auto missing = ParseRules(nlohmann::json::parse(R"([{"status":410}])"));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(missing.status().message()),
              HasSubstr("rules[0].token"));
  auto action = ParseRules(
      nlohmann::json::parse(R"([{"token":"a"},{"token":"b","action":"x"}])"));
  EXPECT_THAT(std::string(action.status().message()),
              HasSubstr("rules[1].action"));
  auto unknown = ParseRules(nlohmann::json::parse(R"([{"token":"a","st":1}])"));
  EXPECT_THAT(std::string(unknown.status().message()),
              HasSubstr("rules[0].st: unknown field"));
  EXPECT_FALSE(ParseRules(nlohmann::json::parse(R"({"token":"a"})")).ok());
  EXPECT_FALSE(
      ParseRules(nlohmann::json::parse(R"([{"token":"a","times":0}])")).ok());
}

TEST(RuleBookTest, TimesAreUsedUpThenTokenIsAnsweredNormally) {
  RuleBook book;
  book.Replace(Parse(R"([{"token":"aa","status":503,"times":2}])"));
  EXPECT_EQ(book.Take("aa")->status, 503);
  EXPECT_EQ(book.Take("aa")->status, 503);
  EXPECT_EQ(book.Take("aa"), absl::nullopt);
  EXPECT_EQ(book.ToJson(), nlohmann::json::parse(
                               R"([{"token":"aa","status":503,"times":0}])"));
}

TEST(RuleBookTest, WithoutTimesAppliesForever) {
  RuleBook book;
  book.Replace(Parse(R"([{"token":"aa","status":410}])"));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(book.Take("aa")->status, 410);
  EXPECT_EQ(book.Take("bb"), absl::nullopt);
}

TEST(RuleBookTest, RulesForOneTokenApplyInOrder) {
  RuleBook book;
  book.Replace(Parse(R"([{"token":"aa","action":"goaway","times":1},
                         {"token":"aa","status":500,"times":1}])"));
  EXPECT_EQ(book.Take("aa")->action, StreamAction::kGoaway);
  EXPECT_EQ(book.Take("aa")->status, 500);
  EXPECT_EQ(book.Take("aa"), absl::nullopt);
}

TEST(RuleBookTest, ReplaceWithEmptyClears) {
  RuleBook book;
  book.Replace(Parse(R"([{"token":"aa","status":410}])"));
  book.Replace({});
  EXPECT_EQ(book.Take("aa"), absl::nullopt);
  EXPECT_EQ(book.ToJson(), nlohmann::json::array());
}

}  // namespace
}  // namespace callpush::sandbox
