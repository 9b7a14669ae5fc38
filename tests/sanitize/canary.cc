// The sanitizer builds' own check (tests/sanitize/canary.sh): a program
// that does one thing wrong on purpose, chosen by its argument, so that a
// build whose sanitizer stays silent (missing flags, a suppression or an
// annotation that hides too much) fails instead of passing vacuously.
//
//   race           two threads write an int with nothing between them
//   ordered        the same writes ordered by absl::Mutex, absl::Notification
//                  and a shared absl::Status: must stay silent under TSan
//                  (tests/sanitize/absl_sync_tsan.cc)
//   use-after-free reads freed heap memory (ASan)
//   overflow       signed integer overflow (UBSan)
#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"

namespace {

int Race() {
  int shared = 0;
  std::thread t([&] { shared = 1; });
  shared = 2;
  t.join();
  return shared > 0 ? 0 : 1;
}

// One wait on a Notification that lives on this thread's stack, notified
// by another thread once this one is (most likely) already waiting; abseil
// allows its memory to be reused as soon as the wait returns, which the
// next call does.
int WaitOnce(std::thread& notifier) {
  absl::Notification notification;
  int payload = 0;
  notifier = std::thread([&] {
    absl::SleepFor(absl::Microseconds(200));
    payload = 1;
    notification.Notify();
  });
  notification.WaitForNotification();
  return payload;
}

bool WaitersReuseTheirStack() {
  int sum = 0;
  for (int i = 0; i < 50; ++i) {
    std::thread notifier;
    sum += WaitOnce(notifier);
    notifier.join();
  }
  return sum == 50;
}

int Ordered() {
  absl::Mutex mu;
  int guarded = 0;
  std::thread t([&] {
    for (int i = 0; i < 1000; ++i) {
      absl::MutexLock lock(&mu);
      ++guarded;
    }
  });
  for (int i = 0; i < 1000; ++i) {
    absl::MutexLock lock(&mu);
    ++guarded;
  }
  t.join();

  absl::Notification done;
  int payload = 0;
  absl::Status status = absl::UnavailableError("shared between threads");
  std::thread u([&, copy = status] {
    payload = 42;
    done.Notify();
    (void)copy.message();
  });
  done.WaitForNotification();
  status = absl::OkStatus();  // this thread's reference goes first
  u.join();
  return guarded == 2000 && payload == 42 && WaitersReuseTheirStack() ? 0 : 1;
}

// Read back through a volatile pointer, so that the compiler neither warns
// about the read (-Werror=use-after-free) nor drops it.
int* volatile g_freed = nullptr;

int UseAfterFree() {
  int* p = new int(7);
  g_freed = p;
  delete p;
  return *g_freed == 7 ? 0 : 1;
}

// The sum goes to a volatile: GCC would fold `big + 100 > 0` into
// `big > -100` before UBSan instruments the addition.
int Overflow(int argc) {
  volatile int big = 2147483600 + argc;
  volatile int sum = big + 100;
  return sum > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "";
  if (std::strcmp(mode, "race") == 0) return Race();
  if (std::strcmp(mode, "ordered") == 0) return Ordered();
  if (std::strcmp(mode, "use-after-free") == 0) return UseAfterFree();
  if (std::strcmp(mode, "overflow") == 0) return Overflow(argc);
  std::fprintf(stderr, "usage: %s race|ordered|use-after-free|overflow\n",
               argv[0]);
  return 2;
}
