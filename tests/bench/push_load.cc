// callpush-push-load: a load generator for the HTTP/2 push pool
// (clients/http2) against the push sandbox (tests/sandbox), for comparison
// with h2load on the same sandbox (tests/bench/push_bench.sh).
//
// Every request is the APNs VoIP push the server sends: BuildApnsRequest
// (clients/apns) with a provider JWT signed by ApnsTokenProvider from the
// sandbox's apns-key.p8, built once and copied per send (with
// --build_per_push, built and signed-token-fetched per push as the server
// does). --print_request=DIR writes its path, headers and body so that
// h2load can send the same bytes.
//
// Nothing is measured during --warmup; then, for --duration, every request
// that completes is counted. Prints one JSON object on stdout and a one-line
// summary on stderr.
//
// Closed loop (default): --connections × --streams requests are kept in
// flight; each is sent again as soon as it is answered, so the rate is the
// peak the pool and the sandbox sustain.
//
// Open loop (--rate=R): a request is scheduled every 1/R seconds, each on a
// free slot (waiting for one when --connections × --streams are busy).
// Latency counts from the scheduled time, so a stall shows in the
// percentiles instead of silently lowering the rate ("coordinated
// omission"); the latency from the actual send is reported beside it.
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "clients/apns/apns_app_config.h"
#include "clients/apns/apns_request.h"
#include "clients/apns/apns_token_provider.h"
#include "clients/base/clock.h"
#include "clients/base/log.h"
#include "clients/http2/http2_pool.h"
#include "clients/http2/http2_types.h"
#include "server/push_sender.h"
#include "tests/bench/latency_curve.h"
#include "tests/bench/proc_stats.h"

ABSL_FLAG(std::string, host, "127.0.0.1", "sandbox HTTP/2 host");
ABSL_FLAG(int, port, 0, "sandbox HTTP/2 port (its listening h2=... line)");
ABSL_FLAG(std::string, ca_file, "", "the sandbox's ca.pem (--make_certs)");
ABSL_FLAG(std::string, apns_key, "", "the sandbox's apns-key.p8");
ABSL_FLAG(std::string, team_id, "SANDBOXTM1", "APNs team id (JWT iss)");
ABSL_FLAG(std::string, key_id, "SANDBOXKY1", "APNs key id (JWT kid)");
ABSL_FLAG(std::string, bundle_id, "com.example.bench",
          "app bundle id; VoIP pushes go to <bundle_id>.voip");
ABSL_FLAG(std::string, device_token,
          "5f3c9a1e7b2d4c6f8a0e1b3d5c7f9a2e4b6d8c0f1a3e5b7d9c2f4a6e8b0d1c3e",
          "APNs device token (hex)");
ABSL_FLAG(int, connections, 1, "pool connections");
ABSL_FLAG(int, streams, 100,
          "requests in flight per connection (closed loop); with --rate, "
          "connections × streams bounds the requests outstanding");
ABSL_FLAG(double, rate, 0,
          "target pushes/s (open loop); 0 = closed loop, as fast as answered");
ABSL_FLAG(double, warmup, 2, "seconds of load before measuring");
ABSL_FLAG(double, duration, 10, "seconds to measure");
ABSL_FLAG(int, deadline_ms, 10000, "deadline of each push; 0 = none");
ABSL_FLAG(bool, build_per_push, false,
          "build every request with BuildApnsRequest and the token provider, "
          "as the server does, instead of copying one built request");
ABSL_FLAG(int, sandbox_pid, 0,
          "if set, also report this process's CPU time in the window");
ABSL_FLAG(std::string, print_request, "",
          "write the request to this directory (files path, headers: one "
          "'name: value' per line, body) and exit, for h2load");

namespace callpush::bench {
namespace {

using ::callpush::bench::CpuSeconds;
using ::callpush::bench::LatencyCurveJson;
using ::callpush::bench::NowNs;
using ::callpush::bench::Percentile;
using ::callpush::bench::ProcessCpuSeconds;
using ::callpush::bench::SelfStatusKb;

// How a request ended: "200", "403", ... for an HTTP answer, the absl code
// name ("UNAVAILABLE", ...) for a pool error.
std::string OutcomeOf(const absl::StatusOr<http2::Response>& result) {
  if (!result.ok()) return absl::StatusCodeToString(result.status().code());
  return absl::StrCat(result->status);
}

// Builds the push: the server's ApnsAppConfig + PushRequest for one VoIP
// call push to one device.
class PushFactory {
 public:
  static absl::StatusOr<std::unique_ptr<PushFactory>> Create() {
    auto factory = std::unique_ptr<PushFactory>(new PushFactory());
    ApnsAppConfig& c = factory->config_;
    c.bundle_id = absl::GetFlag(FLAGS_bundle_id);
    c.team_id = absl::GetFlag(FLAGS_team_id);
    c.key_id = absl::GetFlag(FLAGS_key_id);
    c.key_file = absl::GetFlag(FLAGS_apns_key);
    c.default_environment = "sandbox";
    auto tokens = ApnsTokenProvider::FromKeyFile(
        c.team_id, c.key_id, c.key_file, SystemClock::Get());
    if (!tokens.ok()) return tokens.status();
    factory->tokens_ = *std::move(tokens);
    PushRequest& p = factory->push_;
    p.kind = PushKind::kCall;
    p.device_id = "bench-device-1";
    p.call_id = "bench-call-0001";
    p.caller_name = "Bench Caller";
    p.platform = Platform::kIos;
    p.app = "bench";
    p.token_kind = TokenKind::kVoip;
    p.token = absl::GetFlag(FLAGS_device_token);
    // The ring timeout (apns-expiration) of the one request copied per
    // send: far enough ahead for any run.
    p.expires_at = absl::Now() + absl::Hours(1);
    return factory;
  }

  absl::StatusOr<http2::Request> Build() {
    auto token = tokens_->Token();
    if (!token.ok()) return token.status();
    const absl::Time now = absl::Now();
    PushRequest push = push_;
    if (push.expires_at <= now) push.expires_at = now + absl::Seconds(30);
    return BuildApnsRequest(push, config_, *token, now);
  }

 private:
  PushFactory() = default;

  ApnsAppConfig config_;
  PushRequest push_;
  std::unique_ptr<ApnsTokenProvider> tokens_;
};

struct LoadOptions {
  int slots = 100;  // connections × streams
  double rate = 0;  // 0: closed loop
  int deadline_ms = 10000;
  bool build_per_push = false;
};

// What one slot saw while the window was open. Written only by the
// callback of the slot's own request (one in flight per slot), read after
// every request has been answered.
struct SlotStats {
  std::vector<int64_t> latency_ns;          // from the scheduled start
  std::vector<int64_t> service_latency_ns;  // from the actual send
  std::map<std::string, uint64_t> outcomes;
};

struct Slot {
  int64_t scheduled_ns = 0;
  int64_t sent_ns = 0;
  SlotStats stats;
};

class LoadGenerator {
 public:
  LoadGenerator(LoadOptions options, http2::Pool& pool, PushFactory& factory,
                http2::Request request)
      : options_(options),
        pool_(pool),
        factory_(factory),
        request_(std::move(request)) {
    for (int i = 0; i < options_.slots; ++i) {
      slots_.push_back(std::make_unique<Slot>());
      free_.push_back(slots_.back().get());
    }
  }

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
    for (Slot* s : all) Send(s, NowNs());
  }

  void OpenWindow() { window_start_ns_.store(NowNs()); }
  void CloseWindow() { window_end_ns_.store(NowNs()); }

  // Stops sending and waits for every request to be answered.
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
  uint64_t build_errors() const { return build_errors_.load(); }

 private:
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
    http2::Request request;
    if (options_.build_per_push) {
      auto built = factory_.Build();
      if (!built.ok()) {
        // Cannot happen once the first one was built; count it and stop
        // this slot rather than spin.
        build_errors_.fetch_add(1);
        absl::MutexLock lock(&mu_);
        --in_flight_;
        return;
      }
      request = *std::move(built);
    } else {
      request = request_;
    }
    if (options_.deadline_ms > 0) {
      request.deadline = absl::Now() + absl::Milliseconds(options_.deadline_ms);
    }
    s->scheduled_ns = scheduled_ns;
    s->sent_ns = NowNs();
    pool_.Send(
        std::move(request),
        [this, s](absl::StatusOr<http2::Response> result) { Done(s, result); });
  }

  // On the pool's loop thread; must not block for long.
  void Done(Slot* s, const absl::StatusOr<http2::Response>& result) {
    const int64_t now = NowNs();
    if (now >= window_start_ns_.load(std::memory_order_relaxed) &&
        now < window_end_ns_.load(std::memory_order_relaxed)) {
      SlotStats& st = s->stats;
      st.latency_ns.push_back(now - s->scheduled_ns);
      st.service_latency_ns.push_back(now - s->sent_ns);
      ++st.outcomes[OutcomeOf(result)];
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
  http2::Pool& pool_;
  PushFactory& factory_;
  const http2::Request request_;
  std::vector<std::unique_ptr<Slot>> slots_;  // constant after construction
  std::atomic<int64_t> window_start_ns_{std::numeric_limits<int64_t>::max()};
  std::atomic<int64_t> window_end_ns_{std::numeric_limits<int64_t>::max()};
  std::atomic<uint64_t> build_errors_{0};
  std::thread pacer_;

  absl::Mutex mu_;
  std::vector<Slot*> free_ ABSL_GUARDED_BY(mu_);
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

struct Percentiles {
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0, mean = 0;  // ms
};

// Sorts `ns` (LatencyCurveJson reads it sorted).
Percentiles PercentilesOf(std::vector<int64_t>& ns) {
  Percentiles p;
  if (ns.empty()) return p;
  std::sort(ns.begin(), ns.end());
  auto at = [&](double q) { return Percentile(ns, q) / 1e6; };
  double sum = 0;
  for (int64_t v : ns) sum += v;
  p.p50 = at(0.5);
  p.p90 = at(0.9);
  p.p99 = at(0.99);
  p.p999 = at(0.999);
  p.max = ns.back() / 1e6;
  p.mean = sum / ns.size() / 1e6;
  return p;
}

std::string PercentilesJson(const Percentiles& p) {
  return absl::StrFormat(
      "{\"p50\": %.3f, \"p90\": %.3f, \"p99\": %.3f, \"p99.9\": %.3f, "
      "\"max\": %.3f, \"mean\": %.3f}",
      p.p50, p.p90, p.p99, p.p999, p.max, p.mean);
}

// Writes DIR/path, DIR/headers and DIR/body.
int PrintRequest(const http2::Request& request, const std::string& dir) {
  std::ofstream path(dir + "/path");
  path << request.path << "\n";
  std::ofstream headers(dir + "/headers");
  for (const http2::Header& h : request.headers) {
    headers << h.name << ": " << h.value << "\n";
  }
  std::ofstream body(dir + "/body", std::ios::binary);
  body << request.body;
  if (!path || !headers || !body) {
    std::cerr << "callpush-push-load: cannot write to " << dir << "\n";
    return 1;
  }
  return 0;
}

int Run() {
  LoadOptions o;
  const int connections = absl::GetFlag(FLAGS_connections);
  const int streams = absl::GetFlag(FLAGS_streams);
  o.slots = connections * streams;
  o.rate = absl::GetFlag(FLAGS_rate);
  o.deadline_ms = absl::GetFlag(FLAGS_deadline_ms);
  o.build_per_push = absl::GetFlag(FLAGS_build_per_push);
  const double warmup = absl::GetFlag(FLAGS_warmup);
  const double duration = absl::GetFlag(FLAGS_duration);
  const int sandbox_pid = absl::GetFlag(FLAGS_sandbox_pid);
  if (connections < 1 || streams < 1 || duration <= 0 || warmup < 0 ||
      o.rate < 0 || o.deadline_ms < 0) {
    std::cerr << "callpush-push-load: --connections, --streams and "
                 "--duration must be positive\n";
    return 2;
  }

  auto factory = PushFactory::Create();
  if (!factory.ok()) {
    std::cerr << "callpush-push-load: " << factory.status() << "\n";
    return 1;
  }
  auto request = (*factory)->Build();
  if (!request.ok()) {
    std::cerr << "callpush-push-load: " << request.status() << "\n";
    return 1;
  }
  if (!absl::GetFlag(FLAGS_print_request).empty()) {
    return PrintRequest(*request, absl::GetFlag(FLAGS_print_request));
  }

  http2::PoolOptions pool_options;
  pool_options.host = absl::GetFlag(FLAGS_host);
  pool_options.port = static_cast<uint16_t>(absl::GetFlag(FLAGS_port));
  pool_options.ca_file = absl::GetFlag(FLAGS_ca_file);
  pool_options.connections = connections;
  pool_options.max_in_flight = std::max<size_t>(o.slots, 1) + 1;
  auto pool = http2::NewPool(pool_options, SystemClock::Get());
  if (!pool.ok()) {
    std::cerr << "callpush-push-load: " << pool.status() << "\n";
    return 1;
  }

  // One push first: a wrong CA, key or port fails here, clearly.
  {
    absl::Notification answered;
    absl::StatusOr<http2::Response> first;
    http2::Request probe = *request;
    probe.deadline = absl::Now() + absl::Seconds(10);
    (*pool)->Send(std::move(probe),
                  [&](absl::StatusOr<http2::Response> result) {
                    first = std::move(result);
                    answered.Notify();
                  });
    answered.WaitForNotification();
    if (!first.ok() || first->status != 200) {
      std::cerr << "callpush-push-load: the first push failed: "
                << (first.ok() ? absl::StrCat(first->status, " ", first->body)
                               : first.status().ToString())
                << "\n";
      return 1;
    }
  }

  LoadGenerator load(o, **pool, **factory, *request);
  load.Start();
  std::this_thread::sleep_for(std::chrono::duration<double>(warmup));
  const double sandbox0 = sandbox_pid > 0 ? ProcessCpuSeconds(sandbox_pid) : 0;
  const double cpu0 = CpuSeconds();
  const int64_t t0 = NowNs();
  load.OpenWindow();
  std::this_thread::sleep_for(std::chrono::duration<double>(duration));
  load.CloseWindow();
  const int64_t t1 = NowNs();
  const double cpu1 = CpuSeconds();
  const double sandbox1 = sandbox_pid > 0 ? ProcessCpuSeconds(sandbox_pid) : 0;
  const int64_t rss_kb = SelfStatusKb("VmRSS:");
  load.StopAndWait();
  const http2::PoolStats stats = (*pool)->Stats();
  (*pool)->Shutdown(absl::Seconds(5));
  const int64_t hwm_kb = SelfStatusKb("VmHWM:");

  std::vector<int64_t> latency, service_latency;
  std::map<std::string, uint64_t> outcomes;
  for (const auto& s : load.slots()) {
    const SlotStats& st = s->stats;
    latency.insert(latency.end(), st.latency_ns.begin(), st.latency_ns.end());
    service_latency.insert(service_latency.end(), st.service_latency_ns.begin(),
                           st.service_latency_ns.end());
    for (const auto& [k, v] : st.outcomes) outcomes[k] += v;
  }
  const uint64_t requests = latency.size();
  const uint64_t ok = outcomes.count("200") ? outcomes["200"] : 0;
  std::vector<std::string> errors_by_status;
  for (const auto& [k, v] : outcomes) {
    if (k != "200")
      errors_by_status.push_back(absl::StrFormat("\"%s\": %d", k, v));
  }
  const double seconds = (t1 - t0) / 1e9;
  const double cpu = cpu1 - cpu0;
  auto per_request = [&](double s) {
    return requests > 0 ? s * 1e6 / requests : 0.0;
  };
  const Percentiles lat = PercentilesOf(latency);
  const Percentiles svc = PercentilesOf(service_latency);
  const double rate = requests / seconds;

  std::cout << "{\n"
            << absl::StrFormat("  \"mode\": \"%s\",\n",
                               o.rate > 0 ? "open" : "closed")
            << absl::StrFormat("  \"connections\": %d,\n", connections)
            << absl::StrFormat("  \"streams_per_connection\": %d,\n", streams)
            << absl::StrFormat("  \"target_rate\": %.1f,\n", o.rate)
            << absl::StrFormat("  \"build_per_push\": %s,\n",
                               o.build_per_push ? "true" : "false")
            << absl::StrFormat("  \"warmup_s\": %.1f,\n", warmup)
            << absl::StrFormat("  \"duration_s\": %.3f,\n", seconds)
            << absl::StrFormat("  \"requests\": %d,\n", requests)
            << absl::StrFormat("  \"ok\": %d,\n", ok)
            << absl::StrFormat("  \"errors\": %d,\n", requests - ok)
            << "  \"errors_by_status\": {"
            << absl::StrJoin(errors_by_status, ", ") << "},\n"
            << absl::StrFormat("  \"rate\": %.1f,\n", rate)
            << "  \"latency_ms\": " << PercentilesJson(lat) << ",\n"
            << "  \"service_latency_ms\": " << PercentilesJson(svc) << ",\n"
            << "  \"latency_curve_ms\": " << LatencyCurveJson(latency, 1e6, 3)
            << ",\n"
            << absl::StrFormat("  \"client_cpu_s\": %.3f,\n", cpu)
            << absl::StrFormat("  \"client_cpu_us_per_request\": %.1f,\n",
                               per_request(cpu))
            << absl::StrFormat("  \"vmrss_kb_at_end\": %d,\n", rss_kb)
            << absl::StrFormat("  \"vmhwm_kb\": %d,\n", hwm_kb)
            << absl::StrFormat(
                   "  \"pool\": {\"connects\": %d, \"connect_failures\": %d, "
                   "\"goaways\": %d, \"refused_streams\": %d, \"resent\": %d, "
                   "\"deadline_resets\": %d},\n",
                   stats.connects, stats.connect_failures, stats.goaways,
                   stats.refused_streams, stats.resent, stats.deadline_resets)
            << absl::StrFormat("  \"build_errors\": %d", load.build_errors());
  if (sandbox_pid > 0) {
    std::cout << absl::StrFormat(",\n  \"sandbox_cpu_s\": %.3f",
                                 sandbox1 - sandbox0)
              << absl::StrFormat(",\n  \"sandbox_cpu_us_per_request\": %.1f",
                                 per_request(sandbox1 - sandbox0));
  }
  std::cout << "\n}\n";
  std::cerr << absl::StrFormat(
      "callpush-push-load: %s c=%d s=%d: %d requests, %d ok, %d errors in "
      "%.1fs = %.0f/s; latency ms p50 %.2f p90 %.2f p99 %.2f p99.9 %.2f; "
      "cpu %.1f us/req; VmHWM %.1f MiB\n",
      o.rate > 0 ? absl::StrFormat("open@%.0f/s", o.rate) : "closed",
      connections, streams, requests, ok, requests - ok, seconds, rate, lat.p50,
      lat.p90, lat.p99, lat.p999, per_request(cpu), hwm_kb / 1024.0);
  return 0;
}

}  // namespace
}  // namespace callpush::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "callpush-push-load --port=P --ca_file=ca.pem --apns_key=apns-key.p8 "
      "[flags]: APNs pushes through the HTTP/2 pool to the push sandbox");
  absl::ParseCommandLine(argc, argv);
  // Debian's Abseil is built with deadlock detection on: every Mutex::Lock
  // would take a global lock to update the lock graph. Not ours to measure
  // (the server turns it off too).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  callpush::SetLogLevel(callpush::LogLevel::kWarning);
  return callpush::bench::Run();
}
