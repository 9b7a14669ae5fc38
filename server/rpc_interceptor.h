// RpcInterceptorFactory: the one place where every RPC of callpush-server is
// seen, whatever its service: a gRPC server interceptor (it works with the
// callback API) that, when the RPC's status is sent, writes the per-request
// log line and tells the RpcObserver (the request metrics).
//
// The log line (info): {"msg":"rpc","method":"/callpush.v1.CallService/Call",
// "code":"OK","latency_ms":"1.234","request_id":"<x-request-id or ''>",
// "call_id":"<the request's call_id or ''>"}. Nothing else of the request
// is read: no mobile number, token or caller name reaches the log.
#ifndef CALLPUSH_SERVER_RPC_INTERCEPTOR_H_
#define CALLPUSH_SERVER_RPC_INTERCEPTOR_H_

#include <google/protobuf/message.h>
#include <grpcpp/support/server_interceptor.h>

#include <string>

#include "absl/strings/string_view.h"
#include "clients/base/clock.h"
#include "server/rpc_observer.h"

namespace callpush {

class RpcInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // `observer` (null: log only) and `clock` must outlive the server.
  // Requests of methods whose full name starts with `proto_prefix` are
  // read for their call_id; they must be generated protobuf messages
  // (the health service's are raw bytes, hence the prefix).
  RpcInterceptorFactory(RpcObserver* observer, const Clock& clock,
                        std::string proto_prefix = "/callpush.");

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  RpcObserver* const observer_;
  const Clock& clock_;
  const std::string proto_prefix_;
};

// The request's `call_id` string field (proto name), capped at 128 bytes;
// "" when it has none.
std::string CallIdOf(const google::protobuf::Message& request);

// `value` if it is a sane request id (1 to 128 of [A-Za-z0-9._:-], as the
// gateway makes them), else "": a client's header is logged only when it
// cannot forge or flood a line.
std::string SaneRequestId(absl::string_view value);

}  // namespace callpush

#endif  // CALLPUSH_SERVER_RPC_INTERCEPTOR_H_
