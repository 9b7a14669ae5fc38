// DeliveryLog: every push request the sandbox received, oldest first, as
// GET /deliveries shows it. Thread-safe.
#ifndef CALLPUSH_TESTS_SANDBOX_DELIVERIES_H_
#define CALLPUSH_TESTS_SANDBOX_DELIVERIES_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "tests/sandbox/http_types.h"

namespace callpush::sandbox {

// Whether the answer to a push left the sandbox (see AnswerCallback).
// kUnsent also for pushes left unprocessed (GOAWAY, REFUSED_STREAM, drop).
enum class DeliveryAnswer { kPending, kSent, kUnsent };

// "pending", "sent", "unsent".
const char* DeliveryAnswerName(DeliveryAnswer answer);

struct Delivery {
  uint64_t id = 0;       // set by DeliveryLog::Add; 1, 2, ... per process
  std::string provider;  // "apns" | "fcm"
  std::string token;
  HeaderList headers;      // authorization values are masked
  nlohmann::json payload;  // the body; a JSON string if it did not parse
  int status = 0;          // 0: not processed (see action)
  StreamAction action = StreamAction::kRespond;
  // A status 200 counts as accepted by the client only when kSent: a push
  // answered after the client reset the stream at its deadline is kUnsent.
  DeliveryAnswer answer = DeliveryAnswer::kPending;
  // CredentialFingerprint of the authorization header; "" without one.
  std::string credential;
};

// "sha256:" and the first 16 hex digits of the SHA-256 of the credential
// after its scheme ("bearer <jwt>" -> hash of the JWT), so that a test can
// tell whether two pushes carried the same credential without the sandbox
// ever showing one. "" for an empty header.
std::string CredentialFingerprint(absl::string_view authorization);

// As GET /deliveries shows it; "credential" only when there was one.
nlohmann::json DeliveryToJson(const Delivery& delivery);

class DeliveryLog {
 public:
  // Keeps at most `capacity` entries, dropping the oldest.
  explicit DeliveryLog(size_t capacity) : capacity_(capacity) {}

  // Returns the delivery's id.
  uint64_t Add(Delivery delivery) ABSL_LOCKS_EXCLUDED(mu_);
  // Sets the answer of delivery `id` (ignored once it is no longer kept).
  void SetAnswer(uint64_t id, DeliveryAnswer answer) ABSL_LOCKS_EXCLUDED(mu_);
  void Clear() ABSL_LOCKS_EXCLUDED(mu_);
  nlohmann::json ToJson() const ABSL_LOCKS_EXCLUDED(mu_);
  size_t size() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const size_t capacity_;  // Constant after construction.
  mutable absl::Mutex mu_;
  std::deque<Delivery> entries_ ABSL_GUARDED_BY(mu_);  // ids ascending
  uint64_t last_id_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace callpush::sandbox

#endif  // CALLPUSH_TESTS_SANDBOX_DELIVERIES_H_
