// PushCommand: runs the operator's --on_push command for each delivered
// push, through /bin/sh, with CALLPUSH_PUSH_TOKEN, CALLPUSH_PUSH_PAYLOAD and
// CALLPUSH_PUSH_PROVIDER in its environment. Start() only spawns (it never
// waits); children are reaped by Reap(), which main calls on SIGCHLD.
// Loop thread only.
#ifndef CALLPUSH_TESTS_SANDBOX_PUSH_COMMAND_H_
#define CALLPUSH_TESTS_SANDBOX_PUSH_COMMAND_H_

#include <string>

#include "absl/strings/string_view.h"

namespace callpush::sandbox {

// Told about every push the sandbox answered 200.
class PushObserver {
 public:
  virtual ~PushObserver() = default;
  virtual void OnDelivered(absl::string_view provider, absl::string_view token,
                           absl::string_view payload) = 0;
};

class PushCommand final : public PushObserver {
 public:
  explicit PushCommand(std::string command) : command_(std::move(command)) {}

  void OnDelivered(absl::string_view provider, absl::string_view token,
                   absl::string_view payload) override;

  // Collects every exited child; never blocks.
  static void Reap();

 private:
  const std::string command_;
};

}  // namespace callpush::sandbox

#endif  // CALLPUSH_TESTS_SANDBOX_PUSH_COMMAND_H_
