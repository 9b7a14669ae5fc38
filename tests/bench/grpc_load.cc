// callpush-grpc-load: a load generator for CallService/ListCallableDevices.
//
// Keeps --concurrency requests outstanding over --channels HTTP/2
// connections with the gRPC callback API, asking for mobile numbers drawn
// uniformly from +447700900000 .. +447700900000 + --numbers - 1. Nothing is
// measured during --warmup; then, for --duration, every request that
// completes is counted. Prints one JSON object on stdout.
//
// Closed loop (default): each slot sends its next request as soon as the
// previous one answers, so the rate is the peak the server sustains at this
// concurrency.
//
// Open loop (--rate=R): requests are scheduled every 1/R seconds; each takes
// a free slot (waiting for one if all --concurrency are busy). Latency counts
// from the scheduled time, not the send time, so a stall shows up in the
// percentiles instead of silently lowering the rate ("coordinated
// omission"); the latency from the actual send is reported beside it.
#include <dirent.h>
#include <grpcpp/grpcpp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <iterator>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "callpush/v1/call_service.grpc.pb.h"
#include "clients/base/grpc_code_name.h"
#include "tests/bench/latency_curve.h"
#include "tests/bench/proc_stats.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "callpush-server address");
ABSL_FLAG(int, concurrency, 16,
          "requests outstanding at once (upper bound "
          "when --rate is set)");
ABSL_FLAG(int, channels, 2,
          "channels, each its own TCP connection; slots are spread evenly. "
          "One connection is served by one server thread at a time, and "
          "gRPC servers cap streams per connection (often 100)");
ABSL_FLAG(double, warmup, 2, "seconds of load before measuring");
ABSL_FLAG(double, duration, 10, "seconds to measure");
ABSL_FLAG(double, rate, 0,
          "target requests/s (open loop); 0 = closed loop, as fast as the "
          "server answers");
ABSL_FLAG(int, numbers, 10000, "how many seeded mobile numbers to pick from");
ABSL_FLAG(int64_t, first_number, 447700900000,
          "the first seeded number, without the '+'");
ABSL_FLAG(uint64_t, seed, 1, "random seed for the number choice");
ABSL_FLAG(int, deadline_ms, 2000, "deadline of each RPC");
ABSL_FLAG(int, server_pid, 0,
          "if set, also report this process's CPU time in the window "
          "(callpush-server on this machine)");
ABSL_FLAG(int, pg_pid, 0,
          "if set, also report the CPU time in the window of this process's "
          "children (the Postgres postmaster: its backends)");

namespace callpush::bench {
namespace {

using ::callpush::GrpcCodeName;
using ::callpush::bench::ChildrenCpuSeconds;
using ::callpush::bench::CpuSeconds;
using ::callpush::bench::LatencyCurveJson;
using ::callpush::bench::NowNs;
using ::callpush::bench::Percentile;
using ::callpush::bench::ProcessCpuSeconds;
using ::callpush::bench::SelfStatusKb;

constexpr int kNumCodes = 17;  // grpc::StatusCode OK .. UNAUTHENTICATED

std::string CodeName(int code) {
  return std::string(GrpcCodeName(static_cast<grpc::StatusCode>(code)));
}

struct LoadOptions {
  int concurrency = 16;
  int channels = 2;
  double rate = 0;  // 0: closed loop
  int numbers = 10000;
  int64_t first_number = 0;
  uint64_t seed = 1;
  int deadline_ms = 2000;
};

// What one slot saw while the measurement window was open. Written only by
// the completion callback of the slot's own RPC (at most one in flight per
// slot), read after every RPC has finished.
struct SlotStats {
  std::vector<int64_t> latency_ns;          // from the scheduled start
  std::vector<int64_t> service_latency_ns;  // from the actual send
  std::array<uint64_t, kNumCodes> codes{};
  uint64_t empty_responses = 0;
};

// One request in flight at a time: its context, messages and results.
struct Slot {
  v1::CallService::Stub* stub = nullptr;
  std::mt19937_64 rng;
  std::unique_ptr<grpc::ClientContext> context;
  v1::ListCallableDevicesRequest request;
  v1::ListCallableDevicesResponse response;
  int64_t scheduled_ns = 0;
  int64_t sent_ns = 0;
  SlotStats stats;
};

// Drives the slots; see the file comment for the two modes.
class LoadGenerator {
 public:
  LoadGenerator(LoadOptions options,
                std::vector<std::unique_ptr<v1::CallService::Stub>> stubs)
      : options_(options), stubs_(std::move(stubs)) {
    for (int i = 0; i < options_.concurrency; ++i) {
      auto slot = std::make_unique<Slot>();
      slot->stub = stubs_[i % stubs_.size()].get();
      slot->rng.seed(options_.seed * 1000003 + i);
      free_.push_back(slot.get());
      slots_.push_back(std::move(slot));
    }
  }

  // Starts sending; returns at once.
  void Start() {
    if (options_.rate > 0) {
      pacer_ = std::thread([this] { Pace(); });
      return;
    }
    std::vector<Slot*> all;
    {
      absl::MutexLock lock(&mu_);
      all.swap(free_);
    }
    for (Slot* s : all) {
      const int64_t now = NowNs();
      Send(s, now);
    }
  }

  // Counts completions from now on.
  void OpenWindow() { window_start_ns_.store(NowNs()); }
  // Stops counting completions.
  void CloseWindow() { window_end_ns_.store(NowNs()); }

  // Stops sending and waits for every outstanding RPC to answer.
  void StopAndWait() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    if (pacer_.joinable()) pacer_.join();
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](LoadGenerator* g) ABSL_EXCLUSIVE_LOCKS_REQUIRED(g->mu_) {
          return g->in_flight_ == 0;
        },
        this));
  }

  const std::vector<std::unique_ptr<Slot>>& slots() const { return slots_; }

 private:
  // Open loop: one request every 1/rate seconds, each on a free slot.
  void Pace() {
    // Sleep to the scheduled time, not up to 50us past it (timer slack).
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    const int64_t interval_ns = static_cast<int64_t>(1e9 / options_.rate);
    int64_t next = NowNs();
    for (;;) {
      const int64_t now = NowNs();
      if (now < next) {
        std::this_thread::sleep_for(std::chrono::nanoseconds(next - now));
        continue;
      }
      Slot* slot = nullptr;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](LoadGenerator* g) ABSL_EXCLUSIVE_LOCKS_REQUIRED(g->mu_) {
              return g->stopping_ || !g->free_.empty();
            },
            this));
        if (stopping_) return;
        slot = free_.back();
        free_.pop_back();
      }
      Send(slot, next);
      next += interval_ns;
    }
  }

  void Send(Slot* s, int64_t scheduled_ns) {
    {
      absl::MutexLock lock(&mu_);
      ++in_flight_;
    }
    std::uniform_int_distribution<int64_t> pick(0, options_.numbers - 1);
    s->request.set_mobile_number(
        absl::StrCat("+", options_.first_number + pick(s->rng)));
    s->response.Clear();
    s->context = std::make_unique<grpc::ClientContext>();
    s->context->set_deadline(std::chrono::system_clock::now() +
                             std::chrono::milliseconds(options_.deadline_ms));
    s->scheduled_ns = scheduled_ns;
    s->sent_ns = NowNs();
    s->stub->async()->ListCallableDevices(
        s->context.get(), &s->request, &s->response,
        [this, s](grpc::Status status) { Done(s, status); });
  }

  // Runs on a gRPC callback thread; must not block.
  void Done(Slot* s, const grpc::Status& status) {
    const int64_t now = NowNs();
    if (now >= window_start_ns_.load(std::memory_order_relaxed) &&
        now < window_end_ns_.load(std::memory_order_relaxed)) {
      SlotStats& st = s->stats;
      st.latency_ns.push_back(now - s->scheduled_ns);
      st.service_latency_ns.push_back(now - s->sent_ns);
      const int code = static_cast<int>(status.error_code());
      ++st.codes[code >= 0 && code < kNumCodes ? code : 2];
      if (status.ok() && s->response.devices_size() == 0) {
        ++st.empty_responses;
      }
    }
    bool resend = false;
    {
      absl::MutexLock lock(&mu_);
      --in_flight_;
      if (options_.rate > 0 || stopping_) {
        free_.push_back(s);
      } else {
        resend = true;
      }
    }
    if (resend) Send(s, now);
  }

  const LoadOptions options_;
  const std::vector<std::unique_ptr<v1::CallService::Stub>> stubs_;
  std::vector<std::unique_ptr<Slot>> slots_;  // constant after construction
  std::atomic<int64_t> window_start_ns_{std::numeric_limits<int64_t>::max()};
  std::atomic<int64_t> window_end_ns_{std::numeric_limits<int64_t>::max()};
  std::thread pacer_;

  absl::Mutex mu_;
  std::vector<Slot*> free_ ABSL_GUARDED_BY(mu_);
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

// {"p50": .., "p90": .., ...} in microseconds; sorts `ns` (LatencyCurveJson
// reads it sorted).
std::string PercentilesJson(std::vector<int64_t>& ns) {
  if (ns.empty()) return "null";
  std::sort(ns.begin(), ns.end());
  auto at = [&](double q) { return Percentile(ns, q) / 1e3; };
  double sum = 0;
  for (int64_t v : ns) sum += v;
  return absl::StrFormat(
      "{\"p50\": %.1f, \"p90\": %.1f, \"p99\": %.1f, \"p99.9\": %.1f, "
      "\"max\": %.1f, \"mean\": %.1f}",
      at(0.5), at(0.9), at(0.99), at(0.999), ns.back() / 1e3,
      sum / ns.size() / 1e3);
}

int Run() {
  LoadOptions o;
  o.concurrency = absl::GetFlag(FLAGS_concurrency);
  o.channels = absl::GetFlag(FLAGS_channels);
  o.rate = absl::GetFlag(FLAGS_rate);
  o.numbers = absl::GetFlag(FLAGS_numbers);
  o.first_number = absl::GetFlag(FLAGS_first_number);
  o.seed = absl::GetFlag(FLAGS_seed);
  o.deadline_ms = absl::GetFlag(FLAGS_deadline_ms);
  const double warmup = absl::GetFlag(FLAGS_warmup);
  const double duration = absl::GetFlag(FLAGS_duration);
  const std::string target = absl::GetFlag(FLAGS_target);
  if (o.concurrency < 1 || o.channels < 1 || o.numbers < 1 || duration <= 0 ||
      warmup < 0 || o.rate < 0) {
    std::cerr << "callpush-grpc-load: --concurrency, --channels, --numbers "
                 "and --duration must be positive\n";
    return 2;
  }
  o.channels = std::min(o.channels, o.concurrency);

  std::vector<std::unique_ptr<v1::CallService::Stub>> stubs;
  for (int i = 0; i < o.channels; ++i) {
    grpc::ChannelArguments args;
    // Channels with equal arguments share one connection from the global
    // subchannel pool; a pool per channel gives each its own.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("callpush.bench.channel", i);
    auto channel = grpc::CreateCustomChannel(
        target, grpc::InsecureChannelCredentials(), args);
    if (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                   std::chrono::seconds(10))) {
      std::cerr << "callpush-grpc-load: cannot connect to " << target << "\n";
      return 1;
    }
    stubs.push_back(v1::CallService::NewStub(channel));
  }

  LoadGenerator load(o, std::move(stubs));
  load.Start();
  std::this_thread::sleep_for(std::chrono::duration<double>(warmup));
  const int server_pid = absl::GetFlag(FLAGS_server_pid);
  const int pg_pid = absl::GetFlag(FLAGS_pg_pid);
  const double server0 = server_pid > 0 ? ProcessCpuSeconds(server_pid) : 0;
  const double pg0 = pg_pid > 0 ? ChildrenCpuSeconds(pg_pid) : 0;
  const double cpu0 = CpuSeconds();
  const int64_t t0 = NowNs();
  load.OpenWindow();
  std::this_thread::sleep_for(std::chrono::duration<double>(duration));
  load.CloseWindow();
  const int64_t t1 = NowNs();
  const double cpu1 = CpuSeconds();
  const double server1 = server_pid > 0 ? ProcessCpuSeconds(server_pid) : 0;
  const double pg1 = pg_pid > 0 ? ChildrenCpuSeconds(pg_pid) : 0;
  load.StopAndWait();

  std::vector<int64_t> latency, service_latency;
  std::array<uint64_t, kNumCodes> codes{};
  uint64_t empty = 0;
  for (const auto& s : load.slots()) {
    const SlotStats& st = s->stats;
    latency.insert(latency.end(), st.latency_ns.begin(), st.latency_ns.end());
    service_latency.insert(service_latency.end(), st.service_latency_ns.begin(),
                           st.service_latency_ns.end());
    for (int c = 0; c < kNumCodes; ++c) codes[c] += st.codes[c];
    empty += st.empty_responses;
  }
  const uint64_t requests = latency.size();
  const uint64_t errors = requests - codes[0];
  std::vector<std::string> by_code;
  for (int c = 1; c < kNumCodes; ++c) {
    if (codes[c] > 0) {
      by_code.push_back(absl::StrFormat("\"%s\": %d", CodeName(c), codes[c]));
    }
  }
  const double seconds = (t1 - t0) / 1e9;
  const double cpu = cpu1 - cpu0;
  auto per_request = [&](double seconds) {
    return requests > 0 ? seconds * 1e6 / requests : 0.0;
  };
  std::cout << "{\n"
            << absl::StrFormat("  \"target\": \"%s\",\n", target)
            << absl::StrFormat("  \"mode\": \"%s\",\n",
                               o.rate > 0 ? "open" : "closed")
            << absl::StrFormat("  \"concurrency\": %d,\n", o.concurrency)
            << absl::StrFormat("  \"channels\": %d,\n", o.channels)
            << absl::StrFormat("  \"target_rate\": %.1f,\n", o.rate)
            << absl::StrFormat("  \"warmup_s\": %.1f,\n", warmup)
            << absl::StrFormat("  \"duration_s\": %.3f,\n", seconds)
            << absl::StrFormat("  \"requests\": %d,\n", requests)
            << absl::StrFormat("  \"errors\": %d,\n", errors)
            << "  \"errors_by_code\": {" << absl::StrJoin(by_code, ", ")
            << "},\n"
            << absl::StrFormat("  \"empty_responses\": %d,\n", empty)
            << absl::StrFormat("  \"rate\": %.1f,\n", requests / seconds)
            << "  \"latency_us\": " << PercentilesJson(latency) << ",\n"
            << "  \"service_latency_us\": " << PercentilesJson(service_latency)
            << ",\n"
            << "  \"latency_curve_us\": " << LatencyCurveJson(latency, 1e3, 1)
            << ",\n"
            << absl::StrFormat("  \"client_cpu_s\": %.3f,\n", cpu)
            << absl::StrFormat("  \"client_cpu_us_per_request\": %.1f,\n",
                               per_request(cpu))
            << absl::StrFormat("  \"client_vmhwm_kb\": %d",
                               SelfStatusKb("VmHWM:"));
  if (server_pid > 0) {
    std::cout << absl::StrFormat(",\n  \"server_cpu_s\": %.3f",
                                 server1 - server0)
              << absl::StrFormat(",\n  \"server_cpu_us_per_request\": %.1f",
                                 per_request(server1 - server0));
  }
  if (pg_pid > 0) {
    std::cout << absl::StrFormat(",\n  \"pg_cpu_s\": %.3f", pg1 - pg0)
              << absl::StrFormat(",\n  \"pg_cpu_us_per_request\": %.1f",
                                 per_request(pg1 - pg0));
  }
  std::cout << "\n}\n";
  return 0;
}

}  // namespace
}  // namespace callpush::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "callpush-grpc-load --target=HOST:PORT [flags]: load "
      "ListCallableDevices and print JSON results");
  absl::ParseCommandLine(argc, argv);
  // Debian's Abseil is built with deadlock detection on: every Mutex::Lock
  // would take a global lock to update the lock graph. Not ours to measure.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return callpush::bench::Run();
}
