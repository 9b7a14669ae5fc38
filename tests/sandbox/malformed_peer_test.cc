// The HTTP/2 pool against a provider that answers wrongly: a scripted TLS
// peer on 127.0.0.1 (certificates from the sandbox's cert maker) that reads
// the request and writes hand-made HTTP/2 frames. Every broken answer must
// become one classified failure, quickly: never a crash, a hang, or a
// second callback.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "clients/base/clock.h"
#include "clients/http2/http2_pool.h"
#include "tests/sandbox/cert_maker.h"
#include "tests/testing/http2_answer.h"
#include "tests/testing/loopback_socket.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"

namespace callpush::http2 {
namespace {

using ::callpush::testing::Http2Answer;
using ::callpush::testing::IsOk;
using ::callpush::testing::RunProgram;
using ::callpush::testing::StatusIs;
using ::testing::AnyOf;
using ::testing::HasSubstr;

constexpr uint8_t kData = 0x0, kHeaders = 0x1, kRstStream = 0x3,
                  kSettings = 0x4, kPushPromise = 0x5, kGoaway = 0x7,
                  kContinuation = 0x9;
constexpr uint8_t kEndStream = 0x1, kAck = 0x1, kEndHeaders = 0x4;

std::string U32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
          static_cast<char>(v >> 8), static_cast<char>(v)};
}

std::string Frame(uint8_t type, uint8_t flags, uint32_t stream,
                  const std::string& payload) {
  size_t n = payload.size();
  std::string out = {static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                     static_cast<char>(n), static_cast<char>(type),
                     static_cast<char>(flags)};
  return out + U32(stream & 0x7fffffff) + payload;
}

// HPACK "literal header field without indexing, new name", no Huffman.
std::string Literal(const std::string& name, const std::string& value) {
  auto length = [](size_t n) {
    std::string out;
    if (n < 127) return std::string(1, static_cast<char>(n));
    out += static_cast<char>(127);
    n -= 127;
    while (n >= 128) {
      out += static_cast<char>((n & 0x7f) | 0x80);
      n >>= 7;
    }
    out += static_cast<char>(n);
    return out;
  };
  return std::string(1, '\0') + length(name.size()) + name +
         length(value.size()) + value;
}

// ":status: 200" from the HPACK static table (index 8).
const std::string kStatus200 = "\x88";

// A TLS server for one connection at a time that speaks HTTP/2 from a
// script: it sends its SETTINGS, waits for the client's first request
// (HEADERS on stream 1, and its END_STREAM), writes `answer`, then either
// closes the connection or reads until the client goes away.
class ScriptedPeer {
 public:
  ScriptedPeer(const std::string& cert, const std::string& key,
               std::string answer, bool close_after_answer)
      : answer_(std::move(answer)), close_after_answer_(close_after_answer) {
    ctx_ = SSL_CTX_new(TLS_server_method());
    EXPECT_EQ(SSL_CTX_use_certificate_chain_file(ctx_, cert.c_str()), 1);
    EXPECT_EQ(SSL_CTX_use_PrivateKey_file(ctx_, key.c_str(), SSL_FILETYPE_PEM),
              1);
    SSL_CTX_set_alpn_select_cb(
        ctx_,
        [](SSL*, const unsigned char** out, unsigned char* outlen,
           const unsigned char*, unsigned int, void*) {
          static const unsigned char kH2[] = {'h', '2'};
          *out = kH2;
          *outlen = 2;
          return SSL_TLSEXT_ERR_OK;
        },
        nullptr);
    listener_.Listen();
    thread_ = std::thread([this] { Serve(); });
  }

  ~ScriptedPeer() {
    stop_ = true;
    // Wakes accept(); the socket is closed once Serve() no longer reads its
    // fd (closing it here raced with that read: TSan).
    shutdown(listener_.fd(), SHUT_RDWR);
    int client = client_.exchange(-1);
    if (client >= 0) shutdown(client, SHUT_RDWR);
    thread_.join();
    listener_.Close();
    SSL_CTX_free(ctx_);
  }

  uint16_t port() const { return listener_.port(); }

 private:
  void Serve() {
    while (!stop_) {
      int client = accept(listener_.fd(), nullptr, nullptr);
      if (client < 0) return;
      client_ = client;
      SSL* ssl = SSL_new(ctx_);
      SSL_set_fd(ssl, client);
      if (SSL_accept(ssl) == 1) Converse(ssl);
      SSL_free(ssl);
      if (client_.exchange(-1) >= 0) shutdown(client, SHUT_RDWR);
      close(client);
    }
  }

  void Converse(SSL* ssl) {
    std::string settings = Frame(kSettings, 0, 0, "");
    if (SSL_write(ssl, settings.data(), settings.size()) <= 0) return;
    std::string in;
    bool answered = false;
    char buf[16384];
    for (;;) {
      int n = SSL_read(ssl, buf, sizeof(buf));
      if (n <= 0) return;
      in.append(buf, n);
      if (!answered && RequestComplete(in)) {
        answered = true;
        // The client's SETTINGS came before its request: acknowledge them
        // (its SETTINGS_ENABLE_PUSH=0 applies from then on).
        std::string out = Frame(kSettings, kAck, 0, "") + answer_;
        if (SSL_write(ssl, out.data(), out.size()) <= 0) return;
        if (close_after_answer_) return;
      }
    }
  }

  // True once stream 1 has ended (END_STREAM on its HEADERS or DATA).
  static bool RequestComplete(const std::string& in) {
    constexpr size_t kPrefaceSize = 24;
    size_t at = kPrefaceSize;
    while (at + 9 <= in.size()) {
      auto byte = [&](size_t i) { return static_cast<uint8_t>(in[at + i]); };
      size_t length = (byte(0) << 16) | (byte(1) << 8) | byte(2);
      uint8_t type = byte(3), flags = byte(4);
      uint32_t stream =
          ((byte(5) & 0x7f) << 24) | (byte(6) << 16) | (byte(7) << 8) | byte(8);
      if (at + 9 + length > in.size()) return false;
      if (stream == 1 && (type == kHeaders || type == kData) &&
          (flags & kEndStream) != 0) {
        return true;
      }
      at += 9 + length;
    }
    return false;
  }

  const std::string answer_;
  const bool close_after_answer_;
  SSL_CTX* ctx_ = nullptr;
  ::callpush::testing::LoopbackSocket listener_;
  std::atomic<int> client_{-1};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class MalformedPeerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // The scripted peer writes with plain write(2) through OpenSSL; a client
    // that already hung up must not kill the test with SIGPIPE.
    signal(SIGPIPE, SIG_IGN);
    char tmpl[] = "/tmp/callpush-malformed-peer-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = new std::string(tmpl);
    auto made = sandbox::MakeSandboxCredentials(
        *dir_, {"https://127.0.0.1/token", "p", "e@example.com"});
    ASSERT_TRUE(made.ok()) << made.status();
    credentials_ = new sandbox::SandboxCredentials(*made);
  }
  static void TearDownTestSuite() {
    RunProgram({"/bin/rm", "-rf", *dir_}, absl::Seconds(10)).IgnoreError();
    delete dir_;
    delete credentials_;
  }

  // Sends one push-like POST to a peer answering `answer`; returns the
  // pool's answer, checking it came once and well before the deadline.
  absl::StatusOr<Response> Exchange(const std::string& answer,
                                    bool close_after_answer = false) {
    ScriptedPeer peer(credentials_->server_cert, credentials_->server_key,
                      answer, close_after_answer);
    PoolOptions options;
    options.host = "127.0.0.1";
    options.port = peer.port();
    options.ca_file = credentials_->ca_cert;
    options.connections = 1;
    options.max_response_body = 4096;
    auto pool = NewPool(options, SystemClock::Get());
    EXPECT_THAT(pool, IsOk());
    if (!pool.ok()) return pool.status();
    Request request;
    request.path = "/3/device/abcdef";
    request.body = R"({"aps":{}})";
    request.deadline = absl::Now() + absl::Seconds(5);
    Http2Answer done;
    absl::Time start = absl::Now();
    (*pool)->Send(std::move(request), done.Done());
    absl::StatusOr<Response> result = done.Wait(absl::Seconds(10));
    EXPECT_LT(done.at() - start, absl::Seconds(2)) << "answered late";
    (*pool)->Shutdown(absl::Seconds(1));
    EXPECT_EQ(done.calls(), 1);
    return result;
  }

  static std::string* dir_;
  static sandbox::SandboxCredentials* credentials_;
};

std::string* MalformedPeerTest::dir_ = nullptr;
sandbox::SandboxCredentials* MalformedPeerTest::credentials_ = nullptr;

// Failures a push caller can act on: a broken answer is INTERNAL (the
// provider misbehaved) or UNAVAILABLE (the connection was lost).
auto Classified() {
  return AnyOf(StatusIs(absl::StatusCode::kInternal),
               StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(MalformedPeerTest, WellFormedScriptIsAnswered) {
  // The control: the script itself is right; unknown frame types are
  // ignored as HTTP/2 requires.
  auto r = Exchange(
      Frame(0xfa, 0, 0, "whatever") +
      Frame(kHeaders, kEndHeaders, 1, kStatus200 + Literal("apns-id", "abc")) +
      Frame(kData, kEndStream, 1, "{}"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("apns-id"), "abc");
  EXPECT_EQ(r->body, "{}");
}

TEST_F(MalformedPeerTest, ResponseWithoutStatus) {
  EXPECT_THAT(Exchange(Frame(kHeaders, kEndHeaders | kEndStream, 1,
                             Literal("apns-id", "abc"))),
              StatusIs(absl::StatusCode::kInternal));
}

TEST_F(MalformedPeerTest, NonNumericStatus) {
  EXPECT_THAT(Exchange(Frame(kHeaders, kEndHeaders | kEndStream, 1,
                             Literal(":status", "2x0"))),
              StatusIs(absl::StatusCode::kInternal));
}

TEST_F(MalformedPeerTest, ContentLengthDisagreesWithBody) {
  EXPECT_THAT(Exchange(Frame(kHeaders, kEndHeaders, 1,
                             kStatus200 + Literal("content-length", "10")) +
                       Frame(kData, kEndStream, 1, "{}")),
              StatusIs(absl::StatusCode::kInternal));
}

TEST_F(MalformedPeerTest, HugeHeaderBlockInContinuations) {
  std::string block = kStatus200;
  for (int i = 0; i < 5; ++i) {
    block += Literal(absl::StrCat("x-junk-", i), std::string(30000, 'j'));
  }
  std::string frames = Frame(kHeaders, 0, 1, block.substr(0, 16000));
  for (size_t at = 16000; at < block.size(); at += 16000) {
    bool last = at + 16000 >= block.size();
    frames += Frame(kContinuation, last ? kEndHeaders : 0, 1,
                    block.substr(at, 16000));
  }
  EXPECT_THAT(Exchange(frames + Frame(kData, kEndStream, 1, "")), Classified());
}

TEST_F(MalformedPeerTest, BodyOverTheCap) {
  EXPECT_THAT(Exchange(Frame(kHeaders, kEndHeaders, 1, kStatus200) +
                       Frame(kData, kEndStream, 1, std::string(8000, 'b'))),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("body over")));
}

TEST_F(MalformedPeerTest, DataBeforeHeaders) {
  EXPECT_THAT(Exchange(Frame(kData, kEndStream, 1, "{}")), Classified());
}

TEST_F(MalformedPeerTest, PushPromiseThoughPushIsDisabled) {
  EXPECT_THAT(
      Exchange(Frame(kPushPromise, kEndHeaders, 1, U32(2) + kStatus200)),
      Classified());
}

TEST_F(MalformedPeerTest, GarbageInsteadOfFrames) {
  EXPECT_THAT(Exchange("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"),
              Classified());
}

TEST_F(MalformedPeerTest, StreamResetWithInternalError) {
  EXPECT_THAT(Exchange(Frame(kHeaders, kEndHeaders, 1, kStatus200) +
                       Frame(kRstStream, 0, 1, U32(2))),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(MalformedPeerTest, GoawayCoveringTheStreamThenClose) {
  // The peer may have processed stream 1 (last-stream-id 1), then hangs
  // up: the push is failed, not resent, since it may have rung the phone.
  EXPECT_THAT(Exchange(Frame(kGoaway, 0, 0, U32(1) + U32(2)),
                       /*close_after_answer=*/true),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(MalformedPeerTest, HeadersThenClose) {
  EXPECT_THAT(Exchange(Frame(kHeaders, kEndHeaders, 1, kStatus200),
                       /*close_after_answer=*/true),
              StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace callpush::http2
