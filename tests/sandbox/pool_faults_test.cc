// The HTTP/2 pool (clients/http2) against the real callpush-sandbox over
// TLS, with the sandbox told to misbehave the way APNs does: GOAWAY with
// streams in flight, REFUSED_STREAM, SETTINGS_MAX_CONCURRENT_STREAMS
// dropped to 1 under a burst, connections dropped, answers too late.
// Requests are real signed APNs pushes. What matters is what the sandbox
// saw: every push processed exactly once (none lost, none doubled), and
// only unprocessed streams resent.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "clients/apns/apns_request.h"
#include "clients/apns/apns_token_provider.h"
#include "clients/base/clock.h"
#include "clients/http2/http2_pool.h"
#include "tests/testing/http2_answer.h"
#include "tests/testing/sandbox_process.h"
#include "tests/testing/status_matchers.h"

namespace callpush {
namespace {

using ::callpush::testing::Http2Answer;
using ::callpush::testing::IsOk;
using ::callpush::testing::SandboxProcess;
using ::callpush::testing::StatusIs;
using ::testing::Ge;

// A distinct 64-hex-digit APNs device token per index.
std::string TokenNumber(int i) {
  return absl::StrFormat("%064x", 0xabc000 + i);
}

class PoolFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto sandbox = SandboxProcess::Start();
    ASSERT_TRUE(sandbox.ok()) << sandbox.status();
    sandbox_ = *std::move(sandbox);
    auto tokens = ApnsTokenProvider::FromKeyFile(
        "SANDBOXTM1", "SANDBOXKY1", sandbox_->dir() + "/apns-key.p8",
        SystemClock::Get());
    ASSERT_TRUE(tokens.ok()) << tokens.status();
    tokens_ = *std::move(tokens);
    config_.bundle_id = "com.example.acme";
    config_.team_id = "SANDBOXTM1";
    config_.key_id = "SANDBOXKY1";
    config_.key_file = sandbox_->dir() + "/apns-key.p8";
  }

  void TearDown() override {
    if (pool_ != nullptr) pool_->Shutdown(absl::Seconds(2));
    pool_.reset();
    sandbox_.reset();
  }

  void StartPool(int connections) {
    std::vector<std::string> host_port = absl::StrSplit(sandbox_->h2(), ':');
    ASSERT_EQ(host_port.size(), 2u);
    http2::PoolOptions options;
    options.host = host_port[0];
    int port = 0;
    ASSERT_TRUE(absl::SimpleAtoi(host_port[1], &port));
    options.port = static_cast<uint16_t>(port);
    options.ca_file = sandbox_->dir() + "/ca.pem";
    options.connections = connections;
    options.reconnect_min = absl::Milliseconds(20);
    auto pool = http2::NewPool(options, SystemClock::Get());
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = *std::move(pool);
  }

  // The signed VoIP push the server sends for a call to `token`.
  http2::Request Push(const std::string& token,
                      absl::Duration deadline = absl::Seconds(10)) {
    PushRequest request;
    request.kind = PushKind::kCall;
    request.device_id = "device-1";
    request.call_id = absl::StrCat("call-", token.substr(58));
    request.caller_name = "Dr. Who";
    request.token = token;
    request.deadline = absl::Now() + deadline;
    request.expires_at = absl::Now() + absl::Seconds(60);
    auto bearer = tokens_->Token();
    EXPECT_TRUE(bearer.ok()) << bearer.status();
    auto built =
        BuildApnsRequest(request, config_, bearer.value_or(""), absl::Now());
    EXPECT_TRUE(built.ok()) << built.status();
    return built.value_or(http2::Request{});
  }

  // Sends one push per token, all at once; returns their answers.
  std::vector<std::unique_ptr<Http2Answer>> Burst(
      const std::vector<std::string>& tokens) {
    std::vector<std::unique_ptr<Http2Answer>> answers;
    for (const std::string& token : tokens) {
      answers.push_back(std::make_unique<Http2Answer>());
      pool_->Send(Push(token), answers.back()->Done());
    }
    return answers;
  }

  static void ExpectAll200(
      const std::vector<std::unique_ptr<Http2Answer>>& answers) {
    for (size_t i = 0; i < answers.size(); ++i) {
      auto answer = answers[i]->Wait();
      ASSERT_TRUE(answer.ok()) << "push " << i << ": " << answer.status();
      EXPECT_EQ(answer->status, 200) << "push " << i;
      EXPECT_EQ(answers[i]->calls(), 1) << "push " << i;
    }
  }

  // token -> what the sandbox did with each request for it, in order:
  // "200", "0:goaway", "0:refuse_stream", ...
  std::map<std::string, std::vector<std::string>> SandboxSaw() {
    std::map<std::string, std::vector<std::string>> saw;
    for (const auto& d : sandbox_->Deliveries()) {
      std::string what = std::to_string(d.value("status", -1));
      if (d.contains("action")) {
        what += ":" + d["action"].get<std::string>();
      }
      saw[d.value("token", "")].push_back(what);
    }
    return saw;
  }

  // How many times the sandbox processed (answered 200) a push to `token`.
  static int Processed(
      const std::map<std::string, std::vector<std::string>>& saw,
      const std::string& token) {
    auto it = saw.find(token);
    if (it == saw.end()) return 0;
    return static_cast<int>(
        std::count(it->second.begin(), it->second.end(), "200"));
  }

  std::unique_ptr<SandboxProcess> sandbox_;
  std::unique_ptr<ApnsTokenProvider> tokens_;
  ApnsAppConfig config_;
  std::unique_ptr<http2::Pool> pool_;
};

TEST_F(PoolFaultsTest, GoawayMidFlightLosesAndDoublesNothing) {
  StartPool(1);
  // Streams below the GOAWAY are still being answered (delayed) when it
  // comes; streams above it were sent but not processed.
  std::vector<std::string> tokens;
  nlohmann::json rules = nlohmann::json::array();
  for (int i = 0; i < 10; ++i) {
    tokens.push_back(TokenNumber(i));
    rules.push_back({{"token", tokens.back()}, {"delay_ms", 300}});
  }
  const std::string goaway = TokenNumber(10);
  tokens.push_back(goaway);
  rules.push_back({{"token", goaway}, {"action", "goaway"}, {"times", 1}});
  for (int i = 11; i < 30; ++i) tokens.push_back(TokenNumber(i));
  ASSERT_THAT(sandbox_->PutRules(rules.dump()), IsOk());

  ExpectAll200(Burst(tokens));

  auto saw = SandboxSaw();
  for (const std::string& token : tokens) {
    EXPECT_EQ(Processed(saw, token), 1)
        << token << " was processed " << Processed(saw, token) << " times";
  }
  EXPECT_EQ(saw[goaway].front(), "0:goaway");
  int unprocessed = 0;
  for (const auto& [token, what] : saw) {
    unprocessed +=
        static_cast<int>(std::count(what.begin(), what.end(), "0:goaway"));
  }
  // Every stream the sandbox did not process came back, on a new connection
  // (only those: each token was processed once).
  http2::PoolStats stats = pool_->Stats();
  EXPECT_EQ(stats.goaways, 1);
  EXPECT_GE(unprocessed, 1);
  EXPECT_GE(stats.resent, unprocessed);
  EXPECT_LE(stats.resent, 20);  // the GOAWAY's stream and those after it
  EXPECT_GE(stats.connects, 2);
}

TEST_F(PoolFaultsTest, RefusedStreamIsResentOnce) {
  StartPool(2);
  const std::string token = TokenNumber(1);
  ASSERT_THAT(
      sandbox_->PutRules(
          nlohmann::json::array(
              {{{"token", token}, {"action", "refuse_stream"}, {"times", 1}}})
              .dump()),
      IsOk());

  ExpectAll200(Burst({token}));

  auto saw = SandboxSaw();
  EXPECT_EQ(saw[token], (std::vector<std::string>{"0:refuse_stream", "200"}));
  http2::PoolStats stats = pool_->Stats();
  EXPECT_EQ(stats.refused_streams, 1);
  EXPECT_EQ(stats.resent, 1);
}

TEST_F(PoolFaultsTest, MaxConcurrentStreamsOfOneIsNeverExceeded) {
  StartPool(1);
  ExpectAll200(Burst({TokenNumber(100)}));  // connected and idle
  ASSERT_THAT(sandbox_->PutSettings(R"({"max_concurrent_streams": 1})"),
              IsOk());
  // The idle connection reads the new SETTINGS at once.
  absl::SleepFor(absl::Milliseconds(200));

  std::vector<std::string> tokens;
  nlohmann::json rules = nlohmann::json::array();
  for (int i = 0; i < 8; ++i) {
    tokens.push_back(TokenNumber(i));
    rules.push_back({{"token", tokens.back()}, {"delay_ms", 50}});
  }
  ASSERT_THAT(sandbox_->PutRules(rules.dump()), IsOk());
  absl::Time start = absl::Now();
  ExpectAll200(Burst(tokens));
  absl::Duration took = absl::Now() - start;

  // One stream at a time: 8 answers 50 ms apart at least. A client that
  // opened more would have had them refused (or the connection failed).
  EXPECT_GE(took, absl::Milliseconds(8 * 50));
  http2::PoolStats stats = pool_->Stats();
  EXPECT_EQ(stats.refused_streams, 0);
  EXPECT_EQ(stats.goaways, 0);
  EXPECT_EQ(stats.connects, 1);
  auto saw = SandboxSaw();
  for (const std::string& token : tokens) EXPECT_EQ(Processed(saw, token), 1);
}

TEST_F(PoolFaultsTest, MaxConcurrentStreamsDroppedToOneMidBurst) {
  StartPool(2);
  ExpectAll200(Burst({TokenNumber(100)}));
  std::vector<std::string> tokens;
  nlohmann::json rules = nlohmann::json::array();
  for (int i = 0; i < 40; ++i) {
    tokens.push_back(TokenNumber(i));
    // The first ten are still open when the limit drops.
    if (i < 10) rules.push_back({{"token", tokens.back()}, {"delay_ms", 300}});
  }
  ASSERT_THAT(sandbox_->PutRules(rules.dump()), IsOk());
  std::vector<std::unique_ptr<Http2Answer>> answers;
  for (size_t i = 0; i < tokens.size(); ++i) {
    // As APNs does after a rejection: lower the limit with streams open
    // and more coming. Streams the peer refuses for it are resent.
    if (i == 10) {
      ASSERT_THAT(sandbox_->PutSettings(R"({"max_concurrent_streams": 1})"),
                  IsOk());
    }
    answers.push_back(std::make_unique<Http2Answer>());
    pool_->Send(Push(tokens[i]), answers.back()->Done());
  }
  ExpectAll200(answers);

  auto saw = SandboxSaw();
  for (const std::string& token : tokens) {
    EXPECT_EQ(Processed(saw, token), 1) << token;
  }
  http2::PoolStats stats = pool_->Stats();
  EXPECT_EQ(stats.resent, stats.refused_streams);
}

TEST_F(PoolFaultsTest, DroppedConnectionFailsItsStreamsAndIsReplaced) {
  StartPool(1);
  const std::string slow = TokenNumber(1);
  const std::string dropped = TokenNumber(2);
  ASSERT_THAT(sandbox_->PutRules(
                  nlohmann::json::array(
                      {{{"token", slow}, {"delay_ms", 500}},
                       {{"token", dropped}, {"action", "drop"}, {"times", 1}}})
                      .dump()),
              IsOk());
  auto slow_answer = Burst({slow});
  absl::SleepFor(absl::Milliseconds(100));  // processed, answer pending
  auto dropped_answer = Burst({dropped});

  // Both may have been processed (the slow one was): never resent, since a
  // second push could ring the phone twice.
  EXPECT_THAT(slow_answer[0]->Wait().status(),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(dropped_answer[0]->Wait().status(),
              StatusIs(absl::StatusCode::kUnavailable));

  // A new connection takes the next pushes.
  ExpectAll200(Burst({dropped, TokenNumber(3)}));
  auto saw = SandboxSaw();
  EXPECT_EQ(saw[slow], (std::vector<std::string>{"200"}));
  EXPECT_EQ(saw[dropped], (std::vector<std::string>{"0:drop", "200"}));
  EXPECT_THAT(pool_->Stats().connects, Ge(2));
}

TEST_F(PoolFaultsTest, DeadlineResetsTheStreamAndKeepsTheConnection) {
  StartPool(1);
  ExpectAll200(Burst({TokenNumber(100)}));
  const std::string late = TokenNumber(1);
  ASSERT_THAT(sandbox_->PutRules(
                  nlohmann::json::array({{{"token", late}, {"delay_ms", 3000}}})
                      .dump()),
              IsOk());
  Http2Answer answer;
  absl::Time start = absl::Now();
  pool_->Send(Push(late, absl::Milliseconds(300)), answer.Done());
  EXPECT_THAT(answer.Wait().status(),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  absl::Duration took = answer.at() - start;
  EXPECT_GE(took, absl::Milliseconds(290));
  EXPECT_LT(took, absl::Milliseconds(2000));

  ExpectAll200(Burst({TokenNumber(2)}));
  http2::PoolStats stats = pool_->Stats();
  EXPECT_EQ(stats.deadline_resets, 1);
  EXPECT_EQ(stats.connects, 1);
}

}  // namespace
}  // namespace callpush
