// The push configuration file: parsing, and validation errors that name the
// field an operator has to fix.
#include "server/push_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "tests/testing/status_matchers.h"

namespace callpush {
namespace {

using ::callpush::testing::IsOk;
using ::callpush::testing::StatusIs;
using ::testing::HasSubstr;

class PushConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/callpush-config-test.XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    for (const char* name :
         {"apns.p8", "fcm.json", "ca.pem", "cert.pem", "cert.key"}) {
      std::ofstream(absl::StrCat(dir_, "/", name)) << "x";
    }
  }
  void TearDown() override {
    (void)system(absl::StrCat("rm -rf ", dir_).c_str());
  }

  // $D in `json` stands for the directory holding the credential files.
  absl::StatusOr<v1::PushConfig> Parse(const std::string& json) {
    return ParsePushConfig(absl::StrReplaceAll(json, {{"$D", dir_}}));
  }

  std::string dir_;
};

constexpr char kGood[] = R"({"apps": [
  {"name": "demo",
   "apns": {"bundleId": "com.example.patient", "teamId": "TEAM123456",
            "keyId": "KEY1234567", "keyFile": "$D/apns.p8",
            "defaultEnvironment": "sandbox",
            "sandboxEndpoint": "127.0.0.1:8443", "caFile": "$D/ca.pem"},
   "fcm": {"projectId": "demo-project", "serviceAccountFile": "$D/fcm.json",
           "endpoint": "127.0.0.1:8443", "caFile": "$D/ca.pem"}},
  {"name": "legacy",
   "apns": {"bundle_id": "com.example.legacy",
            "certificate_file": "$D/cert.pem",
            "certificate_key_file": "$D/cert.key"}}]})";

TEST_F(PushConfigTest, ParsesBothAuthModesAndBothFieldSpellings) {
  absl::StatusOr<v1::PushConfig> config = Parse(kGood);
  ASSERT_THAT(config, IsOk());
  ASSERT_EQ(config->apps_size(), 2);
  EXPECT_EQ(config->apps(0).apns().team_id(), "TEAM123456");
  EXPECT_EQ(config->apps(0).fcm().project_id(), "demo-project");
  EXPECT_EQ(config->apps(1).apns().bundle_id(), "com.example.legacy");
  ASSERT_NE(FindApp(*config, "legacy"), nullptr);
  EXPECT_EQ(FindApp(*config, "legacy")->apns().certificate_file(),
            absl::StrCat(dir_, "/cert.pem"));
  EXPECT_EQ(FindApp(*config, "nope"), nullptr);
}

TEST_F(PushConfigTest, EmptyConfigIsValid) { EXPECT_THAT(Parse("{}"), IsOk()); }

TEST_F(PushConfigTest, ErrorsNameTheField) {
  struct Case {
    std::string json;
    std::string message;
  };
  const Case cases[] = {
      {R"({"apps":[{"name":"a b","fcm":{}}]})", "apps[0].name"},
      {R"({"apps":[{"name":"a"}]})", "apps[0]: needs apns, fcm or both"},
      {R"({"apps":[{"name":"a","fcm":{"projectId":"p","serviceAccountFile":"$D/fcm.json"}},
                   {"name":"a","fcm":{"projectId":"p","serviceAccountFile":"$D/fcm.json"}}]})",
       "apps[1].name: \"a\" is configured twice"},
      {R"({"apps":[{"name":"a","apns":{"teamId":"T","keyId":"K","keyFile":"$D/apns.p8"}}]})",
       "apps[0].apns.bundleId: is required"},
      {R"({"apps":[{"name":"a","apns":{"bundleId":"b","teamId":"T","keyFile":"$D/apns.p8"}}]})",
       "apps[0].apns.keyId: is required"},
      {R"({"apps":[{"name":"a","apns":{"bundleId":"b","teamId":"T","keyId":"K","keyFile":"$D/missing.p8"}}]})",
       "apps[0].apns.keyFile: cannot read"},
      {R"({"apps":[{"name":"a","apns":{"bundleId":"b"}}]})",
       "apps[0].apns: give either token auth"},
      {R"({"apps":[{"name":"a","apns":{"bundleId":"b","teamId":"T","keyId":"K","keyFile":"$D/apns.p8","certificateFile":"$D/cert.pem"}}]})",
       "apps[0].apns: give either token auth"},
      {R"({"apps":[{"name":"a","apns":{"bundleId":"b","teamId":"T","keyId":"K","keyFile":"$D/apns.p8","defaultEnvironment":"staging"}}]})",
       "apps[0].apns.defaultEnvironment"},
      {R"({"apps":[{"name":"a","apns":{"bundleId":"b","teamId":"T","keyId":"K","keyFile":"$D/apns.p8","sandboxEndpoint":"localhost"}}]})",
       "apps[0].apns.sandboxEndpoint: must be host:port"},
      {R"({"apps":[{"name":"a","fcm":{"serviceAccountFile":"$D/fcm.json"}}]})",
       "apps[0].fcm.projectId: is required"},
      {R"({"apps":[{"name":"a","fcm":{"projectId":"p","serviceAccountFile":"$D/fcm.json","endpoint":"h:0"}}]})",
       "apps[0].fcm.endpoint: must be host:port"},
      {R"({"apps":[{"name":"a","fcm":{"projectId":"p","serviceAccountFile":"$D/fcm.json","connections":100}}]})",
       "apps[0].fcm.connections"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(Parse(c.json), StatusIs(absl::StatusCode::kInvalidArgument,
                                        HasSubstr(c.message)))
        << c.json;
  }
}

TEST_F(PushConfigTest, UnknownFieldsAndBadJsonAreRejected) {
  EXPECT_THAT(
      Parse(R"({"apps":[{"name":"a","fcm":{"projectID":"p"}}]})"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("projectID")));
  EXPECT_THAT(Parse("{"), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("push config")));
  EXPECT_THAT(
      LoadPushConfig(absl::StrCat(dir_, "/none.json")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cannot read")));
}

}  // namespace
}  // namespace callpush
