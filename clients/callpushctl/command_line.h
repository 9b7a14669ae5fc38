// CommandLine: callpushctl's argv split into the server, the timeout, the
// command and its arguments and options, checked against the command table
// (commands.h). Values are not interpreted here (see request_builder.h).
#ifndef CALLPUSH_CLIENTS_CALLPUSHCTL_COMMAND_LINE_H_
#define CALLPUSH_CLIENTS_CALLPUSHCTL_COMMAND_LINE_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "clients/callpushctl/commands.h"

namespace callpush::ctl {

inline constexpr absl::string_view kDefaultServer = "127.0.0.1:50051";
inline constexpr absl::Duration kDefaultTimeout = absl::Seconds(5);

struct CommandLine {
  std::string server;
  absl::Duration timeout;
  // What the words named, for help and usage lines: "" (nothing or an
  // unknown command), a group ("device") or a command name.
  std::string topic;
  const CommandSpec* command = nullptr;       // set when topic names a command
  bool help = false;                          // --help, -h or "help [TOPIC]"
  std::vector<std::string> args;              // the command's positionals
  std::map<std::string, std::string> values;  // value options, by name
  std::set<std::string> flags;                // flags given, by name
};

// Parses the arguments after the program name. `env_server` is
// $CALLPUSH_SERVER ("" when unset), which replaces the default server;
// --server replaces both. Options may come before or after the words, as
// "--name value" or "--name=value" (a value that starts with "--" needs the
// second form); "--" ends options. On a usage error answers INVALID_ARGUMENT
// with the message to print, `out->topic` set as far as the words went.
// With help, options a command requires and its arguments are not checked.
absl::Status ParseCommandLine(const std::vector<std::string>& args,
                              absl::string_view env_server, CommandLine* out);

}  // namespace callpush::ctl

#endif  // CALLPUSH_CLIENTS_CALLPUSHCTL_COMMAND_LINE_H_
