// Subprocess: a child process for end-to-end tests (the real binaries), with
// its stdout readable line by line and its stderr passed through. The child
// is killed (SIGKILL) if still running when this goes away.
#ifndef CALLPUSH_TESTS_TESTING_SUBPROCESS_H_
#define CALLPUSH_TESTS_TESTING_SUBPROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace callpush::testing {

struct RunResult;

class Subprocess {
 public:
  // argv[0] is the program path.
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(
      const std::vector<std::string>& argv);
  ~Subprocess();

  // The first stdout line that starts with `prefix` (the rest of it), read
  // within `timeout`. Lines are also echoed to the test's stderr.
  absl::StatusOr<std::string> WaitForLine(const std::string& prefix,
                                          absl::Duration timeout);
  void Signal(int sig);
  // Exit status (WEXITSTATUS) or -signal; DEADLINE_EXCEEDED if still running.
  absl::StatusOr<int> Wait(absl::Duration timeout);
  pid_t pid() const { return pid_; }

 private:
  Subprocess(pid_t pid, int stdout_fd) : pid_(pid), stdout_fd_(stdout_fd) {}
  friend absl::StatusOr<RunResult> RunProgram(const std::vector<std::string>&,
                                              absl::Duration);
  pid_t pid_;
  int stdout_fd_;
  bool exited_ = false;
  std::string buffer_;
};

// Runs a program to completion; its exit status and stdout+stderr.
struct RunResult {
  int exit_code = -1;
  std::string output;
};
absl::StatusOr<RunResult> RunProgram(const std::vector<std::string>& argv,
                                     absl::Duration timeout);

}  // namespace callpush::testing

#endif  // CALLPUSH_TESTS_TESTING_SUBPROCESS_H_
