#include "clients/callpushctl/commands.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace callpush::ctl {
namespace {

constexpr absl::string_view kProgram = "callpushctl";
constexpr absl::string_view kGlobalSynopsis =
    "[--server HOST:PORT] [--timeout DURATION]";
constexpr absl::string_view kExitStatus =
    "Exit status: 0 success; 1 the call failed (\"callpushctl: CODE: "
    "message\" on\nstderr, CODE a gRPC status name such as NOT_FOUND); 2 "
    "usage error.\n";

// "--name VALUE", "[--name VALUE]" or "[--name]".
std::string OptionSynopsis(const OptionSpec& o) {
  std::string s = absl::StrCat("--", o.name);
  if (o.value_name != nullptr) absl::StrAppend(&s, " ", o.value_name);
  return o.required ? s : absl::StrCat("[", s, "]");
}

std::string CommandSynopsis(const CommandSpec& c) {
  std::string s = c.name;
  for (const OptionSpec& o : c.options) {
    if (o.required) absl::StrAppend(&s, " ", OptionSynopsis(o));
  }
  for (const OptionSpec& o : c.options) {
    if (!o.required) absl::StrAppend(&s, " ", OptionSynopsis(o));
  }
  for (const char* a : c.args) absl::StrAppend(&s, " ", a);
  return s;
}

bool InGroup(const CommandSpec& c, absl::string_view group) {
  return absl::StartsWith(c.name, absl::StrCat(group, " "));
}

// Two columns: "  " + `left` padded to `width`, two spaces, then `right`.
std::string Row(absl::string_view left, absl::string_view right, size_t width) {
  std::string s = absl::StrCat("  ", left);
  s.resize(width + 4, ' ');
  absl::StrAppend(&s, right, "\n");
  return s;
}

std::string OptionsBlock(absl::string_view title,
                         const std::vector<OptionSpec>& options) {
  std::vector<std::string> lefts;
  size_t width = 0;
  for (const OptionSpec& o : options) {
    std::string left = absl::StrCat("--", o.name);
    if (o.value_name != nullptr) absl::StrAppend(&left, " ", o.value_name);
    width = std::max(width, left.size());
    lefts.push_back(std::move(left));
  }
  std::string s = absl::StrCat(title, ":\n");
  for (size_t i = 0; i < options.size(); ++i) {
    absl::StrAppend(&s, Row(lefts[i], options[i].help, width));
  }
  return s;
}

std::string CommandList() {
  constexpr absl::string_view kHelp = "help [COMMAND]";
  size_t width = kHelp.size();
  for (const CommandSpec& c : Commands()) {
    width = std::max(width, absl::string_view(c.name).size());
  }
  std::string s = "Commands:\n";
  for (const CommandSpec& c : Commands()) {
    absl::StrAppend(&s, Row(c.name, c.summary, width));
  }
  absl::StrAppend(&s, Row(kHelp, "Shows this help or a command's.", width));
  return s;
}

}  // namespace

const std::vector<CommandSpec>& Commands() {
  static const auto* const kCommands = new std::vector<CommandSpec>{
      {CommandId::kRegisterDevice,
       "device register",
       {},
       {
           {"mobile", "E164", true,
            "the patient's mobile number (created, active, on first use)"},
           {"region", "CC", false,
            "ISO 3166 region of a --mobile without a leading + (e.g. GB)"},
           {"platform", "ios|android", true, "the device's platform"},
           {"app", "APP", true, "the app whose push credentials to use"},
           {"environment", "sandbox|production", false,
            "APNs environment (default: the app's configured one)"},
           {"voip-token", "TOKEN", false,
            "PushKit token (hex) on iOS, FCM token on Android"},
           {"push-token", "TOKEN", false,
            "regular APNs token (hex) on iOS, FCM token on Android"},
           {"refuse-calls", nullptr, false,
            "register with inbound calls off (default on)"},
           {"id", "UUID", false,
            "create or replace the device with this id (default: a new id)"},
       },
       "Registers a device and prints its id.",
       "Prints the device id alone on one line. With the --id of an existing\n"
       "device, replaces it: an absent token keeps its value, an empty one\n"
       "clears it.\n"},
      {CommandId::kSetInboundCalls,
       "device set-inbound-calls",
       {"ID", "on|off"},
       {},
       "Allows (on) or refuses (off) inbound calls on a device.",
       "Prints \"ID inbound calls on|off\".\n"},
      {CommandId::kRemoveDevice,
       "device remove",
       {"ID"},
       {},
       "Removes a device.",
       "Prints \"removed ID\".\n"},
      {CommandId::kListDevices,
       "device list",
       {"E164"},
       {},
       "Lists every device of a mobile number.",
       "Prints a header, then one line per device: ID PLATFORM APP "
       "ENVIRONMENT\nINBOUND (on|off) VOIP-TOKEN PUSH-TOKEN (yes|no: tokens "
       "are never shown)\nPATIENT (active|inactive). With no device, prints "
       "nothing and says\n\"no devices\" on stderr (exit status 0).\n"},
      {CommandId::kActivatePatient,
       "patient activate",
       {"E164"},
       {},
       "Makes a patient's devices callable again.",
       "Prints \"E164 active\".\n"},
      {CommandId::kDeactivatePatient,
       "patient deactivate",
       {"E164"},
       {},
       "Makes none of a patient's devices callable.",
       "The devices are kept. Prints \"E164 inactive\".\n"},
      {CommandId::kCallLog,
       "call-log",
       {"CALL_ID"},
       {},
       "Lists the push attempts made for a SIP Call-ID.",
       "Prints a header, then one line per attempt, oldest first: TIME (UTC)\n"
       "DEVICE KIND (call|update|cancel:REASON) OUTCOME (pending|accepted|\n"
       "rejected|failed) PROVIDER (apns|fcm|none) STATUS (the provider's "
       "HTTP\nstatus) LATENCY TOKEN (invalidated when the provider called it "
       "dead)\nPROVIDER-ID (apns-id or FCM message name) REASON (the "
       "provider's or\nours; last, as it may hold spaces). \"-\" marks an "
       "empty cell. With\nno attempt, prints nothing and says \"no push "
       "attempts\" on stderr.\n"},
  };
  return *kCommands;
}

const std::vector<OptionSpec>& GlobalOptions() {
  static const auto* const kGlobal = new std::vector<OptionSpec>{
      {"server", "HOST:PORT", false,
       "the gRPC server (default 127.0.0.1:50051, or $CALLPUSH_SERVER)"},
      {"timeout", "DURATION", false,
       "deadline of the call, e.g. 500ms, 5s, 1m (default 5s)"},
      {"tls-ca-file", "FILE", false,
       "use TLS, trusting this PEM CA bundle ($CALLPUSH_TLS_CA_FILE)"},
      {"tls-cert-file", "FILE", false,
       "PEM client certificate, for mutual TLS ($CALLPUSH_TLS_CERT_FILE)"},
      {"tls-key-file", "FILE", false,
       "its PEM private key ($CALLPUSH_TLS_KEY_FILE)"},
      {"tls-server-name", "NAME", false,
       "name the server's certificate holds ($CALLPUSH_TLS_SERVER_NAME)"},
      {"help", nullptr, false, "this help (also -h)"},
  };
  return *kGlobal;
}

bool IsGroup(absl::string_view word) {
  return word == "device" || word == "patient";
}

const CommandSpec* FindCommand(absl::string_view name) {
  for (const CommandSpec& c : Commands()) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

const OptionSpec* FindOption(const CommandSpec& command,
                             absl::string_view name) {
  for (const OptionSpec& o : command.options) {
    if (name == o.name) return &o;
  }
  return nullptr;
}

bool OptionTakesValue(absl::string_view name) {
  for (const OptionSpec& o : GlobalOptions()) {
    if (name == o.name) return o.value_name != nullptr;
  }
  for (const CommandSpec& c : Commands()) {
    const OptionSpec* o = FindOption(c, name);
    if (o != nullptr) return o->value_name != nullptr;
  }
  return false;
}

std::string UsageLine(absl::string_view topic) {
  if (const CommandSpec* c = FindCommand(topic)) {
    return absl::StrCat("usage: ", kProgram, " [global options] ",
                        CommandSynopsis(*c));
  }
  if (IsGroup(topic)) {
    return absl::StrCat("usage: ", kProgram, " [global options] ", topic,
                        " <command> [arguments]  (see '", kProgram, " help ",
                        topic, "')");
  }
  return absl::StrCat("usage: ", kProgram, " ", kGlobalSynopsis,
                      " <command> [arguments]  (see '", kProgram, " help')");
}

std::string UsageText(absl::string_view topic) {
  if (const CommandSpec* c = FindCommand(topic)) {
    std::string s =
        absl::StrCat(UsageLine(topic), "\n\n", c->summary, "\n", c->details);
    if (!c->options.empty()) {
      absl::StrAppend(&s, "\n", OptionsBlock("Options", c->options));
    }
    absl::StrAppend(&s, "\n", OptionsBlock("Global options", GlobalOptions()),
                    "\n", kExitStatus);
    return s;
  }
  if (IsGroup(topic)) {
    std::string s = absl::StrCat("usage: ", kProgram, " [global options] ",
                                 topic, " <command> [arguments]\n\n");
    for (const CommandSpec& c : Commands()) {
      if (InGroup(c, topic)) {
        absl::StrAppend(&s, "  ", CommandSynopsis(c), "\n      ", c.summary,
                        "\n");
      }
    }
    absl::StrAppend(&s, "\nRun '", kProgram, " help ", topic,
                    " COMMAND' for one command.\n");
    return s;
  }
  return absl::StrCat(
      "usage: ", kProgram, " ", kGlobalSynopsis, " <command> [arguments]\n\n",
      "Operator commands over callpush's DeviceService (gRPC).\n\n",
      CommandList(), "\n",
      OptionsBlock("Global options (anywhere on the line)", GlobalOptions()),
      "\nOptions take '--name value' or '--name=value'; '--' ends options.\n",
      "Plaintext unless --tls-ca-file or --tls-cert-file is set (with a "
      "client\n"
      "certificate alone, the server is verified against gRPC's default "
      "roots);\nan empty --tls-* value turns its variable off.\n",
      "Run '", kProgram, " help COMMAND' or '", kProgram,
      " COMMAND --help' for one command.\n\n", kExitStatus);
}

}  // namespace callpush::ctl
