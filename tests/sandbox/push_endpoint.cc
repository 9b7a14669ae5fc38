#include "tests/sandbox/push_endpoint.h"

#include <string>

namespace callpush::sandbox {

nlohmann::json ParseBodyForRecord(absl::string_view body) {
  nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded()) return std::string(body);
  return json;
}

}  // namespace callpush::sandbox
