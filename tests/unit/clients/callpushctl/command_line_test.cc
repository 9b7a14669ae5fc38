// Tests for clients/callpushctl/command_line.h: words to commands, options in
// both forms and anywhere, global options and $CALLPUSH_SERVER, help, and
// every usage error with the topic its usage line comes from.
#include "clients/callpushctl/command_line.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/testing/status_matchers.h"

namespace callpush::ctl {
namespace {

using ::callpush::testing::IsOk;
using ::callpush::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr absl::StatusCode kUsage = absl::StatusCode::kInvalidArgument;

CommandLine Parse(const std::vector<std::string>& args,
                  absl::string_view env_server = "") {
  CommandLine line;
  absl::Status s = ParseCommandLine(args, env_server, &line);
  EXPECT_THAT(s, IsOk());
  return line;
}

absl::Status ParseError(const std::vector<std::string>& args,
                        std::string* topic = nullptr) {
  CommandLine line;
  absl::Status s = ParseCommandLine(args, "", &line);
  if (topic != nullptr) *topic = line.topic;
  return s;
}

TEST(CommandLineTest, DefaultsServerAndTimeout) {
  CommandLine line = Parse({"device", "list", "+447911123456"});
  EXPECT_EQ(line.server, "127.0.0.1:50051");
  EXPECT_EQ(line.timeout, absl::Seconds(5));
  ASSERT_NE(line.command, nullptr);
  EXPECT_EQ(line.command->id, CommandId::kListDevices);
  EXPECT_EQ(line.topic, "device list");
  EXPECT_FALSE(line.help);
  EXPECT_THAT(line.args, ElementsAre("+447911123456"));
}

TEST(CommandLineTest, EnvironmentReplacesDefaultServerAndFlagReplacesBoth) {
  EXPECT_EQ(Parse({"call-log", "c1"}, "10.0.0.1:7000").server, "10.0.0.1:7000");
  EXPECT_EQ(
      Parse({"--server", "127.0.0.1:9", "call-log", "c1"}, "10.0.0.1:7000")
          .server,
      "127.0.0.1:9");
}

TEST(CommandLineTest, GlobalOptionsGoAnywhereInBothForms) {
  CommandLine line =
      Parse({"device", "--timeout=750ms", "remove", "ID", "--server=h:1"});
  EXPECT_EQ(line.server, "h:1");
  EXPECT_EQ(line.timeout, absl::Milliseconds(750));
  EXPECT_EQ(line.command->id, CommandId::kRemoveDevice);
  EXPECT_THAT(line.args, ElementsAre("ID"));
}

TEST(CommandLineTest, RegisterTakesValuesAndFlags) {
  CommandLine line = Parse({"device", "register", "--mobile", "+447911123456",
                            "--platform=ios", "--app", "demo", "--refuse-calls",
                            "--voip-token=", "--push-token", "ab"});
  EXPECT_EQ(line.command->id, CommandId::kRegisterDevice);
  EXPECT_THAT(
      line.values,
      UnorderedElementsAre(Pair("mobile", "+447911123456"),
                           Pair("platform", "ios"), Pair("app", "demo"),
                           Pair("voip-token", ""), Pair("push-token", "ab")));
  EXPECT_THAT(line.flags, ElementsAre("refuse-calls"));
  EXPECT_THAT(line.args, IsEmpty());
}

TEST(CommandLineTest, DoubleDashEndsOptions) {
  CommandLine line = Parse({"call-log", "--", "--odd-call-id"});
  EXPECT_THAT(line.args, ElementsAre("--odd-call-id"));
}

TEST(CommandLineTest, SingleDashWordIsAnArgument) {
  EXPECT_THAT(Parse({"call-log", "-"}).args, ElementsAre("-"));
}

TEST(CommandLineTest, HelpTopics) {
  CommandLine top = Parse({"--help"});
  EXPECT_TRUE(top.help);
  EXPECT_EQ(top.topic, "");
  EXPECT_TRUE(Parse({"help"}).help);
  EXPECT_EQ(Parse({"-h"}).topic, "");

  CommandLine group = Parse({"help", "device"});
  EXPECT_TRUE(group.help);
  EXPECT_EQ(group.topic, "device");
  EXPECT_EQ(group.command, nullptr);
  EXPECT_EQ(Parse({"patient", "--help"}).topic, "patient");

  CommandLine command = Parse({"help", "device", "register"});
  EXPECT_TRUE(command.help);
  EXPECT_EQ(command.topic, "device register");
  // --help skips the checks of required options and arguments.
  CommandLine flag = Parse({"device", "register", "--help"});
  EXPECT_TRUE(flag.help);
  EXPECT_EQ(flag.topic, "device register");
  EXPECT_TRUE(Parse({"device", "set-inbound-calls", "-h"}).help);
}

TEST(CommandLineTest, UnknownOrMissingCommand) {
  std::string topic = "unset";
  EXPECT_THAT(ParseError({}, &topic), StatusIs(kUsage, "missing command"));
  EXPECT_EQ(topic, "");
  EXPECT_THAT(ParseError({"frob"}, &topic),
              StatusIs(kUsage, "unknown command 'frob'"));
  EXPECT_EQ(topic, "");
  EXPECT_THAT(ParseError({"device"}, &topic),
              StatusIs(kUsage, "missing device command"));
  EXPECT_EQ(topic, "device");
  EXPECT_THAT(ParseError({"device", "frob", "x"}, &topic),
              StatusIs(kUsage, "unknown command 'device frob'"));
  EXPECT_EQ(topic, "device");
  EXPECT_THAT(ParseError({"help", "frob"}),
              StatusIs(kUsage, "unknown command 'frob'"));
  EXPECT_THAT(ParseError({"--server", "h:1"}),
              StatusIs(kUsage, "missing command"));
}

TEST(CommandLineTest, ArgumentCount) {
  std::string topic;
  EXPECT_THAT(ParseError({"device", "remove"}, &topic),
              StatusIs(kUsage, "missing argument ID"));
  EXPECT_EQ(topic, "device remove");
  EXPECT_THAT(ParseError({"device", "set-inbound-calls", "ID"}),
              StatusIs(kUsage, "missing argument on|off"));
  EXPECT_THAT(ParseError({"device", "list", "+44", "+33"}),
              StatusIs(kUsage, "unexpected argument '+33'"));
  EXPECT_THAT(ParseError({"device", "register", "--mobile", "+44", "--platform",
                          "ios", "--app", "a", "extra"}),
              StatusIs(kUsage, "unexpected argument 'extra'"));
}

TEST(CommandLineTest, OptionErrors) {
  std::string topic;
  EXPECT_THAT(
      ParseError({"device", "register", "--platform", "ios", "--app", "a"},
                 &topic),
      StatusIs(kUsage, "missing option --mobile"));
  EXPECT_EQ(topic, "device register");
  EXPECT_THAT(ParseError({"device", "register", "--mobile"}),
              StatusIs(kUsage, "--mobile needs a value"));
  EXPECT_THAT(ParseError({"device", "register", "--mobile", "--app", "a"}),
              StatusIs(kUsage, "--mobile needs a value"));
  EXPECT_THAT(ParseError({"device", "list", "+44", "--verbose"}),
              StatusIs(kUsage, "unknown option --verbose"));
  EXPECT_THAT(ParseError({"device", "list", "+44", "-v"}),
              StatusIs(kUsage, "unknown option -v"));
  // An option of another command does not belong here.
  EXPECT_THAT(ParseError({"device", "list", "+44", "--refuse-calls"}),
              StatusIs(kUsage, "unknown option --refuse-calls"));
  EXPECT_THAT(ParseError({"device", "register", "--mobile", "+44", "--platform",
                          "ios", "--app", "a", "--app", "b"}),
              StatusIs(kUsage, "--app given twice"));
  EXPECT_THAT(ParseError({"device", "register", "--mobile", "+44", "--platform",
                          "ios", "--app", "a", "--refuse-calls=yes"}),
              StatusIs(kUsage, "--refuse-calls takes no value"));
}

TEST(CommandLineTest, GlobalOptionErrors) {
  EXPECT_THAT(ParseError({"--server=", "call-log", "c"}),
              StatusIs(kUsage, "--server: empty address"));
  for (const char* bad : {"0s", "-1s", "5", "soon", "inf"}) {
    EXPECT_THAT(ParseError({"--timeout", bad, "call-log", "c"}),
                StatusIs(kUsage, absl::StrCat("--timeout: '", bad,
                                              "' is not a positive duration "
                                              "such as 500ms, 5s, 1m")))
        << bad;
  }
  EXPECT_THAT(ParseError({"--timeout"}), StatusIs(kUsage, "missing command"));
  EXPECT_THAT(ParseError({"call-log", "c", "--timeout"}),
              StatusIs(kUsage, "--timeout needs a value"));
}

}  // namespace
}  // namespace callpush::ctl
