// CommandLine: callpushctl's argv split into the server, the timeout, the
// TLS files, the command and its arguments and options, checked against the
// command table (commands.h). Values are not interpreted here (see
// request_builder.h; the TLS files are read by GrpcChannelCredentials).
#ifndef CALLPUSH_CLIENTS_CALLPUSHCTL_COMMAND_LINE_H_
#define CALLPUSH_CLIENTS_CALLPUSHCTL_COMMAND_LINE_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "clients/base/grpc_credentials.h"
#include "clients/callpushctl/commands.h"

namespace callpush::ctl {

inline constexpr absl::string_view kDefaultServer = "127.0.0.1:50051";
inline constexpr absl::Duration kDefaultTimeout = absl::Seconds(5);

// What callpushctl takes from its environment ("" when unset): defaults
// that the command line replaces.
struct Environment {
  std::string server;           // $CALLPUSH_SERVER
  std::string tls_ca_file;      // $CALLPUSH_TLS_CA_FILE
  std::string tls_cert_file;    // $CALLPUSH_TLS_CERT_FILE
  std::string tls_key_file;     // $CALLPUSH_TLS_KEY_FILE
  std::string tls_server_name;  // $CALLPUSH_TLS_SERVER_NAME
};

// This process's environment.
Environment ReadEnvironment();

struct CommandLine {
  std::string server;
  absl::Duration timeout;
  // How to reach the server: plaintext unless a CA or a client certificate
  // is given (GrpcClientTlsFiles).
  GrpcClientTlsFiles tls;
  // Where each TLS value came from, for error messages: the option
  // ("--tls-ca-file") or the environment variable ("$CALLPUSH_TLS_CA_FILE").
  GrpcClientTlsFieldNames tls_names;
  // What the words named, for help and usage lines: "" (nothing or an
  // unknown command), a group ("device") or a command name.
  std::string topic;
  const CommandSpec* command = nullptr;       // set when topic names a command
  bool help = false;                          // --help, -h or "help [TOPIC]"
  std::vector<std::string> args;              // the command's positionals
  std::map<std::string, std::string> values;  // value options, by name
  std::set<std::string> flags;                // flags given, by name
};

// Parses the arguments after the program name. `env.server` replaces the
// default server, --server replaces both; likewise each --tls-* option
// replaces its variable (an empty value turns the variable's off). Options
// may come before or after the words, as "--name value" or "--name=value" (a
// value that starts with "--" needs the second form); "--" ends options. On
// a usage error answers INVALID_ARGUMENT with the message to print,
// `out->topic` set as far as the words went. With help, options a command
// requires and its arguments are not checked.
absl::Status ParseCommandLine(const std::vector<std::string>& args,
                              const Environment& env, CommandLine* out);

// The same with only $CALLPUSH_SERVER (`env_server`) from the environment.
absl::Status ParseCommandLine(const std::vector<std::string>& args,
                              absl::string_view env_server, CommandLine* out);

}  // namespace callpush::ctl

#endif  // CALLPUSH_CLIENTS_CALLPUSHCTL_COMMAND_LINE_H_
