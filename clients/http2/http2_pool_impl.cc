#include "clients/http2/http2_pool_impl.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "clients/base/log.h"
#include "clients/http2/asio_duration.h"
#include "clients/http2/tls_context.h"

namespace callpush::http2 {
namespace {

absl::Status ValidateOptions(const PoolOptions& o) {
  if (o.host.empty()) return absl::InvalidArgumentError("host is empty");
  if (o.port == 0) return absl::InvalidArgumentError("port is 0");
  if (o.connections < 1) {
    return absl::InvalidArgumentError("connections must be at least 1");
  }
  if (o.max_in_flight < 1) {
    return absl::InvalidArgumentError("max_in_flight must be at least 1");
  }
  if (o.connect_timeout <= absl::ZeroDuration() ||
      o.ping_interval <= absl::ZeroDuration() ||
      o.ping_timeout <= absl::ZeroDuration() ||
      o.reconnect_min <= absl::ZeroDuration() ||
      o.reconnect_max < o.reconnect_min) {
    return absl::InvalidArgumentError(
        "timeouts must be positive and reconnect_min <= reconnect_max");
  }
  if (o.max_response_body == 0) {
    return absl::InvalidArgumentError("max_response_body is 0");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Pool>> NewPool(PoolOptions options,
                                              const Clock& clock) {
  return PoolImpl::Create(std::move(options), clock);
}

absl::StatusOr<std::unique_ptr<Pool>> PoolImpl::Create(PoolOptions options,
                                                       const Clock& clock) {
  absl::Status valid = ValidateOptions(options);
  if (!valid.ok()) return valid;
  auto tls = NewTlsContext(TlsOptions{options.ca_file, options.client_cert_file,
                                      options.client_key_file});
  if (!tls.ok()) return tls.status();
  return std::unique_ptr<Pool>(
      new PoolImpl(std::move(options), clock, *std::move(tls)));
}

PoolImpl::PoolImpl(PoolOptions options, const Clock& clock,
                   std::unique_ptr<boost::asio::ssl::context> tls)
    : options_(std::move(options)),
      clock_(clock),
      tls_(std::move(tls)),
      grace_timer_(io_),
      rng_(std::random_device{}()) {
  connection_options_.host = options_.host;
  connection_options_.port = options_.port;
  connection_options_.authority =
      options_.port == 443 ? options_.host
                           : absl::StrCat(options_.host, ":", options_.port);
  connection_options_.verify_name =
      options_.sni.empty() ? options_.host : options_.sni;
  connection_options_.connect_timeout = options_.connect_timeout;
  connection_options_.ping_interval = options_.ping_interval;
  connection_options_.ping_timeout = options_.ping_timeout;
  connection_options_.max_response_body = options_.max_response_body;
  for (int i = 0; i < options_.connections; ++i) {
    slots_.push_back(std::make_unique<Slot>(io_));
  }
  work_.emplace(io_.get_executor());
  thread_ = std::thread([this] {
    io_.run();
    loop_done_.Notify();
  });
  loop_thread_id_ = thread_.get_id();
}

PoolImpl::~PoolImpl() {
  if (std::this_thread::get_id() == loop_thread_id_) {
    Log(LogLevel::kError, "http2 pool destroyed on its own loop thread");
    std::abort();
  }
  Shutdown(absl::ZeroDuration());
}

void PoolImpl::Send(Request request, Callback done) {
  {
    absl::MutexLock lock(&mu_);
    if (!shutdown_requested_) {
      auto pending = std::make_shared<PendingRequest>(io_, std::move(request),
                                                      std::move(done));
      boost::asio::post(io_, [this, pending] { Accept(pending); });
      return;
    }
  }
  // The loop may be gone: answer on the caller's thread.
  done(absl::UnavailableError("http2 pool is shut down"));
}

void PoolImpl::Shutdown(absl::Duration grace) {
  {
    absl::MutexLock lock(&mu_);
    if (!shutdown_requested_) {
      shutdown_requested_ = true;
      boost::asio::post(io_, [this, grace] { BeginShutdown(grace); });
    }
  }
  // From a callback: the loop finishes on its own; it cannot wait for itself.
  if (std::this_thread::get_id() == loop_thread_id_) return;
  loop_done_.WaitForNotification();
  absl::MutexLock lock(&join_mu_);
  if (thread_.joinable()) thread_.join();
}

void PoolImpl::RunAt(absl::Time at, absl::AnyInvocable<void()> fn) {
  absl::MutexLock lock(&mu_);
  if (shutdown_requested_) return;
  auto shared = std::make_shared<absl::AnyInvocable<void()>>(std::move(fn));
  boost::asio::post(io_, [this, at, shared] {
    if (final_closed_) return;
    auto timer = std::make_shared<boost::asio::steady_timer>(io_);
    timers_.insert(timer);
    timer->expires_after(
        ToAsioDuration(std::max(absl::ZeroDuration(), at - clock_.Now())));
    timer->async_wait(
        [this, timer, shared](const boost::system::error_code& ec) {
          timers_.erase(timer);
          if (!ec) (*shared)();
        });
  });
}

void PoolImpl::Accept(std::shared_ptr<PendingRequest> request) {
  if (shutting_down_) {
    request->Finish(absl::UnavailableError("http2 pool is shutting down"));
    return;
  }
  if (outstanding_ >= static_cast<int64_t>(options_.max_in_flight)) {
    request->Finish(absl::ResourceExhaustedError(
        absl::StrCat("more than ", options_.max_in_flight,
                     " requests in flight to ", options_.host)));
    return;
  }
  const absl::Time now = clock_.Now();
  absl::Duration left = absl::InfiniteDuration();
  if (request->request.deadline != absl::InfiniteFuture()) {
    left = request->request.deadline - now;
    if (left <= absl::ZeroDuration()) {
      request->Finish(absl::DeadlineExceededError("deadline already passed"));
      return;
    }
  }
  if (!started_) {
    // Lazy: the first request opens every connection.
    started_ = true;
    for (auto& slot : slots_) Connect(*slot);
  }
  auto no_connection = [this] {
    return absl::UnavailableError(absl::StrCat(
        "no connection to ", options_.host, ": ", last_error_.message()));
  };
  // A held request needs a connection only once it is released, and the
  // connections may recover while it waits: check then.
  const bool hold = request->request.not_before > now;
  if (!hold && !AnyConnection()) {
    // Every connection is waiting to retry after failing: fail fast.
    request->Finish(no_connection());
    return;
  }
  ++outstanding_;
  if (left != absl::InfiniteDuration()) {
    request->deadline_timer.expires_after(ToAsioDuration(left));
    request->deadline_timer.async_wait(
        [this, request](const boost::system::error_code& ec) {
          if (!ec) OnDeadline(request);
        });
  }
  if (hold) {
    // On a timer rather than a sleeping thread: the loop keeps serving
    // every other request meanwhile. Answered by the deadline timer or
    // FailHeld() if either comes first (Finish() cancels this timer).
    held_.insert(request);
    request->hold_timer.expires_after(
        ToAsioDuration(request->request.not_before - now));
    request->hold_timer.async_wait([this, request, no_connection](
                                       const boost::system::error_code& ec) {
      held_.erase(request);
      if (ec || request->finished) return;
      if (shutting_down_) {
        Answer(request, absl::UnavailableError("http2 pool is shutting down"));
      } else if (!AnyConnection()) {
        Answer(request, no_connection());
      } else {
        queue_.push_back(request);
        Dispatch();
      }
    });
    return;
  }
  queue_.push_back(std::move(request));
  Dispatch();
}

void PoolImpl::Answer(const std::shared_ptr<PendingRequest>& request,
                      absl::StatusOr<Response> result) {
  if (!request->Finish(std::move(result))) return;
  --outstanding_;
  if (shutting_down_ && outstanding_ == 0) {
    boost::asio::post(io_, [this] { FinalClose(); });
  }
}

void PoolImpl::OnDeadline(const std::shared_ptr<PendingRequest>& request) {
  if (request->finished) return;
  if (auto connection = request->connection.lock()) {
    connection->Cancel(request->stream_id);
    stats_.Update([](PoolStats& s) { ++s.deadline_resets; });
  }
  // If still queued it stays there, finished, and Dispatch() drops it.
  Answer(request, absl::DeadlineExceededError("no response by the deadline"));
}

void PoolImpl::Connect(Slot& slot) {
  slot.connection = std::make_shared<Http2Connection>(
      io_, *tls_, connection_options_, static_cast<Owner*>(this), &stats_);
  slot.connection->Start();
}

absl::Duration PoolImpl::Backoff(int failures) {
  absl::Duration base = options_.reconnect_min;
  for (int i = 1; i < failures && base < options_.reconnect_max; ++i) {
    base *= 2;
  }
  base = std::min(base, options_.reconnect_max);
  // Full jitter over the upper half, so that connections (and processes)
  // that failed together do not retry together.
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  return std::clamp(base * jitter(rng_), options_.reconnect_min,
                    options_.reconnect_max);
}

bool PoolImpl::AnyConnection() const {
  for (const auto& slot : slots_) {
    if (slot->connection != nullptr) return true;
  }
  return false;
}

PoolImpl::Slot* PoolImpl::SlotOf(const Http2Connection* connection) {
  for (auto& slot : slots_) {
    if (slot->connection.get() == connection) return slot.get();
  }
  return nullptr;
}

void PoolImpl::ScheduleDispatch() {
  if (dispatch_scheduled_) return;
  dispatch_scheduled_ = true;
  boost::asio::post(io_, [this] {
    dispatch_scheduled_ = false;
    Dispatch();
  });
}

void PoolImpl::Dispatch() {
  while (!queue_.empty() && !shutting_down_) {
    if (queue_.front()->finished) {
      queue_.pop_front();
      continue;
    }
    // A connection whose batch for this loop turn has room (one write for
    // many requests), else the ready connection with the most room.
    Http2Connection* best = nullptr;
    int64_t best_room = 0;
    bool best_batching = false;
    for (auto& slot : slots_) {
      if (slot->connection == nullptr) continue;
      int64_t room = slot->connection->Room();
      if (room <= 0) continue;
      bool batching = slot->connection->batching();
      if ((batching && !best_batching) ||
          (batching == best_batching && room > best_room)) {
        best = slot->connection.get();
        best_room = room;
        best_batching = batching;
      }
    }
    if (best == nullptr) break;
    std::shared_ptr<PendingRequest> request = std::move(queue_.front());
    queue_.pop_front();
    absl::Status submitted = best->Submit(request);
    if (absl::IsResourceExhausted(submitted)) {
      queue_.push_front(std::move(request));  // that connection now drains
    } else if (!submitted.ok()) {
      Answer(request, submitted);
    }
  }
  UpdateGauges();
}

void PoolImpl::FailQueue(const absl::Status& why) {
  std::deque<std::shared_ptr<PendingRequest>> queue;
  queue.swap(queue_);
  for (auto& request : queue) Answer(request, why);
}

void PoolImpl::FailHeld(const absl::Status& why) {
  // Answer() cancels each hold timer, whose handler then erases it from
  // held_: iterate over a copy.
  std::vector<std::shared_ptr<PendingRequest>> held(held_.begin(), held_.end());
  for (auto& request : held) Answer(request, why);
}

void PoolImpl::UpdateGauges() {
  int ready = 0;
  int64_t in_flight = 0;
  for (const auto& slot : slots_) {
    if (slot->connection == nullptr) continue;
    if (slot->connection->ready()) ++ready;
    in_flight += slot->connection->open_streams();
  }
  for (const auto& connection : draining_) {
    in_flight += connection->open_streams();
  }
  stats_.Update([&](PoolStats& s) {
    s.connections_ready = ready;
    s.in_flight = in_flight;
  });
}

void PoolImpl::BeginShutdown(absl::Duration grace) {
  shutting_down_ = true;
  FailQueue(absl::UnavailableError("http2 pool is shutting down"));
  FailHeld(absl::UnavailableError("http2 pool is shutting down"));
  for (auto& slot : slots_) {
    slot->backoff_timer.cancel();
    // Connections without streams have nothing to wait for.
    if (slot->connection != nullptr && slot->connection->open_streams() == 0) {
      std::shared_ptr<Http2Connection> connection = slot->connection;
      connection->Close(absl::OkStatus());
    }
  }
  if (outstanding_ == 0) {
    FinalClose();
    return;
  }
  grace_timer_.expires_after(ToAsioDuration(grace));
  grace_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) FinalClose();
  });
}

void PoolImpl::FinalClose() {
  if (final_closed_) return;
  final_closed_ = true;
  grace_timer_.cancel();
  for (const auto& timer : timers_) timer->cancel();
  std::vector<std::shared_ptr<Http2Connection>> all = draining_;
  for (auto& slot : slots_) {
    slot->backoff_timer.cancel();
    if (slot->connection != nullptr) all.push_back(slot->connection);
  }
  absl::Status why =
      absl::UnavailableError("http2 pool shut down before the response");
  for (auto& connection : all) connection->Close(why);
  FailQueue(why);
  FailHeld(why);
  UpdateGauges();
  // The loop ends once the closing connections have flushed their GOAWAY.
  work_.reset();
}

void PoolImpl::OnReady(Http2Connection* connection) {
  if (Slot* slot = SlotOf(connection)) slot->failures = 0;
  UpdateGauges();
  ScheduleDispatch();
}

void PoolImpl::OnDraining(Http2Connection* connection) {
  Slot* slot = SlotOf(connection);
  if (slot == nullptr) return;
  draining_.push_back(std::move(slot->connection));
  if (!shutting_down_) Connect(*slot);  // keep `connections` usable
  UpdateGauges();
}

void PoolImpl::OnRoom(Http2Connection* connection) {
  UpdateGauges();
  if (!queue_.empty()) ScheduleDispatch();
}

void PoolImpl::OnStreamDone(std::shared_ptr<PendingRequest> request,
                            absl::StatusOr<Response> result) {
  Answer(request, std::move(result));
}

void PoolImpl::OnStreamRetry(std::shared_ptr<PendingRequest> request) {
  if (request->finished) return;
  request->connection.reset();
  request->stream_id = -1;
  if (shutting_down_) {
    Answer(request, absl::UnavailableError("http2 pool is shutting down"));
    return;
  }
  stats_.Update([](PoolStats& s) { ++s.resent; });
  queue_.push_front(std::move(request));
  ScheduleDispatch();
}

void PoolImpl::OnClosed(Http2Connection* connection, const absl::Status& why,
                        bool was_ready) {
  std::shared_ptr<Http2Connection> keep;
  Slot* slot = SlotOf(connection);
  if (slot != nullptr) {
    keep = std::move(slot->connection);
  } else {
    auto it = std::find_if(
        draining_.begin(), draining_.end(),
        [connection](const auto& c) { return c.get() == connection; });
    if (it != draining_.end()) {
      keep = std::move(*it);
      draining_.erase(it);
    }
  }
  // The caller is still running inside it: release it later.
  boost::asio::post(io_, [keep] {});
  if (!why.ok()) {
    last_error_ = why;
    Log(LogLevel::kWarning, "http2 connection closed",
        {{"host", options_.host},
         {"port", std::to_string(options_.port)},
         {"error", std::string(why.message())}});
    if (!was_ready) stats_.Update([](PoolStats& s) { ++s.connect_failures; });
  }
  UpdateGauges();
  if (shutting_down_ || slot == nullptr) return;
  if (was_ready) {
    // A working connection went away: replace it at once.
    slot->failures = 0;
    Connect(*slot);
  } else {
    ++slot->failures;
    slot->backoff_timer.expires_after(ToAsioDuration(Backoff(slot->failures)));
    slot->backoff_timer.async_wait(
        [this, slot](const boost::system::error_code& ec) {
          if (!ec && !shutting_down_ && slot->connection == nullptr) {
            Connect(*slot);
          }
        });
  }
  if (!AnyConnection()) {
    FailQueue(absl::UnavailableError(
        absl::StrCat("no connection to ", options_.host, ": ", why.message())));
  }
}

}  // namespace callpush::http2
