// End to end: the real callpush-sandbox binary, driven with curl (HTTP/2
// over TLS for the provider port, HTTP/1.1 for the admin port).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "tests/sandbox/cert_maker.h"
#include "tests/sandbox/jwt_test_signer.h"
#include "tests/sandbox/openssl_keys.h"
#include "tests/testing/subprocess.h"

namespace callpush::sandbox {
namespace {

using ::callpush::testing::RunProgram;
using ::callpush::testing::Subprocess;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kToken[] =
    "3f9a3f9a3f9a3f9a3f9a3f9a3f9a3f9a3f9a3f9a3f9a3f9a3f9a3f9a3f9a3f9a";

struct CurlAnswer {
  int status = 0;  // 0: no HTTP answer (reset, refused, dropped)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string Header(absl::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return v;
    }
    return "";
  }
};

// Parses `curl -s -i` output.
CurlAnswer ParseCurl(const std::string& output) {
  CurlAnswer answer;
  size_t end = output.find("\r\n\r\n");
  if (!absl::StartsWith(output, "HTTP/") || end == std::string::npos) {
    return answer;
  }
  std::vector<std::string> lines =
      absl::StrSplit(output.substr(0, end), "\r\n");
  std::vector<std::string> status_line = absl::StrSplit(lines[0], ' ');
  if (status_line.size() < 2 ||
      !absl::SimpleAtoi(status_line[1], &answer.status)) {
    return answer;
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    size_t colon = lines[i].find(':');
    if (colon == std::string::npos) continue;
    answer.headers.emplace_back(
        lines[i].substr(0, colon),
        std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1))));
  }
  answer.body = output.substr(end + 4);
  return answer;
}

class SandboxProcessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/callpush-sandbox-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = new std::string(tmpl);
    auto process = Subprocess::Start(
        {std::string(CALLPUSH_BINARY_DIR) + "/tests/sandbox/callpush-sandbox",
         "--make_certs", *dir_ + "/certs", "--h2_address=127.0.0.1:0",
         "--admin_address=127.0.0.1:0",
         "--on_push=echo \"$CALLPUSH_PUSH_PROVIDER $CALLPUSH_PUSH_TOKEN\" >> " +
             *dir_ + "/pushes"});
    ASSERT_TRUE(process.ok()) << process.status();
    sandbox_ = process->release();
    auto line =
        sandbox_->WaitForLine("callpush-sandbox listening ", absl::Seconds(30));
    ASSERT_TRUE(line.ok()) << line.status();
    for (absl::string_view part : absl::StrSplit(*line, ' ')) {
      if (absl::ConsumePrefix(&part, "h2=")) h2_ = new std::string(part);
      if (absl::ConsumePrefix(&part, "admin=")) admin_ = new std::string(part);
    }
    ASSERT_NE(h2_, nullptr);
    ASSERT_NE(admin_, nullptr);
  }

  static void TearDownTestSuite() {
    if (sandbox_ != nullptr) {
      sandbox_->Signal(SIGTERM);
      auto exit = sandbox_->Wait(absl::Seconds(10));
      EXPECT_TRUE(exit.ok() && *exit == 0);
      delete sandbox_;
    }
    if (dir_ != nullptr) {
      RunProgram({"/bin/rm", "-rf", *dir_}, absl::Seconds(10)).IgnoreError();
    }
  }

  void SetUp() override {
    ASSERT_EQ(Admin("PUT", "/rules", "[]").status, 200);
    ASSERT_EQ(Admin("DELETE", "/deliveries").status, 204);
  }

  static std::string Certs(const char* name) {
    return absl::StrCat(*dir_, "/certs/", name);
  }

  static CurlAnswer Curl(std::vector<std::string> args) {
    std::vector<std::string> argv = {"/usr/bin/curl", "-s", "-i", "--max-time",
                                     "10"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto result = RunProgram(argv, absl::Seconds(20));
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? ParseCurl(result->output) : CurlAnswer{};
  }

  static CurlAnswer Admin(const std::string& method, const std::string& path,
                          const std::string& body = "") {
    std::vector<std::string> args = {"--http1.1", "-X", method,
                                     absl::StrCat("http://", *admin_, path)};
    if (!body.empty()) {
      args.push_back("--data-binary");
      args.push_back(body);
    }
    return Curl(args);
  }

  static nlohmann::json Deliveries() {
    return nlohmann::json::parse(Admin("GET", "/deliveries").body);
  }

  static std::string ApnsJwt(EVP_PKEY* key) {
    return SignJwtForTest(
        {{"alg", "ES256"}, {"kid", "SANDBOXKY1"}},
        {{"iss", "SANDBOXTM1"}, {"iat", absl::ToUnixSeconds(absl::Now())}},
        key);
  }

  static PKeyPtr ApnsKey() {
    auto pem = ReadFileToString(Certs("apns-key.p8"));
    EXPECT_TRUE(pem.ok());
    auto key = PrivateKeyFromPem(*pem);
    EXPECT_TRUE(key.ok()) << key.status();
    return *std::move(key);
  }

  // An APNs VoIP push; `jwt` empty sends no authorization header.
  static CurlAnswer PushApns(const std::string& token, const std::string& jwt,
                             std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        "--http2",
        "--cacert",
        Certs("ca.pem"),
        "-H",
        "apns-topic: com.example.app.voip",
        "-H",
        "apns-push-type: voip",
        "-H",
        "apns-priority: 10",
        "-H",
        "content-type: application/json",
        "--data-binary",
        R"({"aps":{},"type":"call","callId":"c1"})"};
    if (!jwt.empty()) {
      args.push_back("-H");
      args.push_back("authorization: bearer " + jwt);
    }
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(absl::StrCat("https://", *h2_, "/3/device/", token));
    return Curl(args);
  }

  static std::string* dir_;
  static std::string* h2_;
  static std::string* admin_;
  static Subprocess* sandbox_;
};

std::string* SandboxProcessTest::dir_ = nullptr;
std::string* SandboxProcessTest::h2_ = nullptr;
std::string* SandboxProcessTest::admin_ = nullptr;
Subprocess* SandboxProcessTest::sandbox_ = nullptr;

TEST_F(SandboxProcessTest, SignedApnsPushIsAnsweredAndRecorded) {
  PKeyPtr key = ApnsKey();
  CurlAnswer answer =
      PushApns(kToken, ApnsJwt(key.get()),
               {"-H", "apns-id: 123E4567-E89B-12D3-A456-426614174000"});
  EXPECT_EQ(answer.status, 200);
  EXPECT_EQ(answer.Header("apns-id"), "123E4567-E89B-12D3-A456-426614174000");

  CurlAnswer fresh = PushApns(kToken, ApnsJwt(key.get()));
  EXPECT_EQ(fresh.status, 200);
  EXPECT_EQ(fresh.Header("apns-id").size(), 36u);

  nlohmann::json deliveries = Deliveries();
  ASSERT_EQ(deliveries.size(), 2u);
  EXPECT_EQ(deliveries[0]["provider"], "apns");
  EXPECT_EQ(deliveries[0]["token"], kToken);
  EXPECT_EQ(deliveries[0]["status"], 200);
  EXPECT_EQ(deliveries[0]["payload"],
            nlohmann::json::parse(R"({"aps":{},"type":"call","callId":"c1"})"));
  EXPECT_EQ(deliveries[0]["headers"]["apns-push-type"], "voip");
  EXPECT_EQ(deliveries[0]["headers"]["authorization"], "bearer <redacted>");
  EXPECT_FALSE(deliveries[0].contains("action"));
}

TEST_F(SandboxProcessTest, RuleAnswers410WithTimestampThenNormally) {
  ASSERT_EQ(Admin("PUT", "/rules",
                  absl::StrCat(R"([{"token":")", kToken,
                               R"(","status":410,"reason":"Unregistered",)"
                               R"("times":1}])"))
                .status,
            200);
  PKeyPtr key = ApnsKey();
  CurlAnswer gone = PushApns(kToken, ApnsJwt(key.get()));
  EXPECT_EQ(gone.status, 410);
  nlohmann::json body = nlohmann::json::parse(gone.body);
  EXPECT_EQ(body["reason"], "Unregistered");
  ASSERT_TRUE(body["timestamp"].is_number_integer());
  EXPECT_NEAR(body["timestamp"].get<int64_t>(), absl::ToUnixMillis(absl::Now()),
              60000);

  EXPECT_EQ(PushApns(kToken, ApnsJwt(key.get())).status, 200);
  nlohmann::json deliveries = Deliveries();
  ASSERT_EQ(deliveries.size(), 2u);
  EXPECT_EQ(deliveries[0]["status"], 410);
  EXPECT_EQ(deliveries[1]["status"], 200);
}

TEST_F(SandboxProcessTest, BadJwtIsInvalidProviderToken) {
  PKeyPtr wrong = *GenerateEcP256Key();
  CurlAnswer answer = PushApns(kToken, ApnsJwt(wrong.get()));
  EXPECT_EQ(answer.status, 403);
  EXPECT_EQ(nlohmann::json::parse(answer.body),
            nlohmann::json::parse(R"({"reason":"InvalidProviderToken"})"));
  CurlAnswer missing = PushApns(kToken, "");
  EXPECT_EQ(missing.status, 403);
  EXPECT_EQ(nlohmann::json::parse(missing.body)["reason"],
            "MissingProviderToken");
  EXPECT_EQ(Deliveries()[0]["status"], 403);
}

TEST_F(SandboxProcessTest, ClientCertificateNeedsNoJwt) {
  CurlAnswer answer = PushApns(
      kToken, "",
      {"--cert", Certs("client.pem"), "--key", Certs("client-key.pem")});
  EXPECT_EQ(answer.status, 200);
}

TEST_F(SandboxProcessTest, RefusedStreamIsRecordedUnprocessed) {
  ASSERT_EQ(Admin("PUT", "/rules",
                  absl::StrCat(R"([{"token":")", kToken,
                               R"(","action":"refuse_stream","times":1}])"))
                .status,
            200);
  PKeyPtr key = ApnsKey();
  // curl resends a refused stream by itself, as a client should: the
  // second attempt is answered.
  EXPECT_EQ(PushApns(kToken, ApnsJwt(key.get())).status, 200);
  nlohmann::json deliveries = Deliveries();
  ASSERT_EQ(deliveries.size(), 2u);
  EXPECT_EQ(deliveries[0]["status"], 0);
  EXPECT_EQ(deliveries[0]["action"], "refuse_stream");
  EXPECT_EQ(deliveries[0]["answer"], "unsent");
  EXPECT_EQ(deliveries[1]["status"], 200);
  EXPECT_FALSE(deliveries[1].contains("action"));
}

TEST_F(SandboxProcessTest, AnswerIsSentUnlessTheClientGaveUpFirst) {
  ASSERT_EQ(Admin("PUT", "/rules",
                  absl::StrCat(R"([{"token":")", kToken,
                               R"(","delay_ms":3000,"times":1}])"))
                .status,
            200);
  PKeyPtr key = ApnsKey();
  // curl gives up after 1 s and closes the connection: the 200 the rule
  // holds back for 3 s never leaves.
  EXPECT_EQ(PushApns(kToken, ApnsJwt(key.get()), {"--max-time", "1"}).status,
            0);
  nlohmann::json deliveries = Deliveries();
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (deliveries.size() == 1 && deliveries[0]["answer"] == "pending" &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));  // the sandbox sees the close
    deliveries = Deliveries();
  }
  ASSERT_EQ(deliveries.size(), 1u);
  EXPECT_EQ(deliveries[0]["status"], 200);
  EXPECT_EQ(deliveries[0]["answer"], "unsent");

  EXPECT_EQ(PushApns(kToken, ApnsJwt(key.get())).status, 200);
  deliveries = Deliveries();
  ASSERT_EQ(deliveries.size(), 2u);
  EXPECT_EQ(deliveries[1]["status"], 200);
  EXPECT_EQ(deliveries[1]["answer"], "sent");
}

TEST_F(SandboxProcessTest, BadRulesAreRejectedWithTheField) {
  CurlAnswer answer = Admin("PUT", "/rules", R"([{"token":"a","times":"x"}])");
  EXPECT_EQ(answer.status, 400);
  EXPECT_THAT(answer.body, HasSubstr("rules[0].times"));
  EXPECT_EQ(Admin("PUT", "/settings", R"({"max_concurrent_streams":1})").status,
            200);
  EXPECT_EQ(
      Admin("PUT", "/settings", R"({"max_concurrent_streams":1000})").status,
      200);
}

TEST_F(SandboxProcessTest, FcmTokenEndpointThenSend) {
  auto account_text = ReadFileToString(Certs("fcm-service-account.json"));
  ASSERT_TRUE(account_text.ok());
  nlohmann::json account = nlohmann::json::parse(*account_text);
  EXPECT_EQ(account["project_id"], "callpush-sandbox");
  EXPECT_EQ(account["token_uri"], absl::StrCat("https://", *h2_, "/token"));
  PKeyPtr key = *PrivateKeyFromPem(account["private_key"].get<std::string>());
  int64_t now = absl::ToUnixSeconds(absl::Now());
  std::string assertion = SignJwtForTest(
      {{"alg", "RS256"}, {"typ", "JWT"}},
      {{"iss", account["client_email"]},
       {"scope", "https://www.googleapis.com/auth/firebase.messaging"},
       {"aud", account["token_uri"]},
       {"iat", now},
       {"exp", now + 3600}},
      key.get());
  CurlAnswer token =
      Curl({"--http2", "--cacert", Certs("ca.pem"), "--data-urlencode",
            "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer",
            "--data-urlencode", "assertion=" + assertion,
            account["token_uri"].get<std::string>()});
  ASSERT_EQ(token.status, 200) << token.body;
  nlohmann::json grant = nlohmann::json::parse(token.body);
  EXPECT_EQ(grant["token_type"], "Bearer");
  EXPECT_EQ(grant["expires_in"], 3600);
  std::string access = grant["access_token"];

  std::string url = absl::StrCat("https://", *h2_,
                                 "/v1/projects/callpush-sandbox/messages:send");
  std::string message =
      R"({"message":{"token":"fcm-device-1","data":{"type":"call"},)"
      R"("android":{"priority":"HIGH","ttl":"30s"}}})";
  auto send = [&](const std::string& bearer) {
    return Curl({"--http2", "--cacert", Certs("ca.pem"), "-H",
                 "authorization: Bearer " + bearer, "-H",
                 "content-type: application/json", "--data-binary", message,
                 url});
  };
  CurlAnswer sent = send(access);
  ASSERT_EQ(sent.status, 200) << sent.body;
  EXPECT_THAT(nlohmann::json::parse(sent.body)["name"].get<std::string>(),
              StartsWith("projects/callpush-sandbox/messages/"));

  EXPECT_EQ(send("not-issued").status, 401);

  ASSERT_EQ(Admin("PUT", "/rules",
                  R"([{"token":"fcm-device-1","status":404,)"
                  R"("reason":"UNREGISTERED"}])")
                .status,
            200);
  CurlAnswer gone = send(access);
  EXPECT_EQ(gone.status, 404);
  nlohmann::json error = nlohmann::json::parse(gone.body)["error"];
  EXPECT_EQ(error["code"], 404);
  EXPECT_EQ(error["status"], "NOT_FOUND");
  EXPECT_EQ(error["details"][0]["@type"],
            "type.googleapis.com/google.firebase.fcm.v1.FcmError");
  EXPECT_EQ(error["details"][0]["errorCode"], "UNREGISTERED");

  nlohmann::json deliveries = Deliveries();
  ASSERT_EQ(deliveries.size(), 3u);
  EXPECT_EQ(deliveries[0]["provider"], "fcm");
  EXPECT_EQ(deliveries[0]["token"], "fcm-device-1");
  EXPECT_EQ(deliveries[0]["payload"]["message"]["data"]["type"], "call");
}

TEST_F(SandboxProcessTest, OnPushCommandRunsForDeliveredPushes) {
  std::string token = std::string(64, 'a');
  PKeyPtr key = ApnsKey();
  ASSERT_EQ(PushApns(token, ApnsJwt(key.get())).status, 200);
  std::string expected = "apns " + token;
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  std::string pushes;
  while (absl::Now() < deadline) {
    pushes = ReadFileToString(*dir_ + "/pushes").value_or("");
    if (absl::StrContains(pushes, expected)) break;
    usleep(20000);  // the command runs asynchronously in another process
  }
  EXPECT_THAT(pushes, HasSubstr(expected));
}

}  // namespace
}  // namespace callpush::sandbox
