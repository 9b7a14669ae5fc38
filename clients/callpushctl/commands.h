// The commands callpushctl knows: their words, positional arguments, options
// and usage text, as one static table. Nothing here talks to a server.
#ifndef CALLPUSH_CLIENTS_CALLPUSHCTL_COMMANDS_H_
#define CALLPUSH_CLIENTS_CALLPUSHCTL_COMMANDS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace callpush::ctl {

enum class CommandId {
  kRegisterDevice,
  kSetInboundCalls,
  kRemoveDevice,
  kListDevices,
  kActivatePatient,
  kDeactivatePatient,
  kCallLog,
};

struct OptionSpec {
  const char* name;        // without the leading "--"
  const char* value_name;  // nullptr: a flag that takes no value
  bool required;
  const char* help;
};

struct CommandSpec {
  CommandId id;
  const char* name;               // the words, e.g. "device register"
  std::vector<const char*> args;  // positional arguments, all required
  std::vector<OptionSpec> options;
  const char* summary;  // one short line
  const char* details;  // more lines for the command's help, or ""
};

// Every command, in the order the help lists them.
const std::vector<CommandSpec>& Commands();

// Options accepted before or after any command: --server, --timeout, --help.
const std::vector<OptionSpec>& GlobalOptions();

// A first word that only groups commands ("device", "patient").
bool IsGroup(absl::string_view word);

// nullptr when `name` (e.g. "device list") is no command.
const CommandSpec* FindCommand(absl::string_view name);

// nullptr when `command` has no option `name` (without "--").
const OptionSpec* FindOption(const CommandSpec& command,
                             absl::string_view name);

// Whether `name` is an option that takes a value in any command or globally;
// a command line is split into words before its command is known.
bool OptionTakesValue(absl::string_view name);

// The full help of a topic: "" (every command), a group or a command name.
// An unknown topic answers the top-level help.
std::string UsageText(absl::string_view topic);

// The one "usage: ..." line of a topic, for usage errors.
std::string UsageLine(absl::string_view topic);

}  // namespace callpush::ctl

#endif  // CALLPUSH_CLIENTS_CALLPUSHCTL_COMMANDS_H_
