// FcmAppConfig: one Android app's FCM settings as plain values (main copies
// them from the PushConfig proto, so this library needs no protobuf).
#ifndef CALLPUSH_CLIENTS_FCM_FCM_APP_CONFIG_H_
#define CALLPUSH_CLIENTS_FCM_FCM_APP_CONFIG_H_

#include <string>

#include "absl/time/time.h"

namespace callpush {

struct FcmAppConfig {
  // The Firebase project the app's tokens belong to; main takes the service
  // account's project_id when the config leaves it empty.
  std::string project_id;
  std::string service_account_file;
  bool hide_caller_name = false;
  // ttl of a cancel with reason "cancelled": the app turns it into a
  // missed-call notification, still worth delivering to a phone that comes
  // back online later, unlike the call itself.
  absl::Duration missed_call_ttl = absl::Hours(24);
};

}  // namespace callpush

#endif  // CALLPUSH_CLIENTS_FCM_FCM_APP_CONFIG_H_
