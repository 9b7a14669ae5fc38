// TSan annotations for Debian's uninstrumented abseil synchronization
// (TSan builds only: cmake/Sanitizers.cmake links this shared library into
// every target when CALLPUSH_SANITIZE contains "thread").
//
// libabsl_synchronization.so is not compiled with -fsanitize=thread: its
// Mutex waits on futexes TSan does not intercept, so TSan never learns that
// an absl::Mutex orders the accesses it guards and reports a "race" on every
// ABSL_GUARDED_BY member two threads touch. Abseil's own TSan build tells
// TSan what each operation does with the annotations of
// <sanitizer/tsan_interface.h>; this file makes the same annotations around
// the real functions. It defines the public entry points of absl::Mutex,
// absl::CondVar, absl::Notification and absl::BlockingCounter, and the
// reference count release of absl::Status (the same blind spot: an atomic
// decrement inside libabsl_status.so orders the last owner's delete after
// every other owner's use). As a shared library loaded before abseil, its
// definitions are the ones the dynamic linker binds for our code, for gRPC,
// and for abseil's own calls between these classes (they go through the
// PLT). Each calls the real function (dlsym RTLD_NEXT); no logic of abseil
// is changed. When one real function calls another entry point
// (AwaitWithTimeout calls AwaitWithDeadline, Notification::Notify locks its
// Mutex), only the outermost call on the thread is annotated: it describes
// the whole operation.
//
// Destruction is not annotated: gRPC frees its mutexes when a reference
// count inside its own (uninstrumented) code drops to zero, which TSan would
// call a race with the last Lock; a Mutex's TSan state goes with its memory
// (free) instead.
//
// Limits: CondVar::Wait and Mutex::Await are annotated as exclusive holds
// (callpush never waits holding a reader lock); absl::Barrier is not
// annotated (unused here).
#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/base/config.h"
#include "absl/base/macros.h"
#include "absl/status/status.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

#if !defined(ABSL_HAVE_THREAD_SANITIZER)
#error "absl_sync_tsan.cc is for -fsanitize=thread builds only"
#endif

namespace {

// The mangled name of member function absl::<inline namespace>::<rest>,
// e.g. "5Mutex4LockEv" -> "_ZN4absl7debian35Mutex4LockEv" ("_ZNK..." for a
// const one).
std::string Mangled(bool is_const, const char* rest) {
  const std::string ns =
      ABSL_INTERNAL_TOKEN_STR(ABSL_OPTION_INLINE_NAMESPACE_NAME);
  return std::string(is_const ? "_ZNK" : "_ZN") + "4absl" +
         std::to_string(ns.size()) + ns + rest;
}

template <typename Fn>
Fn Real(bool is_const, const char* rest) {
  const std::string name = Mangled(is_const, rest);
  void* sym = dlsym(RTLD_NEXT, name.c_str());
  if (sym == nullptr) {
    fprintf(stderr, "absl_sync_tsan: %s not found after this library\n",
            name.c_str());
    abort();
  }
  return reinterpret_cast<Fn>(sym);
}

// Entry points of this file active on this thread.
thread_local int tls_depth = 0;

// Counts the calling entry point for its lifetime; nested() if another one
// is already running on this thread (the outer one annotates).
class Depth {
 public:
  Depth() : nested_(tls_depth++ > 0) {}
  ~Depth() { --tls_depth; }
  Depth(const Depth&) = delete;
  Depth& operator=(const Depth&) = delete;
  bool nested() const { return nested_; }

 private:
  const bool nested_;
};

// `real`: the real function, looked up once (thread-safe static
// initialisation); `depth`: this call's nesting.
#define REAL(type, rest)                            \
  static const auto real = Real<type>(false, rest); \
  const Depth depth
#define REAL_CONST(type, rest)                     \
  static const auto real = Real<type>(true, rest); \
  const Depth depth

constexpr unsigned kRead = __tsan_mutex_read_lock;

}  // namespace

// Exported by the TSan runtime, not declared by its header: memory accesses
// of this thread between the two are not checked (sync events still count).
extern "C" void __tsan_ignore_thread_begin();
extern "C" void __tsan_ignore_thread_end();

namespace {

// Runs an abseil call that sets a waiter's flag and then unlocks its mutex
// (Notification::Notify, BlockingCounter::DecrementCount) with this
// thread's accesses unchecked. Inside that unlock abseil evaluates the
// waiter's Condition (an inline, instrumented read of the flag) on this
// thread; the waiter, woken after that, may return and reuse the memory (a
// Notification on its stack, which abseil allows). Abseil orders the two
// inside its own uninstrumented code, which TSan cannot see; the nested
// Lock/Unlock are not annotated (the outer call describes the operation),
// so without this TSan would call the read and the reuse a race.
template <typename Fn>
auto Unchecked(Fn&& fn) {
  __tsan_ignore_thread_begin();
  auto result = fn();
  __tsan_ignore_thread_end();
  return result;
}

// The calling thread gives up `mu` and takes it back inside an abseil call
// (Await, CondVar::Wait); accesses inside (condition evaluation) are ignored.
void BeginRelease(absl::Mutex* mu) { __tsan_mutex_pre_unlock(mu, 0); }
void EndReacquire(absl::Mutex* mu) {
  __tsan_mutex_post_unlock(mu, 0);
  __tsan_mutex_pre_lock(mu, 0);
  __tsan_mutex_post_lock(mu, 0, 0);
}

// Notification's "notified" flag: HasBeenNotified() is inline, an acquire
// load in our (instrumented) code, so Notify() releases on that address.
void* NotifiedFlag(const absl::Notification* n) {
  static_assert(sizeof(absl::Mutex) == sizeof(void*), "abseil layout changed");
  static_assert(sizeof(absl::Notification) == 2 * sizeof(void*),
                "abseil layout changed");
  return const_cast<char*>(reinterpret_cast<const char*>(n)) +
         sizeof(absl::Mutex);
}

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

void Mutex::Lock() {
  REAL(void (*)(Mutex*), "5Mutex4LockEv");
  if (depth.nested()) return real(this);
  __tsan_mutex_pre_lock(this, 0);
  real(this);
  __tsan_mutex_post_lock(this, 0, 0);
}

void Mutex::Unlock() {
  REAL(void (*)(Mutex*), "5Mutex6UnlockEv");
  if (depth.nested()) return real(this);
  __tsan_mutex_pre_unlock(this, 0);
  real(this);
  __tsan_mutex_post_unlock(this, 0);
}

bool Mutex::TryLock() {
  REAL(bool (*)(Mutex*), "5Mutex7TryLockEv");
  if (depth.nested()) return real(this);
  __tsan_mutex_pre_lock(this, __tsan_mutex_try_lock);
  bool locked = real(this);
  __tsan_mutex_post_lock(
      this, __tsan_mutex_try_lock | (locked ? 0 : __tsan_mutex_try_lock_failed),
      0);
  return locked;
}

void Mutex::ReaderLock() {
  REAL(void (*)(Mutex*), "5Mutex10ReaderLockEv");
  if (depth.nested()) return real(this);
  __tsan_mutex_pre_lock(this, kRead);
  real(this);
  __tsan_mutex_post_lock(this, kRead, 0);
}

void Mutex::ReaderUnlock() {
  REAL(void (*)(Mutex*), "5Mutex12ReaderUnlockEv");
  if (depth.nested()) return real(this);
  __tsan_mutex_pre_unlock(this, kRead);
  real(this);
  __tsan_mutex_post_unlock(this, kRead);
}

bool Mutex::ReaderTryLock() {
  REAL(bool (*)(Mutex*), "5Mutex13ReaderTryLockEv");
  if (depth.nested()) return real(this);
  __tsan_mutex_pre_lock(this, __tsan_mutex_try_read_lock);
  bool locked = real(this);
  __tsan_mutex_post_lock(
      this,
      locked ? __tsan_mutex_try_read_lock : __tsan_mutex_try_read_lock_failed,
      0);
  return locked;
}

void Mutex::LockWhen(const Condition& cond) {
  REAL(void (*)(Mutex*, const Condition&), "5Mutex8LockWhenERKNS0_9ConditionE");
  if (depth.nested()) return real(this, cond);
  __tsan_mutex_pre_lock(this, 0);
  real(this, cond);
  __tsan_mutex_post_lock(this, 0, 0);
}

bool Mutex::LockWhenWithTimeout(const Condition& cond, Duration timeout) {
  REAL(bool (*)(Mutex*, const Condition&, Duration),
       "5Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  if (depth.nested()) return real(this, cond, timeout);
  __tsan_mutex_pre_lock(this, 0);
  bool met = real(this, cond, timeout);
  __tsan_mutex_post_lock(this, 0, 0);
  return met;
}

bool Mutex::LockWhenWithDeadline(const Condition& cond, Time deadline) {
  REAL(bool (*)(Mutex*, const Condition&, Time),
       "5Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  if (depth.nested()) return real(this, cond, deadline);
  __tsan_mutex_pre_lock(this, 0);
  bool met = real(this, cond, deadline);
  __tsan_mutex_post_lock(this, 0, 0);
  return met;
}

void Mutex::ReaderLockWhen(const Condition& cond) {
  REAL(void (*)(Mutex*, const Condition&),
       "5Mutex14ReaderLockWhenERKNS0_9ConditionE");
  if (depth.nested()) return real(this, cond);
  __tsan_mutex_pre_lock(this, kRead);
  real(this, cond);
  __tsan_mutex_post_lock(this, kRead, 0);
}

bool Mutex::ReaderLockWhenWithTimeout(const Condition& cond, Duration timeout) {
  REAL(bool (*)(Mutex*, const Condition&, Duration),
       "5Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  if (depth.nested()) return real(this, cond, timeout);
  __tsan_mutex_pre_lock(this, kRead);
  bool met = real(this, cond, timeout);
  __tsan_mutex_post_lock(this, kRead, 0);
  return met;
}

bool Mutex::ReaderLockWhenWithDeadline(const Condition& cond, Time deadline) {
  REAL(bool (*)(Mutex*, const Condition&, Time),
       "5Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  if (depth.nested()) return real(this, cond, deadline);
  __tsan_mutex_pre_lock(this, kRead);
  bool met = real(this, cond, deadline);
  __tsan_mutex_post_lock(this, kRead, 0);
  return met;
}

void Mutex::Await(const Condition& cond) {
  REAL(void (*)(Mutex*, const Condition&), "5Mutex5AwaitERKNS0_9ConditionE");
  if (depth.nested()) return real(this, cond);
  BeginRelease(this);
  real(this, cond);
  EndReacquire(this);
}

bool Mutex::AwaitWithTimeout(const Condition& cond, Duration timeout) {
  REAL(bool (*)(Mutex*, const Condition&, Duration),
       "5Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  if (depth.nested()) return real(this, cond, timeout);
  BeginRelease(this);
  bool met = real(this, cond, timeout);
  EndReacquire(this);
  return met;
}

bool Mutex::AwaitWithDeadline(const Condition& cond, Time deadline) {
  REAL(bool (*)(Mutex*, const Condition&, Time),
       "5Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  if (depth.nested()) return real(this, cond, deadline);
  BeginRelease(this);
  bool met = real(this, cond, deadline);
  EndReacquire(this);
  return met;
}

void CondVar::Wait(Mutex* mu) {
  REAL(void (*)(CondVar*, Mutex*), "7CondVar4WaitEPNS0_5MutexE");
  if (depth.nested()) return real(this, mu);
  BeginRelease(mu);
  real(this, mu);
  EndReacquire(mu);
}

bool CondVar::WaitWithTimeout(Mutex* mu, Duration timeout) {
  REAL(bool (*)(CondVar*, Mutex*, Duration),
       "7CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  if (depth.nested()) return real(this, mu, timeout);
  BeginRelease(mu);
  bool timed_out = real(this, mu, timeout);
  EndReacquire(mu);
  return timed_out;
}

bool CondVar::WaitWithDeadline(Mutex* mu, Time deadline) {
  REAL(bool (*)(CondVar*, Mutex*, Time),
       "7CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  if (depth.nested()) return real(this, mu, deadline);
  BeginRelease(mu);
  bool timed_out = real(this, mu, deadline);
  EndReacquire(mu);
  return timed_out;
}

// Notify() sets the flag under its mutex, but WaitForNotification*() return
// at once, without the mutex, once the flag is set: an explicit
// release/acquire pair on the Notification gives TSan that edge.
void Notification::Notify() {
  REAL(void (*)(Notification*), "12Notification6NotifyEv");
  if (depth.nested()) return real(this);
  __tsan_release(this);
  __tsan_release(NotifiedFlag(this));
  Unchecked([&] {
    real(this);
    return 0;
  });
}

void Notification::WaitForNotification() const {
  REAL_CONST(void (*)(const Notification*),
             "12Notification19WaitForNotificationEv");
  if (depth.nested()) return real(this);
  real(this);
  __tsan_acquire(const_cast<Notification*>(this));
}

bool Notification::WaitForNotificationWithTimeout(Duration timeout) const {
  REAL_CONST(bool (*)(const Notification*, Duration),
             "12Notification30WaitForNotificationWithTimeoutENS0_8DurationE");
  if (depth.nested()) return real(this, timeout);
  bool notified = real(this, timeout);
  if (notified) __tsan_acquire(const_cast<Notification*>(this));
  return notified;
}

bool Notification::WaitForNotificationWithDeadline(Time deadline) const {
  REAL_CONST(bool (*)(const Notification*, Time),
             "12Notification31WaitForNotificationWithDeadlineENS0_4TimeE");
  if (depth.nested()) return real(this, deadline);
  bool notified = real(this, deadline);
  if (notified) __tsan_acquire(const_cast<Notification*>(this));
  return notified;
}

// Every DecrementCount() happens before Wait() returns (the count is an
// atomic inside abseil, invisible to TSan).
bool BlockingCounter::DecrementCount() {
  REAL(bool (*)(BlockingCounter*), "15BlockingCounter14DecrementCountEv");
  if (depth.nested()) return real(this);
  __tsan_release(this);
  return Unchecked([&] { return real(this); });
}

void BlockingCounter::Wait() {
  REAL(void (*)(BlockingCounter*), "15BlockingCounter4WaitEv");
  if (depth.nested()) return real(this);
  real(this);
  __tsan_acquire(this);
}

// Copies of a non-OK Status share one heap StatusRep; the last Unref deletes
// it. Each Unref releases and acquires on the StatusRep, as the acq_rel
// fetch_sub inside does, so the delete comes after every owner's use.
void Status::UnrefNonInlined(uintptr_t rep) {
  REAL(void (*)(uintptr_t), "6Status15UnrefNonInlinedEm");
  if (!depth.nested()) {
    void* p = RepToPointer(rep);
    __tsan_release(p);
    __tsan_acquire(p);
  }
  real(rep);
}

ABSL_NAMESPACE_END
}  // namespace absl
