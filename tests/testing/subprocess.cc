#include "tests/testing/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace callpush::testing {
namespace {

absl::StatusOr<std::pair<pid_t, int>> Spawn(
    const std::vector<std::string>& argv, bool merge_stderr) {
  int fds[2];
  if (pipe(fds) != 0) return absl::InternalError("pipe failed");
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    if (merge_stderr) dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    perror("execv");
    _exit(127);
  }
  close(fds[1]);
  fcntl(fds[0], F_SETFD, FD_CLOEXEC);
  return std::make_pair(pid, fds[0]);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(
    const std::vector<std::string>& argv) {
  auto spawned = Spawn(argv, /*merge_stderr=*/false);
  if (!spawned.ok()) return spawned.status();
  return std::unique_ptr<Subprocess>(
      new Subprocess(spawned->first, spawned->second));
}

Subprocess::~Subprocess() {
  if (!exited_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  close(stdout_fd_);
}

absl::StatusOr<std::string> Subprocess::WaitForLine(const std::string& prefix,
                                                    absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    size_t nl;
    while ((nl = buffer_.find('\n')) != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      fprintf(stderr, "[child %d] %s\n", pid_, line.c_str());
      if (line.rfind(prefix, 0) == 0) return line.substr(prefix.size());
    }
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(
          absl::StrCat("no line starting with '", prefix, "'"));
    }
    pollfd p{stdout_fd_, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    if (r < 0) return absl::InternalError("poll failed");
    if (r == 0) continue;
    char buf[4096];
    ssize_t n = read(stdout_fd_, buf, sizeof(buf));
    if (n <= 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("child closed stdout before '", prefix, "'"));
    }
    buffer_.append(buf, static_cast<size_t>(n));
  }
}

void Subprocess::Signal(int sig) {
  if (!exited_) kill(pid_, sig);
}

absl::StatusOr<int> Subprocess::Wait(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      return -WTERMSIG(status);
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError("child still running");
    }
    // No portable way to wait on a child with a timeout; poll briefly.
    absl::SleepFor(absl::Milliseconds(5));
  }
}

absl::StatusOr<RunResult> RunProgram(const std::vector<std::string>& argv,
                                     absl::Duration timeout) {
  auto spawned = Spawn(argv, /*merge_stderr=*/true);
  if (!spawned.ok()) return spawned.status();
  Subprocess child(spawned->first, spawned->second);
  RunResult result;
  absl::Time deadline = absl::Now() + timeout;
  char buf[4096];
  for (;;) {
    pollfd p{spawned->second, POLLIN, 0};
    int left =
        static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (left <= 0) return absl::DeadlineExceededError("program timed out");
    if (poll(&p, 1, left) <= 0) continue;
    ssize_t n = read(spawned->second, buf, sizeof(buf));
    if (n <= 0) break;
    result.output.append(buf, static_cast<size_t>(n));
  }
  auto code = child.Wait(deadline - absl::Now());
  if (!code.ok()) return code.status();
  result.exit_code = *code;
  return result;
}

}  // namespace callpush::testing
