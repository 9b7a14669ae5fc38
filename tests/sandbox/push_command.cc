#include "tests/sandbox/push_command.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "clients/base/log.h"
#include "clients/base/redact.h"

extern char** environ;

namespace callpush::sandbox {

void PushCommand::OnDelivered(absl::string_view provider,
                              absl::string_view token,
                              absl::string_view payload) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (absl::StartsWith(*e, "CALLPUSH_PUSH_")) continue;
    env.emplace_back(*e);
  }
  env.push_back(absl::StrCat("CALLPUSH_PUSH_TOKEN=", token));
  env.push_back(absl::StrCat("CALLPUSH_PUSH_PAYLOAD=", payload));
  env.push_back(absl::StrCat("CALLPUSH_PUSH_PROVIDER=", provider));
  std::vector<char*> envp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string shell = "/bin/sh";
  std::string dash_c = "-c";
  std::string command = command_;
  char* argv[] = {shell.data(), dash_c.data(), command.data(), nullptr};
  pid_t pid;
  int rc = posix_spawn(&pid, "/bin/sh", nullptr, nullptr, argv, envp.data());
  if (rc != 0) {
    Log(LogLevel::kWarning, "on_push command did not start",
        {{"error", std::strerror(rc)}});
    return;
  }
  Log(LogLevel::kDebug, "on_push command started",
      {{"pid", std::to_string(pid)}, {"token", RedactToken(token)}});
}

void PushCommand::Reap() {
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      Log(LogLevel::kWarning, "on_push command failed",
          {{"pid", std::to_string(pid)}, {"status", std::to_string(status)}});
    }
  }
}

}  // namespace callpush::sandbox
