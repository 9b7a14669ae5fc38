#include "clients/callpushctl/output_format.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace callpush::ctl {
namespace {

std::string PlatformName(v1::Platform p) {
  switch (p) {
    case v1::PLATFORM_IOS:
      return "ios";
    case v1::PLATFORM_ANDROID:
      return "android";
    default:
      return "unspecified";
  }
}

std::string EnvironmentName(v1::PushEnvironment e) {
  switch (e) {
    case v1::PUSH_ENVIRONMENT_SANDBOX:
      return "sandbox";
    case v1::PUSH_ENVIRONMENT_PRODUCTION:
      return "production";
    default:
      return "default";
  }
}

std::string KindName(const v1::CallPush& p) {
  switch (p.kind()) {
    case v1::PUSH_KIND_CALL:
      return "call";
    case v1::PUSH_KIND_UPDATE:
      return "update";
    case v1::PUSH_KIND_CANCEL:
      return p.reason().empty() ? "cancel"
                                : absl::StrCat("cancel:", p.reason());
    default:
      return "unspecified";
  }
}

std::string Timestamp(const google::protobuf::Timestamp& t) {
  absl::Time time =
      absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
}

std::string Cell(std::string s) {
  if (s.empty()) return "-";
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return s;
}

}  // namespace

std::string FormatTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  std::vector<std::vector<std::string>> cells;
  for (const auto& row : rows) {
    std::vector<std::string> line;
    for (size_t i = 0; i < row.size(); ++i) {
      line.push_back(Cell(row[i]));
      if (widths.size() <= i) widths.push_back(0);
      widths[i] = std::max(widths[i], line.back().size());
    }
    cells.push_back(std::move(line));
  }
  std::string out;
  for (const auto& line : cells) {
    std::string text;
    for (size_t i = 0; i < line.size(); ++i) {
      absl::StrAppend(&text, line[i]);
      if (i + 1 < line.size())
        text.resize(text.size() + widths[i] - line[i].size() + 2, ' ');
    }
    absl::StrAppend(&out, text, "\n");
  }
  return out;
}

std::string FormatDevices(const v1::ListDevicesResponse& response) {
  if (response.devices().empty()) return "";
  std::vector<std::vector<std::string>> rows = {
      {"ID", "PLATFORM", "APP", "ENVIRONMENT", "INBOUND", "VOIP-TOKEN",
       "PUSH-TOKEN", "PATIENT"}};
  for (const v1::Device& d : response.devices()) {
    rows.push_back({d.id(), PlatformName(d.platform()), d.app(),
                    EnvironmentName(d.environment()),
                    d.inbound_calls_allowed() ? "on" : "off",
                    d.has_voip_token() ? "yes" : "no",
                    d.has_push_token() ? "yes" : "no",
                    d.patient_active() ? "active" : "inactive"});
  }
  return FormatTable(rows);
}

std::string FormatCallPushes(const v1::ListCallPushesResponse& response) {
  if (response.pushes().empty()) return "";
  std::vector<std::vector<std::string>> rows = {
      {"TIME", "DEVICE", "KIND", "OUTCOME", "PROVIDER", "STATUS", "LATENCY",
       "TOKEN", "PROVIDER-ID", "REASON"}};
  for (const v1::CallPush& p : response.pushes()) {
    rows.push_back(
        {Timestamp(p.created_at()), p.device_id(), KindName(p), p.outcome(),
         p.provider(),
         p.provider_status() == 0 ? "" : absl::StrCat(p.provider_status()),
         absl::StrCat(p.latency_ms(), "ms"),
         p.token_invalidated() ? "invalidated" : "", p.provider_id(),
         p.provider_reason()});
  }
  return FormatTable(rows);
}

std::string GrpcCodeName(grpc::StatusCode code) {
  std::string name =
      absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
  return name.empty() ? absl::StrCat("CODE_", static_cast<int>(code)) : name;
}

std::string FormatRpcError(const grpc::Status& status, absl::string_view server,
                           bool reached_server) {
  std::string message = status.error_message();
  bool unreached = !reached_server &&
                   (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                    status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);
  if (unreached) {
    message = absl::StrCat("cannot reach ", server, message.empty() ? "" : ": ",
                           message);
  }
  return absl::StrCat("callpushctl: ", GrpcCodeName(status.error_code()), ": ",
                      message);
}

}  // namespace callpush::ctl
