// RpcObserver: told of every RPC the server answers, once, with what the
// per-request log line and the request metrics need (rpc_interceptor.h
// produces the records, server_metrics.h counts them). It never drives
// logic; OnRpcDone must be thread-safe, quick and non-blocking (it runs on
// gRPC threads, on the way to sending the status).
#ifndef CALLPUSH_SERVER_RPC_OBSERVER_H_
#define CALLPUSH_SERVER_RPC_OBSERVER_H_

#include <grpcpp/support/status.h>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "clients/base/grpc_code_name.h"

namespace callpush {

struct RpcRecord {
  absl::string_view method;  // full: "/callpush.v1.CallService/Call"
  grpc::StatusCode code = grpc::StatusCode::OK;
  absl::Duration latency;        // from the call's arrival to its status
  absl::string_view request_id;  // the x-request-id metadata, or ""
  absl::string_view call_id;     // the request's call_id field, or ""
};

class RpcObserver {
 public:
  virtual ~RpcObserver() = default;
  virtual void OnRpcDone(const RpcRecord& rpc) = 0;
};

}  // namespace callpush

#endif  // CALLPUSH_SERVER_RPC_OBSERVER_H_
