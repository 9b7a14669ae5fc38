// ReadCredentialFile: reads a key or service-account file (a mounted
// Kubernetes Secret). Bounded, so a wrong path (a device, a log file) fails
// instead of filling memory.
#ifndef CALLPUSH_CLIENTS_APNS_CREDENTIAL_FILE_H_
#define CALLPUSH_CLIENTS_APNS_CREDENTIAL_FILE_H_

#include <string>

#include "absl/status/statusor.h"

namespace callpush {

inline constexpr size_t kMaxCredentialFileBytes = 64 * 1024;

// FAILED_PRECONDITION naming the path (never the contents) if the file
// cannot be read or is larger than kMaxCredentialFileBytes.
absl::StatusOr<std::string> ReadCredentialFile(const std::string& path);

}  // namespace callpush

#endif  // CALLPUSH_CLIENTS_APNS_CREDENTIAL_FILE_H_
