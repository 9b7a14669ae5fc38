// RpcInterceptorFactory on a real in-process gRPC server with the callback
// API (CallService over fakes): one record and one log line per RPC, with
// method, code, latency, x-request-id and the request's call_id, and
// nothing personal in the line.
#include "server/rpc_interceptor.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "callpush/v1/call_service.grpc.pb.h"
#include "server/call_coordinator.h"
#include "server/call_service_impl.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fake_device_store.h"
#include "tests/testing/fake_push_sender.h"

namespace callpush {
namespace {

using ::callpush::testing::FakeClock;
using ::callpush::testing::FakeDeviceStore;
using ::callpush::testing::FakePushSender;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kNumber[] = "+447777123987";
constexpr char kCallerName[] = "Dr Imogen Whitlock";
const std::string kVoipToken(64, 'e');

struct Seen {
  std::string method;
  grpc::StatusCode code;
  absl::Duration latency;
  std::string request_id;
  std::string call_id;
  bool operator==(const Seen& o) const {
    return method == o.method && code == o.code && latency == o.latency &&
           request_id == o.request_id && call_id == o.call_id;
  }
  friend std::ostream& operator<<(std::ostream& os, const Seen& s) {
    return os << s.method << " " << s.code << " " << s.latency << " ["
              << s.request_id << "] [" << s.call_id << "]";
  }
};

class RecordingObserver final : public RpcObserver {
 public:
  void OnRpcDone(const RpcRecord& rpc) override {
    absl::MutexLock lock(&mu_);
    seen_.push_back({std::string(rpc.method), rpc.code, rpc.latency,
                     std::string(rpc.request_id), std::string(rpc.call_id)});
  }
  std::vector<Seen> seen() const {
    absl::MutexLock lock(&mu_);
    return seen_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<Seen> seen_ ABSL_GUARDED_BY(mu_);
};

// Each Now() is 1.234 ms after the one before: an RPC's latency (two reads)
// is exactly that.
class SteppingClock final : public Clock {
 public:
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    now_ += absl::Microseconds(1234);
    return now_;
  }

 private:
  mutable absl::Mutex mu_;
  mutable absl::Time now_ ABSL_GUARDED_BY(mu_) = absl::FromUnixSeconds(1000);
};

class RpcInterceptorTest : public ::testing::Test {
 protected:
  RpcInterceptorTest()
      : store_(clock_),
        coordinator_(store_, pusher_, clock_, CallCoordinatorOptions{}),
        service_(coordinator_, clock_, absl::Seconds(2)) {}

  void StartServer(std::string proto_prefix = "/callpush.") {
    grpc::ServerBuilder builder;
    std::vector<
        std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
        interceptors;
    interceptors.push_back(std::make_unique<RpcInterceptorFactory>(
        &observer_, stepping_clock_, std::move(proto_prefix)));
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    stub_ = v1::CallService::NewStub(
        server_->InProcessChannel(grpc::ChannelArguments()));
  }
  ~RpcInterceptorTest() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  grpc::Status Call(const std::string& device_id, const std::string& call_id,
                    const std::string& request_id) {
    v1::CallRequest req;
    req.set_device_id(device_id);
    req.set_call_id(call_id);
    req.set_caller_name(kCallerName);
    v1::CallResponse resp;
    grpc::ClientContext ctx;
    if (!request_id.empty()) ctx.AddMetadata("x-request-id", request_id);
    return stub_->Call(&ctx, req, &resp);
  }

  FakeClock clock_;
  SteppingClock stepping_clock_;
  FakeDeviceStore store_;
  FakePushSender pusher_;
  CallCoordinator coordinator_;
  CallServiceImpl service_;
  RecordingObserver observer_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::CallService::Stub> stub_;
};

TEST_F(RpcInterceptorTest, OneRecordAndOneLinePerRpc) {
  StartServer();
  const std::string device =
      store_.AddDevice(kNumber, Platform::kIos, kVoipToken, std::nullopt).id;
  const std::string unknown = "ffffffff-ffff-4fff-bfff-ffffffffffff";

  ::testing::internal::CaptureStderr();
  EXPECT_TRUE(Call(device, "call-ok", "req-1").ok());
  EXPECT_EQ(Call(unknown, "call-missing", "req-2").error_code(),
            grpc::StatusCode::NOT_FOUND);
  // Refused by validation before any work (the handler finishes at once):
  // still seen, with the call id it carried.
  EXPECT_EQ(Call("not-a-uuid", "call-bad", "").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::ListCallableDevicesRequest list;
  list.set_mobile_number(kNumber);
  v1::ListCallableDevicesResponse listed;
  grpc::ClientContext ctx;
  ctx.AddMetadata("x-request-id", "req-4");
  EXPECT_TRUE(stub_->ListCallableDevices(&ctx, list, &listed).ok());
  const std::string log = ::testing::internal::GetCapturedStderr();

  const absl::Duration step = absl::Microseconds(1234);
  EXPECT_THAT(
      observer_.seen(),
      ElementsAre(
          Seen{"/callpush.v1.CallService/Call", grpc::StatusCode::OK, step,
               "req-1", "call-ok"},
          Seen{"/callpush.v1.CallService/Call", grpc::StatusCode::NOT_FOUND,
               step, "req-2", "call-missing"},
          Seen{"/callpush.v1.CallService/Call",
               grpc::StatusCode::INVALID_ARGUMENT, step, "", "call-bad"},
          Seen{"/callpush.v1.CallService/ListCallableDevices",
               grpc::StatusCode::OK, step, "req-4", ""}));

  EXPECT_THAT(log,
              HasSubstr("\"level\":\"info\",\"msg\":\"rpc\",\"method\":\"/"
                        "callpush.v1.CallService/Call\",\"code\":\"OK\","
                        "\"latency_ms\":\"1.234\",\"request_id\":\"req-1\","
                        "\"call_id\":\"call-ok\"}\n"));
  EXPECT_THAT(log,
              HasSubstr("\"msg\":\"rpc\",\"method\":\"/callpush.v1."
                        "CallService/Call\",\"code\":\"NOT_FOUND\","
                        "\"latency_ms\":\"1.234\",\"request_id\":\"req-2\","
                        "\"call_id\":\"call-missing\"}\n"));
  EXPECT_THAT(log, HasSubstr("\"code\":\"INVALID_ARGUMENT\",\"latency_ms\":"
                             "\"1.234\",\"request_id\":\"\",\"call_id\":\"call-"
                             "bad\"}\n"));
  EXPECT_THAT(log,
              HasSubstr("\"method\":\"/callpush.v1.CallService/"
                        "ListCallableDevices\",\"code\":\"OK\","
                        "\"latency_ms\":\"1.234\",\"request_id\":\"req-4\","
                        "\"call_id\":\"\"}\n"));
  // Four RPCs, four lines; nothing personal.
  size_t lines = 0;
  for (size_t at = 0;
       (at = log.find("\"msg\":\"rpc\"", at)) != std::string::npos; ++at) {
    ++lines;
  }
  EXPECT_EQ(lines, 4u) << log;
  EXPECT_THAT(log, Not(HasSubstr("447777123987")));
  EXPECT_THAT(log, Not(HasSubstr(kVoipToken)));
  EXPECT_THAT(log, Not(HasSubstr("Imogen")));
}

TEST_F(RpcInterceptorTest, RequestIdsThatCouldForgeALineAreDropped) {
  StartServer();
  const std::string unknown = "ffffffff-ffff-4fff-bfff-ffffffffffff";
  Call(unknown, "c1", "has space");
  Call(unknown, "c2", std::string(129, 'r'));
  Call(unknown, "c3", std::string(128, 'r'));
  std::vector<Seen> seen = observer_.seen();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].request_id, "");
  EXPECT_EQ(seen[1].request_id, "");
  EXPECT_EQ(seen[2].request_id, std::string(128, 'r'));
}

TEST_F(RpcInterceptorTest, RequestsOutsideThePrefixAreNotRead) {
  StartServer("/other.");
  Call("ffffffff-ffff-4fff-bfff-ffffffffffff", "c1", "req-1");
  std::vector<Seen> seen = observer_.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].call_id, "");
  EXPECT_EQ(seen[0].request_id, "req-1");
}

TEST(CallIdOfTest, ReadsTheCallIdFieldCappedOnACharacterBoundary) {
  v1::CallRequest call;
  call.set_call_id("abc");
  EXPECT_EQ(CallIdOf(call), "abc");
  v1::ListCallableDevicesRequest list;
  list.set_mobile_number(kNumber);
  EXPECT_EQ(CallIdOf(list), "");
  // 127 ASCII bytes then a 2-byte character: cut before it, not inside.
  call.set_call_id(std::string(127, 'x') + "\xc3\xa9" + "tail");
  EXPECT_EQ(CallIdOf(call), std::string(127, 'x'));
}

TEST(SaneRequestIdTest, AcceptsWhatTheGatewayMakes) {
  EXPECT_EQ(SaneRequestId("0123abcdef.-_:X"), "0123abcdef.-_:X");
  EXPECT_EQ(SaneRequestId(""), "");
  EXPECT_EQ(SaneRequestId("a\"b"), "");
  EXPECT_EQ(SaneRequestId("a\nb"), "");
}

}  // namespace
}  // namespace callpush
