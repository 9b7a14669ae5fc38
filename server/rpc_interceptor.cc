#include "server/rpc_interceptor.h"

#include <google/protobuf/descriptor.h>
#include <grpcpp/server_context.h>

#include <map>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "clients/base/log.h"

namespace callpush {
namespace {

using grpc::experimental::InterceptionHookPoints;

constexpr size_t kMaxLoggedBytes = 128;

// Cuts `s` to at most `max` bytes without splitting a UTF-8 sequence.
std::string Capped(std::string s, size_t max) {
  if (s.size() <= max) return s;
  size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) {
    --end;
  }
  s.resize(end);
  return s;
}

// One RPC. Intercept runs once per batch of operations, in order for a
// unary RPC; a streaming RPC may run a read and a write batch at once,
// hence the lock.
class RpcInterceptor final : public grpc::experimental::Interceptor {
 public:
  RpcInterceptor(grpc::experimental::ServerRpcInfo* info, RpcObserver* observer,
                 const Clock& clock, bool proto_request)
      : info_(info),
        observer_(observer),
        clock_(clock),
        proto_request_(proto_request),
        method_(info->method() != nullptr ? info->method() : ""),
        start_(clock.Now()) {}

  // An RPC whose status was never sent (the server stopped under it)
  // still gets its line.
  ~RpcInterceptor() override { Done(grpc::StatusCode::CANCELLED); }

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      std::string request_id = RequestIdIn(methods->GetRecvInitialMetadata());
      absl::MutexLock lock(&mu_);
      request_id_ = std::move(request_id);
      have_metadata_ = true;
    }
    if (proto_request_ && methods->QueryInterceptionHookPoint(
                              InterceptionHookPoints::POST_RECV_MESSAGE)) {
      // A generated message of a callpush service (see the factory): the
      // handler's RequestType*, whose Message base is at the same address.
      const void* message = methods->GetRecvMessage();
      if (message != nullptr) {
        std::string call_id =
            CallIdOf(*static_cast<const google::protobuf::Message*>(message));
        absl::MutexLock lock(&mu_);
        call_id_ = std::move(call_id);
      }
    }
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS)) {
      bool have_metadata;
      {
        absl::MutexLock lock(&mu_);
        have_metadata = have_metadata_;
      }
      if (!have_metadata) {
        // The context is alive until the status is sent (not in the
        // destructor, which may run inside the context's).
        std::string request_id =
            RequestIdIn(&info_->server_context()->client_metadata());
        absl::MutexLock lock(&mu_);
        request_id_ = std::move(request_id);
      }
      Done(methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  static std::string RequestIdIn(
      const std::multimap<grpc::string_ref, grpc::string_ref>* metadata) {
    if (metadata == nullptr) return "";
    auto it = metadata->find("x-request-id");
    if (it == metadata->end()) return "";
    return SaneRequestId(
        absl::string_view(it->second.data(), it->second.size()));
  }

  void Done(grpc::StatusCode code) {
    std::string call_id, request_id;
    {
      absl::MutexLock lock(&mu_);
      if (done_) return;
      done_ = true;
      call_id = std::move(call_id_);
      request_id = std::move(request_id_);
    }
    RpcRecord rpc;
    rpc.method = method_;
    rpc.code = code;
    rpc.latency = clock_.Now() - start_;
    rpc.request_id = request_id;
    rpc.call_id = call_id;
    if (observer_ != nullptr) observer_->OnRpcDone(rpc);
    Log(LogLevel::kInfo, "rpc",
        {{"method", method_},
         {"code", std::string(GrpcCodeName(code))},
         {"latency_ms",
          absl::StrFormat("%.3f", absl::ToDoubleMilliseconds(rpc.latency))},
         {"request_id", std::move(request_id)},
         {"call_id", std::move(call_id)}});
  }

  grpc::experimental::ServerRpcInfo* const info_;
  RpcObserver* const observer_;
  const Clock& clock_;
  const bool proto_request_;
  const std::string method_;
  const absl::Time start_;
  absl::Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  bool have_metadata_ ABSL_GUARDED_BY(mu_) = false;
  std::string request_id_ ABSL_GUARDED_BY(mu_);
  std::string call_id_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

RpcInterceptorFactory::RpcInterceptorFactory(RpcObserver* observer,
                                             const Clock& clock,
                                             std::string proto_prefix)
    : observer_(observer),
      clock_(clock),
      proto_prefix_(std::move(proto_prefix)) {}

grpc::experimental::Interceptor* RpcInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  const char* method = info->method();
  const bool proto_request =
      method != nullptr && absl::StartsWith(method, proto_prefix_);
  return new RpcInterceptor(info, observer_, clock_, proto_request);
}

std::string CallIdOf(const google::protobuf::Message& request) {
  const google::protobuf::FieldDescriptor* field =
      request.GetDescriptor()->FindFieldByName("call_id");
  if (field == nullptr || field->is_repeated() ||
      field->type() != google::protobuf::FieldDescriptor::TYPE_STRING) {
    return "";
  }
  return Capped(request.GetReflection()->GetString(request, field),
                kMaxLoggedBytes);
}

std::string SaneRequestId(absl::string_view value) {
  if (value.empty() || value.size() > kMaxLoggedBytes) return "";
  for (char c : value) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '_' && c != ':' &&
        c != '-') {
      return "";
    }
  }
  return std::string(value);
}

}  // namespace callpush
