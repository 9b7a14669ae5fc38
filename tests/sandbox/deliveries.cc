#include "tests/sandbox/deliveries.h"

#include <utility>

namespace callpush::sandbox {

nlohmann::json DeliveryToJson(const Delivery& delivery) {
  nlohmann::json headers = nlohmann::json::object();
  for (const auto& [name, value] : delivery.headers) headers[name] = value;
  nlohmann::json json = {{"provider", delivery.provider},
                         {"token", delivery.token},
                         {"headers", std::move(headers)},
                         {"payload", delivery.payload},
                         {"status", delivery.status}};
  if (delivery.action != StreamAction::kRespond) {
    json["action"] = StreamActionName(delivery.action);
  }
  return json;
}

void DeliveryLog::Add(Delivery delivery) {
  absl::MutexLock lock(&mu_);
  entries_.push_back(std::move(delivery));
  while (entries_.size() > capacity_) entries_.pop_front();
}

void DeliveryLog::Clear() {
  absl::MutexLock lock(&mu_);
  entries_.clear();
}

nlohmann::json DeliveryLog::ToJson() const {
  absl::MutexLock lock(&mu_);
  nlohmann::json json = nlohmann::json::array();
  for (const Delivery& delivery : entries_) {
    json.push_back(DeliveryToJson(delivery));
  }
  return json;
}

size_t DeliveryLog::size() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

}  // namespace callpush::sandbox
