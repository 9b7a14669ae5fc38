// BearerAuth: the accepted bearer tokens (one per line in a file, e.g. a
// mounted Kubernetes Secret; blank lines and `#` comments skipped), checked
// against an Authorization header in constant time. Immutable after Load();
// thread-safe.
#ifndef CALLPUSH_GATEWAY_BEARER_AUTH_H_
#define CALLPUSH_GATEWAY_BEARER_AUTH_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace callpush::gateway {

class BearerAuth {
 public:
  // InvalidArgument when the file cannot be read or holds no token.
  static absl::StatusOr<BearerAuth> Load(const std::string& path);
  static BearerAuth FromTokens(std::vector<std::string> tokens);

  // True when `authorization` is "Bearer <an accepted token>". Every
  // accepted token is compared, each in time independent of the contents,
  // so the answer's timing reveals no prefix.
  bool Allows(absl::string_view authorization) const;

  size_t size() const { return digests_.size(); }

 private:
  // SHA-256 of each token: equal-length values to compare.
  std::vector<std::string> digests_;
};

}  // namespace callpush::gateway

#endif  // CALLPUSH_GATEWAY_BEARER_AUTH_H_
