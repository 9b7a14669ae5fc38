// AdminServer: the sandbox's plain HTTP/1.1 control port (Boost.Beast),
// meant for loopback only:
//   GET    /deliveries  every push received, oldest first
//   DELETE /deliveries  forget them
//   GET    /rules       the active rules with their remaining uses
//   PUT    /rules       replace the rules ([] clears)
//   PUT    /settings    {"max_concurrent_streams": N} for all connections
//   GET    /healthz     200 "ok"
// Runs on the io_context's thread; requests are small and answered at once.
#ifndef CALLPUSH_TESTS_SANDBOX_ADMIN_SERVER_H_
#define CALLPUSH_TESTS_SANDBOX_ADMIN_SERVER_H_

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "tests/sandbox/deliveries.h"
#include "tests/sandbox/rules.h"

namespace callpush::sandbox {

struct AdminAnswer {
  int status = 200;
  std::string body;  // JSON unless status is 204
};

class AdminServer {
 public:
  using SetMaxStreams = std::function<void(uint32_t)>;

  AdminServer(boost::asio::io_context& io, RuleBook& rules,
              DeliveryLog& deliveries, SetMaxStreams set_max_streams);

  absl::Status Bind(const boost::asio::ip::tcp::endpoint& endpoint);
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  void Start();
  void Stop();

  // The routing, without I/O (unit-testable).
  AdminAnswer Handle(absl::string_view method, absl::string_view target,
                     absl::string_view body);

 private:
  void Accept();

  boost::asio::ip::tcp::acceptor acceptor_;
  RuleBook& rules_;
  DeliveryLog& deliveries_;
  const SetMaxStreams set_max_streams_;
};

}  // namespace callpush::sandbox

#endif  // CALLPUSH_TESTS_SANDBOX_ADMIN_SERVER_H_
