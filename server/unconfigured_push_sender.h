// UnconfiguredPushSender: the PushSender of a server with no push providers.
// Every push fails (transient, reason "no push provider configured") so that
// callers get UNAVAILABLE instead of a 202 for a phone that never rings.
#ifndef CALLPUSH_SERVER_UNCONFIGURED_PUSH_SENDER_H_
#define CALLPUSH_SERVER_UNCONFIGURED_PUSH_SENDER_H_

#include "server/push_sender.h"

namespace callpush {

class UnconfiguredPushSender final : public PushSender {
 public:
  std::string ProviderFor(Platform platform,
                          const std::string& app) const override {
    return "none";
  }
  void Send(PushRequest request,
            absl::AnyInvocable<void(PushResult)> done) override {
    PushResult result;
    result.outcome = PushResult::Outcome::kFailed;
    result.provider = "none";
    result.reason = "no push provider configured";
    done(std::move(result));
  }
};

}  // namespace callpush

#endif  // CALLPUSH_SERVER_UNCONFIGURED_PUSH_SENDER_H_
