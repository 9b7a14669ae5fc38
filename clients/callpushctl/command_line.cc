#include "clients/callpushctl/command_line.h"

#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "clients/base/status_macros.h"

namespace callpush::ctl {
namespace {

struct OptionUse {
  std::string name;
  std::optional<std::string> value;
};

// argv split into words and options, before the command is known.
struct Tokens {
  std::vector<std::string> words;
  std::vector<OptionUse> options;
  absl::Status error;  // the first malformed option, reported after the words
};

Tokens Tokenize(const std::vector<std::string>& args) {
  Tokens t;
  auto fail = [&t](std::string message) {
    if (t.error.ok()) t.error = absl::InvalidArgumentError(std::move(message));
  };
  bool only_words = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (only_words || a.size() < 2 || a[0] != '-') {
      t.words.push_back(a);
    } else if (a == "--") {
      only_words = true;
    } else if (a == "-h") {
      t.options.push_back({"help", std::nullopt});
    } else if (!absl::StartsWith(a, "--")) {
      fail(absl::StrCat("unknown option ", a));
    } else if (size_t eq = a.find('='); eq != std::string::npos) {
      t.options.push_back({a.substr(2, eq - 2), a.substr(eq + 1)});
    } else if (std::string name = a.substr(2); !OptionTakesValue(name)) {
      t.options.push_back({std::move(name), std::nullopt});
    } else if (i + 1 < args.size() && !absl::StartsWith(args[i + 1], "--")) {
      t.options.push_back({std::move(name), args[++i]});
    } else {
      fail(absl::StrCat(a, " needs a value"));
    }
  }
  return t;
}

// Finds the command (or help topic) the words name; the rest are its
// arguments.
absl::Status ResolveWords(const std::vector<std::string>& words,
                          CommandLine* out) {
  if (words.empty()) {
    return out->help ? absl::OkStatus()
                     : absl::InvalidArgumentError("missing command");
  }
  size_t used = 1;
  if (words[0] == "help") {
    out->help = true;
    std::string topic = absl::StrJoin(words.begin() + 1, words.end(), " ");
    if (!topic.empty() && !IsGroup(topic) && FindCommand(topic) == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown command '", topic, "'"));
    }
    out->topic = std::move(topic);
    out->command = FindCommand(out->topic);
    return absl::OkStatus();
  }
  std::string name = words[0];
  if (IsGroup(words[0])) {
    out->topic = words[0];
    if (words.size() < 2) {
      return out->help ? absl::OkStatus()
                       : absl::InvalidArgumentError(
                             absl::StrCat("missing ", words[0], " command"));
    }
    absl::StrAppend(&name, " ", words[1]);
    used = 2;
  }
  out->command = FindCommand(name);
  if (out->command == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown command '", name, "'"));
  }
  out->topic = name;
  out->args.assign(words.begin() + used, words.end());
  return absl::OkStatus();
}

// Applies one option to `out`, or answers why it does not belong.
absl::Status ApplyOption(const OptionUse& use, CommandLine* out,
                         std::set<std::string>* seen) {
  const std::string& name = use.name;
  const OptionSpec* spec = nullptr;
  for (const OptionSpec& g : GlobalOptions()) {
    if (name == g.name) spec = &g;
  }
  if (spec == nullptr && out->command != nullptr) {
    spec = FindOption(*out->command, name);
  }
  if (spec == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("unknown option --", name));
  }
  if (!seen->insert(name).second) {
    return absl::InvalidArgumentError(absl::StrCat("--", name, " given twice"));
  }
  if (spec->value_name == nullptr) {
    if (use.value.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, " takes no value"));
    }
    if (name == "help") {
      out->help = true;
    } else {
      out->flags.insert(name);
    }
    return absl::OkStatus();
  }
  if (name == "server") {
    if (use.value->empty()) {
      return absl::InvalidArgumentError("--server: empty address");
    }
    out->server = *use.value;
  } else if (name == "timeout") {
    absl::Duration d;
    if (!absl::ParseDuration(*use.value, &d) || d <= absl::ZeroDuration() ||
        d == absl::InfiniteDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--timeout: '", *use.value,
                       "' is not a positive duration such as 500ms, 5s, 1m"));
    }
    out->timeout = d;
  } else {
    out->values[name] = *use.value;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ParseCommandLine(const std::vector<std::string>& args,
                              absl::string_view env_server, CommandLine* out) {
  *out = CommandLine();
  out->server = std::string(env_server.empty() ? kDefaultServer : env_server);
  out->timeout = kDefaultTimeout;
  Tokens tokens = Tokenize(args);
  for (const OptionUse& use : tokens.options) {
    if (use.name == "help") out->help = true;
  }
  RETURN_IF_ERROR(ResolveWords(tokens.words, out));
  RETURN_IF_ERROR(tokens.error);
  std::set<std::string> seen;
  for (const OptionUse& use : tokens.options) {
    RETURN_IF_ERROR(ApplyOption(use, out, &seen));
  }
  if (out->help || out->command == nullptr) return absl::OkStatus();
  const CommandSpec& command = *out->command;
  for (const OptionSpec& o : command.options) {
    if (o.required && out->values.count(o.name) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("missing option --", o.name));
    }
  }
  if (out->args.size() < command.args.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("missing argument ", command.args[out->args.size()]));
  }
  if (out->args.size() > command.args.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unexpected argument '", out->args[command.args.size()], "'"));
  }
  return absl::OkStatus();
}

}  // namespace callpush::ctl
