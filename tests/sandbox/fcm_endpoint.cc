#include "tests/sandbox/fcm_endpoint.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace callpush::sandbox {
namespace {

constexpr absl::string_view kPathPrefix = "/v1/projects/";
constexpr absl::string_view kPathSuffix = "/messages:send";

// The {project} of the path, or "" if the path is not messages:send.
absl::string_view ProjectFromPath(absl::string_view path) {
  if (!absl::StartsWith(path, kPathPrefix) ||
      !absl::EndsWith(path, kPathSuffix)) {
    return "";
  }
  path.remove_prefix(kPathPrefix.size());
  path.remove_suffix(kPathSuffix.size());
  if (path.find('/') != absl::string_view::npos) return "";
  return path;
}

struct FcmStatus {
  const char* status;
  const char* error_code;  // "" : no FcmError detail
  const char* message;
};

FcmStatus StatusFor(int code) {
  switch (code) {
    case 400:
      return {"INVALID_ARGUMENT", "INVALID_ARGUMENT",
              "Request contains an invalid argument."};
    case 401:
      return {"UNAUTHENTICATED", "",
              "Request had invalid authentication credentials."};
    case 403:
      return {"PERMISSION_DENIED", "SENDER_ID_MISMATCH", "SenderId mismatch"};
    case 404:
      return {"NOT_FOUND", "UNREGISTERED", "Requested entity was not found."};
    case 429:
      return {"RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED",
              "Quota exceeded for sending messages."};
    case 503:
      return {"UNAVAILABLE", "UNAVAILABLE", "The service is unavailable."};
    default:
      return {"INTERNAL", "INTERNAL", "Internal error encountered."};
  }
}

}  // namespace

FcmEndpoint::FcmEndpoint(std::string project_id, const AccessTokenStore& tokens,
                         const Clock& clock)
    : project_id_(std::move(project_id)), tokens_(tokens), clock_(clock) {}

bool FcmEndpoint::Matches(absl::string_view path) const {
  return absl::StartsWith(path, kPathPrefix);
}

absl::optional<HttpResponse> FcmEndpoint::CheckRequest(
    const HttpRequest& request, const nlohmann::json& body) const {
  auto reject = [&](int status, absl::string_view reason) {
    return Reject(request, status, reason, absl::nullopt);
  };
  absl::string_view project = ProjectFromPath(request.path);
  if (project.empty()) return reject(404, "");
  if (request.method != "POST") return reject(400, "");
  absl::optional<std::string> auth = request.Header("authorization");
  if (!auth || !absl::StartsWithIgnoreCase(*auth, "bearer ") ||
      !tokens_.IsValid(
          absl::StripAsciiWhitespace(absl::string_view(*auth).substr(7)),
          clock_.Now())) {
    return reject(401, "");
  }
  if (!project_id_.empty() && project != project_id_) {
    return reject(403, "SENDER_ID_MISMATCH");
  }
  if (body.is_discarded() || !body.is_object()) return reject(400, "");
  auto message = body.find("message");
  if (message == body.end() || !message->is_object()) return reject(400, "");
  auto token = message->find("token");
  if (token == message->end() || !token->is_string() ||
      token->get<std::string>().empty()) {
    return reject(400, "");
  }
  size_t data_size = 0;
  if (auto data = message->find("data"); data != message->end()) {
    if (!data->is_object()) return reject(400, "");
    for (auto it = data->begin(); it != data->end(); ++it) {
      // FCM's data is map<string, string>.
      if (!it.value().is_string()) return reject(400, "");
      data_size += it.key().size() + it.value().get<std::string>().size();
    }
  }
  if (data_size > kFcmMaxPayload || request.body.size() > 4 * kFcmMaxPayload) {
    return reject(400, "");
  }
  if (auto android = message->find("android"); android != message->end()) {
    if (!android->is_object()) return reject(400, "");
    if (auto priority = android->find("priority"); priority != android->end()) {
      std::string value =
          priority->is_string() ? priority->get<std::string>() : "";
      value = absl::AsciiStrToUpper(value);
      if (value != "HIGH" && value != "NORMAL") return reject(400, "");
    }
    if (auto ttl = android->find("ttl"); ttl != android->end()) {
      if (!ttl->is_string() || !absl::EndsWith(ttl->get<std::string>(), "s")) {
        return reject(400, "");
      }
    }
  }
  return absl::nullopt;
}

PushCheck FcmEndpoint::Check(const HttpRequest& request) const {
  PushCheck check;
  nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
  check.payload = ParseBodyForRecord(request.body);
  if (body.is_object()) {
    auto message = body.find("message");
    if (message != body.end() && message->is_object()) {
      auto token = message->find("token");
      if (token != message->end() && token->is_string()) {
        check.token = token->get<std::string>();
      }
    }
  }
  check.error = CheckRequest(request, body);
  return check;
}

HttpResponse FcmEndpoint::Accept(const HttpRequest& request,
                                 const PushCheck& check) const {
  HttpResponse response;
  response.status = 200;
  response.headers.emplace_back("content-type",
                                "application/json; charset=UTF-8");
  response.body =
      nlohmann::json{
          {"name", absl::StrCat("projects/", ProjectFromPath(request.path),
                                "/messages/0:", RandomHex(8))}}
          .dump();
  return response;
}

HttpResponse FcmEndpoint::Reject(const HttpRequest& request, int status,
                                 absl::string_view reason,
                                 absl::optional<int> retry_after) const {
  FcmStatus fcm = StatusFor(status);
  nlohmann::json error = {
      {"code", status}, {"message", fcm.message}, {"status", fcm.status}};
  std::string error_code =
      reason.empty() ? fcm.error_code : std::string(reason);
  if (!error_code.empty()) {
    error["details"] = nlohmann::json::array(
        {{{"@type", "type.googleapis.com/google.firebase.fcm.v1.FcmError"},
          {"errorCode", error_code}}});
  }
  HttpResponse response;
  response.status = status;
  response.headers.emplace_back("content-type",
                                "application/json; charset=UTF-8");
  if (retry_after) {
    response.headers.emplace_back("retry-after", std::to_string(*retry_after));
  }
  response.body = nlohmann::json{{"error", std::move(error)}}.dump();
  return response;
}

}  // namespace callpush::sandbox
