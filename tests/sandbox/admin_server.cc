#include "tests/sandbox/admin_server.h"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "clients/base/log.h"

namespace callpush::sandbox {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

constexpr auto kIdleTimeout = std::chrono::seconds(30);
constexpr size_t kMaxBody = 1 << 20;

std::string ErrorBody(absl::string_view message) {
  return nlohmann::json{{"error", std::string(message)}}.dump();
}

// One keep-alive HTTP/1.1 connection.
class AdminConnection : public std::enable_shared_from_this<AdminConnection> {
 public:
  AdminConnection(asio::ip::tcp::socket socket, AdminServer& server)
      : stream_(std::move(socket)), server_(server) {}

  void Read() {
    parser_.emplace();
    parser_->body_limit(kMaxBody);
    stream_.expires_after(kIdleTimeout);
    auto self = shared_from_this();
    http::async_read(stream_, buffer_, *parser_,
                     [self](beast::error_code error, size_t) {
                       if (error) {
                         self->Close();
                         return;
                       }
                       self->Answer(self->parser_->release());
                     });
  }

 private:
  void Answer(http::request<http::string_body> request) {
    AdminAnswer answer =
        server_.Handle(std::string(request.method_string()),
                       std::string(request.target()), request.body());
    auto response = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(answer.status), request.version());
    response->set(http::field::server, "callpush-sandbox");
    if (answer.status != 204) {
      response->set(http::field::content_type, "application/json");
      response->body() = std::move(answer.body);
    }
    response->keep_alive(request.keep_alive());
    response->prepare_payload();
    auto self = shared_from_this();
    http::async_write(stream_, *response,
                      [self, response](beast::error_code error, size_t) {
                        if (error || !response->keep_alive()) {
                          self->Close();
                          return;
                        }
                        self->Read();
                      });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  AdminServer& server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

}  // namespace

AdminServer::AdminServer(asio::io_context& io, RuleBook& rules,
                         DeliveryLog& deliveries, SetMaxStreams set_max_streams)
    : acceptor_(io),
      rules_(rules),
      deliveries_(deliveries),
      set_max_streams_(std::move(set_max_streams)) {}

absl::Status AdminServer::Bind(const asio::ip::tcp::endpoint& endpoint) {
  boost::system::error_code error;
  acceptor_.open(endpoint.protocol(), error);
  if (!error)
    acceptor_.set_option(asio::socket_base::reuse_address(true), error);
  if (!error) acceptor_.bind(endpoint, error);
  if (!error)
    acceptor_.listen(asio::socket_base::max_listen_connections, error);
  if (error) {
    return absl::UnavailableError(
        absl::StrCat("admin listener: ", error.message()));
  }
  return absl::OkStatus();
}

asio::ip::tcp::endpoint AdminServer::local_endpoint() const {
  boost::system::error_code error;
  return acceptor_.local_endpoint(error);
}

void AdminServer::Start() { Accept(); }

void AdminServer::Stop() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

void AdminServer::Accept() {
  acceptor_.async_accept([this](const boost::system::error_code& error,
                                asio::ip::tcp::socket socket) {
    if (error == asio::error::operation_aborted || !acceptor_.is_open()) {
      return;
    }
    if (!error) {
      std::make_shared<AdminConnection>(std::move(socket), *this)->Read();
    }
    Accept();
  });
}

AdminAnswer AdminServer::Handle(absl::string_view method,
                                absl::string_view target,
                                absl::string_view body) {
  absl::string_view path = target.substr(0, target.find('?'));
  if (path == "/healthz") return {200, R"("ok")"};
  if (path == "/deliveries") {
    if (method == "GET") return {200, deliveries_.ToJson().dump()};
    if (method == "DELETE") {
      deliveries_.Clear();
      return {204, ""};
    }
    return {405, ErrorBody("GET or DELETE")};
  }
  if (path == "/rules") {
    if (method == "GET") return {200, rules_.ToJson().dump()};
    if (method != "PUT") return {405, ErrorBody("GET or PUT")};
    nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
    if (json.is_discarded()) return {400, ErrorBody("body is not JSON")};
    auto rules = ParseRules(json);
    if (!rules.ok()) return {400, ErrorBody(rules.status().message())};
    size_t count = rules->size();
    rules_.Replace(*std::move(rules));
    Log(LogLevel::kInfo, "rules replaced", {{"count", std::to_string(count)}});
    return {200, rules_.ToJson().dump()};
  }
  if (path == "/settings") {
    if (method != "PUT") return {405, ErrorBody("PUT")};
    nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
    if (!json.is_object()) return {400, ErrorBody("body is not a JSON object")};
    for (auto it = json.begin(); it != json.end(); ++it) {
      if (it.key() != "max_concurrent_streams") {
        return {400, ErrorBody(absl::StrCat(it.key(), ": unknown setting"))};
      }
      if (!it.value().is_number_unsigned() ||
          it.value().get<uint64_t>() > 0x7fffffff) {
        return {400, ErrorBody("max_concurrent_streams: must be 0..2^31-1")};
      }
      set_max_streams_(static_cast<uint32_t>(it.value().get<uint64_t>()));
    }
    return {200, json.dump()};
  }
  return {404, ErrorBody("no such resource")};
}

}  // namespace callpush::sandbox
