// Request::not_before: the pool holds a request on a timer until then,
// counted in flight, with its deadline and a shutdown still applying. Peers
// are raw loopback sockets: a port nothing listens on, or one that accepts
// TCP and never speaks, so no request is ever answered by a server here.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "clients/base/clock.h"
#include "clients/http2/http2_pool.h"
#include "tests/testing/http2_answer.h"
#include "tests/testing/loopback_socket.h"
#include "tests/testing/status_matchers.h"

namespace callpush::http2 {
namespace {

using ::callpush::testing::StatusIs;
using Answer = ::callpush::testing::Http2Answer;

using Socket = ::callpush::testing::LoopbackSocket;

std::unique_ptr<Pool> MakePool(uint16_t port, size_t max_in_flight = 100) {
  PoolOptions options;
  options.host = "127.0.0.1";
  options.port = port;
  options.connections = 1;
  options.max_in_flight = max_in_flight;
  auto pool = NewPool(std::move(options), SystemClock::Get());
  EXPECT_TRUE(pool.ok()) << pool.status();
  return *std::move(pool);
}

Request Held(absl::Duration hold) {
  Request request;
  request.method = "GET";
  request.path = "/";
  request.not_before = absl::Now() + hold;
  return request;
}

TEST(NotBeforeTest, RequestIsHeldUntilNotBefore) {
  // Nothing listens: an unheld request is answered UNAVAILABLE within
  // milliseconds (Http2PoolTest.ConnectionRefusedIsUnavailableFast), so an
  // answer no earlier than not_before shows the hold.
  uint16_t port;
  {
    Socket unused;
    port = unused.port();
  }
  auto pool = MakePool(port);
  Answer answer;
  Request request = Held(absl::Milliseconds(700));
  request.deadline = absl::Now() + absl::Seconds(5);
  const absl::Time not_before = request.not_before;
  pool->Send(std::move(request), answer.Done());
  EXPECT_THAT(answer.Wait(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_GE(answer.at(), not_before);
  EXPECT_LT(answer.at() - not_before, absl::Seconds(2));
}

TEST(NotBeforeTest, DeadlineBeforeNotBeforeAnswersDeadlineExceeded) {
  Socket silent;
  silent.Listen();
  auto pool = MakePool(silent.port());
  Answer answer;
  Request request = Held(absl::Seconds(30));
  request.deadline = absl::Now() + absl::Milliseconds(200);
  const absl::Time deadline = request.deadline;
  pool->Send(std::move(request), answer.Done());
  EXPECT_THAT(answer.Wait(), StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_GE(answer.at(), deadline);
  EXPECT_LT(answer.at() - deadline, absl::Seconds(1));
}

TEST(NotBeforeTest, ShutdownAnswersHeldRequestsUnavailableAtOnce) {
  Socket silent;
  silent.Listen();
  auto pool = MakePool(silent.port());
  Answer answer;
  pool->Send(Held(absl::Seconds(60)), answer.Done());
  // Let the loop take it in before shutting down.
  absl::SleepFor(absl::Milliseconds(50));
  const absl::Time start = absl::Now();
  // Neither the grace nor the hold timer may keep the pool waiting.
  pool->Shutdown(absl::Seconds(30));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_THAT(answer.Wait(absl::Seconds(1)),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(answer.calls(), 1);
}

TEST(NotBeforeTest, HeldRequestsCountAgainstMaxInFlight) {
  Socket silent;
  silent.Listen();
  auto pool = MakePool(silent.port(), /*max_in_flight=*/1);
  Answer held, next;
  pool->Send(Held(absl::Seconds(60)), held.Done());
  Request request;
  request.method = "GET";
  request.path = "/";
  pool->Send(std::move(request), next.Done());
  EXPECT_THAT(next.Wait(), StatusIs(absl::StatusCode::kResourceExhausted));
  pool->Shutdown(absl::ZeroDuration());
  EXPECT_THAT(held.Wait(absl::Seconds(1)),
              StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace callpush::http2
