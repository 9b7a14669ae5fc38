// ServiceAccount: the fields of a Google service-account key file that the
// FCM OAuth exchange needs. Holds a private key: never log one.
#ifndef CALLPUSH_CLIENTS_FCM_SERVICE_ACCOUNT_H_
#define CALLPUSH_CLIENTS_FCM_SERVICE_ACCOUNT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace callpush {

struct ServiceAccount {
  std::string project_id;
  std::string client_email;    // the JWT's "iss"
  std::string private_key;     // PEM (PKCS#8) RSA key
  std::string private_key_id;  // optional; the JWT header's "kid"
  std::string token_uri;       // e.g. https://oauth2.googleapis.com/token

  // INVALID_ARGUMENT naming the field ("service account: private_key: ...")
  // when the JSON is not an object, "type" is present and not
  // "service_account", a required field is missing, empty or not a string,
  // token_uri is not an https URI, or private_key is not an RSA key of at
  // least 2048 bits. Messages never quote the key.
  static absl::StatusOr<ServiceAccount> FromJson(absl::string_view json);
  // As FromJson; FAILED_PRECONDITION naming the path if it cannot be read.
  static absl::StatusOr<ServiceAccount> FromJsonFile(const std::string& path);
};

}  // namespace callpush

#endif  // CALLPUSH_CLIENTS_FCM_SERVICE_ACCOUNT_H_
