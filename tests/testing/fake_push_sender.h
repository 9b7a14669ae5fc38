// FakePushSender: records every push and answers as scripted. By default a
// push is accepted at once (provider "fake", provider_id "fake-<n>"); a
// scripted result can be set per token; Hold() parks pushes until Release().
#ifndef CALLPUSH_TESTS_TESTING_FAKE_PUSH_SENDER_H_
#define CALLPUSH_TESTS_TESTING_FAKE_PUSH_SENDER_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "server/push_sender.h"

namespace callpush::testing {

class FakePushSender final : public PushSender {
 public:
  std::string ProviderFor(Platform platform,
                          const std::string& app) const override {
    return platform == Platform::kIos ? "apns" : "fcm";
  }

  void Send(PushRequest request,
            absl::AnyInvocable<void(PushResult)> done) override {
    PushResult result;
    {
      absl::MutexLock lock(&mu_);
      sent_.push_back(request);
      auto it = scripted_.find(request.token);
      if (it != scripted_.end()) {
        result = it->second;
      } else {
        result.outcome = PushResult::Outcome::kAccepted;
        result.http_status = 200;
        result.provider_id = "fake-" + std::to_string(sent_.size());
      }
      result.provider = ProviderFor(request.platform, request.app);
      if (hold_) {
        held_.emplace_back(std::move(done), std::move(result));
        return;
      }
    }
    done(std::move(result));
  }

  // Every later push to `token` gets `result`.
  void SetResult(const std::string& token, PushResult result) {
    absl::MutexLock lock(&mu_);
    scripted_[token] = std::move(result);
  }
  // Pushes wait (unanswered) until Release().
  void Hold() {
    absl::MutexLock lock(&mu_);
    hold_ = true;
  }
  // Answers every held push and stops holding.
  void Release() {
    std::vector<std::pair<absl::AnyInvocable<void(PushResult)>, PushResult>>
        held;
    {
      absl::MutexLock lock(&mu_);
      hold_ = false;
      held.swap(held_);
    }
    for (auto& [done, result] : held) done(std::move(result));
  }
  size_t held() const {
    absl::MutexLock lock(&mu_);
    return held_.size();
  }
  std::vector<PushRequest> sent() const {
    absl::MutexLock lock(&mu_);
    return sent_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<PushRequest> sent_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, PushResult> scripted_ ABSL_GUARDED_BY(mu_);
  bool hold_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::pair<absl::AnyInvocable<void(PushResult)>, PushResult>> held_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace callpush::testing

#endif  // CALLPUSH_TESTS_TESTING_FAKE_PUSH_SENDER_H_
