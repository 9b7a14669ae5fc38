// Tests for clients/callpushctl/commands.h: the table's lookups and the usage
// lines printed on usage errors.
#include "clients/callpushctl/commands.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace callpush::ctl {
namespace {

using ::testing::HasSubstr;

TEST(CommandsTest, FindsEveryCommandByItsWords) {
  for (const CommandSpec& c : Commands()) {
    EXPECT_EQ(FindCommand(c.name), &c) << c.name;
    EXPECT_THAT(UsageText(c.name), HasSubstr(c.summary)) << c.name;
  }
  EXPECT_EQ(FindCommand("device"), nullptr);
  EXPECT_EQ(FindCommand("device frob"), nullptr);
  EXPECT_TRUE(IsGroup("device"));
  EXPECT_TRUE(IsGroup("patient"));
  EXPECT_FALSE(IsGroup("call-log"));
}

TEST(CommandsTest, OptionArity) {
  EXPECT_TRUE(OptionTakesValue("server"));
  EXPECT_TRUE(OptionTakesValue("timeout"));
  EXPECT_TRUE(OptionTakesValue("mobile"));
  EXPECT_TRUE(OptionTakesValue("voip-token"));
  EXPECT_FALSE(OptionTakesValue("refuse-calls"));
  EXPECT_FALSE(OptionTakesValue("help"));
  EXPECT_FALSE(OptionTakesValue("unknown"));
}

TEST(CommandsTest, UsageLines) {
  EXPECT_EQ(UsageLine("device register"),
            "usage: callpushctl [global options] device register --mobile E164 "
            "--platform ios|android --app APP [--region CC] [--environment "
            "sandbox|production] [--voip-token TOKEN] [--push-token TOKEN] "
            "[--refuse-calls] [--id UUID]");
  EXPECT_EQ(UsageLine("device set-inbound-calls"),
            "usage: callpushctl [global options] device set-inbound-calls ID "
            "on|off");
  EXPECT_EQ(UsageLine("call-log"),
            "usage: callpushctl [global options] call-log CALL_ID");
  EXPECT_EQ(UsageLine("patient"),
            "usage: callpushctl [global options] patient <command> [arguments]"
            "  (see 'callpushctl help patient')");
  EXPECT_EQ(UsageLine(""),
            "usage: callpushctl [--server HOST:PORT] [--timeout DURATION] "
            "<command> [arguments]  (see 'callpushctl help')");
}

TEST(CommandsTest, TopLevelHelpListsEveryCommand) {
  std::string help = UsageText("");
  for (const CommandSpec& c : Commands()) {
    EXPECT_THAT(help, HasSubstr(c.name));
  }
  EXPECT_THAT(help, HasSubstr("CALLPUSH_SERVER"));
  EXPECT_THAT(help, HasSubstr("Exit status: 0 success; 1"));
}

}  // namespace
}  // namespace callpush::ctl
