#include "gateway/request_id.h"

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"

namespace callpush::gateway {
namespace {

bool IsSane(absl::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '_' && c != ':' &&
        c != '-') {
      return false;
    }
  }
  return true;
}

bool IsHex(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isxdigit(c)) return false;
  }
  return true;
}

}  // namespace

std::string RequestIdFor(absl::string_view from_client) {
  if (IsSane(from_client)) return std::string(from_client);
  thread_local absl::BitGen gen;
  return absl::StrFormat("%016x%016x", absl::Uniform<uint64_t>(gen),
                         absl::Uniform<uint64_t>(gen));
}

std::string SaneTraceparent(absl::string_view v) {
  if (v.size() != 55 || v[2] != '-' || v[35] != '-' || v[52] != '-' ||
      !IsHex(v.substr(0, 2)) || !IsHex(v.substr(3, 32)) ||
      !IsHex(v.substr(36, 16)) || !IsHex(v.substr(53, 2))) {
    return "";
  }
  return std::string(v);
}

}  // namespace callpush::gateway
