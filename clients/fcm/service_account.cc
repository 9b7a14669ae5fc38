#include "clients/fcm/service_account.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "clients/apns/credential_file.h"
#include "clients/apns/jwt_signer.h"
#include "clients/fcm/https_uri.h"
#include "nlohmann/json.hpp"

namespace callpush {
namespace {

absl::Status FieldError(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("service account: ", field, ": ", what));
}

absl::Status ReadString(const nlohmann::json& j, const char* field,
                        bool required, std::string* out) {
  auto it = j.find(field);
  if (it == j.end()) {
    return required ? FieldError(field, "missing") : absl::OkStatus();
  }
  if (!it->is_string()) return FieldError(field, "not a string");
  *out = it->get<std::string>();
  if (required && out->empty()) return FieldError(field, "empty");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ServiceAccount> ServiceAccount::FromJson(
    absl::string_view json) {
  nlohmann::json j = nlohmann::json::parse(json.begin(), json.end(), nullptr,
                                           /*allow_exceptions=*/false);
  if (!j.is_object()) {
    return absl::InvalidArgumentError("service account: not a JSON object");
  }
  std::string type;
  if (absl::Status s = ReadString(j, "type", false, &type); !s.ok()) return s;
  if (!type.empty() && type != "service_account") {
    return FieldError("type", "not \"service_account\"");
  }
  ServiceAccount a;
  for (auto [field, out] : {std::pair{"project_id", &a.project_id},
                            std::pair{"client_email", &a.client_email},
                            std::pair{"private_key", &a.private_key},
                            std::pair{"token_uri", &a.token_uri}}) {
    if (absl::Status s = ReadString(j, field, true, out); !s.ok()) return s;
  }
  if (absl::Status s =
          ReadString(j, "private_key_id", false, &a.private_key_id);
      !s.ok()) {
    return s;
  }
  if (auto uri = ParseHttpsUri(a.token_uri); !uri.ok()) {
    return FieldError("token_uri", uri.status().message());
  }
  // Load the key now so a bad file fails at startup, not at the first push.
  if (auto signer =
          JwtSigner::FromPem(JwtSigner::Algorithm::kRs256, a.private_key);
      !signer.ok()) {
    return FieldError("private_key", signer.status().message());
  }
  return a;
}

absl::StatusOr<ServiceAccount> ServiceAccount::FromJsonFile(
    const std::string& path) {
  absl::StatusOr<std::string> json = ReadCredentialFile(path);
  if (!json.ok()) return json.status();
  absl::StatusOr<ServiceAccount> a = FromJson(*json);
  if (!a.ok()) {
    return absl::Status(a.status().code(),
                        absl::StrCat(path, ": ", a.status().message()));
  }
  return a;
}

}  // namespace callpush
