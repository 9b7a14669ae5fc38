// Fuzz target: the JSON gateway's HTTP side, whole. The input is the byte
// stream of one client connection (one HTTP/1.1 request, or several
// pipelined), sent over 127.0.0.1 to the real HttpServer (the Beast parsing
// and every limit it enforces) in front of the real Gateway handler (probes,
// bearer auth, routing, transcoding, the gRPC call, the mapping of its
// answer) over an in-process channel to a fake CallService. The fuzzer then
// half-closes and reads until the server closes.
//
// Limits are the production code's, with smaller numbers (1 KiB of header,
// 512 bytes of body) so that inputs of a few KiB reach them.
//
// The fake backend answers by a key of the request (ListCallableDevices: the
// mobile number; the others: the call id): "err<N>" or "err<N>:<message>"
// fails with gRPC code N, anything else succeeds (with up to three devices).
// The bearer token is "fuzz-token".
//
// Beyond not crashing, not leaking and not hanging (no close within 8 s is
// a finding too), the bytes that come back must be well-formed HTTP/1.1
// answers, one per request at most, each with a sane x-request-id, a
// status the gateway documents, a JSON body that parses, no body on a HEAD
// answer and nothing after an answer that closes the connection.
#include <arpa/inet.h>
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "callpush/v1/call_service.grpc.pb.h"
#include "clients/base/metrics_registry.h"
#include "gateway/bearer_auth.h"
#include "gateway/gateway.h"
#include "gateway/http_server.h"
#include "gateway/route_table.h"
#include "nlohmann/json.hpp"
#include "tests/fuzz/fuzz_support.h"

namespace callpush::gateway {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;

// "err<N>[:message]" -> that failure; otherwise OK.
grpc::Status OutcomeFor(const std::string& key) {
  if (!absl::StartsWith(key, "err")) return grpc::Status::OK;
  const size_t colon = key.find(':');
  int code = 0;
  if (!absl::SimpleAtoi(absl::string_view(key).substr(3, colon - 3), &code) ||
      code < 1 || code > 16) {
    return grpc::Status::OK;
  }
  return grpc::Status(static_cast<grpc::StatusCode>(code),
                      colon == std::string::npos ? "" : key.substr(colon + 1));
}

class FakeCallService final : public v1::CallService::CallbackService {
 public:
  grpc::ServerUnaryReactor* ListCallableDevices(
      grpc::CallbackServerContext* context,
      const v1::ListCallableDevicesRequest* request,
      v1::ListCallableDevicesResponse* response) override {
    grpc::Status status = OutcomeFor(request->mobile_number());
    if (status.ok()) {
      const size_t n = request->mobile_number().size() % 4;
      for (size_t i = 0; i < n; ++i) {
        response->add_devices()->set_id(
            absl::StrCat("device-", i, "-", request->mobile_number()));
      }
    }
    return Answer(context, status);
  }
  grpc::ServerUnaryReactor* Call(grpc::CallbackServerContext* context,
                                 const v1::CallRequest* request,
                                 v1::CallResponse*) override {
    return Answer(context, OutcomeFor(request->call_id()));
  }
  grpc::ServerUnaryReactor* UpdateCall(grpc::CallbackServerContext* context,
                                       const v1::UpdateCallRequest* request,
                                       v1::UpdateCallResponse*) override {
    return Answer(context, OutcomeFor(request->call_id()));
  }
  grpc::ServerUnaryReactor* CancelCall(grpc::CallbackServerContext* context,
                                       const v1::CancelCallRequest* request,
                                       v1::CancelCallResponse*) override {
    return Answer(context, OutcomeFor(request->call_id()));
  }

 private:
  static grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* context,
                                          grpc::Status status) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(std::move(status));
    return reactor;
  }
};

// Everything the fuzzer talks to, made once and stopped at exit in order.
struct Stack {
  FakeCallService service;
  std::unique_ptr<grpc::Server> backend;
  std::unique_ptr<RouteTable> routes;
  MetricsRegistry metrics;
  std::unique_ptr<Gateway> gateway;
  std::unique_ptr<HttpServer> http;
};
Stack* stack = nullptr;

void StartStack() {
  stack = new Stack();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.RegisterService(&stack->service);
  stack->backend = builder.BuildAndStart();
  FUZZ_CHECK(stack->backend != nullptr);
  stack->backend->GetHealthCheckService()->SetServingStatus(
      "callpush.v1.CallService", true);
  auto routes = RouteTable::Build(
      {v1::CallRequest::descriptor()->file()->FindServiceByName(
          "CallService")});
  FUZZ_CHECK(routes.ok());
  stack->routes = *std::move(routes);
  stack->gateway = std::make_unique<Gateway>(
      stack->backend->InProcessChannel(grpc::ChannelArguments()),
      *stack->routes, BearerAuth::FromTokens({"fuzz-token"}), stack->metrics,
      GatewayHandlerOptions{});
  HttpServerOptions options;
  options.address = "127.0.0.1:0";
  options.threads = 1;
  options.max_header_bytes = 1024;
  options.max_body_bytes = 512;
  auto http = HttpServer::Start(options, *stack->gateway);
  FUZZ_CHECK(http.ok());
  stack->http = *std::move(http);
  std::atexit([] {
    stack->http->Stop(absl::Seconds(1));
    stack->http.reset();
    stack->gateway.reset();  // waits for RPCs in flight
    stack->backend->Shutdown();
    stack->backend.reset();
    delete stack;
    stack = nullptr;
  });
}

// Sends `input` on a new connection, half-closes, and returns what came
// back until the server closed. `reset` tells whether it ended in a reset
// (which may cut what the server had written).
std::string Exchange(absl::string_view input, bool* reset) {
  *reset = false;
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  FUZZ_CHECK(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(stack->http->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // Non-blocking from the start: libFuzzer's SIGALRM would interrupt a
  // blocking connect.
  FUZZ_CHECK(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    FUZZ_CHECK(errno == EINPROGRESS || errno == EINTR);
    pollfd p{fd, POLLOUT, 0};
    while (poll(&p, 1, 8000) < 0) FUZZ_CHECK(errno == EINTR);
    int error = 0;
    socklen_t len = sizeof(error);
    FUZZ_CHECK(getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == 0);
    if (error != 0) {
      std::fprintf(stderr, "gateway_http_fuzzer: connect: %s\n",
                   std::strerror(error));
      std::abort();
    }
  }

  const auto give_up =
      std::chrono::steady_clock::now() + std::chrono::seconds(8);
  size_t sent = 0;
  bool sending = true;
  if (input.empty()) {
    shutdown(fd, SHUT_WR);
    sending = false;
  }
  std::string received;
  char buf[16384];
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        give_up - std::chrono::steady_clock::now());
    pollfd p{fd, static_cast<short>(POLLIN | (sending ? POLLOUT : 0)), 0};
    const int ready = poll(&p, 1, std::max<int>(0, left.count()));
    if (ready == 0) {
      std::fprintf(stderr,
                   "gateway_http_fuzzer: the server neither answered nor "
                   "closed within 8 s (%zu of %zu bytes sent, %zu received)\n",
                   sent, input.size(), received.size());
      std::abort();
    }
    if (ready < 0) {
      FUZZ_CHECK(errno == EINTR);
      continue;
    }
    if (sending && (p.revents & (POLLOUT | POLLERR | POLLHUP))) {
      const ssize_t n =
          send(fd, input.data() + sent, input.size() - sent, MSG_NOSIGNAL);
      if (n > 0) sent += static_cast<size_t>(n);
      if (n < 0 && errno != EAGAIN && errno != EINTR) {
        sending = false;  // the server closed: read what it said
      } else if (sent == input.size()) {
        shutdown(fd, SHUT_WR);
        sending = false;
      }
    }
    if (p.revents & (POLLIN | POLLERR | POLLHUP)) {
      const ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n > 0) {
        received.append(buf, static_cast<size_t>(n));
      } else if (n == 0) {
        break;
      } else if (errno != EAGAIN && errno != EINTR) {
        *reset = true;
        break;
      }
    }
  }
  // The server has closed: end with a reset rather than TIME_WAIT, so that
  // long runs do not use up the ephemeral ports.
  const linger abort_on_close{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_on_close,
             sizeof(abort_on_close));
  close(fd);
  return received;
}

// The methods of the requests in `input`, as a client-side Beast parser
// reads them (no limits), up to the first that does not parse, whose
// method is the last if its request line parsed.
std::vector<http::verb> RequestMethods(absl::string_view input) {
  std::vector<http::verb> methods;
  while (!input.empty()) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(1 << 20);
    parser.body_limit(1 << 20);
    parser.eager(true);
    beast::error_code ec;
    const size_t used =
        parser.put(boost::asio::buffer(input.data(), input.size()), ec);
    if (ec || !parser.is_done()) {
      if (parser.get().method() != http::verb::unknown) {
        methods.push_back(parser.get().method());
      }
      break;
    }
    methods.push_back(parser.get().method());
    input.remove_prefix(used);
  }
  return methods;
}

bool SaneRequestId(absl::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(c) && !absl::StrContains("._:-", c)) return false;
  }
  return true;
}

void CheckAnswers(absl::string_view input, absl::string_view out, bool reset) {
  static constexpr int kStatuses[] = {200, 202, 400, 401, 403, 404,
                                      405, 409, 413, 415, 429, 431,
                                      499, 500, 501, 503, 504};
  const std::vector<http::verb> methods = RequestMethods(input);
  size_t answered = 0;
  bool after_head = false;
  while (!out.empty()) {
    // An answer to a HEAD request has no body, whatever its headers say
    // (RFC 9112 section 6.3): what the server sent as one would be read as
    // the start of the next answer.
    const bool head =
        answered < methods.size() && methods[answered] == http::verb::head;
    http::response_parser<http::string_body> parser;
    parser.eager(true);
    parser.skip(head);
    beast::error_code ec;
    const size_t used =
        parser.put(boost::asio::buffer(out.data(), out.size()), ec);
    if (reset && (ec || !parser.is_done())) return;  // cut by the reset
    if (ec || !parser.is_done()) {
      std::fprintf(stderr,
                   "gateway_http_fuzzer: answer %zu is not well-formed HTTP "
                   "(%s)%s; %zu bytes left:\n%.*s\n",
                   answered, ec ? ec.message().c_str() : "incomplete",
                   after_head ? " after an answer to HEAD" : "", out.size(),
                   static_cast<int>(std::min<size_t>(out.size(), 600)),
                   out.data());
      std::abort();
    }
    out.remove_prefix(used);
    const auto& res = parser.get();
    const int status = res.result_int();
    if (status == 100) {
      FUZZ_CHECK(res.body().empty());
      continue;  // interim: "Expect: 100-continue"
    }
    ++answered;
    after_head = head;
    FUZZ_CHECK(absl::c_linear_search(kStatuses, status));
    FUZZ_CHECK(res.version() == 11 || res.version() == 10);
    FUZZ_CHECK(SaneRequestId(std::string(res["x-request-id"])));
    if (head) FUZZ_CHECK(res.body().empty());
    if (res[http::field::content_type] == "application/json" && !head) {
      const nlohmann::json j =
          nlohmann::json::parse(res.body(), nullptr, false);
      FUZZ_CHECK(!j.is_discarded());
      if (status >= 400) {
        FUZZ_CHECK(j.is_object() && j.size() == 1 && j.contains("error") &&
                   j["error"].is_string());
      }
    }
    if (status == 405) FUZZ_CHECK(!res[http::field::allow].empty());
    if (status == 401 && absl::StrContains(std::string(res.body()),
                                           "missing or invalid bearer")) {
      FUZZ_CHECK(res[http::field::www_authenticate] == "Bearer");
    }
    if (!res.keep_alive()) {
      // Nothing may follow an answer that closes the connection, except
      // the body of a refused HEAD request: the server refuses some before
      // it has read the method (431), and no answer can follow to misread.
      size_t length = 0;
      if (head &&
          absl::SimpleAtoi(std::string(res[http::field::content_length]),
                           &length) &&
          out.size() == length) {
        out = absl::string_view();
      }
      FUZZ_CHECK(out.empty());
    }
  }
  // At most one answer per request; a request the client-side parser
  // could not read may still have earned one (400, 413, 431).
  FUZZ_CHECK(answered <= methods.size() + 1);
}

}  // namespace
}  // namespace callpush::gateway

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  callpush::fuzz::QuietLogs();
  callpush::gateway::StartStack();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  bool reset = false;
  const std::string out = callpush::gateway::Exchange(input, &reset);
  callpush::gateway::CheckAnswers(input, out, reset);
  return 0;
}
