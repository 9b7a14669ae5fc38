// PoolImpl: the Pool of http2_pool.h. It owns the event loop (one
// io_context, one thread), the shared TLS context, `connections` slots each
// holding at most one live Http2Connection, the connections draining after
// a GOAWAY, the requests held until their not_before, and the queue of
// requests waiting for room on some connection.
// See README.md beside it for why it is built this way.
#ifndef CALLPUSH_CLIENTS_HTTP2_HTTP2_POOL_IMPL_H_
#define CALLPUSH_CLIENTS_HTTP2_HTTP2_POOL_IMPL_H_

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <unordered_set>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "clients/base/clock.h"
#include "clients/http2/http2_connection.h"
#include "clients/http2/http2_pool.h"
#include "clients/http2/pending_request.h"
#include "clients/http2/stats_recorder.h"

namespace callpush::http2 {

class PoolImpl final : public Pool, private Http2Connection::Owner {
 public:
  // INVALID_ARGUMENT for bad options or unreadable TLS files.
  static absl::StatusOr<std::unique_ptr<Pool>> Create(PoolOptions options,
                                                      const Clock& clock);
  // Shutdown(0). Must not run on the loop thread (from a callback).
  ~PoolImpl() override;

  void Send(Request request, Callback done) override;
  PoolStats Stats() const override { return stats_.Get(); }
  void RunAt(absl::Time at, absl::AnyInvocable<void()> fn) override;
  void Shutdown(absl::Duration grace) override;

 private:
  struct Slot {
    explicit Slot(boost::asio::io_context& io) : backoff_timer(io) {}
    std::shared_ptr<Http2Connection> connection;  // connecting or ready
    boost::asio::steady_timer backoff_timer;
    int failures = 0;  // connect attempts failed in a row
  };

  PoolImpl(PoolOptions options, const Clock& clock,
           std::unique_ptr<boost::asio::ssl::context> tls);

  // Everything below runs on the loop thread.
  void Accept(std::shared_ptr<PendingRequest> request);
  void Answer(const std::shared_ptr<PendingRequest>& request,
              absl::StatusOr<Response> result);
  void OnDeadline(const std::shared_ptr<PendingRequest>& request);
  void Connect(Slot& slot);
  absl::Duration Backoff(int failures);
  bool AnyConnection() const;
  Slot* SlotOf(const Http2Connection* connection);
  void ScheduleDispatch();
  void Dispatch();
  void FailQueue(const absl::Status& why);
  void FailHeld(const absl::Status& why);
  void UpdateGauges();
  void BeginShutdown(absl::Duration grace);
  void FinalClose();

  // Http2Connection::Owner
  void OnReady(Http2Connection* connection) override;
  void OnDraining(Http2Connection* connection) override;
  void OnRoom(Http2Connection* connection) override;
  void OnStreamDone(std::shared_ptr<PendingRequest> request,
                    absl::StatusOr<Response> result) override;
  void OnStreamRetry(std::shared_ptr<PendingRequest> request) override;
  void OnClosed(Http2Connection* connection, const absl::Status& why,
                bool was_ready) override;

  // Constant after construction.
  const PoolOptions options_;
  Http2Connection::Options connection_options_;
  const Clock& clock_;
  boost::asio::io_context io_;
  std::unique_ptr<boost::asio::ssl::context> tls_;
  std::thread::id loop_thread_id_;

  StatsRecorder stats_;

  // Loop thread only.
  std::optional<
      boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>
      work_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<std::shared_ptr<Http2Connection>> draining_;
  std::deque<std::shared_ptr<PendingRequest>> queue_;
  // RunAt's armed timers, cancelled at the final close so that the loop
  // can end.
  std::set<std::shared_ptr<boost::asio::steady_timer>> timers_;
  // Accepted, waiting for request.not_before (counted in outstanding_).
  std::unordered_set<std::shared_ptr<PendingRequest>> held_;
  int64_t outstanding_ = 0;  // accepted and not yet answered
  bool started_ = false;
  bool dispatch_scheduled_ = false;
  bool shutting_down_ = false;
  bool final_closed_ = false;
  boost::asio::steady_timer grace_timer_;
  absl::Status last_error_;
  std::mt19937_64 rng_;

  mutable absl::Mutex mu_;
  bool shutdown_requested_ ABSL_GUARDED_BY(mu_) = false;
  absl::Mutex join_mu_;
  absl::Notification loop_done_;
  std::thread thread_;  // joined under join_mu_
};

}  // namespace callpush::http2

#endif  // CALLPUSH_CLIENTS_HTTP2_HTTP2_POOL_IMPL_H_
