// PushObserver: what the push path reports for metrics (server_metrics.h),
// in the words of PushSender. It never drives logic: implementations only
// count, and each method must be thread-safe, quick and non-blocking (it
// runs on gRPC, database or provider event-loop threads).
#ifndef CALLPUSH_SERVER_PUSH_OBSERVER_H_
#define CALLPUSH_SERVER_PUSH_OBSERVER_H_

#include <string>

#include "absl/time/time.h"
#include "server/model.h"
#include "server/push_sender.h"

namespace callpush {

class PushObserver {
 public:
  virtual ~PushObserver() = default;

  // A push is handed to PushSender::Send; `provider` is what
  // PushSender::ProviderFor named for the device.
  virtual void OnPushSent(const std::string& provider) = 0;
  // The answer to that push, exactly once per OnPushSent with the same
  // `provider` (result.provider may differ when the sender had no
  // configuration for the app).
  virtual void OnPushResult(const std::string& provider, PushKind kind,
                            const PushResult& result) = 0;
  // A token the provider called dead was cleared from the store.
  virtual void OnTokenInvalidated(const std::string& provider) = 0;
  // A credential of `app` was renewed (`ok`) or could not be: for provider
  // "apns" the provider token (JWT) signed, for "fcm" the OAuth access
  // token fetched. `at`: when.
  virtual void OnTokenRefresh(const std::string& provider,
                              const std::string& app, bool ok,
                              absl::Time at) = 0;
};

}  // namespace callpush

#endif  // CALLPUSH_SERVER_PUSH_OBSERVER_H_
