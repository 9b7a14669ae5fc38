#include "server/push_config.h"

#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"
#include "server/validation.h"

namespace callpush {
namespace {

absl::Status Invalid(const std::string& field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

absl::Status Readable(const std::string& field, const std::string& path) {
  std::ifstream in(path);
  if (!in.good()) return Invalid(field, absl::StrCat("cannot read ", path));
  return absl::OkStatus();
}

// "host:port" with a non-empty host and a port in 1..65535; empty is OK
// (the provider's default).
absl::Status ValidEndpoint(const std::string& field, const std::string& value) {
  if (value.empty()) return absl::OkStatus();
  std::pair<std::string, std::string> parts =
      absl::StrSplit(value, absl::MaxSplits(':', 1));
  int port = 0;
  if (parts.first.empty() || !absl::SimpleAtoi(parts.second, &port) ||
      port < 1 || port > 65535) {
    return Invalid(field, "must be host:port");
  }
  return absl::OkStatus();
}

absl::Status ValidateApns(const std::string& at, const v1::ApnsAppConfig& a) {
  if (a.bundle_id().empty()) return Invalid(at + ".bundleId", "is required");
  bool token_auth =
      !a.key_file().empty() || !a.key_id().empty() || !a.team_id().empty();
  bool cert_auth =
      !a.certificate_file().empty() || !a.certificate_key_file().empty();
  if (token_auth == cert_auth) {
    return Invalid(at,
                   "give either token auth (teamId, keyId, keyFile) or "
                   "certificate auth (certificateFile, "
                   "certificateKeyFile), not both or neither");
  }
  if (token_auth) {
    if (a.team_id().empty()) return Invalid(at + ".teamId", "is required");
    if (a.key_id().empty()) return Invalid(at + ".keyId", "is required");
    if (a.key_file().empty()) return Invalid(at + ".keyFile", "is required");
    if (absl::Status s = Readable(at + ".keyFile", a.key_file()); !s.ok()) {
      return s;
    }
  } else {
    if (a.certificate_file().empty()) {
      return Invalid(at + ".certificateFile", "is required");
    }
    if (a.certificate_key_file().empty()) {
      return Invalid(at + ".certificateKeyFile", "is required");
    }
    for (const auto& [field, path] :
         {std::make_pair(at + ".certificateFile", a.certificate_file()),
          std::make_pair(at + ".certificateKeyFile",
                         a.certificate_key_file())}) {
      if (absl::Status s = Readable(field, path); !s.ok()) return s;
    }
  }
  const std::string& env = a.default_environment();
  if (!env.empty() && env != "sandbox" && env != "production") {
    return Invalid(at + ".defaultEnvironment",
                   "must be \"sandbox\" or \"production\"");
  }
  if (absl::Status s =
          ValidEndpoint(at + ".productionEndpoint", a.production_endpoint());
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          ValidEndpoint(at + ".sandboxEndpoint", a.sandbox_endpoint());
      !s.ok()) {
    return s;
  }
  if (!a.ca_file().empty()) {
    if (absl::Status s = Readable(at + ".caFile", a.ca_file()); !s.ok())
      return s;
  }
  if (a.connections() < 0 || a.connections() > 64) {
    return Invalid(at + ".connections", "must be 0 (default) to 64");
  }
  return absl::OkStatus();
}

absl::Status ValidateFcm(const std::string& at, const v1::FcmAppConfig& f) {
  if (f.project_id().empty()) return Invalid(at + ".projectId", "is required");
  if (f.service_account_file().empty()) {
    return Invalid(at + ".serviceAccountFile", "is required");
  }
  if (absl::Status s =
          Readable(at + ".serviceAccountFile", f.service_account_file());
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidEndpoint(at + ".endpoint", f.endpoint()); !s.ok()) {
    return s;
  }
  if (!f.ca_file().empty()) {
    if (absl::Status s = Readable(at + ".caFile", f.ca_file()); !s.ok())
      return s;
  }
  if (f.connections() < 0 || f.connections() > 64) {
    return Invalid(at + ".connections", "must be 0 (default) to 64");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidatePushConfig(const v1::PushConfig& config) {
  std::set<std::string> names;
  for (int i = 0; i < config.apps_size(); ++i) {
    const v1::AppConfig& app = config.apps(i);
    std::string at = absl::StrCat("apps[", i, "]");
    if (absl::Status s = ValidateAppName(at + ".name", app.name()); !s.ok()) {
      return s;
    }
    if (!names.insert(app.name()).second) {
      return Invalid(at + ".name",
                     absl::StrCat("\"", app.name(), "\" is configured twice"));
    }
    if (!app.has_apns() && !app.has_fcm()) {
      return Invalid(at, "needs apns, fcm or both");
    }
    if (app.has_apns()) {
      if (absl::Status s = ValidateApns(at + ".apns", app.apns()); !s.ok()) {
        return s;
      }
    }
    if (app.has_fcm()) {
      if (absl::Status s = ValidateFcm(at + ".fcm", app.fcm()); !s.ok()) {
        return s;
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::PushConfig> ParsePushConfig(const std::string& json) {
  v1::PushConfig config;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto parsed =
      google::protobuf::util::JsonStringToMessage(json, &config, options);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("push config: ", parsed.message().as_string()));
  }
  if (absl::Status s = ValidatePushConfig(config); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("push config: ", s.message()));
  }
  return config;
}

absl::StatusOr<v1::PushConfig> LoadPushConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in.good()) {
    return absl::InvalidArgumentError(
        absl::StrCat("push config: cannot read ", path));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return ParsePushConfig(buffer.str());
}

const v1::AppConfig* FindApp(const v1::PushConfig& config,
                             const std::string& name) {
  for (const v1::AppConfig& app : config.apps()) {
    if (app.name() == name) return &app;
  }
  return nullptr;
}

}  // namespace callpush
