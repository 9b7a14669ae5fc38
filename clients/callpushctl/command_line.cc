#include "clients/callpushctl/command_line.h"

#include <cstdlib>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "clients/base/status_macros.h"

namespace callpush::ctl {
namespace {

// A --tls-* option: its variable and the fields it sets.
struct TlsOption {
  const char* option;    // without the leading "--"
  const char* variable;  // without the leading "$"
  std::string Environment::*env;
  std::string GrpcClientTlsFiles::*value;
  std::string GrpcClientTlsFieldNames::*name;
};
constexpr TlsOption kTlsOptions[] = {
    {"tls-ca-file", "CALLPUSH_TLS_CA_FILE", &Environment::tls_ca_file,
     &GrpcClientTlsFiles::ca_file, &GrpcClientTlsFieldNames::ca_file},
    {"tls-cert-file", "CALLPUSH_TLS_CERT_FILE", &Environment::tls_cert_file,
     &GrpcClientTlsFiles::cert_file, &GrpcClientTlsFieldNames::cert_file},
    {"tls-key-file", "CALLPUSH_TLS_KEY_FILE", &Environment::tls_key_file,
     &GrpcClientTlsFiles::key_file, &GrpcClientTlsFieldNames::key_file},
    {"tls-server-name", "CALLPUSH_TLS_SERVER_NAME",
     &Environment::tls_server_name, &GrpcClientTlsFiles::server_name,
     &GrpcClientTlsFieldNames::server_name},
};

// The TLS values the environment sets, named after their variables.
void TlsFromEnvironment(const Environment& env, CommandLine* out) {
  for (const TlsOption& o : kTlsOptions) {
    const std::string& value = env.*o.env;
    out->tls.*o.value = value;
    out->tls_names.*o.name = value.empty() ? absl::StrCat("--", o.option)
                                           : absl::StrCat("$", o.variable);
  }
}

// The value a --tls-* option sets, now named after the option; nullptr for
// another option.
std::string* TlsValue(const std::string& option, CommandLine* out) {
  for (const TlsOption& o : kTlsOptions) {
    if (option == o.option) {
      out->tls_names.*o.name = absl::StrCat("--", option);
      return &(out->tls.*o.value);
    }
  }
  return nullptr;
}

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
  } else if (std::string* file = TlsValue(name, out)) {
    *file = *use.value;
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

Environment ReadEnvironment() {
  auto get = [](const char* name) {
    const char* value = std::getenv(name);
    return std::string(value == nullptr ? "" : value);
  };
  Environment env;
  env.server = get("CALLPUSH_SERVER");
  for (const TlsOption& o : kTlsOptions) env.*o.env = get(o.variable);
  return env;
}

absl::Status ParseCommandLine(const std::vector<std::string>& args,
                              absl::string_view env_server, CommandLine* out) {
  Environment env;
  env.server = std::string(env_server);
  return ParseCommandLine(args, env, out);
}

absl::Status ParseCommandLine(const std::vector<std::string>& args,
                              const Environment& env, CommandLine* out) {
  *out = CommandLine();
  out->server = env.server.empty() ? std::string(kDefaultServer) : env.server;
  out->timeout = kDefaultTimeout;
  TlsFromEnvironment(env, out);
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
