#include "tests/sandbox/deliveries.h"

#include <openssl/sha.h>

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"

namespace callpush::sandbox {

std::string CredentialFingerprint(absl::string_view authorization) {
  authorization = absl::StripAsciiWhitespace(authorization);
  if (authorization.empty()) return "";
  const size_t space = authorization.find(' ');
  if (space != absl::string_view::npos) {
    authorization =
        absl::StripLeadingAsciiWhitespace(authorization.substr(space + 1));
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(authorization.data()),
         authorization.size(), digest);
  // 64 bits tell credentials apart and are useless for forging one.
  return "sha256:" + absl::BytesToHexString(absl::string_view(
                         reinterpret_cast<const char*>(digest), 8));
}

const char* DeliveryAnswerName(DeliveryAnswer answer) {
  switch (answer) {
    case DeliveryAnswer::kPending:
      return "pending";
    case DeliveryAnswer::kSent:
      return "sent";
    case DeliveryAnswer::kUnsent:
      return "unsent";
  }
  return "";
}

nlohmann::json DeliveryToJson(const Delivery& delivery) {
  nlohmann::json headers = nlohmann::json::object();
  for (const auto& [name, value] : delivery.headers) headers[name] = value;
  nlohmann::json json = {{"provider", delivery.provider},
                         {"token", delivery.token},
                         {"headers", std::move(headers)},
                         {"payload", delivery.payload},
                         {"status", delivery.status},
                         {"answer", DeliveryAnswerName(delivery.answer)}};
  if (delivery.action != StreamAction::kRespond) {
    json["action"] = StreamActionName(delivery.action);
  }
  if (!delivery.credential.empty()) json["credential"] = delivery.credential;
  return json;
}

uint64_t DeliveryLog::Add(Delivery delivery) {
  absl::MutexLock lock(&mu_);
  delivery.id = ++last_id_;
  entries_.push_back(std::move(delivery));
  while (entries_.size() > capacity_) entries_.pop_front();
  return last_id_;
}

void DeliveryLog::SetAnswer(uint64_t id, DeliveryAnswer answer) {
  absl::MutexLock lock(&mu_);
  if (entries_.empty() || id < entries_.front().id) return;
  const uint64_t index = id - entries_.front().id;
  if (index < entries_.size()) entries_[index].answer = answer;
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
