// The push configuration file (proto/callpush/v1/push_config.proto): loaded
// from JSON, unknown fields rejected (a typo must not silently drop a
// credential), and validated with errors that name the field, e.g.
// "apps[1].apns.keyFile: cannot read /secrets/apns.p8".
#ifndef CALLPUSH_SERVER_PUSH_CONFIG_H_
#define CALLPUSH_SERVER_PUSH_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "callpush/v1/push_config.pb.h"

namespace callpush {

// INVALID_ARGUMENT naming the field for anything wrong, including credential
// files that cannot be read.
absl::StatusOr<v1::PushConfig> ParsePushConfig(const std::string& json);
absl::StatusOr<v1::PushConfig> LoadPushConfig(const std::string& path);
absl::Status ValidatePushConfig(const v1::PushConfig& config);

// The app's config by name, or nullptr.
const v1::AppConfig* FindApp(const v1::PushConfig& config,
                             const std::string& name);

}  // namespace callpush

#endif  // CALLPUSH_SERVER_PUSH_CONFIG_H_
