// SandboxHandler: the RequestHandler behind the HTTP/2 port. Routes /token
// to the OAuth endpoint and push paths to the APNs or FCM endpoint; for a
// push it checks the request, applies the token's rule (error, delay,
// GOAWAY, REFUSED_STREAM, drop), records the delivery (and later whether
// its answer left: DeliveryAnswer) and tells the observer about pushes
// answered 200. Thread-safe through its collaborators.
#ifndef CALLPUSH_TESTS_SANDBOX_SANDBOX_HANDLER_H_
#define CALLPUSH_TESTS_SANDBOX_SANDBOX_HANDLER_H_

#include <cstdint>
#include <vector>

#include "tests/sandbox/deliveries.h"
#include "tests/sandbox/http_types.h"
#include "tests/sandbox/oauth_endpoint.h"
#include "tests/sandbox/push_command.h"
#include "tests/sandbox/push_endpoint.h"
#include "tests/sandbox/rules.h"

namespace callpush::sandbox {

class SandboxHandler final : public RequestHandler {
 public:
  // Not owned; all must outlive this. `oauth` and `observer` may be null.
  SandboxHandler(std::vector<const PushEndpoint*> endpoints,
                 OAuthEndpoint* oauth, RuleBook& rules, DeliveryLog& log,
                 PushObserver* observer);

  StreamReply Handle(const HttpRequest& request) override;
  // Recorded as a delivery with status 0 and action `why`.
  void NotProcessed(const HttpRequest& request, StreamAction why) override;

 private:
  StreamReply HandlePush(const PushEndpoint& endpoint,
                         const HttpRequest& request);
  // Returns the delivery's id.
  uint64_t Record(const PushEndpoint& endpoint, const HttpRequest& request,
                  const PushCheck& check, int status, StreamAction action);

  const std::vector<const PushEndpoint*> endpoints_;
  OAuthEndpoint* const oauth_;
  RuleBook& rules_;
  DeliveryLog& log_;
  PushObserver* const observer_;
};

}  // namespace callpush::sandbox

#endif  // CALLPUSH_TESTS_SANDBOX_SANDBOX_HANDLER_H_
