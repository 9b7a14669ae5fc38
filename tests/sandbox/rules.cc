#include "tests/sandbox/rules.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace callpush::sandbox {
namespace {

absl::Status FieldError(size_t index, absl::string_view field,
                        absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat("rules[", index, "].", field, ": ", problem));
}

absl::StatusOr<Rule> ParseRule(size_t index, const nlohmann::json& json) {
  if (!json.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("rules[", index, "]: not an object"));
  }
  Rule rule;
  for (auto it = json.begin(); it != json.end(); ++it) {
    const std::string& key = it.key();
    const nlohmann::json& value = it.value();
    if (key == "token") {
      if (!value.is_string() || value.get<std::string>().empty()) {
        return FieldError(index, key, "must be a non-empty string");
      }
      rule.token = value.get<std::string>();
    } else if (key == "status") {
      if (!value.is_number_integer() || value.get<int>() < 0 ||
          value.get<int>() > 599) {
        return FieldError(index, key, "must be an HTTP status");
      }
      rule.status = value.get<int>();
    } else if (key == "reason") {
      if (!value.is_string()) return FieldError(index, key, "must be a string");
      rule.reason = value.get<std::string>();
    } else if (key == "retry_after") {
      if (!value.is_number_integer() || value.get<int>() < 0) {
        return FieldError(index, key, "must be seconds >= 0");
      }
      rule.retry_after = value.get<int>();
    } else if (key == "delay_ms") {
      if (!value.is_number_integer() || value.get<int>() < 0) {
        return FieldError(index, key, "must be milliseconds >= 0");
      }
      rule.delay_ms = value.get<int>();
    } else if (key == "action") {
      std::string action = value.is_string() ? value.get<std::string>() : "";
      if (action == "goaway") {
        rule.action = StreamAction::kGoaway;
      } else if (action == "refuse_stream") {
        rule.action = StreamAction::kRefuseStream;
      } else if (action == "drop") {
        rule.action = StreamAction::kDrop;
      } else {
        return FieldError(index, key,
                          "must be \"goaway\", \"refuse_stream\" or \"drop\"");
      }
    } else if (key == "times") {
      if (!value.is_number_integer() || value.get<int>() < 1) {
        return FieldError(index, key, "must be an integer >= 1");
      }
      rule.times = value.get<int>();
    } else {
      return FieldError(index, key, "unknown field");
    }
  }
  if (rule.token.empty()) return FieldError(index, "token", "is required");
  return rule;
}

}  // namespace

const char* StreamActionName(StreamAction action) {
  switch (action) {
    case StreamAction::kRespond:
      return "";
    case StreamAction::kGoaway:
      return "goaway";
    case StreamAction::kRefuseStream:
      return "refuse_stream";
    case StreamAction::kDrop:
      return "drop";
  }
  return "";
}

absl::StatusOr<std::vector<Rule>> ParseRules(const nlohmann::json& json) {
  if (!json.is_array()) {
    return absl::InvalidArgumentError("rules: must be a JSON array");
  }
  std::vector<Rule> rules;
  for (size_t i = 0; i < json.size(); ++i) {
    auto rule = ParseRule(i, json[i]);
    if (!rule.ok()) return rule.status();
    rules.push_back(*std::move(rule));
  }
  return rules;
}

nlohmann::json RuleToJson(const Rule& rule) {
  nlohmann::json json = {{"token", rule.token}};
  if (rule.status != 0) json["status"] = rule.status;
  if (!rule.reason.empty()) json["reason"] = rule.reason;
  if (rule.retry_after) json["retry_after"] = *rule.retry_after;
  if (rule.delay_ms != 0) json["delay_ms"] = rule.delay_ms;
  if (rule.action != StreamAction::kRespond) {
    json["action"] = StreamActionName(rule.action);
  }
  if (rule.times) json["times"] = *rule.times;
  return json;
}

void RuleBook::Replace(std::vector<Rule> rules) {
  absl::MutexLock lock(&mu_);
  rules_ = std::move(rules);
}

absl::optional<Rule> RuleBook::Take(absl::string_view token) {
  absl::MutexLock lock(&mu_);
  for (Rule& rule : rules_) {
    if (rule.token != token) continue;
    if (rule.times && *rule.times <= 0) continue;
    if (rule.times) --*rule.times;
    return rule;
  }
  return absl::nullopt;
}

nlohmann::json RuleBook::ToJson() const {
  absl::MutexLock lock(&mu_);
  nlohmann::json json = nlohmann::json::array();
  for (const Rule& rule : rules_) json.push_back(RuleToJson(rule));
  return json;
}

}  // namespace callpush::sandbox
