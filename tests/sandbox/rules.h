// Rules: per-token instructions that make the sandbox misbehave on purpose
// (answer an error, delay, GOAWAY, REFUSED_STREAM, drop the connection),
// each optionally limited to a number of uses. Pure logic, no I/O.
#ifndef CALLPUSH_TESTS_SANDBOX_RULES_H_
#define CALLPUSH_TESTS_SANDBOX_RULES_H_

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/optional.h"

namespace callpush::sandbox {

// What happens to a stream. kRespond answers (normally or with the rule's
// status); the others leave the request unprocessed.
enum class StreamAction { kRespond, kGoaway, kRefuseStream, kDrop };

// "goaway", "refuse_stream", "drop"; "" for kRespond.
const char* StreamActionName(StreamAction action);

struct Rule {
  std::string token;
  int status = 0;      // 0: answer as if there were no rule
  std::string reason;  // "" : the provider's usual reason for `status`
  absl::optional<int> retry_after;  // seconds, sent as retry-after
  int delay_ms = 0;
  StreamAction action = StreamAction::kRespond;
  absl::optional<int> times;  // nullopt: forever
};

// Parses the body of PUT /rules: a JSON array of rule objects. Unknown
// fields and wrong types are INVALID_ARGUMENT naming the field.
absl::StatusOr<std::vector<Rule>> ParseRules(const nlohmann::json& json);
nlohmann::json RuleToJson(const Rule& rule);

// The active rule set. Thread-safe.
class RuleBook {
 public:
  void Replace(std::vector<Rule> rules) ABSL_LOCKS_EXCLUDED(mu_);

  // The first rule for `token` that has uses left; consumes one use.
  // nullopt when none applies (the push is answered normally).
  absl::optional<Rule> Take(absl::string_view token) ABSL_LOCKS_EXCLUDED(mu_);

  // The rules with their remaining uses.
  nlohmann::json ToJson() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  mutable absl::Mutex mu_;
  std::vector<Rule> rules_ ABSL_GUARDED_BY(mu_);
};

}  // namespace callpush::sandbox

#endif  // CALLPUSH_TESTS_SANDBOX_RULES_H_
