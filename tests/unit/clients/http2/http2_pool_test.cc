// Http2 pool tests against real peers on 127.0.0.1: nghttpd over TLS with a
// CA and server certificate made by the openssl CLI, plus raw sockets for a
// refused port and a peer that accepts TCP but never speaks.
#include "clients/http2/http2_pool.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "clients/base/clock.h"
#include "tests/testing/http2_answer.h"
#include "tests/testing/loopback_socket.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace callpush::http2 {
namespace {

using ::callpush::testing::IsOk;
using ::callpush::testing::RunProgram;
using ::callpush::testing::StatusIs;
using ::callpush::testing::Subprocess;
using ::testing::HasSubstr;
using ::testing::Le;

using Answer = ::callpush::testing::Http2Answer;

using Listener = ::callpush::testing::LoopbackSocket;

// A port nothing listens on (for now).
uint16_t FreePort() {
  Listener l;
  return l.port();
}

bool CanConnect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

void Openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto run = RunProgram(argv, absl::Seconds(30));
  ASSERT_THAT(run, IsOk());
  ASSERT_EQ(run->exit_code, 0) << run->output;
}

class Http2PoolTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/callpush-http2-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = new std::string(tmpl);
    const std::string& d = *dir_;
    WriteFile(d + "/ca.cnf",
              "[req]\ndistinguished_name = dn\nprompt = no\n"
              "[dn]\nCN = callpush test CA\n"
              "[v3_ca]\nbasicConstraints = critical,CA:TRUE\n"
              "keyUsage = critical,keyCertSign,cRLSign\n"
              "subjectKeyIdentifier = hash\n");
    WriteFile(d + "/server.cnf",
              "[req]\ndistinguished_name = dn\nprompt = no\n"
              "[dn]\nCN = localhost\n"
              "[v3_srv]\nbasicConstraints = CA:FALSE\n"
              "keyUsage = critical,digitalSignature\n"
              "extendedKeyUsage = serverAuth\n"
              "subjectAltName = DNS:localhost,IP:127.0.0.1\n");
    for (const char* ca : {"ca", "other-ca"}) {
      Openssl({"req", "-x509", "-new", "-config", d + "/ca.cnf", "-extensions",
               "v3_ca", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
               "-nodes", "-keyout", absl::StrCat(d, "/", ca, ".key"), "-out",
               absl::StrCat(d, "/", ca, ".pem"), "-days", "2"});
    }
    Openssl({"req", "-new", "-config", d + "/server.cnf", "-newkey", "ec",
             "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
             d + "/server.key", "-out", d + "/server.csr"});
    Openssl({"x509", "-req", "-in", d + "/server.csr", "-CA", d + "/ca.pem",
             "-CAkey", d + "/ca.key", "-CAcreateserial", "-out",
             d + "/server.pem", "-days", "2", "-extfile", d + "/server.cnf",
             "-extensions", "v3_srv"});
    ASSERT_EQ(mkdir((d + "/www").c_str(), 0755), 0);
    WriteFile(d + "/www/hello.txt", "hello world\n");
    WriteFile(d + "/www/big.bin", std::string(60 * 1024, 'x'));
  }

  static void TearDownTestSuite() {
    std::string cmd = absl::StrCat("rm -rf '", *dir_, "'");
    EXPECT_EQ(system(cmd.c_str()), 0);
    delete dir_;
    dir_ = nullptr;
  }

  // Starts nghttpd on a free port of 127.0.0.1 and waits until it listens.
  uint16_t StartNghttpd(const std::vector<std::string>& extra = {}) {
    uint16_t port = FreePort();
    std::vector<std::string> argv = {"/usr/sbin/nghttpd", "-a", "127.0.0.1",
                                     "-d", *dir_ + "/www"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(std::to_string(port));
    argv.push_back(*dir_ + "/server.key");
    argv.push_back(*dir_ + "/server.pem");
    auto started = Subprocess::Start(argv);
    EXPECT_THAT(started, IsOk());
    if (!started.ok()) return 0;
    nghttpd_ = *std::move(started);
    absl::Time give_up = absl::Now() + absl::Seconds(5);
    while (!CanConnect(port) && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    EXPECT_TRUE(CanConnect(port)) << "nghttpd did not start";
    return port;
  }

  PoolOptions Options(uint16_t port) {
    PoolOptions o;
    o.host = "127.0.0.1";
    o.port = port;
    o.sni = "localhost";
    o.ca_file = *dir_ + "/ca.pem";
    o.connections = 1;
    o.connect_timeout = absl::Seconds(3);
    o.reconnect_min = absl::Milliseconds(50);
    o.reconnect_max = absl::Milliseconds(500);
    return o;
  }

  std::unique_ptr<Pool> MakePool(PoolOptions options) {
    auto pool = NewPool(std::move(options), SystemClock::Get());
    EXPECT_THAT(pool, IsOk());
    return pool.ok() ? *std::move(pool) : nullptr;
  }

  // A named pipe in the docroot: nghttpd blocks opening it (its whole loop
  // stalls) until the test opens the write end, then answers 200 with an
  // empty body. A response that comes exactly when the test says.
  std::string MakeFifo(const std::string& name) {
    std::string path = *dir_ + "/www/" + name;
    EXPECT_EQ(mkfifo(path.c_str(), 0644), 0);
    fifos_.push_back(path);
    return "/" + name;
  }
  // True once nghttpd is blocked opening the pipe (the kernel shows it
  // waiting for a writer), i.e. the request is in flight.
  bool NghttpdWaitsOnFifo() {
    std::ifstream wchan(absl::StrCat("/proc/", nghttpd_->pid(), "/wchan"));
    std::string where;
    std::getline(wchan, where);
    return where == "wait_for_partner";
  }
  bool WaitForFifoReader() {
    absl::Time give_up = absl::Now() + absl::Seconds(5);
    while (absl::Now() < give_up) {
      if (NghttpdWaitsOnFifo()) return true;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return false;
  }
  // Lets nghttpd answer: opens and closes the write end of every pipe.
  void ReleaseFifos() {
    for (const auto& f : fifos_) {
      int fd = open(f.c_str(), O_WRONLY | O_NONBLOCK);
      if (fd >= 0) close(fd);
    }
  }

  void TearDown() override {
    if (nghttpd_ != nullptr) ReleaseFifos();
    nghttpd_.reset();
    for (const auto& f : fifos_) unlink(f.c_str());
  }

  Request Get(const std::string& path,
              absl::Duration timeout = absl::Seconds(10)) {
    Request r;
    r.method = "GET";
    r.path = path;
    r.deadline = absl::Now() + timeout;
    return r;
  }

  static std::string* dir_;
  std::unique_ptr<Subprocess> nghttpd_;
  std::vector<std::string> fifos_;
};

std::string* Http2PoolTest::dir_ = nullptr;

TEST_F(Http2PoolTest, GetReturnsStatusHeadersAndBodyOverTls) {
  uint16_t port = StartNghttpd();
  auto pool = MakePool(Options(port));
  EXPECT_EQ(pool->Stats().connects, 0);  // lazy
  Answer answer;
  pool->Send(Get("/hello.txt"), answer.Done());
  absl::StatusOr<Response> r = answer.Wait();
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello world\n");
  EXPECT_EQ(r->Header("content-length"), "12");
  EXPECT_THAT(r->Header("server"), HasSubstr("nghttpd"));
  PoolStats stats = pool->Stats();
  EXPECT_EQ(stats.connects, 1);
  EXPECT_EQ(stats.connections_ready, 1);
  EXPECT_EQ(stats.connect_failures, 0);
  pool.reset();
  EXPECT_EQ(answer.calls(), 1);
}

TEST_F(Http2PoolTest, NotFoundIsAResponseNotAnError) {
  uint16_t port = StartNghttpd();
  auto pool = MakePool(Options(port));
  Answer answer;
  pool->Send(Get("/missing"), answer.Done());
  absl::StatusOr<Response> r = answer.Wait();
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 404);
}

TEST_F(Http2PoolTest, PostSendsBodyAndSensitiveHeaders) {
  uint16_t port = StartNghttpd({"--echo-upload"});
  auto pool = MakePool(Options(port));
  Request request;
  request.method = "POST";
  request.path = "/3/device/0123456789abcdef";
  request.headers = {{"authorization", "bearer secret", /*sensitive=*/true},
                     {"apns-push-type", "voip"}};
  request.body = std::string(100 * 1024, 'p');  // several DATA frames
  request.deadline = absl::Now() + absl::Seconds(10);
  Answer answer;
  pool->Send(std::move(request), answer.Done());
  absl::StatusOr<Response> r = answer.Wait();
  ASSERT_THAT(r, StatusIs(absl::StatusCode::kInternal,
                          HasSubstr("response body over")));
  PoolOptions big = Options(port);
  big.max_response_body = 200 * 1024;
  auto pool2 = MakePool(big);
  Request again;
  again.method = "POST";
  again.path = "/echo";
  again.body = "payload";
  Answer answer2;
  pool2->Send(std::move(again), answer2.Done());
  r = answer2.Wait();
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "payload");
}

TEST_F(Http2PoolTest, ResponseBodyOverTheCapIsInternal) {
  uint16_t port = StartNghttpd();
  PoolOptions o = Options(port);
  o.max_response_body = 1000;
  auto pool = MakePool(o);
  Answer answer;
  pool->Send(Get("/big.bin"), answer.Done());
  EXPECT_THAT(answer.Wait(), StatusIs(absl::StatusCode::kInternal));
  // The connection survives: only the stream was reset.
  Answer small;
  pool->Send(Get("/hello.txt"), small.Done());
  ASSERT_THAT(small.Wait(), IsOk());
  EXPECT_EQ(pool->Stats().connects, 1);
}

TEST_F(Http2PoolTest, UntrustedCertificateIsUnavailable) {
  uint16_t port = StartNghttpd();
  PoolOptions o = Options(port);
  o.ca_file = *dir_ + "/other-ca.pem";
  auto pool = MakePool(o);
  Answer answer;
  pool->Send(Get("/hello.txt"), answer.Done());
  EXPECT_THAT(answer.Wait(), StatusIs(absl::StatusCode::kUnavailable,
                                      HasSubstr("certificate verify failed")));
  EXPECT_GE(pool->Stats().connect_failures, 1);
}

TEST_F(Http2PoolTest, WrongHostnameIsUnavailable) {
  uint16_t port = StartNghttpd();
  PoolOptions o = Options(port);
  o.sni = "push.example.com";
  auto pool = MakePool(o);
  Answer answer;
  pool->Send(Get("/hello.txt"), answer.Done());
  EXPECT_THAT(answer.Wait(), StatusIs(absl::StatusCode::kUnavailable,
                                      HasSubstr("certificate verify failed")));
}

TEST_F(Http2PoolTest, IpAddressIsVerifiedAgainstIpSan) {
  uint16_t port = StartNghttpd();
  PoolOptions o = Options(port);
  o.sni = "";  // verify 127.0.0.1 itself
  auto pool = MakePool(o);
  Answer answer;
  pool->Send(Get("/hello.txt"), answer.Done());
  EXPECT_THAT(answer.Wait(), IsOk());
}

TEST_F(Http2PoolTest, ConnectionRefusedIsUnavailableFast) {
  auto pool = MakePool(Options(FreePort()));
  Answer answer;
  absl::Time start = absl::Now();
  pool->Send(Get("/hello.txt"), answer.Done());
  EXPECT_THAT(answer.Wait(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("refused")));
  EXPECT_LT(answer.at() - start, absl::Milliseconds(500));
  // While the connection waits to retry, requests fail fast too.
  Answer second;
  pool->Send(Get("/hello.txt"), second.Done());
  EXPECT_THAT(second.Wait(), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(Http2PoolTest, SilentPeerAnswersDeadlineExceededAtTheDeadline) {
  Listener silent;  // accepts TCP (backlog), never speaks TLS
  silent.Listen();
  auto pool = MakePool(Options(silent.port()));
  Answer answer;
  Request r = Get("/hello.txt");
  r.deadline = absl::Now() + absl::Milliseconds(300);
  absl::Time deadline = r.deadline;
  pool->Send(std::move(r), answer.Done());
  EXPECT_THAT(answer.Wait(), StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_GE(answer.at(), deadline);
  EXPECT_LT(answer.at() - deadline, absl::Milliseconds(150));
}

TEST_F(Http2PoolTest, DeadlinePassedAlreadyIsAnsweredAtOnce) {
  Listener silent;
  silent.Listen();
  auto pool = MakePool(Options(silent.port()));
  Answer answer;
  Request r = Get("/hello.txt");
  r.deadline = absl::Now() - absl::Seconds(1);
  pool->Send(std::move(r), answer.Done());
  EXPECT_THAT(answer.Wait(absl::Milliseconds(500)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST_F(Http2PoolTest, TooManyInFlightIsResourceExhausted) {
  Listener silent;
  silent.Listen();
  PoolOptions o = Options(silent.port());
  o.max_in_flight = 1;
  auto pool = MakePool(o);
  Answer first, second;
  pool->Send(Get("/a", absl::Milliseconds(300)), first.Done());
  pool->Send(Get("/b", absl::Milliseconds(300)), second.Done());
  EXPECT_THAT(second.Wait(), StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(first.Wait(), StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST_F(Http2PoolTest, DeadlineResetsAStreamInFlight) {
  uint16_t port = StartNghttpd();
  std::string slow = MakeFifo("slow-deadline");
  auto pool = MakePool(Options(port));
  Answer answer;
  pool->Send(Get(slow, absl::Milliseconds(400)), answer.Done());
  ASSERT_TRUE(WaitForFifoReader());
  EXPECT_THAT(answer.Wait(), StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_EQ(pool->Stats().deadline_resets, 1);
  ReleaseFifos();  // the late response is dropped, the connection lives on
  Answer next;
  pool->Send(Get("/hello.txt"), next.Done());
  EXPECT_THAT(next.Wait(), IsOk());
  pool.reset();
  EXPECT_EQ(answer.calls(), 1);
  EXPECT_EQ(next.calls(), 1);
}

TEST_F(Http2PoolTest, StreamsNeverExceedPeerMaxConcurrentStreams) {
  uint16_t port = StartNghttpd({"--max-concurrent-streams=2"});
  auto pool = MakePool(Options(port));
  constexpr int kRequests = 60;
  std::vector<Answer> answers(kRequests);
  std::atomic<bool> stop{false};
  std::atomic<int64_t> max_in_flight{0};
  std::thread sampler([&] {
    while (!stop.load()) {
      int64_t n = pool->Stats().in_flight;
      if (n > max_in_flight.load()) max_in_flight.store(n);
    }
  });
  for (int i = 0; i < kRequests; ++i) {
    pool->Send(Get(i % 2 == 0 ? "/hello.txt" : "/big.bin"), answers[i].Done());
  }
  for (auto& a : answers) EXPECT_THAT(a.Wait(), IsOk());
  stop.store(true);
  sampler.join();
  EXPECT_THAT(max_in_flight.load(), Le(2));
  EXPECT_GE(max_in_flight.load(), 1);
  // The loop updates the gauges just after the last answer's callback
  // returns: read them once the loop has got past that.
  absl::Notification loop_passed;
  pool->RunAt(absl::InfinitePast(), [&] { loop_passed.Notify(); });
  loop_passed.WaitForNotification();
  PoolStats stats = pool->Stats();
  EXPECT_EQ(stats.refused_streams, 0);
  EXPECT_EQ(stats.in_flight, 0);
  EXPECT_EQ(stats.connects, 1);
  pool.reset();
  for (auto& a : answers) EXPECT_EQ(a.calls(), 1);
}

TEST_F(Http2PoolTest, LoadSpreadsOverConnections) {
  uint16_t port = StartNghttpd({"--max-concurrent-streams=3"});
  PoolOptions o = Options(port);
  o.connections = 3;
  auto pool = MakePool(o);
  constexpr int kRequests = 90;
  std::vector<Answer> answers(kRequests);
  for (int i = 0; i < kRequests; ++i) {
    pool->Send(Get("/big.bin"), answers[i].Done());
  }
  for (auto& a : answers) EXPECT_THAT(a.Wait(), IsOk());
  PoolStats stats = pool->Stats();
  EXPECT_EQ(stats.connects, 3);
  EXPECT_EQ(stats.connections_ready, 3);
  EXPECT_EQ(stats.refused_streams, 0);
}

TEST_F(Http2PoolTest, ShutdownWaitsForStreamsInFlight) {
  uint16_t port = StartNghttpd();
  std::string slow = MakeFifo("slow-shutdown");
  auto pool = MakePool(Options(port));
  Answer answer;
  pool->Send(Get(slow), answer.Done());
  ASSERT_TRUE(WaitForFifoReader());
  absl::Notification shut;
  std::thread shutdown([&] {
    pool->Shutdown(absl::InfiniteDuration());  // must not overflow
    shut.Notify();
  });
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_FALSE(shut.HasBeenNotified());
  EXPECT_FALSE(answer.answered());
  // New requests are refused meanwhile.
  Answer refused;
  pool->Send(Get("/hello.txt"), refused.Done());
  EXPECT_THAT(refused.Wait(), StatusIs(absl::StatusCode::kUnavailable));
  ReleaseFifos();
  absl::StatusOr<Response> r = answer.Wait();
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(shut.WaitForNotificationWithTimeout(absl::Seconds(5)));
  shutdown.join();
  pool.reset();
  EXPECT_EQ(answer.calls(), 1);
  EXPECT_EQ(refused.calls(), 1);
}

TEST_F(Http2PoolTest, ShutdownGiveUpAfterGraceWithUnavailable) {
  uint16_t port = StartNghttpd();
  std::string slow = MakeFifo("slow-grace");
  auto pool = MakePool(Options(port));
  Answer answer;
  pool->Send(Get(slow), answer.Done());
  ASSERT_TRUE(WaitForFifoReader());
  absl::Time start = absl::Now();
  pool->Shutdown(absl::Milliseconds(200));
  absl::Duration took = absl::Now() - start;
  EXPECT_THAT(answer.Wait(absl::Seconds(1)),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_GE(took, absl::Milliseconds(200));
  EXPECT_LT(took, absl::Seconds(2));
  pool->Shutdown(absl::ZeroDuration());  // idempotent
  Answer after;
  pool->Send(Get("/hello.txt"), after.Done());
  EXPECT_THAT(after.Wait(absl::Seconds(1)),
              StatusIs(absl::StatusCode::kUnavailable));
  pool.reset();
  EXPECT_EQ(answer.calls(), 1);
  EXPECT_EQ(after.calls(), 1);
}

TEST_F(Http2PoolTest, DestroyingAnUnusedPoolIsQuick) {
  auto pool = MakePool(Options(FreePort()));
  absl::Time start = absl::Now();
  pool.reset();
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));
}

TEST_F(Http2PoolTest, PeerDisappearingAnswersUnavailableThenReconnects) {
  uint16_t port = StartNghttpd();
  std::string slow = MakeFifo("slow-kill");
  auto pool = MakePool(Options(port));
  Answer warm;
  pool->Send(Get("/hello.txt"), warm.Done());
  ASSERT_THAT(warm.Wait(), IsOk());
  Answer answer;
  pool->Send(Get(slow), answer.Done());
  ASSERT_TRUE(WaitForFifoReader());
  nghttpd_.reset();  // SIGKILL: the request may have been processed
  EXPECT_THAT(answer.Wait(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(pool->Stats().resent, 0);  // never resent after it went out

  // The same origin comes back: the pool reconnects (with backoff) by
  // itself; meanwhile requests fail fast rather than hang.
  std::vector<std::string> argv = {
      "/usr/sbin/nghttpd",   "-a",
      "127.0.0.1",           "-d",
      *dir_ + "/www",        std::to_string(port),
      *dir_ + "/server.key", *dir_ + "/server.pem"};
  auto restarted = Subprocess::Start(argv);
  ASSERT_THAT(restarted, IsOk());
  nghttpd_ = *std::move(restarted);
  absl::Time give_up = absl::Now() + absl::Seconds(5);
  absl::StatusOr<Response> r = absl::UnknownError("not tried");
  while (!r.ok() && absl::Now() < give_up) {
    Answer again;
    pool->Send(Get("/hello.txt"), again.Done());
    r = again.Wait();
    if (!r.ok()) {
      EXPECT_THAT(r, StatusIs(absl::StatusCode::kUnavailable));
      absl::SleepFor(absl::Milliseconds(20));
    }
  }
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(pool->Stats().connects, 2);
}

TEST_F(Http2PoolTest, UnansweredPingClosesTheConnection) {
  uint16_t port = StartNghttpd();
  std::string slow = MakeFifo("slow-ping");
  PoolOptions o = Options(port);
  o.ping_interval = absl::Milliseconds(100);
  o.ping_timeout = absl::Milliseconds(100);
  auto pool = MakePool(o);
  Answer answer;
  absl::Time start = absl::Now();
  pool->Send(Get(slow), answer.Done());
  ASSERT_TRUE(WaitForFifoReader());  // nghttpd's loop is stuck: no PING ack
  EXPECT_THAT(answer.Wait(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("PING")));
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
}

TEST(NewPoolTest, RejectsBadOptions) {
  PoolOptions o;
  o.host = "127.0.0.1";
  o.connections = 0;
  EXPECT_THAT(NewPool(o, SystemClock::Get()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  o.connections = 1;
  o.ca_file = "/nonexistent/ca.pem";
  EXPECT_THAT(NewPool(o, SystemClock::Get()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  o.ca_file = "";
  o.client_cert_file = "/nonexistent/cert.pem";
  EXPECT_THAT(NewPool(o, SystemClock::Get()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  PoolOptions empty;
  EXPECT_THAT(NewPool(empty, SystemClock::Get()),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace callpush::http2
