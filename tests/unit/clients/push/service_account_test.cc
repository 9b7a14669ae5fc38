#include "clients/fcm/service_account.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "nlohmann/json.hpp"
#include "tests/testing/status_matchers.h"
#include "tests/unit/clients/push/test_keys.h"

namespace callpush {
namespace {

using ::callpush::testing::IsOk;
using ::callpush::testing::Rsa2048Pem;
using ::callpush::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::json;

Json AccountJson() {
  return Json{{"type", "service_account"},
              {"project_id", "care-prod"},
              {"private_key_id", "abc123"},
              {"private_key", Rsa2048Pem()},
              {"client_email", "push@care-prod.iam.gserviceaccount.com"},
              {"client_id", "1234"},
              {"token_uri", "https://oauth2.googleapis.com/token"}};
}

TEST(ServiceAccountTest, ParsesGoogleKeyFile) {
  auto a = ServiceAccount::FromJson(AccountJson().dump());
  ASSERT_THAT(a, IsOk());
  EXPECT_EQ(a->project_id, "care-prod");
  EXPECT_EQ(a->client_email, "push@care-prod.iam.gserviceaccount.com");
  EXPECT_EQ(a->private_key, Rsa2048Pem());
  EXPECT_EQ(a->private_key_id, "abc123");
  EXPECT_EQ(a->token_uri, "https://oauth2.googleapis.com/token");
}

TEST(ServiceAccountTest, OptionalFieldsMayBeAbsent) {
  Json j = AccountJson();
  j.erase("type");
  j.erase("private_key_id");
  auto a = ServiceAccount::FromJson(j.dump());
  ASSERT_THAT(a, IsOk());
  EXPECT_EQ(a->private_key_id, "");
}

TEST(ServiceAccountTest, ErrorsNameTheField) {
  for (const char* field :
       {"project_id", "client_email", "private_key", "token_uri"}) {
    Json missing = AccountJson();
    missing.erase(field);
    EXPECT_THAT(ServiceAccount::FromJson(missing.dump()),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr(field), HasSubstr("missing"))));
    Json empty = AccountJson();
    empty[field] = "";
    EXPECT_THAT(ServiceAccount::FromJson(empty.dump()),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr(field), HasSubstr("empty"))));
    Json number = AccountJson();
    number[field] = 7;
    EXPECT_THAT(ServiceAccount::FromJson(number.dump()),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr(field), HasSubstr("not a string"))));
  }
  Json j = AccountJson();
  j["type"] = "authorized_user";
  EXPECT_THAT(ServiceAccount::FromJson(j.dump()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("type")));
  j = AccountJson();
  j["token_uri"] = "http://oauth2.googleapis.com/token";
  EXPECT_THAT(
      ServiceAccount::FromJson(j.dump()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("token_uri")));
  EXPECT_THAT(ServiceAccount::FromJson("[1]"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ServiceAccount::FromJson("{"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ServiceAccountTest, BadKeyIsReportedWithoutQuotingIt) {
  Json j = AccountJson();
  j["private_key"] =
      "-----BEGIN PRIVATE KEY-----\nTOPSECRET\n-----END PRIVATE KEY-----\n";
  EXPECT_THAT(
      ServiceAccount::FromJson(j.dump()),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("private_key"), Not(HasSubstr("TOPSECRET")))));
  j["private_key"] = testing::EcP256Pem();  // not RSA
  EXPECT_THAT(
      ServiceAccount::FromJson(j.dump()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("private_key")));
}

TEST(ServiceAccountTest, FromJsonFile) {
  std::string path = ::testing::TempDir() + "/fcm_service_account.json";
  std::string text = AccountJson().dump(2);
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
  EXPECT_THAT(ServiceAccount::FromJsonFile(path), IsOk());
  std::remove(path.c_str());
  EXPECT_THAT(ServiceAccount::FromJsonFile(path),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(path)));
}

}  // namespace
}  // namespace callpush
